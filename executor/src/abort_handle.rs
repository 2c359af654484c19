//! `AbortHandle`.

use std::fmt;

use crate::id::Id;
use crate::raw::AbortRef;

/// Aborts a task from any thread, without the right to await it.
///
/// Obtained from [`JoinHandle::abort_handle`](crate::task::JoinHandle::abort_handle) or
/// [`JoinSet::spawn`](crate::task::JoinSet::spawn). Dropping it does nothing to the task.
///
/// ```
/// use strand_executor::{Executor, ExecutorConfig};
/// use std::{future::pending, sync::Arc};
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let handle = exec.spawn(pending::<()>());
/// let abort = handle.abort_handle();
/// std::thread::spawn(move || abort.abort()).join().unwrap();
/// while exec.tick(64) {}
/// assert!(handle.is_finished());
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    raw: AbortRef,
}

impl AbortHandle {
    pub(crate) fn new(raw: AbortRef) -> AbortHandle {
        AbortHandle { raw }
    }

    /// Requests cancellation; see [`JoinHandle::abort`](crate::task::JoinHandle::abort).
    pub fn abort(&self) {
        self.raw.abort();
    }

    /// True once the task finished.
    pub fn is_finished(&self) -> bool {
        self.raw.is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
