use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use mio::Interest;

use crate::accept::{AcceptGuard, AcceptShared, AcceptState};
use crate::addr::{self, ToSocketAddrs};
use crate::evented::Evented;
use crate::tcp::TcpStream;

/// A TCP socket listening for connections.
///
/// [`accept`](Self::accept) takes `&self`, so several tasks may accept on one listener at once
/// (share it with an `Rc`); every waiting task is woken when connections arrive.
///
/// Errors from the `accept` syscall are handled as follows (see the crate docs for details):
/// per-connection errors (`ECONNABORTED`, `ECONNRESET`, `EPROTO`) are skipped; running out of
/// descriptors or memory (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) is returned as an
/// `io::Error`, the listener stays usable and keeps its readiness, and the next `accept` first
/// waits a 20 ms backoff, so a loop that retries at once does not spin. Queued connections are
/// accepted as soon as descriptors free up, with no new client needed.
///
/// ```
/// use strand::net::{TcpListener, TcpStream};
/// strand::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = strand::spawn(async move { TcpStream::connect(addr).await });
///     let (conn, peer) = listener.accept().await?;
///     let client = client.await??;
///     assert_eq!(peer, client.local_addr()?);
///     assert_eq!(conn.peer_addr()?, peer);
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    io: Evented<mio::net::TcpListener>,
    accept: AcceptShared,
}

impl TcpListener {
    /// Binds a listener to `addr` (with `SO_REUSEADDR`, a backlog of 1024).
    ///
    /// Each resolved address is tried in order; the first that binds is used, else the last
    /// error is returned. Bind to port 0 for an OS-chosen port and read it back with
    /// [`local_addr`](Self::local_addr). For other options (backlog, `SO_REUSEPORT`, buffer
    /// sizes) use [`TcpSocket`](crate::TcpSocket).
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let addrs = addr::to_socket_addrs(&addr).await?;
        let mut last_err = None;
        for addr in addrs {
            match mio::net::TcpListener::bind(addr).and_then(TcpListener::new) {
                Ok(listener) => return Ok(listener),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(addr::no_addresses))
    }

    pub(crate) fn new(sys: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Evented::with_interest(sys, Interest::READABLE)?,
            accept: AcceptShared::new(),
        })
    }

    /// Takes over a bound, listening std listener, putting it in non-blocking mode.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let listener = strand::net::TcpListener::from_std(std_listener).unwrap();
    ///     assert!(listener.local_addr().unwrap().port() != 0);
    /// });
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(mio::net::TcpListener::from_std(listener))
    }

    /// Deregisters the listener and returns it as a std listener, still non-blocking.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner()?.into())
    }

    /// Accepts one connection, returning it with the peer's address.
    ///
    /// Cancel safety: cancel-safe. A connection is taken from the kernel's queue only in the
    /// poll that returns it, so dropping the future never loses one.
    ///
    /// # Errors
    /// `EMFILE`/`ENFILE`/`ENOBUFS`/`ENOMEM` come back as errors (the listener stays usable; the
    /// next call waits a short backoff first). Per-connection errors are skipped internally.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let mut guard = AcceptGuard::new(&self.accept);
        let (sys, addr) = poll_fn(|cx| {
            self.accept
                .poll_accept(&self.io, &mut guard.state, cx, |l| l.accept())
        })
        .await?;
        Ok((TcpStream::new(sys)?, addr))
    }

    /// The accepted connections as a [`Stream`] (never ends; each item is one `accept`, with the
    /// same error handling). Cancel-safe like `accept`: dropping the stream between items, or
    /// while it waits, loses no connection.
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// strand::block_on(async {
    ///     let listener = strand::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     strand::spawn(async move { strand::net::TcpStream::connect(addr).await });
    ///     let mut incoming = listener.incoming();
    ///     let conn = incoming.next().await.unwrap().unwrap();
    ///     assert_eq!(conn.local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            state: AcceptState::default(),
        }
    }

    /// The local address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }

    /// Sets the IP time-to-live for accepted connections.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_ttl(ttl)
    }

    /// The IP time-to-live setting.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get().ttl()
    }
}

/// The stream of connections accepted on a [`TcpListener`]; see [`TcpListener::incoming`].
pub struct Incoming<'a> {
    listener: &'a TcpListener,
    state: AcceptState,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let listener = this.listener;
        let res = ready!(listener
            .accept
            .poll_accept(&listener.io, &mut this.state, cx, |l| l.accept()));
        Poll::Ready(Some(res.and_then(|(sys, _)| TcpStream::new(sys))))
    }
}

impl Drop for Incoming<'_> {
    fn drop(&mut self) {
        self.listener.accept.release(&mut self.state);
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", self.listener)
            .finish()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// Same as [`TcpListener::from_std`].
    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get().as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get().as_fd()
    }
}

impl IntoRawFd for TcpListener {
    /// Deregisters the listener and gives up ownership of its descriptor.
    fn into_raw_fd(self) -> RawFd {
        self.io.into_inner_lossy().into_raw_fd()
    }
}
