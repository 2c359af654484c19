//! The thread-local "current runtime": set while a runtime is entered (inside `block_on`, while
//! it shuts down, or through [`Runtime::enter`](crate::Runtime::enter)).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::runtime::Inner;

thread_local! {
    static CURRENT: RefCell<Vec<Rc<Inner>>> = const { RefCell::new(Vec::new()) };
    /// Non-zero while some runtime's `block_on` drives this thread: the id of that runtime.
    static DRIVING: Cell<u64> = const { Cell::new(0) };
}

/// Pops the entered runtime when dropped.
pub(crate) struct ContextGuard {
    _not_send: std::marker::PhantomData<Rc<()>>,
}

pub(crate) fn enter(inner: &Rc<Inner>) -> ContextGuard {
    CURRENT.with(|c| c.borrow_mut().push(inner.clone()));
    ContextGuard {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        // The popped Rc is dropped after the borrow ends: its Drop may re-enter this module.
        let popped = CURRENT.with(|c| c.borrow_mut().pop());
        drop(popped);
    }
}

/// Runs `f` with the innermost entered runtime, if any, without cloning its `Rc`. `f` runs
/// while the stack is borrowed, so it must not enter or leave a runtime (none of its callers
/// do: they read the runtime or clone a handle out of it).
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Rc<Inner>>) -> R) -> R {
    CURRENT.with(|c| f(c.borrow().last()))
}

/// The id of the runtime whose `block_on` drives this thread, or 0.
pub(crate) fn driving() -> u64 {
    DRIVING.with(Cell::get)
}

/// Marks this thread as driven by runtime `id` until the guard drops.
pub(crate) fn set_driving(id: u64) -> DrivingGuard {
    let prev = DRIVING.with(|d| d.replace(id));
    DrivingGuard { prev }
}

pub(crate) struct DrivingGuard {
    prev: u64,
}

impl Drop for DrivingGuard {
    fn drop(&mut self) {
        DRIVING.with(|d| d.set(self.prev));
    }
}
