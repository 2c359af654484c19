//! `yield_now`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields to every other ready task and to the reactor before this task continues.
///
/// The task goes to the back of the line: it is resumed at the next executor tick, after the
/// tasks that were ready before it and after the runtime had a chance to turn its reactor.
/// Tasks that yield in the order a, b resume in the order a, b.
///
/// ```
/// use strand_executor::{task, Executor, ExecutorConfig};
/// use std::{cell::RefCell, rc::Rc, sync::Arc};
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let log = Rc::new(RefCell::new(Vec::new()));
/// for name in ["a", "b"] {
///     let log = log.clone();
///     exec.spawn(async move {
///         log.borrow_mut().push(name);
///         task::yield_now().await;
///         log.borrow_mut().push(name);
///     });
/// }
/// while exec.tick(64) {}
/// assert_eq!(*log.borrow(), ["a", "b", "a", "b"]);
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

#[must_use = "futures do nothing unless polled"]
struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    // Inlined into the caller's state machine: the second poll (after the yield) is then a
    // flag test, and the first a thread-local mark, with no call in between.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        crate::scheduler::defer(cx.waker());
        Poll::Pending
    }
}
