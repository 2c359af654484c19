//! TCP: [`TcpListener`], [`TcpStream`], [`TcpSocket`], and the halves a [`TcpStream`] splits
//! into ([`ReadHalf`], [`WriteHalf`], [`OwnedReadHalf`], [`OwnedWriteHalf`]).

mod listener;
mod socket;
pub(crate) mod split;
mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;
