use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::sys;
use crate::tcp::{TcpListener, TcpStream};

/// A TCP socket that has not yet become a listener or a connection: set options, [`bind`],
/// then [`listen`] or [`connect`].
///
/// The socket is created non-blocking and close-on-exec. Dropping it closes it.
///
/// [`bind`]: TcpSocket::bind
/// [`listen`]: TcpSocket::listen
/// [`connect`]: TcpSocket::connect
///
/// ```
/// use strand::net::TcpSocket;
/// strand::block_on(async {
///     let socket = TcpSocket::new_v4()?;
///     socket.set_reuseaddr(true)?;
///     socket.set_recv_buffer_size(64 * 1024)?;
///     socket.bind("127.0.0.1:0".parse().unwrap())?;
///     let listener = socket.listen(128)?;
///
///     let client = TcpSocket::new_v4()?;
///     client.set_send_buffer_size(4096)?;
///     let stream = client.connect(listener.local_addr()?).await?;
///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket.
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        // socket2 sets close-on-exec atomically where the platform allows.
        let inner = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        inner.set_nonblocking(true)?;
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR` (rebinding a port with connections in `TIME_WAIT`).
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuseaddr)
    }

    /// Whether `SO_REUSEADDR` is set.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT` (several sockets, e.g. one per runtime thread, bound to one port;
    /// the kernel spreads connections across them).
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuseport)
    }

    /// Whether `SO_REUSEPORT` is set.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `SO_SNDBUF` (the kernel may round or double it; read it back with
    /// [`send_buffer_size`](Self::send_buffer_size)).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// The `SO_SNDBUF` size.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner
            .send_buffer_size()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Sets `SO_RCVBUF` (the kernel may round or double it).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// The `SO_RCVBUF` size.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner
            .recv_buffer_size()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Sets `SO_KEEPALIVE`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets `SO_LINGER`; see [`TcpStream::set_linger`].
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Binds the socket to `addr`.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The local address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket address"))
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Starts listening with the given backlog and returns the listener (registered on the
    /// current runtime's reactor).
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        let std: std::net::TcpListener = self.inner.into();
        TcpListener::new(mio::net::TcpListener::from_std(std))
    }

    /// Connects to `addr` and returns the stream once the handshake completed.
    ///
    /// Cancel safety: cancelling closes the socket.
    ///
    /// # Errors
    /// `ConnectionRefused` when nothing listens on `addr`, other `connect(2)` errors as reported.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if sys::is_in_progress(&e) => {}
            Err(e) => return Err(e),
        }
        let std: std::net::TcpStream = self.inner.into();
        TcpStream::connect_mio(mio::net::TcpStream::from_std(std)).await
    }

    /// Wraps a std stream's socket (for setting options before use); the socket is put in
    /// non-blocking mode.
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        let inner = Socket::from(stream);
        // Cannot fail on a valid socket; if it does, the first operation reports the problem.
        let _ = inner.set_nonblocking(true);
        TcpSocket { inner }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.inner.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}
