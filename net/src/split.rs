//! The borrowed and owned halves of a stream, generated for [`TcpStream`](crate::TcpStream)
//! (in [`tcp`](crate::tcp)) and [`UnixStream`](crate::UnixStream) (in [`unix`](crate::unix)).
//!
//! The halves are thin: each forwards to the stream's own readiness, so one task may read from
//! one half while another task writes to the other (the reactor keeps a waker per direction).
//! Owned halves share the stream through an `Rc` (sockets are `!Send`, so no atomics needed).

macro_rules! split_halves {
    ($stream:ident, $addr:ty) => {
        use std::fmt;
        use std::io::{self, IoSlice, IoSliceMut};
        use std::net::Shutdown;
        use std::pin::Pin;
        use std::rc::Rc;
        use std::task::{Context, Poll};

        use futures_io::{AsyncRead, AsyncWrite};

        #[doc = concat!("The read half of a [`", stringify!($stream), "`] borrowed by [`",
                                                            stringify!($stream), "::split`].")]
        ///
        /// Implements `AsyncRead`; reading from it is reading from the stream.
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $stream);

        #[doc = concat!("The write half of a [`", stringify!($stream), "`] borrowed by [`",
                                                            stringify!($stream), "::split`].")]
        ///
        /// Implements `AsyncWrite`; `poll_close` shuts down the stream's write side. Dropping
        /// the borrowed half does nothing.
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $stream);

        #[doc = concat!("The read half of a [`", stringify!($stream), "`] split by [`",
                                                            stringify!($stream), "::into_split`].")]
        ///
        /// Implements `AsyncRead`. Put the stream back together with
        /// [`reunite`](OwnedReadHalf::reunite).
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: Rc<$stream>,
        }

        #[doc = concat!("The write half of a [`", stringify!($stream), "`] split by [`",
                                                            stringify!($stream), "::into_split`].")]
        ///
        /// Implements `AsyncWrite`. **Dropping it shuts down the write side** of the stream
        /// (the peer reads end-of-file), unless it was given back with
        /// [`reunite`](OwnedWriteHalf::reunite) or [`forget`](OwnedWriteHalf::forget) was
        /// called. `poll_close` shuts down the write side at once.
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: Rc<$stream>,
            shutdown_on_drop: bool,
        }

        /// The halves given to `reunite` came from different streams; they are handed back.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        pub(crate) fn split(stream: &mut $stream) -> (ReadHalf<'_>, WriteHalf<'_>) {
            (ReadHalf(&*stream), WriteHalf(&*stream))
        }

        pub(crate) fn split_owned(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = Rc::new(stream);
            (
                OwnedReadHalf {
                    inner: inner.clone(),
                },
                OwnedWriteHalf {
                    inner,
                    shutdown_on_drop: true,
                },
            )
        }

        fn reunite(
            read: OwnedReadHalf,
            mut write: OwnedWriteHalf,
        ) -> Result<$stream, ReuniteError> {
            if !Rc::ptr_eq(&read.inner, &write.inner) {
                return Err(ReuniteError(read, write));
            }
            write.shutdown_on_drop = false;
            let inner = read.inner.clone();
            drop(read);
            drop(write);
            match Rc::try_unwrap(inner) {
                Ok(stream) => Ok(stream),
                // The two halves are the only owners and neither is `Clone`.
                Err(_) => unreachable!("a split stream is owned by exactly its two halves"),
            }
        }

        impl OwnedReadHalf {
            /// Puts the stream back together; fails (handing both back) if `write` came from
            /// another stream.
            pub fn reunite(self, write: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                reunite(self, write)
            }
        }

        impl OwnedWriteHalf {
            /// Puts the stream back together; fails (handing both back) if `read` came from
            /// another stream.
            pub fn reunite(self, read: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                reunite(read, self)
            }

            /// Drops this half without shutting down the write side.
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // Errors are ignored: the peer may be gone already, which is fine.
                    let _ = self.inner.shutdown(Shutdown::Write);
                }
            }
        }

        macro_rules! read_half_methods {
            ($half:ty, $get:ident) => {
                impl $half {
                    /// Waits until the stream is readable; see the stream's `readable`.
                    ///
                    /// Cancel safety: cancel-safe.
                    pub async fn readable(&self) -> io::Result<()> {
                        self.$get().readable().await
                    }

                    /// Polls for read readiness.
                    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                        self.$get().poll_read_ready(cx)
                    }

                    /// Reads without waiting; see the stream's `try_read`.
                    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                        self.$get().try_read(buf)
                    }

                    /// Vectored `try_read`.
                    pub fn try_read_vectored(
                        &self,
                        bufs: &mut [IoSliceMut<'_>],
                    ) -> io::Result<usize> {
                        self.$get().try_read_vectored(bufs)
                    }

                    /// The stream's local address.
                    pub fn local_addr(&self) -> io::Result<$addr> {
                        self.$get().local_addr()
                    }

                    /// The stream's peer address.
                    pub fn peer_addr(&self) -> io::Result<$addr> {
                        self.$get().peer_addr()
                    }
                }

                impl AsRef<$stream> for $half {
                    fn as_ref(&self) -> &$stream {
                        self.$get()
                    }
                }

                impl AsyncRead for $half {
                    fn poll_read(
                        self: Pin<&mut Self>,
                        cx: &mut Context<'_>,
                        buf: &mut [u8],
                    ) -> Poll<io::Result<usize>> {
                        self.$get().poll_read_priv(cx, buf)
                    }

                    fn poll_read_vectored(
                        self: Pin<&mut Self>,
                        cx: &mut Context<'_>,
                        bufs: &mut [IoSliceMut<'_>],
                    ) -> Poll<io::Result<usize>> {
                        self.$get().poll_read_vectored_priv(cx, bufs)
                    }
                }
            };
        }

        macro_rules! write_half_methods {
            ($half:ty, $get:ident) => {
                impl $half {
                    /// Waits until the stream is writable.
                    ///
                    /// Cancel safety: cancel-safe.
                    pub async fn writable(&self) -> io::Result<()> {
                        self.$get().writable().await
                    }

                    /// Polls for write readiness.
                    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                        self.$get().poll_write_ready(cx)
                    }

                    /// Writes without waiting; see the stream's `try_write`.
                    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                        self.$get().try_write(buf)
                    }

                    /// Vectored `try_write`.
                    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                        self.$get().try_write_vectored(bufs)
                    }

                    /// The stream's local address.
                    pub fn local_addr(&self) -> io::Result<$addr> {
                        self.$get().local_addr()
                    }

                    /// The stream's peer address.
                    pub fn peer_addr(&self) -> io::Result<$addr> {
                        self.$get().peer_addr()
                    }
                }

                impl AsRef<$stream> for $half {
                    fn as_ref(&self) -> &$stream {
                        self.$get()
                    }
                }

                impl AsyncWrite for $half {
                    fn poll_write(
                        self: Pin<&mut Self>,
                        cx: &mut Context<'_>,
                        buf: &[u8],
                    ) -> Poll<io::Result<usize>> {
                        self.$get().poll_write_priv(cx, buf)
                    }

                    fn poll_write_vectored(
                        self: Pin<&mut Self>,
                        cx: &mut Context<'_>,
                        bufs: &[IoSlice<'_>],
                    ) -> Poll<io::Result<usize>> {
                        self.$get().poll_write_vectored_priv(cx, bufs)
                    }

                    fn poll_flush(
                        self: Pin<&mut Self>,
                        _cx: &mut Context<'_>,
                    ) -> Poll<io::Result<()>> {
                        Poll::Ready(Ok(()))
                    }

                    /// Shuts down the stream's write side.
                    fn poll_close(
                        self: Pin<&mut Self>,
                        _cx: &mut Context<'_>,
                    ) -> Poll<io::Result<()>> {
                        Poll::Ready(self.$get().shutdown(Shutdown::Write))
                    }
                }
            };
        }

        impl<'a> ReadHalf<'a> {
            pub(crate) fn stream(&self) -> &'a $stream {
                self.0
            }
        }

        impl<'a> WriteHalf<'a> {
            pub(crate) fn stream(&self) -> &'a $stream {
                self.0
            }
        }

        impl OwnedReadHalf {
            pub(crate) fn stream(&self) -> &$stream {
                &self.inner
            }
        }

        impl OwnedWriteHalf {
            pub(crate) fn stream(&self) -> &$stream {
                &self.inner
            }
        }

        read_half_methods!(ReadHalf<'_>, stream);
        read_half_methods!(OwnedReadHalf, stream);
        write_half_methods!(WriteHalf<'_>, stream);
        write_half_methods!(OwnedWriteHalf, stream);
    };
}

pub(crate) use split_halves;
