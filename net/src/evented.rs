//! `Evented<E>`: a mio source plus its reactor [`Registration`], with the readiness discipline
//! every socket type shares.
//!
//! - Every `poll_*` operation first spends one unit of the task's cooperative budget
//!   ([`coop::poll_proceed`]); when the budget is spent it returns `Pending` after waking the
//!   task, and the unit is refunded if the operation itself is `Pending`.
//! - An operation that returns `WouldBlock` clears only the readiness it observed (the reactor's
//!   tick-checked [`Registration::clear_readiness`]) and registers the waker. So does a short
//!   transfer on a stream socket where the kernel guarantees a new edge for later data or
//!   space ([`Evented::poll_stream_io`]: TCP reads, stream writes); any other result leaves
//!   readiness set, so the next call tries the syscall again.
//! - `EINTR` is retried in place.
//! - Drop deregisters the source from the reactor *before* the descriptor is closed, so a new
//!   socket that reuses the descriptor number can never receive this one's events.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::task::{ready, Context, Poll};

use mio::event::Source;
use mio::Interest;
use strand_executor::coop;
use strand_executor::diag::{enabled, set_wait_reason, IoDirection, WaitReason};
use strand_reactor::{Direction, ReadyEvent, Registration};

use crate::sys;

/// The largest transfer whose shortness [`Evented::poll_stream_io`] takes as proof that the
/// socket drained: the kernel caps one `read`/`send` at about 2 GiB (`MAX_RW_COUNT`), so a
/// larger request may come back short with more queued.
const MAX_DRAIN_PROOF: usize = 1 << 30;

/// The descriptor number a task dump shows for a socket.
pub(crate) trait DiagFd {
    fn diag_fd(&self) -> i64;
}

#[cfg(unix)]
impl<T: std::os::fd::AsRawFd> DiagFd for T {
    fn diag_fd(&self) -> i64 {
        i64::from(self.as_raw_fd())
    }
}

#[cfg(not(unix))]
impl<T> DiagFd for T {
    fn diag_fd(&self) -> i64 {
        -1
    }
}

/// A socket's state: the source and its registration, 24 bytes for a TCP stream (every
/// connection's task carries one).
pub(crate) struct Evented<E: Source> {
    /// `None` only after [`Evented::into_inner`] or inside `Drop`.
    io: Option<E>,
    registration: Registration,
}

impl<E: Source + DiagFd> Evented<E> {
    /// Registers `io` for both directions on the current reactor.
    pub(crate) fn new(io: E) -> io::Result<Self> {
        Self::with_interest(io, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `io` on the current reactor. On failure `io` is dropped (closed) here; nothing
    /// stays registered.
    pub(crate) fn with_interest(mut io: E, interest: Interest) -> io::Result<Self> {
        let registration = Registration::new(&mut io, interest)?;
        Ok(Evented {
            io: Some(io),
            registration,
        })
    }

    /// Tells the runtime's task dump that the current task waits for `dir` on this socket
    /// (called on the `Pending` path only).
    #[inline]
    pub(crate) fn note_wait(&self, dir: Direction) {
        // (`enabled` is an inlined thread-local read: with diagnostics off, the descriptor
        // read and the out-of-line `set_wait_reason` call are skipped.)
        if !enabled() {
            return;
        }
        let direction = match dir {
            Direction::Read => IoDirection::Read,
            Direction::Write => IoDirection::Write,
        };
        set_wait_reason(WaitReason::Io {
            fd: self.io.as_ref().map_or(-1, DiagFd::diag_fd),
            direction,
        });
    }

    pub(crate) fn get(&self) -> &E {
        self.io
            .as_ref()
            .expect("strand-net: I/O source used after it was taken")
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Waits until the reactor reports readiness in `dir` (spends one unit of budget).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let coop = ready!(coop::poll_proceed(cx));
        let Poll::Ready(ev) = self.registration.poll_ready(cx, dir) else {
            self.note_wait(dir);
            return Poll::Pending;
        };
        coop.made_progress();
        Poll::Ready(ev)
    }

    /// Waits until the reactor reports readiness in `dir`, as a future with its own waiter:
    /// any number of tasks may wait on the same direction at once. Spends one unit of budget.
    pub(crate) async fn ready(&self, dir: Direction) -> io::Result<ReadyEvent> {
        let mut readiness = pin!(self.registration.readiness(dir));
        poll_fn(|cx| {
            let coop = ready!(coop::poll_proceed(cx));
            let Poll::Ready(ev) = readiness.as_mut().poll(cx) else {
                self.note_wait(dir);
                return Poll::Pending;
            };
            coop.made_progress();
            Poll::Ready(ev)
        })
        .await
    }

    /// Runs `f` whenever `dir` is ready until it returns something other than `WouldBlock`
    /// (clearing the observed readiness each time), as a future with its own waiter: any number
    /// of tasks may run it on the same direction at once. Spends one unit of budget. Cancel
    /// safe: `f` runs only inside a poll, and its result is returned from that same poll.
    pub(crate) async fn async_io<R>(
        &self,
        dir: Direction,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.get();
        let mut op = pin!(self
            .registration
            .async_io(dir, || sys::retry_interrupted(|| f(io))));
        poll_fn(|cx| {
            let coop = ready!(coop::poll_proceed(cx));
            let Poll::Ready(res) = op.as_mut().poll(cx) else {
                self.note_wait(dir);
                return Poll::Pending;
            };
            coop.made_progress();
            Poll::Ready(res)
        })
        .await
    }

    /// Clears exactly the readiness `ev` observed.
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        self.registration.clear_readiness(ev);
    }

    /// Runs `f` when the socket is ready in `dir`; on `WouldBlock` clears that readiness and
    /// waits again. Spends one unit of budget.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let coop = ready!(coop::poll_proceed(cx));
        let io = self.get();
        let polled = self
            .registration
            .poll_io(cx, dir, || sys::retry_interrupted(|| f(io)));
        let Poll::Ready(res) = polled else {
            self.note_wait(dir);
            return Poll::Pending;
        };
        coop.made_progress();
        Poll::Ready(res)
    }

    /// [`poll_io`](Self::poll_io) for a stream socket's read or write of `requested` bytes:
    /// a transfer of fewer bytes (but more than zero) proves the receive queue was empty, or
    /// the send buffer full, at that instant, so the readiness it observed is cleared right
    /// away (tick-checked, closed and error bits kept) instead of by a later syscall returning
    /// `WouldBlock`; the kernel raises a new edge for anything that arrives or frees up later.
    /// Only for operations where that holds: TCP reads, TCP and Unix-stream writes (see the
    /// crate docs, "Readiness").
    #[inline]
    pub(crate) fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        requested: usize,
        mut f: impl FnMut(&E) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let coop = ready!(coop::poll_proceed(cx));
        let io = self.get();
        // Past MAX_DRAIN_PROOF a short transfer may be the kernel's per-call cap instead.
        let proves = requested <= MAX_DRAIN_PROOF;
        let polled = self.registration.poll_io_drain(
            cx,
            dir,
            || sys::retry_interrupted(|| f(io)),
            |&n| proves && n > 0 && n < requested,
        );
        let Poll::Ready(res) = polled else {
            self.note_wait(dir);
            return Poll::Pending;
        };
        coop.made_progress();
        Poll::Ready(res)
    }

    /// Runs `f` if readiness in `dir` is cached; `WouldBlock` (also when not ready) clears the
    /// readiness it saw. Does not wait and does not spend budget (there is no task to yield).
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.get();
        self.registration
            .try_io(dir, || sys::retry_interrupted(|| f(io)))
    }

    /// Deregisters and hands back the source (still non-blocking).
    pub(crate) fn into_inner(mut self) -> io::Result<E> {
        let mut io = self.io.take().expect("strand-net: I/O source taken twice");
        self.registration.deregister(&mut io)?;
        Ok(io)
    }

    /// Like [`into_inner`](Self::into_inner) but keeps the source when deregistration fails
    /// (the reactor is gone; there is nothing left to deregister from).
    pub(crate) fn into_inner_lossy(mut self) -> E {
        let mut io = self.io.take().expect("strand-net: I/O source taken twice");
        let _ = self.registration.deregister(&mut io);
        io
    }
}

impl<E: Source> Drop for Evented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Deregister before the descriptor closes (when `io` drops at the end of this
            // block). An error here means the reactor is already gone, and with it the epoll
            // instance, so there is nothing left to deregister from.
            let _ = self.registration.deregister(&mut io);
        }
    }
}

impl<E: Source + fmt::Debug> fmt::Debug for Evented<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.io {
            Some(io) => io.fmt(f),
            None => f.write_str("<taken>"),
        }
    }
}
