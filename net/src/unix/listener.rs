use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use mio::Interest;

use crate::accept::{AcceptGuard, AcceptShared, AcceptState};
use crate::evented::Evented;
use crate::unix::UnixStream;

/// A Unix-domain socket listening for connections.
///
/// Same accept semantics as [`TcpListener`](crate::TcpListener): `accept` through `&self` from
/// several tasks, per-connection errors skipped, descriptor exhaustion returned as an error with
/// a short backoff before the next attempt and readiness kept.
///
/// ```
/// use strand::io::{AsyncReadExt, AsyncWriteExt};
/// use strand::net::{UnixListener, UnixStream};
/// strand::block_on(async {
///     let dir = std::env::temp_dir().join(format!("strand-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     let path = dir.join("listener.sock");
///     let _ = std::fs::remove_file(&path);
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut conn, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     conn.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::fs::remove_dir_all(&dir)?;
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixListener {
    io: Evented<mio::net::UnixListener>,
    accept: AcceptShared,
}

impl UnixListener {
    /// Binds a listener to the socket file at `path` (which must not exist yet).
    ///
    /// Synchronous: there is nothing to resolve. Must be called inside a runtime.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::new(mio::net::UnixListener::bind(path)?)
    }

    fn new(sys: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Evented::with_interest(sys, Interest::READABLE)?,
            accept: AcceptShared::new(),
        })
    }

    /// Takes over a std listener, putting it in non-blocking mode.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::new(mio::net::UnixListener::from_std(listener))
    }

    /// Deregisters the listener and returns it as a std listener, still non-blocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_inner()?.into())
    }

    /// Accepts one connection.
    ///
    /// Cancel safety: cancel-safe; no connection is lost when the future is dropped.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let mut guard = AcceptGuard::new(&self.accept);
        let (sys, addr) = poll_fn(|cx| {
            self.accept
                .poll_accept(&self.io, &mut guard.state, cx, |l| l.accept())
        })
        .await?;
        Ok((UnixStream::new(sys)?, addr))
    }

    /// The accepted connections as a [`Stream`] (never ends; each item is one `accept`).
    /// Cancel-safe like `accept`.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            state: AcceptState::default(),
        }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }
}

/// The stream of connections accepted on a [`UnixListener`]; see [`UnixListener::incoming`].
pub struct Incoming<'a> {
    listener: &'a UnixListener,
    state: AcceptState,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let listener = this.listener;
        let res = ready!(listener
            .accept
            .poll_accept(&listener.io, &mut this.state, cx, |l| l.accept()));
        Poll::Ready(Some(res.and_then(|(sys, _)| UnixStream::new(sys))))
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

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl TryFrom<std::os::unix::net::UnixListener> for UnixListener {
    type Error = io::Error;

    /// Same as [`UnixListener::from_std`].
    fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(listener)
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get().as_fd()
    }
}

impl IntoRawFd for UnixListener {
    /// Deregisters the listener and gives up ownership of its descriptor.
    fn into_raw_fd(self) -> RawFd {
        self.io.into_inner_lossy().into_raw_fd()
    }
}
