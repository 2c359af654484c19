//! Async I/O traits and helpers, re-exported so users need no extra dependency.
//!
//! The traits are the `futures-io` ones; the extension traits and helpers come from
//! `futures-lite`.
//!
//! ```
//! use strand::io::{AsyncReadExt, AsyncWriteExt};
//! strand::block_on(async {
//!     let mut out = Vec::new();
//!     out.write_all(b"hello").await.unwrap();
//!     let mut buf = String::new();
//!     (&out[..]).read_to_string(&mut buf).await.unwrap();
//!     assert_eq!(buf, "hello");
//! });
//! ```
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
pub use futures_lite::io::{
    copy, split, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter, ReadHalf,
    WriteHalf,
};
