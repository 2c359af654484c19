//! # strand-executor — strand's single-threaded task executor
//!
//! Tasks, wakers, run queues, `JoinHandle`/`JoinError`/`JoinSet`, the cooperative budget, the
//! blocking pool, task ids, names and spawn locations, executor metrics and task snapshots.
//! It knows nothing about I/O or time: the `strand` facade wires an [`Executor`] and a reactor
//! into `strand::Runtime` and re-exports [`task`] as `strand::task`.
//!
//! ```
//! use strand_executor::{task, Executor, ExecutorConfig};
//! use std::sync::Arc;
//!
//! let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| { /* wake the reactor */ }));
//! let _guard = exec.enter();
//! let handle = task::spawn(async {
//!     let child = task::spawn(async { 40 });
//!     task::yield_now().await;
//!     child.await.unwrap() + 2
//! });
//! while exec.tick(64) {}
//! assert_eq!(futures_lite::future::block_on(handle).unwrap(), 42);
//! ```
//!
//! ## Contract
//! - **One allocation per task**: header (state word with refcount, vtable, id, executor
//!   back-pointer, registry key, awaiter slot, poll count and last-poll stamp) followed by the
//!   future, which is replaced in place by its output; the block is recycled through the
//!   per-thread cache below. The state machine is documented in the `raw` module source.
//! - **Registry**: live tasks by key, for shutdown and snapshots; spawning writes a slot and
//!   completing overwrites it, neither reads one (see the `registry` module source).
//! - **`!Send` futures**: a task's future is only ever polled and dropped on its executor's
//!   thread. Aborting from another thread only sets a bit and schedules the task.
//! - **Wakers** are `Send + Sync`; cloned, woken and dropped on any thread, also after the task
//!   finished or the executor is gone (then they do nothing). Polling borrows the task's waker:
//!   no refcount traffic per poll. A wake on the executor's thread while it is entered goes to a
//!   non-atomic local queue; from elsewhere to a locked remote queue plus one `unpark` call.
//! - **Panics** in a task (or in its future's `Drop` on abort or shutdown) are caught per task;
//!   they resolve its `JoinHandle` to `Err(panic)` and never reach the executor or other tasks.
//!   Dropping a `JoinHandle` never re-raises anything.
//! - **Order**: ready tasks run in FIFO order; `yield_now` (and a spent budget) sends a task to
//!   the back of the line, behind the next reactor turn.
//! - **Shutdown** drops every live task's future exactly once, on the executor's thread, with
//!   the executor entered; spawns after that return handles resolving to `Err(cancelled)`.
//! - **Per runtime**: no process-wide state except the task id counter; the executor entered on
//!   a thread is found through a thread-local. Freed task blocks are kept for reuse in a bounded
//!   per-thread cache (2 MiB per size class, 4 MiB in all), emptied when an executor of the
//!   thread is dropped. [`LocalRc`] (a `!Send` shared box for task-local primitives) draws on
//!   the same cache.
//!
//! `unsafe` lives only in the `raw` and `waker` modules, each block with a `SAFETY` comment.
//!
//! ## Features
//! - `tracing`: a `runtime.spawn` span per task (target `tokio::task`, fields `kind`,
//!   `task.name`, `task.id`, `loc.file`, `loc.line`, `loc.col`, as tokio-console reads them),
//!   and trace events for spawn, poll and waker operations. Nothing is compiled in without it.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod abort_handle;
mod blocking;
mod builder;
pub mod coop;
pub mod diag;
mod error;
mod header;
mod id;
mod join_handle;
mod join_set;
pub mod metrics;
#[allow(unsafe_code)]
mod raw;
mod registry;
mod scheduler;
mod state;
pub mod task;
#[cfg(test)]
mod test_util;
#[allow(unsafe_code)]
mod waker;
mod watchdog;
mod yield_now;

pub use metrics::{ExecutorMetrics, TaskSnapshot, TaskState};
pub use raw::LocalRc;
pub use scheduler::{EnterGuard, Executor, ExecutorConfig, Spawner, Unpark};
