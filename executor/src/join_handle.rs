//! `JoinHandle`: the user's side of a task.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::abort_handle::AbortHandle;
use crate::error::JoinError;
use crate::id::Id;
use crate::raw::JoinRef;

/// An owned permission to await a task's output.
///
/// Awaiting it gives `Ok(output)`, or `Err(JoinError)` when the task panicked or was
/// cancelled. Dropping it *detaches* the task: it keeps running and its output is dropped when
/// it finishes (a panic in that output's `Drop` is caught, never re-raised).
///
/// `JoinHandle<T>` is `Send` when `T: Send`, so a handle returned by a `Spawner` can be awaited
/// on another thread, even on another runtime. Polling it spends one unit of the cooperative
/// budget.
///
/// ```
/// use strand_executor::{Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let first = exec.spawn(async { 20 });
/// let second = exec.spawn(async move { first.await.unwrap() + 22 });
/// while exec.tick(64) {}
/// assert!(second.is_finished());
/// assert_eq!(futures_lite::future::block_on(second).unwrap(), 42);
/// ```
///
/// A `JoinHandle` of a `!Send` output stays on its thread:
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// let exec = strand_executor::Executor::new(Default::default(), std::sync::Arc::new(|| {}));
/// let handle = exec.spawn(async { std::rc::Rc::new(1) });
/// assert_send(handle);
/// ```
pub struct JoinHandle<T> {
    raw: JoinRef<T>,
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    #[inline]
    pub(crate) fn new(raw: JoinRef<T>) -> JoinHandle<T> {
        JoinHandle { raw }
    }

    /// Requests cancellation. The task's future is dropped on its runtime's thread at its next
    /// turn (never here, and never concurrently with a poll); once its destructors have run
    /// the handle resolves to `Err(JoinError)` with `is_cancelled()`. A task that already
    /// finished keeps its output. Blocking jobs (`spawn_blocking`) cannot be aborted.
    ///
    /// ```
    /// use strand_executor::{Executor, ExecutorConfig};
    /// use std::{future::pending, sync::Arc};
    ///
    /// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
    /// let handle = exec.spawn(pending::<()>());
    /// while exec.tick(64) {}
    /// handle.abort();
    /// while exec.tick(64) {}
    /// assert!(futures_lite::future::block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        self.raw.abort();
    }

    /// True once the task finished (completed, panicked or was cancelled), i.e. once awaiting
    /// this handle would not wait.
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }

    /// A `Send + Sync` handle that can abort the task from any thread.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle::new(self.raw.abort_ref())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let coop = ready!(crate::coop::poll_proceed(cx));
        let out = match self.raw.poll_join(cx.waker()) {
            Poll::Ready(out) => out,
            Poll::Pending => {
                // The awaiter slot counts for the waiting party until the task completes (a
                // handle dropped before that leaves the count too high: proofs then fail, never
                // pass wrongly).
                if crate::diag::enabled() {
                    crate::scheduler::note_join_pending(self.raw.diag_target(), cx.waker());
                }
                return Poll::Pending;
            }
        };
        coop.made_progress();
        Poll::Ready(out)
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
