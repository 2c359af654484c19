//! Optional trait implementations for other I/O ecosystems on the stream types:
//!
//! - feature `tokio-io`: `tokio::io::AsyncRead`/`AsyncWrite` (so tokio-based libraries, e.g.
//!   `tokio-util` codecs or `tokio-rustls`, run on strand sockets);
//! - feature `hyper`: `hyper::rt::Read`/`Write` (so `hyper::server::conn` and
//!   `hyper::client::conn` take strand streams directly). The facade's `strand::hyper` adds the
//!   `Executor` and `Timer` hyper needs for HTTP/2 and timeouts.
//!
//! Both are implemented on [`TcpStream`](crate::TcpStream), [`UnixStream`](crate::UnixStream),
//! their shared references and their halves, with the same semantics as the `futures-io`
//! traits: `poll_shutdown` shuts down the write side.
//!
//! This crate forbids `unsafe`, so reads cannot target uninitialised memory: the tokio impl
//! initialises the `ReadBuf`'s unfilled part once (tokio tracks it, so a reused buffer pays
//! only once), and the hyper impl reads into a stack buffer and copies it into hyper's cursor.

#[cfg(any(feature = "tokio-io", feature = "hyper"))]
use std::io::{self, IoSlice};
#[cfg(any(feature = "tokio-io", feature = "hyper"))]
use std::pin::Pin;
#[cfg(any(feature = "tokio-io", feature = "hyper"))]
use std::task::{ready, Context, Poll};

#[cfg(any(feature = "tokio-io", feature = "hyper"))]
macro_rules! for_each_stream {
    ($read:ident, $write:ident) => {
        $read!(crate::TcpStream, s => s);
        $read!(&crate::TcpStream, s => *s);
        $read!(crate::tcp::ReadHalf<'_>, s => s.stream());
        $read!(crate::tcp::OwnedReadHalf, s => s.stream());
        $write!(crate::TcpStream, s => s);
        $write!(&crate::TcpStream, s => *s);
        $write!(crate::tcp::WriteHalf<'_>, s => s.stream());
        $write!(crate::tcp::OwnedWriteHalf, s => s.stream());
        #[cfg(unix)]
        $read!(crate::UnixStream, s => s);
        #[cfg(unix)]
        $read!(&crate::UnixStream, s => *s);
        #[cfg(unix)]
        $read!(crate::unix::ReadHalf<'_>, s => s.stream());
        #[cfg(unix)]
        $read!(crate::unix::OwnedReadHalf, s => s.stream());
        #[cfg(unix)]
        $write!(crate::UnixStream, s => s);
        #[cfg(unix)]
        $write!(&crate::UnixStream, s => *s);
        #[cfg(unix)]
        $write!(crate::unix::WriteHalf<'_>, s => s.stream());
        #[cfg(unix)]
        $write!(crate::unix::OwnedWriteHalf, s => s.stream());
    };
}

#[cfg(feature = "tokio-io")]
mod tokio_io {
    use super::*;
    use tokio::io::ReadBuf;

    fn read(
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
        f: impl FnOnce(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let n = ready!(f(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    macro_rules! tokio_read {
        ($ty:ty, $s:ident => $get:expr) => {
            impl tokio::io::AsyncRead for $ty {
                fn poll_read(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    buf: &mut ReadBuf<'_>,
                ) -> Poll<io::Result<()>> {
                    let $s = &*self;
                    let stream = $get;
                    read(cx, buf, |cx, dst| stream.poll_read_priv(cx, dst))
                }
            }
        };
    }

    macro_rules! tokio_write {
        ($ty:ty, $s:ident => $get:expr) => {
            impl tokio::io::AsyncWrite for $ty {
                fn poll_write(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    buf: &[u8],
                ) -> Poll<io::Result<usize>> {
                    let $s = &*self;
                    $get.poll_write_priv(cx, buf)
                }

                fn poll_write_vectored(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    bufs: &[IoSlice<'_>],
                ) -> Poll<io::Result<usize>> {
                    let $s = &*self;
                    $get.poll_write_vectored_priv(cx, bufs)
                }

                fn is_write_vectored(&self) -> bool {
                    true
                }

                fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                    Poll::Ready(Ok(()))
                }

                /// Shuts down the write side.
                fn poll_shutdown(
                    self: Pin<&mut Self>,
                    _cx: &mut Context<'_>,
                ) -> Poll<io::Result<()>> {
                    let $s = &*self;
                    Poll::Ready($get.shutdown(std::net::Shutdown::Write))
                }
            }
        };
    }

    for_each_stream!(tokio_read, tokio_write);
}

#[cfg(feature = "hyper")]
mod hyper_io {
    use super::*;
    use hyper::rt::ReadBufCursor;

    /// Bytes read per `poll_read` into the stack buffer that is then copied to hyper's cursor.
    const CHUNK: usize = 16 * 1024;

    fn read(
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
        f: impl FnOnce(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<()>> {
        let len = buf.remaining().min(CHUNK);
        if len == 0 {
            return Poll::Ready(Ok(()));
        }
        let mut tmp = [0u8; CHUNK];
        let n = ready!(f(cx, &mut tmp[..len]))?;
        buf.put_slice(&tmp[..n]);
        Poll::Ready(Ok(()))
    }

    macro_rules! hyper_read {
        ($ty:ty, $s:ident => $get:expr) => {
            impl hyper::rt::Read for $ty {
                fn poll_read(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    buf: ReadBufCursor<'_>,
                ) -> Poll<io::Result<()>> {
                    let $s = &*self;
                    let stream = $get;
                    read(cx, buf, |cx, dst| stream.poll_read_priv(cx, dst))
                }
            }
        };
    }

    macro_rules! hyper_write {
        ($ty:ty, $s:ident => $get:expr) => {
            impl hyper::rt::Write for $ty {
                fn poll_write(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    buf: &[u8],
                ) -> Poll<io::Result<usize>> {
                    let $s = &*self;
                    $get.poll_write_priv(cx, buf)
                }

                fn poll_write_vectored(
                    self: Pin<&mut Self>,
                    cx: &mut Context<'_>,
                    bufs: &[IoSlice<'_>],
                ) -> Poll<io::Result<usize>> {
                    let $s = &*self;
                    $get.poll_write_vectored_priv(cx, bufs)
                }

                fn is_write_vectored(&self) -> bool {
                    true
                }

                fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                    Poll::Ready(Ok(()))
                }

                /// Shuts down the write side.
                fn poll_shutdown(
                    self: Pin<&mut Self>,
                    _cx: &mut Context<'_>,
                ) -> Poll<io::Result<()>> {
                    let $s = &*self;
                    Poll::Ready($get.shutdown(std::net::Shutdown::Write))
                }
            }
        };
    }

    for_each_stream!(hyper_read, hyper_write);
}
