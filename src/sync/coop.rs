//! The cooperative budget, as the sync primitives use it.
//!
//! Every wait in this module spends one unit of the polling task's budget through
//! [`poll_proceed`]: when the budget is spent the operation returns `Pending` (after waking the
//! task) even if it could complete, so a task looping over a always-ready channel still yields
//! to I/O, timers and other tasks. A completed operation calls `made_progress()` on the guard;
//! dropping the guard without it (the operation stayed pending) refunds the unit.

// TEMPORARY SHIM: strand_executor::coop has not landed yet. Replace the body of this module with
// `pub(crate) use strand_executor::coop::poll_proceed;` as soon as it does.
use std::task::{Context, Poll};

#[derive(Debug)]
pub(crate) struct RestoreOnPending;

impl RestoreOnPending {
    pub(crate) fn made_progress(&self) {}
}

pub(crate) fn poll_proceed(_cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    Poll::Ready(RestoreOnPending)
}
