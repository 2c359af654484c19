//! Tasks: spawning, joining, aborting, yielding, ids and the blocking pool
//! (re-exported by the facade as `strand::task`).

use std::future::Future;

pub use crate::abort_handle::AbortHandle;
pub use crate::builder::Builder;
pub use crate::coop::{consume_budget, unconstrained, Unconstrained};
pub use crate::error::JoinError;
pub use crate::id::{id, try_id, Id};
pub use crate::join_handle::JoinHandle;
pub use crate::join_set::JoinSet;
pub use crate::yield_now::yield_now;

use crate::scheduler;

/// Spawns a task on the current runtime and returns its handle.
///
/// The future needs no `Send` bound: it is polled and dropped only on the runtime's thread.
/// The task starts running at the runtime's next tick, whether or not the handle is awaited;
/// dropping the handle detaches it.
///
/// # Panics
/// Outside of a strand runtime, with "`strand::spawn` called outside of a strand runtime"
/// (and a hint to use `#[strand::main]` or `Runtime::block_on`).
///
/// ```
/// use strand_executor::{task, Executor, ExecutorConfig};
/// use std::{rc::Rc, sync::Arc};
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let _guard = exec.enter();
/// let shared = Rc::new(5); // not Send, and that is fine
/// let handle = task::spawn(async move { *shared * 2 });
/// while exec.tick(64) {}
/// assert_eq!(futures_lite::future::block_on(handle).unwrap(), 10);
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    scheduler::spawn_current(future, None)
}

/// Runs a blocking closure on the runtime's blocking pool and returns its handle.
///
/// The pool is bounded (`max_blocking_threads`, default 512; further jobs queue) and its idle
/// threads exit after `thread_keep_alive` (default 10 s). A panic in `f` resolves the handle
/// to `Err(panic)`. `abort` has no effect on a blocking job. Jobs still queued when the
/// runtime shuts down are cancelled; running ones are not waited for.
///
/// Works on the runtime's thread and on its blocking threads.
///
/// # Panics
/// Outside of a strand runtime.
///
/// ```
/// use strand_executor::{task, Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let _guard = exec.enter();
/// let handle = task::spawn_blocking(|| (1..=10).product::<u64>()); // pretend it blocks
/// assert_eq!(futures_lite::future::block_on(handle).unwrap(), 3_628_800);
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match scheduler::current_pool() {
        Some(pool) => pool.spawn(f, None),
        None => outside_runtime("spawn_blocking"),
    }
}

#[track_caller]
pub(crate) fn outside_runtime(what: &str) -> ! {
    panic!(
        "`strand::task::{what}` called outside of a strand runtime: call it from code that runs \
         on a runtime, i.e. inside `#[strand::main]`, `#[strand::test]` or `Runtime::block_on`"
    )
}
