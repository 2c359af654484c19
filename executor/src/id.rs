//! Task ids.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// An opaque, process-unique identifier of a task.
///
/// Ids are never reused while the process runs. They are handed out in blocks per thread, so
/// they grow but are not consecutive across threads.
///
/// ```
/// use strand_executor::{Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let a = exec.spawn(async {});
/// let b = exec.spawn(async {});
/// assert_ne!(a.id(), b.id());
/// println!("spawned task {}", a.id());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

/// Ids handed to one thread at a time: one atomic operation per `BLOCK` spawns.
const BLOCK: u64 = 1024;
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

impl Id {
    #[inline]
    pub(crate) fn next() -> Id {
        let next = RANGE
            .try_with(|range| {
                let (mut next, mut end) = range.get();
                if next == end {
                    next = NEXT_BLOCK.fetch_add(BLOCK, Relaxed);
                    end = next + BLOCK;
                }
                range.set((next + 1, end));
                next
            })
            .unwrap_or_else(|_| NEXT_BLOCK.fetch_add(1, Relaxed));
        Id(NonZeroU64::new(next).expect("task id counter overflowed"))
    }

    /// The id with this number, if it is one (ids start at 1).
    pub(crate) fn from_u64(v: u64) -> Option<Id> {
        NonZeroU64::new(v).map(Id)
    }

    /// The id as a number (as shown by `Display` and recorded in tracing spans).
    #[inline]
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// The id of the task being polled (or dropped) right now.
///
/// # Panics
/// Outside of a task (for example in `block_on`'s root future or on a blocking thread).
/// [`try_id`] returns `None` instead.
///
/// ```
/// use strand_executor::{task, Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let handle = exec.spawn(async { task::id() });
/// let id = handle.id();
/// while exec.tick(64) {}
/// assert_eq!(futures_lite::future::block_on(handle).unwrap(), id);
/// assert!(task::try_id().is_none());
/// ```
#[track_caller]
pub fn id() -> Id {
    try_id().expect("`strand::task::id()` called outside of a task")
}

/// The id of the task being polled (or dropped) right now, `None` outside of a task.
pub fn try_id() -> Option<Id> {
    crate::scheduler::current_task_id()
}
