//! `task::Builder`: spawn with a name.

use std::future::Future;
use std::io;

use crate::join_handle::JoinHandle;
use crate::scheduler::{self, Executor};

/// Spawns a task with options (a name, shown in snapshots, slow-poll reports and tracing).
///
/// As in tokio, `spawn` returns an `io::Result` (strand's spawns do not fail today, but a
/// future limit on live tasks would be reported there).
///
/// ```
/// use strand_executor::{task, Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let _guard = exec.enter();
/// let handle = task::Builder::new().name("greeter").spawn(async { "hi" }).unwrap();
/// assert_eq!(exec.snapshot()[0].name.as_deref(), Some("greeter"));
/// while exec.tick(64) {}
/// assert!(handle.is_finished());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no options set.
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// Names the task.
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    /// Spawns on the current executor.
    ///
    /// # Panics
    /// Outside of a strand runtime, like [`task::spawn`](crate::task::spawn).
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
    {
        Ok(scheduler::spawn_current(future, self.name))
    }

    /// Spawns on `executor`.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, executor: &Executor) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + 'static,
    {
        Ok(executor.spawn_named(future, self.name))
    }

    /// Runs `f` on the current blocking pool, like
    /// [`task::spawn_blocking`](crate::task::spawn_blocking).
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match scheduler::current_pool() {
            Some(pool) => Ok(pool.spawn(f, self.name)),
            None => crate::task::outside_runtime("spawn_blocking"),
        }
    }
}
