//! Unix-domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`], and the halves a
//! [`UnixStream`] splits into ([`ReadHalf`], [`WriteHalf`], [`OwnedReadHalf`],
//! [`OwnedWriteHalf`]).
//!
//! As in tokio, `UnixListener::bind` and `UnixDatagram::bind` are synchronous (no name lookup)
//! while `UnixStream::connect` is async. Binding to a path creates a socket file that is not
//! removed when the socket closes; remove it yourself.

mod datagram;
mod listener;
pub(crate) mod split;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
/// The address of a Unix-domain socket (std's type).
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
