//! Helpers for unit tests.

use std::sync::Arc;
use std::task::{Wake, Waker};

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

pub(crate) fn noop_waker() -> Waker {
    Waker::from(Arc::new(Noop))
}
