//! Task wakers: a `RawWaker` whose data pointer is the task header.
//!
//! A waker owns one reference to its task (see [`crate::raw`]); `clone` adds one, `drop`
//! releases one, `wake` turns its reference into a run-queue entry (or releases it when there is
//! nothing to schedule) and `wake_by_ref` adds a reference for the entry only when the task
//! really has to be queued. All of this is atomic, so wakers are `Send + Sync` and may be used
//! on any thread, after the task finished (a no-op) and after the executor is gone (every task
//! of a shut-down executor is complete, so again a no-op).
//!
//! While a task is polled it gets a *borrowed* waker built from the header pointer without
//! touching the refcount (the run-queue entry being run keeps the task alive); only a clone
//! made by the future costs a reference.

use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::header::Header;
use crate::raw::{self, TaskRef};
use crate::state::WakeAction;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// The raw waker of `ptr`'s task, *without* a reference of its own: the caller either wraps
/// it in `ManuallyDrop` (borrowed waker) or has already added the reference it stands for.
#[inline]
pub(crate) fn raw_waker(ptr: NonNull<Header>) -> RawWaker {
    RawWaker::new(ptr.as_ptr().cast_const().cast(), &VTABLE)
}

/// True when `waker` is (recognisably) the waker of the task at `ptr`. Best effort, used only
/// to take a faster path: a false negative falls back to a general one.
#[inline]
pub(crate) fn is_task_waker(waker: &Waker, ptr: NonNull<Header>) -> bool {
    // SAFETY: the waker is only compared (`will_wake` looks at the data and vtable pointers)
    // and never used nor dropped, so no reference is needed.
    let ours = std::mem::ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker(ptr)) });
    waker.will_wake(&ours)
}

#[inline]
fn header_ptr(data: *const ()) -> NonNull<Header> {
    // SAFETY: every `RawWaker` with our vtable was built by `raw_waker` from a `NonNull`.
    unsafe { NonNull::new_unchecked(data.cast_mut().cast::<Header>()) }
}

/// # Safety
/// `header` must be alive for the returned lifetime.
#[inline]
unsafe fn header<'a>(data: *const ()) -> &'a Header {
    // SAFETY: the caller's waker holds a reference, so the task is alive.
    unsafe { header_ptr(data).as_ref() }
}

#[cfg(feature = "tracing")]
fn trace_op(data: *const (), op: &'static str) {
    // SAFETY: called while the waker still holds its reference.
    let id = unsafe { header(data) }.id.as_u64();
    tracing::trace!(target: "tokio::task::waker", op, task.id = id);
}

/// # Safety
/// `data` is the data pointer of one of our wakers, which holds a reference.
unsafe fn clone(data: *const ()) -> RawWaker {
    #[cfg(feature = "tracing")]
    trace_op(data, "waker.clone");
    // SAFETY: the waker being cloned holds a reference.
    unsafe { header(data) }.state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

/// # Safety
/// `data` is the data pointer of one of our wakers, whose reference this consumes.
unsafe fn wake(data: *const ()) {
    #[cfg(feature = "tracing")]
    trace_op(data, "waker.wake");
    // SAFETY: the waker being consumed holds a reference.
    let action = unsafe { header(data) }.state.wake_by_val();
    match action {
        // SAFETY: the transition turned the waker's reference into the entry's.
        WakeAction::Schedule => raw::schedule(unsafe { TaskRef::from_raw(header_ptr(data)) }),
        // SAFETY: the waker held the last reference and there is no handle.
        WakeAction::Dealloc => unsafe { raw::dealloc_unreachable(header_ptr(data)) },
        WakeAction::None => {}
    }
}

/// # Safety
/// `data` is the data pointer of one of our wakers, which holds a reference.
unsafe fn wake_by_ref(data: *const ()) {
    #[cfg(feature = "tracing")]
    trace_op(data, "waker.wake_by_ref");
    // SAFETY: the borrowed waker's owner holds a reference.
    if unsafe { header(data) }.state.wake_by_ref() == WakeAction::Schedule {
        // SAFETY: the transition added the reference this entry owns.
        raw::schedule(unsafe { TaskRef::from_raw(header_ptr(data)) });
    }
}

/// # Safety
/// `data` is the data pointer of one of our wakers, whose reference this releases.
unsafe fn drop_waker(data: *const ()) {
    #[cfg(feature = "tracing")]
    trace_op(data, "waker.drop");
    // SAFETY: the waker being dropped owns one reference.
    unsafe { raw::drop_ref(header_ptr(data)) }
}
