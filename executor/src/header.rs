//! The task header: the type-erased first part of every task allocation.
//!
//! A task is one heap block, `#[repr(C)]` `TaskCell<F> { header: Header, stage }` (see
//! [`crate::raw`]); everything that does not know `F` reaches the task through a pointer to
//! this header.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;
use std::task::Waker;

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
///   task can carry it across threads without `unsafe`. 32 bits (4 billion live tasks would
///   need 256 GiB of task blocks), which leaves room for `polls` in the same word.
/// - `awaiter`: the `JoinHandle` while it holds `LOCKED` (and not `COMPLETE`); the completing
///   thread after `COMPLETE` when it saw `AWAITER` without `LOCKED`; whoever frees the task.
/// - `polls`, `last_poll`: the executor thread only: written by the poll epilogue
///   (`raw::run` with the executor's `&Local`), read through the registry's `OwnedTask` (which
///   never leaves that thread). Kept in the task (not in the registry) so that a poll touches
///   no memory but the task's own; compact, so that the header stays one 64-byte cache line.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    pub(crate) id: Id,
    /// The executor this task belongs to: one counted `Arc<Shared>` reference
    /// (`Arc::into_raw`), released when the task is freed. `None` for blocking jobs and for
    /// tasks born cancelled.
    pub(crate) scheduler: Option<NonNull<Shared>>,
    pub(crate) owned_key: AtomicU32,
    /// The low 32 bits of the count of polls that returned `Pending` (the poll that completes
    /// a task is not counted: the task is gone then); the registry entry counts the wraps.
    pub(crate) polls: UnsafeCell<u32>,
    pub(crate) awaiter: UnsafeCell<Option<Waker>>,
    /// The executor's stamp of the latest of those polls: nanoseconds since the executor's
    /// epoch, plus one (0: never).
    pub(crate) last_poll: UnsafeCell<u64>,
}

/// A copy of a task's poll statistics (see [`Header`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PollStats {
    pub(crate) polls_low: u32,
    pub(crate) last_poll: u64,
}
