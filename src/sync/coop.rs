//! The cooperative budget, as the sync primitives use it.
//!
//! Every wait in this module spends one unit of the polling task's budget through
//! [`poll_proceed`]: when the budget is spent the operation returns `Pending` (after arranging
//! for the task to be woken) even if it could complete, so a task looping over an always-ready
//! channel still yields to I/O, timers and other tasks. A completed operation calls
//! `made_progress()` on the guard; dropping the guard without it (the operation stayed pending)
//! refunds the unit. Outside a task there is no budget.

pub(crate) use strand_executor::coop::poll_proceed;
