//! Tasks: spawning, joining, aborting, yielding, and blocking work.
//!
//! A task is a `'static` future that the runtime polls to completion on its own thread.
//! [`spawn`] returns a [`JoinHandle`] that resolves to the task's output, or to a
//! [`JoinError`] when the task panicked or was aborted. Dropping the handle detaches the task.
//!
//! ```
//! strand::block_on(async {
//!     let h = strand::task::spawn(async { "done" });
//!     assert_eq!(h.await.unwrap(), "done");
//! });
//! ```
pub use strand_executor::task::*;
