use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use strand_reactor::Direction;

use crate::delay::Delay;
use crate::evented::Evented;
use crate::sys;
use crate::unix::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};

/// First and last wait before retrying a connect refused with `EAGAIN` (full backlog).
const CONNECT_BACKOFF_MIN: Duration = Duration::from_millis(1);
const CONNECT_BACKOFF_MAX: Duration = Duration::from_millis(50);

/// A Unix-domain stream socket.
///
/// Created by [`UnixStream::connect`], [`UnixStream::pair`], by accepting on a
/// [`UnixListener`](crate::UnixListener) or with [`UnixStream::from_std`]. Same I/O surface and
/// readiness rules as [`TcpStream`](crate::TcpStream): `AsyncRead`/`AsyncWrite` on the stream,
/// on `&UnixStream` and on the halves; one reader task and one writer task at once; writes
/// never raise `SIGPIPE`; dropping deregisters before closing.
///
/// Cancel safety: a `read`/`write` future (`AsyncReadExt::read`, `AsyncWriteExt::write`, or
/// `poll_read`/`poll_write` directly) that is dropped before it completes has consumed or sent
/// nothing. Composite helpers are not cancel-safe: a cancelled `read_exact`, `read_to_end` or
/// `write_all` may already have transferred part of the data.
///
/// ```
/// use strand::io::{AsyncReadExt, AsyncWriteExt};
/// strand::block_on(async {
///     let (mut a, mut b) = strand::net::UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixStream {
    io: Evented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket file at `path`.
    ///
    /// When the listener's backlog is full, Linux refuses a non-blocking connect with `EAGAIN`
    /// instead of queueing it; like a blocking `connect`, this then waits and tries again
    /// (after 1 ms, doubling up to 50 ms) until the listener makes room. Wrap it in a timeout
    /// to bound the wait.
    ///
    /// Cancel safety: cancelling closes the socket.
    ///
    /// # Errors
    /// `NotFound` when no socket file exists, `ConnectionRefused` when nothing listens on it.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let mut backoff = CONNECT_BACKOFF_MIN;
        let sys = loop {
            match mio::net::UnixStream::connect(path) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    Delay::new(backoff).await;
                    backoff = (backoff * 2).min(CONNECT_BACKOFF_MAX);
                }
                res => break res?,
            }
        };
        let stream = UnixStream::new(sys)?;
        poll_fn(|cx| stream.poll_connected(cx)).await?;
        Ok(stream)
    }

    /// A connected pair of anonymous sockets (`socketpair(2)`), both registered on the current
    /// runtime.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::new(a)?, UnixStream::new(b)?))
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
    pub(crate) fn new(sys: mio::net::UnixStream) -> io::Result<UnixStream> {
        sys::prepare_stream(&sys)?;
        Ok(UnixStream {
            io: Evented::new(sys)?,
        })
    }

    /// Takes over a connected std stream, putting it in non-blocking mode.
    ///
    /// Must be called inside a runtime (the stream registers with its reactor).
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::new(mio::net::UnixStream::from_std(stream))
    }

    /// Deregisters the stream and returns it as a std stream, still in non-blocking mode.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
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

    /// Shuts down the read, write or both halves of the connection.
    ///
    /// Shutting down writing makes the peer read end-of-file after the queued data.
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
        self.io.poll_io(cx, Direction::Read, |io| (&*io).read(buf))
    }

    pub(crate) fn poll_read_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        self.io
            .poll_io(cx, Direction::Read, |io| (&*io).read_vectored(bufs))
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

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl TryFrom<std::os::unix::net::UnixStream> for UnixStream {
    type Error = io::Error;

    /// Same as [`UnixStream::from_std`].
    fn try_from(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(stream)
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get().as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get().as_fd()
    }
}

impl IntoRawFd for UnixStream {
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

stream_io_impls!(UnixStream, &UnixStream);
