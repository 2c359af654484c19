//! The cooperative budget.
//!
//! Each task poll starts with a budget of [`INITIAL_BUDGET`] units. Every resource strand ships
//! (sockets, timers, channels, locks, `JoinHandle`) spends one unit per operation through
//! [`poll_proceed`]; once the budget is spent the operation wakes the task and returns
//! `Pending`, so the task returns to the executor even when everything it touches is always
//! ready, and the reactor, timers and other tasks get their turn (a forced yield is deferred
//! to the next executor tick, like [`yield_now`](crate::task::yield_now)).
//!
//! Outside a task (and inside [`unconstrained`]) there is no budget: `poll_proceed` is always
//! `Ready`. The runtime polls its root future inside [`budget`].
//!
//! ```
//! use std::task::{Context, Poll};
//! use strand_executor::coop;
//!
//! /// A resource that is always ready, but still lets others run.
//! fn poll_next(cx: &mut Context<'_>, counter: &mut u64) -> Poll<u64> {
//!     let coop = std::task::ready!(coop::poll_proceed(cx));
//!     *counter += 1;
//!     coop.made_progress();
//!     Poll::Ready(*counter)
//! }
//! # let _ = poll_next;
//! ```

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Units of budget a task gets per poll.
pub const INITIAL_BUDGET: u8 = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget(Option<u8>);

impl Budget {
    pub(crate) const UNCONSTRAINED: Budget = Budget(None);
    pub(crate) const INITIAL: Budget = Budget(Some(INITIAL_BUDGET));
}

thread_local! {
    static BUDGET: Cell<Budget> = const { Cell::new(Budget::UNCONSTRAINED) };
}

/// Replaces the thread's budget, returning the previous one.
#[inline]
pub(crate) fn set(budget: Budget) -> Budget {
    BUDGET
        .try_with(|b| b.replace(budget))
        .unwrap_or(Budget::UNCONSTRAINED)
}

/// Restores the budget on drop (also when unwinding).
struct ResetGuard(Budget);

impl Drop for ResetGuard {
    #[inline]
    fn drop(&mut self) {
        set(self.0);
    }
}

/// The permission to do one unit of work, returned by [`poll_proceed`].
///
/// Call [`made_progress`](RestoreOnPending::made_progress) when the operation completed;
/// dropping the guard without that refunds the unit (the operation returned `Pending` for its
/// own reasons and did no work).
#[must_use = "call `made_progress()` when the operation completed, or the unit is refunded"]
#[derive(Debug)]
pub struct RestoreOnPending(Cell<bool>);

impl RestoreOnPending {
    /// The operation did its work: keep the unit spent.
    #[inline]
    pub fn made_progress(&self) {
        self.0.set(false);
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        if self.0.get() {
            let _ = BUDGET.try_with(|b| {
                if let Budget(Some(n)) = b.get() {
                    b.set(Budget(Some(n.saturating_add(1).min(INITIAL_BUDGET))));
                }
            });
        }
    }
}

/// Spends one unit of the current task's budget.
///
/// `Ready(guard)` when there was budget; `Pending` when it is spent, after arranging for
/// `cx`'s waker to be woken at the next executor tick (the task is rescheduled, behind every
/// other ready task and after a reactor turn). Counted in the executor's
/// `budget_forced_yields` metric.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let spent = BUDGET.try_with(|b| match b.get() {
        Budget(None) => Some(false),
        Budget(Some(0)) => None,
        Budget(Some(n)) => {
            b.set(Budget(Some(n - 1)));
            Some(true)
        }
    });
    match spent {
        Ok(Some(counted)) => Poll::Ready(RestoreOnPending(Cell::new(counted))),
        Err(_) => Poll::Ready(RestoreOnPending(Cell::new(false))),
        Ok(None) => {
            crate::scheduler::defer_forced_yield(cx.waker());
            Poll::Pending
        }
    }
}

/// Runs `f` with a fresh budget (what the executor does around each task poll; the runtime
/// does it around its root future), restoring the previous budget afterwards.
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    let _reset = ResetGuard(set(Budget::INITIAL));
    f()
}

/// Runs `f` without a budget: `poll_proceed` is always `Ready` inside.
pub fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    let _reset = ResetGuard(set(Budget::UNCONSTRAINED));
    f()
}

/// True unless the current task has spent its whole budget.
pub fn has_budget_remaining() -> bool {
    BUDGET
        .try_with(|b| b.get() != Budget(Some(0)))
        .unwrap_or(true)
}

pin_project_lite::pin_project! {
    /// Future for [`unconstrained`]: polls the inner future without a budget.
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Unconstrained<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let inner = self.project().inner;
        with_unconstrained(|| inner.poll(cx))
    }
}

/// Opts `f` out of the cooperative budget: the resources it polls never force it to yield.
///
/// Use with care: an unconstrained future that is always ready can starve the reactor and
/// every other task.
///
/// ```
/// use strand_executor::{task, Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let handle = exec.spawn(task::unconstrained(async {
///     // 1,000 always-ready operations in a single poll.
///     for _ in 0..1_000 {
///         assert!(strand_executor::coop::has_budget_remaining());
///     }
/// }));
/// while exec.tick(64) {}
/// assert!(handle.is_finished());
/// ```
pub fn unconstrained<F: Future>(f: F) -> Unconstrained<F> {
    Unconstrained { inner: f }
}

/// Spends one unit of budget, yielding to the executor first if none is left.
///
/// ```
/// # use strand_executor::{task, coop, Executor, ExecutorConfig};
/// # use std::sync::Arc;
/// # let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// exec.spawn(async {
///     for _ in 0..10_000 {
///         // CPU-bound work that should not hog the thread.
///         coop::consume_budget().await;
///     }
/// });
/// while exec.tick(64) {}
/// assert!(exec.metrics().budget_forced_yields >= 10_000 / 128);
/// ```
pub async fn consume_budget() {
    std::future::poll_fn(|cx| {
        let coop = std::task::ready!(poll_proceed(cx));
        coop.made_progress();
        Poll::Ready(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_budget_outside_tasks() {
        assert!(has_budget_remaining());
        let waker = crate::test_util::noop_waker();
        let mut cx = Context::from_waker(&waker);
        for _ in 0..1000 {
            match poll_proceed(&mut cx) {
                Poll::Ready(g) => g.made_progress(),
                Poll::Pending => panic!("unconstrained"),
            }
        }
    }

    #[test]
    fn budget_runs_out_and_refunds() {
        let waker = crate::test_util::noop_waker();
        let mut cx = Context::from_waker(&waker);
        budget(|| {
            for _ in 0..INITIAL_BUDGET - 1 {
                let Poll::Ready(g) = poll_proceed(&mut cx) else {
                    panic!()
                };
                g.made_progress();
            }
            // The last unit, refunded twice (not progressing) and then spent.
            for _ in 0..2 {
                let Poll::Ready(g) = poll_proceed(&mut cx) else {
                    panic!()
                };
                drop(g);
            }
            let Poll::Ready(g) = poll_proceed(&mut cx) else {
                panic!()
            };
            g.made_progress();
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
            with_unconstrained(|| assert!(poll_proceed(&mut cx).is_ready()));
            assert!(!has_budget_remaining());
        });
        assert!(has_budget_remaining(), "restored after `budget`");
    }
}
