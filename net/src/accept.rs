//! The accept loop shared by [`TcpListener`](crate::TcpListener) and
//! [`UnixListener`](crate::UnixListener).
//!
//! ## What `accept` does with each kind of error
//! - `WouldBlock`: nothing queued. The readiness it observed is cleared and the task waits.
//! - Per-connection errors (`ECONNABORTED`, `ECONNRESET`, `EPROTO`, `EINTR`): the connection
//!   was gone before we took it; the listener is fine. Skipped, and the next queued connection
//!   is tried at once.
//! - Resource exhaustion (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`): returned to the caller as an
//!   `io::Error`; the listener stays usable. The connection is still queued, so **readiness is
//!   kept** (clearing it would lose the edge: once descriptors free up no new event would come,
//!   and queued connections would wait for an unrelated new client). To keep a caller that
//!   retries at once from spinning at 100% CPU, the listener then enters a backoff of
//!   [`ACCEPT_BACKOFF`]: every `accept` started during it first sleeps on a reactor timer until
//!   the backoff ends, then tries the syscall again (the cached readiness makes it try even
//!   though no new event arrived). The backoff is purely time based; a new connection arriving
//!   during it does not end it early (it could not be accepted anyway while descriptors are
//!   exhausted).
//! - Anything else: returned.
//!
//! Several tasks may accept on one listener at once: they wait through a fan-out waker
//! ([`Waiters`]), so every waiter is woken when a connection arrives, and a cancelled `accept`
//! leaves no registration behind. A connection is taken from the kernel only inside a poll that
//! returns it, so no connection is lost when an `accept` future is dropped.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use mio::event::Source;
use strand_executor::coop;
use strand_reactor::time::{self, TimerKey};
use strand_reactor::Direction;

use crate::evented::{DiagFd, Evented};
use crate::sys;
use crate::waiters::Waiters;

/// How long `accept` waits before retrying after `EMFILE`/`ENFILE`/`ENOBUFS`/`ENOMEM`.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Listener-wide accept state.
pub(crate) struct AcceptShared {
    waiters: Waiters,
    /// Set after a resource-exhaustion error: no `accept` syscall before this instant.
    backoff_until: Cell<Option<Instant>>,
}

/// Per-caller accept state (one per `accept()` future or `Incoming` stream).
#[derive(Default)]
pub(crate) struct AcceptState {
    slot: Option<usize>,
    timer: Option<(TimerKey, Instant)>,
}

impl AcceptShared {
    pub(crate) fn new() -> AcceptShared {
        AcceptShared {
            waiters: Waiters::new(),
            backoff_until: Cell::new(None),
        }
    }

    /// Polls for one accepted connection, with the error handling described in the module docs.
    pub(crate) fn poll_accept<E: Source + DiagFd, T>(
        &self,
        evented: &Evented<E>,
        state: &mut AcceptState,
        cx: &mut Context<'_>,
        mut accept: impl FnMut(&E) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        ready!(self.poll_backoff(state, cx));
        let coop = ready!(coop::poll_proceed(cx));

        // Wait through the fan-out waker; only when that parks do we add this task to the
        // fan-out's list (nothing can wake the fan-out in between: the reactor only wakes from
        // a turn, on this thread), so an accept that finds a queued connection costs no list
        // operation.
        let mut fan_cx = Context::from_waker(self.waiters.waker());
        let io = evented.get();
        let polled = evented
            .registration()
            .poll_io(&mut fan_cx, Direction::Read, || loop {
                match accept(io) {
                    Err(e) if sys::is_connection_error(&e) => continue,
                    other => return other,
                }
            });
        let res = match polled {
            Poll::Ready(res) => res,
            Poll::Pending => {
                self.waiters.register(&mut state.slot, cx.waker());
                evented.note_wait(Direction::Read);
                return Poll::Pending;
            }
        };

        self.waiters.remove(&mut state.slot);
        coop.made_progress();
        if let Err(e) = &res {
            if sys::is_resource_exhaustion(e) {
                self.backoff_until.set(Some(time::now() + ACCEPT_BACKOFF));
            }
        }
        Poll::Ready(res)
    }

    /// `Ready` when no backoff is in force (any more); otherwise waits on this caller's timer.
    fn poll_backoff(&self, state: &mut AcceptState, cx: &mut Context<'_>) -> Poll<()> {
        let until = match self.backoff_until.get() {
            Some(until) if time::now() < until => until,
            other => {
                if other.is_some() {
                    self.backoff_until.set(None);
                }
                self.cancel_timer(state);
                return Poll::Ready(());
            }
        };
        if let Some((key, deadline)) = state.timer {
            if deadline != until {
                time::cancel(key);
                state.timer = None;
            }
        }
        let key = match state.timer {
            Some((key, _)) => key,
            None => match time::register(until, cx.waker()) {
                Some(key) => {
                    state.timer = Some((key, until));
                    key
                }
                // No reactor timer (polled outside a runtime): no backoff rather than a hang.
                None => return Poll::Ready(()),
            },
        };
        ready!(time::poll_timer(key, cx));
        state.timer = None;
        time::cancel(key);
        if self.backoff_until.get() == Some(until) {
            self.backoff_until.set(None);
        }
        Poll::Ready(())
    }

    fn cancel_timer(&self, state: &mut AcceptState) {
        if let Some((key, _)) = state.timer.take() {
            time::cancel(key);
        }
    }

    /// Releases what `state` holds (waiter slot, backoff timer). Called when an accept future
    /// or stream is dropped.
    pub(crate) fn release(&self, state: &mut AcceptState) {
        self.waiters.remove(&mut state.slot);
        self.cancel_timer(state);
    }
}

impl fmt::Debug for AcceptShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptShared")
            .field("waiters", &self.waiters)
            .field("backoff_until", &self.backoff_until.get())
            .finish()
    }
}

impl fmt::Debug for AcceptState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptState")
            .field("waiting", &self.slot.is_some())
            .field("backoff_timer", &self.timer.is_some())
            .finish()
    }
}

/// Releases an [`AcceptState`] when dropped (used inside `accept()` futures, so a cancelled
/// accept leaves nothing registered).
pub(crate) struct AcceptGuard<'a> {
    shared: &'a AcceptShared,
    pub(crate) state: AcceptState,
}

impl<'a> AcceptGuard<'a> {
    pub(crate) fn new(shared: &'a AcceptShared) -> Self {
        AcceptGuard {
            shared,
            state: AcceptState::default(),
        }
    }
}

impl Drop for AcceptGuard<'_> {
    fn drop(&mut self) {
        self.shared.release(&mut self.state);
    }
}
