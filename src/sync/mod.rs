//! Synchronization between tasks of one runtime: channels, locks, a semaphore, notifications.
//!
//! Every task of a strand runtime runs on the same thread, so these primitives need no atomics
//! and no thread-safe locks: their state lives in `Cell`/`RefCell` and they are shared with `&`
//! or [`Rc`](std::rc::Rc). That makes them much cheaper than thread-safe equivalents, and it
//! makes every type here **`!Send`** (the compiler stops one from leaving its thread).
//!
//! | type | for |
//! |---|---|
//! | [`oneshot`] | one value from one task to another (a reply) |
//! | [`mpsc`] | a FIFO stream of values from many producers to one consumer, bounded or not |
//! | [`watch`] | the latest value of something, observed by many |
//! | [`Mutex`] | exclusive access to a value across `.await` points |
//! | [`RwLock`] | many readers or one writer |
//! | [`Semaphore`] | limiting concurrency to N permits |
//! | [`Notify`] | waking one or all waiting tasks, without data |
//!
//! The API follows tokio's `sync` module (same names, same semantics, errors in `error`
//! submodules) so code moves over with a path change.
//!
//! # Contract
//! - **Cancel safety.** Every wait can be cancelled (dropped, e.g. by a `timeout` or a
//!   `select`) at any point without losing anything: a waiter that was already handed a lock, a
//!   permit or a notification passes it on, a message is only taken off a channel by the poll
//!   that returns it. Each type's docs state exactly what a cancellation means.
//! - **Fairness.** Locks, the semaphore, bounded senders waiting for room and `notify_one` serve
//!   waiters in FIFO order; `try_*` calls never jump the queue.
//! - **Wakers.** A waiting future polled again with another waker wakes the newest one. Wakers
//!   are only woken or dropped when no internal borrow is held, so a waker whose `wake` or
//!   `Drop` re-enters the primitive is fine.
//! - **Budget.** Every wait spends one unit of the task's cooperative budget, so a task that
//!   keeps finding its channel ready still yields to other tasks, I/O and timers regularly.
//! - **Steady state allocates nothing**: waiters live in a per-primitive slab that only grows to
//!   the peak number of concurrent waiters; channels reuse their buffers.

pub(crate) mod coop;
pub mod error;
pub mod mpsc;
mod mutex;
mod notify;
pub mod oneshot;
mod raw_sem;
mod rwlock;
mod semaphore;
mod wait_list;
pub mod watch;

#[cfg(test)]
mod test_util;

pub use error::{AcquireError, TryAcquireError, TryLockError};
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard};
pub use notify::{Notified, Notify};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
