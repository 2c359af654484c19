//! # strand — a small, fast, single-threaded async runtime for network services
//!
//! strand runs every task as a compiler-generated [`Future`](std::future::Future) state machine
//! kept in one heap allocation, and polls them all on **one thread**. A mio reactor turns
//! epoll/kqueue readiness into wakers, a hierarchical timer wheel drives [`time`], blocking work
//! goes to a bounded thread pool ([`task::spawn_blocking`]), and the [`sync`] primitives need no
//! atomics because everything they coordinate lives on the same thread.
//!
//! ```
//! let answer = strand::block_on(async {
//!     let task = strand::spawn(async { 6 * 7 });
//!     task.await.unwrap()
//! });
//! assert_eq!(answer, 42);
//! ```
//!
//! ## Contract
//! - Spawned futures need no `Send` bound: they are only ever polled and dropped on the thread
//!   that runs their runtime. Wakers are `Send + Sync` and may be woken from any thread.
//! - [`Runtime`], [`task::JoinHandle`] (unless its output is `Send`), the [`sync`] types and the
//!   sockets are `!Send`. [`runtime::Handle`] is `Send + Sync` and spawns `Send` futures from
//!   any thread.
//! - Every resource strand ships spends the cooperative budget of the task that polls it, so
//!   a busy task cannot starve I/O, timers or other tasks.
//! - Dropping a [`Runtime`] drops every task's future exactly once, on the runtime's thread,
//!   while the runtime is still entered.
//!
//! Thread-per-core services run one [`Runtime`] per thread; strand keeps no process-wide state.
//!
//! **New here? Read the [`guide`]**: getting started, tasks, I/O, time, sync, blocking work,
//! hyper, which operations are cancel-safe and which types are `Send`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod guide;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod io;
pub mod net;
pub mod runtime;
#[cfg(unix)]
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;

mod context;

pub use runtime::Runtime;
pub use strand_macros::{main, test};
pub use task::{spawn, spawn_blocking};

/// Runs `future` to completion on a new default [`Runtime`], then drops the runtime.
///
/// A shorthand for `Runtime::new()?.block_on(future)`; it panics if the runtime cannot be
/// created (for example when the process is out of file descriptors).
///
/// ```
/// let v = strand::block_on(async { 1 + 1 });
/// assert_eq!(v, 2);
/// ```
///
/// # Panics
/// When called from inside a runtime on the same thread (nested `block_on`).
#[track_caller]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let rt =
        Runtime::new().unwrap_or_else(|e| panic!("strand::block_on: cannot create a runtime: {e}"));
    rt.block_on(future)
}
