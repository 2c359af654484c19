//! The task header: the type-erased first part of every task allocation.
//!
//! A task is one heap block, `#[repr(C)]` `TaskCell<F> { header: Header, stage }` (see
//! [`crate::raw`]); everything that does not know `F` reaches the task through a pointer to
//! this header.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;
use std::task::Waker;
use std::time::Instant;

use crate::id::Id;
use crate::raw::Vtable;
use crate::scheduler::Shared;
use crate::state::State;

/// Who may touch which field:
///
/// - `state`: any thread, atomically, through the transitions in [`crate::state`].
/// - `vtable`, `id`, `scheduler`: written once at allocation, read-only afterwards.
/// - `owned_key`: written by the executor thread when the task enters the registry (before
///   it is first polled), read by the executor thread; atomic only so that a remotely spawned
///   task can carry it across threads without `unsafe`.
/// - `awaiter`: the `JoinHandle` while it holds `LOCKED` (and not `COMPLETE`); the completing
///   thread after `COMPLETE` when it saw `AWAITER` without `LOCKED`; whoever frees the task.
/// - `stats`: the executor thread only: written by the poll epilogue (`raw::run` with the
///   executor's `&Local`), read through the registry's `OwnedTask` (which never leaves that
///   thread). Last, after the fields every thread reads, so those share the first cache line;
///   the poll touches the task's memory right after the header anyway.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    pub(crate) id: Id,
    /// The executor this task belongs to: one counted `Arc<Shared>` reference
    /// (`Arc::into_raw`), released when the task is freed. `None` for blocking jobs and for
    /// tasks born cancelled.
    pub(crate) scheduler: Option<NonNull<Shared>>,
    pub(crate) owned_key: AtomicUsize,
    pub(crate) awaiter: UnsafeCell<Option<Waker>>,
    pub(crate) stats: UnsafeCell<PollStats>,
}

/// What the executor counts per task, kept in the task itself (not in the registry) so that
/// a poll touches no memory but the task's own.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PollStats {
    /// Polls that returned `Pending` (the poll that completes a task is not counted: the task
    /// is gone then).
    pub(crate) polls: u64,
    /// The executor's clock stamp of the latest of those polls.
    pub(crate) last_poll: Option<Instant>,
}
