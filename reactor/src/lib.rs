//! strand's reactor: turns mio readiness into wakers, runs the timer wheel, and lets other
//! threads interrupt a blocked poll.
//!
//! One [`Reactor`] belongs to one runtime on one thread (it is `!Send`). The runtime enters it
//! ([`Reactor::enter`]) so that sockets ([`Registration::new`]) and timers ([`time::register`])
//! find it through a thread-local "current reactor", and it drives it with
//! [`Reactor::turn`]. Nothing here depends on the executor: the reactor only sees
//! [`std::task::Waker`]s.
//!
//! # Contract
//!
//! - **Edge-triggered readiness, cached per direction.** An event sets readiness for the read
//!   and/or write direction of a registration and stamps that direction with a new tick. The
//!   readiness stays set until an operation really returns `WouldBlock` and the caller clears
//!   exactly the [`ReadyEvent`] it observed ([`Registration::clear_readiness`]); a clear whose
//!   tick is stale (an event arrived meanwhile) does nothing, so fresh readiness is never lost.
//!   Ticks are `u64` and per direction: a write event never makes a read-side clear fail.
//! - **Drain until `WouldBlock`.** After readiness, keep operating until the OS says
//!   `WouldBlock`; in general a short read does not mean drained (a datagram never drains a
//!   queue). [`Registration::poll_io`] does this. The owner of a stream socket, which knows
//!   that a short transfer does prove the queue empty (or the send buffer full) and that the
//!   kernel raises a new edge for what comes later, may use [`Registration::poll_io_drain`]
//!   to clear on that proof instead (tick-checked, closed and error bits kept).
//! - **Spurious readiness is normal.** `WouldBlock` after an event is not an error; `poll_io`
//!   turns it into `Pending`.
//! - **Closed hints are final.** `READ_CLOSED` / `WRITE_CLOSED` are only set by a real event and
//!   are never cleared.
//! - **Only the last waker counts.** Each registration keeps one waker per direction for the
//!   `poll_*` style ([`Registration::poll_ready`]); polling with a new waker replaces the old one
//!   (which is dropped after every internal borrow is released). Several tasks waiting on the
//!   same direction (e.g. several acceptors) use [`Registration::readiness`] /
//!   [`Registration::async_io`], which keep one waiter per future.
//! - **Deregister before close.** The owner of a source calls [`Registration::deregister`]
//!   before the file descriptor closes; dropping the [`Registration`] frees its slot. Tokens
//!   carry a generation, so an event for a reused slot (e.g. a descriptor closed without
//!   deregistering and reused) is dropped.
//! - **Wakers run outside borrows.** [`Reactor::turn`] collects every waker to wake (I/O and
//!   timers), releases all internal borrows, then wakes them, so a waker may re-enter the
//!   reactor (register a socket, set a timer).
//! - **Timers never fire early.** Deadlines are rounded up to the next millisecond of the
//!   reactor clock; a deadline at or before "now" fires at the next turn.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use strand_reactor::Reactor;
//!
//! let reactor = Reactor::new().unwrap();
//! let _enter = reactor.enter();
//! // Nothing registered: a zero-timeout turn returns at once.
//! let stats = reactor.turn(Some(Duration::ZERO)).unwrap();
//! assert_eq!(stats.events, 0);
//! assert_eq!(reactor.registrations(), 0);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod reactor;
mod ready;
mod registration;
mod scheduled_io;
pub mod time;
mod token;
mod unpark;
mod wheel;

pub use clock::Clock;
pub use reactor::{EnterGuard, Reactor, TurnStats};
pub use ready::{Direction, Ready, ReadyEvent};
pub use registration::{Readiness, Registration};
pub use unpark::Unparker;

#[doc(no_inline)]
pub use mio::Interest;
