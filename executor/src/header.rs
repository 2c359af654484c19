//! The task header: the type-erased first part of every task allocation.
//!
//! A task is one heap block, `#[repr(C)]` `TaskCell<F> { header: Header, stage }` (see
//! [`crate::raw`]); everything that does not know `F` reaches the task through a pointer to
//! this header.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;
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
///   task can carry it across threads without `unsafe`.
/// - `awaiter`: the `JoinHandle` while it holds `LOCKED` (and not `COMPLETE`); the completing
///   thread after `COMPLETE` when it saw `AWAITER` without `LOCKED`; whoever frees the task.
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
}
