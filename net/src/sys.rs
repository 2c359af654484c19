//! Small OS-level helpers shared by the socket types: sends that never raise `SIGPIPE`, error
//! classification for `accept`, and the `shutdown` error mapping.

use std::io::{self, IoSlice};
use std::os::fd::AsFd;

use socket2::SockRef;

/// Flags for every `send`/`sendmsg` on a stream socket.
///
/// Writing to a peer that has reset the connection makes the kernel raise `SIGPIPE` unless the
/// write says `MSG_NOSIGNAL`. Rust binaries ignore `SIGPIPE` by default, but a library cannot
/// rely on that (it may run inside a host process that installs the default handler, and plain
/// `writev` has no flag at all), so strand never uses `write`/`writev` on sockets: every stream
/// write is a `send`/`sendmsg` with `MSG_NOSIGNAL`. On Apple platforms, which have no
/// `MSG_NOSIGNAL`, stream sockets get `SO_NOSIGPIPE` when strand takes them over instead
/// (see [`prepare_stream`]).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "illumos",
    target_os = "solaris",
    target_os = "fuchsia",
))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "illumos",
    target_os = "solaris",
    target_os = "fuchsia",
)))]
const SEND_FLAGS: libc::c_int = 0;

/// The most buffers one `sendmsg` accepts (`IOV_MAX` is 1024 on Linux and the BSDs); longer
/// lists are written partially, which `AsyncWrite::poll_write_vectored` allows.
const MAX_IOVECS: usize = 1024;

/// Per-socket setup for stream sockets strand takes over (accepted, connected or `from_std`).
pub(crate) fn prepare_stream<S: AsFd>(_socket: &S) -> io::Result<()> {
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "visionos"
    ))]
    SockRef::from(_socket).set_nosigpipe(true)?;
    Ok(())
}

/// `send(2)` with `MSG_NOSIGNAL`.
pub(crate) fn send<S: AsFd>(socket: &S, buf: &[u8]) -> io::Result<usize> {
    SockRef::from(socket).send_with_flags(buf, SEND_FLAGS)
}

/// `sendmsg(2)` with `MSG_NOSIGNAL`; at most [`MAX_IOVECS`] buffers are passed.
pub(crate) fn send_vectored<S: AsFd>(socket: &S, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let bufs = &bufs[..bufs.len().min(MAX_IOVECS)];
    SockRef::from(socket).send_vectored_with_flags(bufs, SEND_FLAGS)
}

/// The bytes one [`send_vectored`] call asks the kernel to send (it passes at most
/// [`MAX_IOVECS`] buffers).
pub(crate) fn send_vectored_len(bufs: &[IoSlice<'_>]) -> usize {
    bufs[..bufs.len().min(MAX_IOVECS)]
        .iter()
        .fold(0usize, |n, b| n.saturating_add(b.len()))
}

/// The most buffers for which `read_vectored` is sure to pass them all to the kernel (POSIX
/// guarantees `IOV_MAX >= 16`, and std's smallest cap is 16): with more, a short vectored read
/// may just be std truncating the list, so it proves nothing.
pub(crate) const SURE_READ_IOVECS: usize = 16;

/// The bytes one `read_vectored` of `bufs` asks for, when every buffer is sure to be passed to
/// the kernel; `usize::MAX` (proves nothing) otherwise.
pub(crate) fn read_vectored_len(bufs: &[std::io::IoSliceMut<'_>]) -> usize {
    if bufs.len() > SURE_READ_IOVECS {
        return usize::MAX;
    }
    bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()))
}

/// What a TCP read of `len` bytes proves when it comes back short: `len` (the receive queue
/// was empty) where the reactor also sees urgent data (epoll reports `EPOLLPRI`, and the read
/// side then keeps its readiness past the short read that stops at the urgent mark);
/// `usize::MAX` (nothing) elsewhere, where a read that stops at the mark is indistinguishable
/// from a drained queue.
pub(crate) fn tcp_read_proof(len: usize) -> usize {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        len
    } else {
        usize::MAX
    }
}

/// Runs `f` again while it fails with `EINTR`.
#[inline]
pub(crate) fn retry_interrupted<R>(mut f: impl FnMut() -> io::Result<R>) -> io::Result<R> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Errors from `accept` that concern only the one connection being accepted (the peer reset or
/// aborted it while it was queued, or a protocol error on it). The listener is fine and the
/// next queued connection may be good, so `accept` skips these and tries again.
pub(crate) fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) || matches!(e.raw_os_error(), Some(code) if code == libc::EPROTO || code == libc::ECONNABORTED)
}

/// Errors from `accept` that mean the process or the system is out of a resource (descriptors,
/// buffers, memory). The connection stays queued and the listener stays readable, so these are
/// returned to the caller, readiness is kept, and the next `accept` waits a short backoff first.
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == libc::EMFILE
            || code == libc::ENFILE
            || code == libc::ENOBUFS
            || code == libc::ENOMEM
    )
}

/// Maps the result of `shutdown(2)`: `ENOTCONN` (the peer reset the connection, or it was never
/// connected) means there is nothing left to shut down, which is what the caller asked for.
pub(crate) fn map_shutdown(res: io::Result<()>) -> io::Result<()> {
    match res {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Ok(()),
        other => other,
    }
}

/// Whether `e` is the `EINPROGRESS` a non-blocking `connect` returns while the handshake runs.
pub(crate) fn is_in_progress(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINPROGRESS)
}

/// Whether `e` says the socket is not connected yet.
pub(crate) fn is_not_connected(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotConnected || e.raw_os_error() == Some(libc::ENOTCONN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn accept_errors_are_classified() {
        for code in [
            libc::ECONNABORTED,
            libc::ECONNRESET,
            libc::EPROTO,
            libc::EINTR,
        ] {
            assert!(is_connection_error(&os(code)), "{code}");
            assert!(!is_resource_exhaustion(&os(code)), "{code}");
        }
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(is_resource_exhaustion(&os(code)), "{code}");
            assert!(!is_connection_error(&os(code)), "{code}");
        }
        for code in [libc::EBADF, libc::EINVAL, libc::EAGAIN] {
            assert!(!is_connection_error(&os(code)) && !is_resource_exhaustion(&os(code)));
        }
    }

    #[test]
    fn shutdown_maps_only_enotconn_to_ok() {
        assert!(map_shutdown(Err(os(libc::ENOTCONN))).is_ok());
        assert!(map_shutdown(Ok(())).is_ok());
        let e = map_shutdown(Err(os(libc::ECONNRESET))).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert!(map_shutdown(Err(os(libc::EBADF))).is_err());
    }

    #[test]
    fn retry_interrupted_retries_only_eintr() {
        let mut calls = 0;
        let r: io::Result<u8> = retry_interrupted(|| {
            calls += 1;
            if calls < 3 {
                Err(os(libc::EINTR))
            } else {
                Ok(7)
            }
        });
        assert_eq!((r.unwrap(), calls), (7, 3));
        let mut calls = 0;
        let r: io::Result<u8> = retry_interrupted(|| {
            calls += 1;
            Err(os(libc::EAGAIN))
        });
        assert_eq!(
            (r.unwrap_err().kind(), calls),
            (io::ErrorKind::WouldBlock, 1)
        );
    }
}
