//! Hand-driving futures in unit tests: counting wakers, wakers with hooks on wake and drop.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Counts how often the waker it belongs to was woken.
#[derive(Default)]
pub(crate) struct Counter(AtomicUsize);

impl Counter {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub(crate) fn counting_waker() -> (Waker, Arc<Counter>) {
    let c = Arc::new(Counter::default());
    (Waker::from(c.clone()), c)
}

pub(crate) fn noop_waker() -> Waker {
    counting_waker().0
}

/// A waker that runs `on_wake` when woken and `on_drop` when its last clone is dropped. The
/// hooks are plain `fn`s: they reach the (`!Send`) primitive under test through a thread-local.
pub(crate) struct HookWaker {
    pub(crate) on_wake: fn(),
    pub(crate) on_drop: fn(),
}

impl Wake for HookWaker {
    fn wake(self: Arc<Self>) {
        (self.on_wake)();
    }
}

impl Drop for HookWaker {
    fn drop(&mut self) {
        (self.on_drop)();
    }
}

pub(crate) fn hook_waker(on_wake: fn(), on_drop: fn()) -> Waker {
    Waker::from(Arc::new(HookWaker { on_wake, on_drop }))
}

pub(crate) fn poll_once<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

pub(crate) fn poll_pinned<F: Future + ?Sized>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(waker))
}
