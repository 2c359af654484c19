//! [`TcpStream`]'s borrowed and owned halves.

use std::net::SocketAddr;

use crate::tcp::TcpStream;

crate::split::split_halves!(TcpStream, SocketAddr);

impl ReadHalf<'_> {
    /// Receives data without consuming it; see [`TcpStream::peek`].
    ///
    /// Cancel safety: cancel-safe.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream().peek(buf).await
    }

    /// Polls a [`peek`](Self::peek).
    pub fn poll_peek(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream().poll_peek(cx, buf)
    }
}

impl OwnedReadHalf {
    /// Receives data without consuming it; see [`TcpStream::peek`].
    ///
    /// Cancel safety: cancel-safe.
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream().peek(buf).await
    }

    /// Polls a [`peek`](Self::peek).
    pub fn poll_peek(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream().poll_peek(cx, buf)
    }
}
