//! TCP, UDP and Unix-domain sockets as async types.
//!
//! Every type registers with the reactor of the runtime it is created in and must be used on
//! that runtime's thread. Stream types implement [`AsyncRead`](crate::io::AsyncRead) and
//! [`AsyncWrite`](crate::io::AsyncWrite).
pub use strand_net::*;
