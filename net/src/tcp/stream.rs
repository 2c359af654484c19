use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use mio::Interest;
use socket2::SockRef;
use strand_reactor::Direction;

use crate::addr::{self, ToSocketAddrs};
use crate::evented::Evented;
use crate::sys;
use crate::tcp::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};

/// Both directions, plus urgent data where the poller reports it: a TCP read stops short at
/// the urgent mark with more data queued, so the event that announced urgent data must keep the
/// read side ready past that short read (see `Evented::poll_stream_io`).
#[cfg(any(target_os = "linux", target_os = "android"))]
const STREAM_INTEREST: Interest = Interest::READABLE
    .add(Interest::WRITABLE)
    .add(Interest::PRIORITY);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const STREAM_INTEREST: Interest = Interest::READABLE.add(Interest::WRITABLE);

/// A TCP connection.
///
/// Created by [`TcpStream::connect`], by accepting on a [`TcpListener`](crate::TcpListener), by
/// [`TcpSocket::connect`](crate::TcpSocket::connect) or from a std socket with
/// [`TcpStream::from_std`]. Reading and writing go through [`futures_io::AsyncRead`] and
/// [`futures_io::AsyncWrite`] (use the `AsyncReadExt`/`AsyncWriteExt` helpers from
/// `strand::io`), implemented on both `TcpStream` and `&TcpStream`, or through the
/// `readable`/`try_read` and `writable`/`try_write` pairs.
///
/// One task may read while another writes (through `&TcpStream`, [`split`](Self::split) or
/// [`into_split`](Self::into_split)); each direction remembers the last waker that waited on it.
///
/// Dropping the stream deregisters it from the reactor and closes it. The socket is
/// non-blocking and close-on-exec; writes never raise `SIGPIPE`.
///
/// Cancel safety: a `read`/`write` future (`AsyncReadExt::read`, `AsyncWriteExt::write`, or
/// `poll_read`/`poll_write` directly) that is dropped before it completes has consumed or sent
/// nothing. Composite helpers are not cancel-safe: a cancelled `read_exact`, `read_to_end` or
/// `write_all` may already have transferred part of the data.
///
/// ```
/// use strand::io::{AsyncReadExt, AsyncWriteExt};
/// use strand::net::{TcpListener, TcpStream};
///
/// strand::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = strand::spawn(async move {
///         let (mut conn, _) = listener.accept().await?;
///         let mut buf = [0u8; 5];
///         conn.read_exact(&mut buf).await?;
///         conn.write_all(&buf).await?;
///         std::io::Result::Ok(())
///     });
///     let mut client = TcpStream::connect(addr).await?;
///     client.write_all(b"hello").await?;
///     let mut echoed = [0u8; 5];
///     client.read_exact(&mut echoed).await?;
///     assert_eq!(&echoed, b"hello");
///     server.await??;
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpStream {
    io: Evented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Opens a TCP connection to `addr`.
    ///
    /// The address is resolved first (host names on the blocking pool); each resolved address
    /// is tried in order with a non-blocking `connect`, waiting for writability and reading the
    /// outcome from `SO_ERROR`. The first that connects is returned, else the last error (for
    /// a closed port on a reachable host that is `ConnectionRefused`, as soon as the refusal
    /// arrives).
    ///
    /// Cancel safety: cancelling closes the half-open socket; nothing was sent.
    ///
    /// ```
    /// use strand::net::{TcpListener, TcpStream};
    /// strand::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// });
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addrs = addr::to_socket_addrs(&addr).await?;
        let mut last_err = None;
        for addr in addrs {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(addr::no_addresses))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let sys = mio::net::TcpStream::connect(addr)?;
        TcpStream::connect_mio(sys).await
    }

    /// Registers a socket whose non-blocking `connect` was started, and waits for the outcome.
    pub(crate) async fn connect_mio(sys: mio::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream::new(sys)?;
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let ev = ready!(self.io.poll_ready(cx, Direction::Write))?;
            // Writability (or an error/hang-up event) ends the handshake: SO_ERROR holds the
            // outcome of a failed connect.
            if let Some(e) = self.io.get().take_error()? {
                return Poll::Ready(Err(e));
            }
            match self.io.get().peer_addr() {
                Ok(_) => return Poll::Ready(Ok(())),
                // A spurious wakeup before the handshake finished: wait for the next event.
                Err(e) if sys::is_not_connected(&e) => self.io.clear_readiness(ev),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Wraps an accepted or connected mio stream.
    pub(crate) fn new(sys: mio::net::TcpStream) -> io::Result<TcpStream> {
        sys::prepare_stream(&sys)?;
        Ok(TcpStream {
            io: Evented::with_interest(sys, STREAM_INTEREST)?,
        })
    }

    /// Takes over a connected std stream, putting it in non-blocking mode.
    ///
    /// Must be called inside a runtime (the stream registers with its reactor).
    ///
    /// ```
    /// strand::block_on(async {
    ///     let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     let stream = strand::net::TcpStream::from_std(std_stream).unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// });
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::new(mio::net::TcpStream::from_std(stream))
    }

    /// Deregisters the stream and returns it as a std stream, still in non-blocking mode (call
    /// `set_nonblocking(false)` for blocking use).
    ///
    /// ```
    /// strand::block_on(async {
    ///     let listener = strand::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = strand::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let std_stream = stream.into_std().unwrap();
    ///     std_stream.set_nonblocking(false).unwrap();
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_inner()?.into())
    }

    /// The local address of this connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes close send a reset (RST) instead of a FIN
    /// and discard unsent data; `None` restores the default graceful close.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.io.get()).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.io.get()).linger()
    }

    /// Sets the IP time-to-live of outgoing packets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get().ttl()
    }

    /// Shuts down the read, write or both halves of the connection.
    ///
    /// Shutting down writing sends a FIN after the queued data: the peer reads end-of-file.
    /// Repeated shutdowns are `Ok`; so is a shutdown after the peer reset the connection (the
    /// OS's `ENOTCONN` is mapped to `Ok`, since there is nothing left to shut down).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        sys::map_shutdown(self.io.get().shutdown(how))
    }

    /// Waits until the stream is readable (data, end-of-file or an error is pending).
    ///
    /// The readiness stays set until an operation returns `WouldBlock`, so a following
    /// [`try_read`](Self::try_read) may still return `WouldBlock` after a spurious wakeup: loop.
    ///
    /// Any number of tasks may wait at once (each future keeps its own waiter).
    ///
    /// Cancel safety: cancel-safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Read).await.map(|_| ())
    }

    /// Waits until the stream is writable.
    ///
    /// Any number of tasks may wait at once (each future keeps its own waiter).
    ///
    /// Cancel safety: cancel-safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await.map(|_| ())
    }

    /// Polls for read readiness; see [`readable`](Self::readable). Unlike `readable`, the
    /// `poll_*` functions keep one waker per direction: the last task to poll is woken.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(|_| ())
    }

    /// Polls for write readiness; see [`writable`](Self::writable).
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(|_| ())
    }

    /// Reads without waiting: `Ok(0)` is end-of-file, `WouldBlock` means nothing is there yet
    /// (and clears the read readiness, so the next [`readable`](Self::readable) waits).
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// strand::block_on(async {
    ///     let listener = strand::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = strand::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 16];
    ///     // Nothing was sent yet.
    ///     assert_eq!(stream.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    /// });
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |io| (&*io).read(buf))
    }

    /// Vectored [`try_read`](Self::try_read).
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |io| (&*io).read_vectored(bufs))
    }

    /// Writes without waiting; `WouldBlock` means the send buffer is full (and clears the write
    /// readiness). May write fewer bytes than given.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |io| sys::send(io, buf))
    }

    /// Vectored [`try_write`](Self::try_write) (one `sendmsg`).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Write, |io| sys::send_vectored(io, bufs))
    }

    /// Receives data without removing it from the queue: the next read returns it again.
    ///
    /// Waits until data (or end-of-file, `Ok(0)`) is available.
    ///
    /// Cancel safety: cancel-safe (peeking consumes nothing).
    ///
    /// ```
    /// use strand::io::{AsyncReadExt, AsyncWriteExt};
    /// strand::block_on(async {
    ///     let listener = strand::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut a = strand::net::TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut b, _) = listener.accept().await.unwrap();
    ///     a.write_all(b"ping").await.unwrap();
    ///     let mut buf = [0u8; 4];
    ///     let n = b.peek(&mut buf).await.unwrap();
    ///     assert!(n > 0 && buf[..n] == b"ping"[..n]);
    ///     b.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"ping");
    /// });
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Direction::Read, |io| io.peek(buf)).await
    }

    /// Polls a [`peek`](Self::peek).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |io| io.peek(buf))
    }

    /// Splits the stream into a read half and a write half borrowing it, so one task can read
    /// while another writes. No allocation.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Splits the stream into owned halves (sharing the stream through an `Rc`). Dropping the
    /// [`OwnedWriteHalf`] shuts down the write side (the peer reads end-of-file);
    /// [`OwnedReadHalf::reunite`] puts the stream back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::split_owned(self)
    }

    // ----- the poll functions behind the I/O trait impls and the halves -----

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let requested = sys::tcp_read_proof(buf.len());
        self.io
            .poll_stream_io(cx, Direction::Read, requested, |io| (&*io).read(buf))
    }

    pub(crate) fn poll_read_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let requested = sys::tcp_read_proof(sys::read_vectored_len(bufs));
        self.io
            .poll_stream_io(cx, Direction::Read, requested, |io| {
                (&*io).read_vectored(bufs)
            })
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_stream_io(cx, Direction::Write, buf.len(), |io| sys::send(io, buf))
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        let requested = sys::send_vectored_len(bufs);
        self.io
            .poll_stream_io(cx, Direction::Write, requested, |io| {
                sys::send_vectored(io, bufs)
            })
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// Same as [`TcpStream::from_std`].
    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get().as_raw_fd()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get().as_fd()
    }
}

impl IntoRawFd for TcpStream {
    /// Deregisters the stream and gives up ownership of its descriptor.
    fn into_raw_fd(self) -> RawFd {
        self.io.into_inner_lossy().into_raw_fd()
    }
}

macro_rules! stream_io_impls {
    ($($ty:ty),*) => {$(
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_vectored_priv(cx, bufs)
            }
        }

        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            /// Data is handed to the kernel on every write; there is nothing to flush.
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts down the write side (`shutdown(Write)`): the peer reads end-of-file.
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown(Shutdown::Write))
            }
        }
    )*};
}

stream_io_impls!(TcpStream, &TcpStream);
