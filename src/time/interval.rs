use std::fmt;
use std::future::poll_fn;
use std::future::Future as _;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use super::{Instant, Sleep};

/// How late a tick may be before it counts as missed.
const LATE: Duration = Duration::from_millis(5);

/// An [`Interval`] that ticks every `period`, the first tick at once.
///
/// ```
/// use std::time::Duration;
/// strand::block_on(async {
///     let mut iv = strand::time::interval(Duration::from_millis(2));
///     let first = iv.tick().await;  // at once
///     let second = iv.tick().await; // 2 ms later
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// ```
///
/// # Panics
/// If `period` is zero.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// An [`Interval`] whose first tick is at `start`, then every `period`.
///
/// # Panics
/// If `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "`period` of an interval must be non-zero"
    );
    Interval {
        delay: Sleep::new(start),
        period,
        missed: MissedTickBehavior::Burst,
    }
}

/// What an [`Interval`] does when ticks were missed (the task was late by more than a few
/// milliseconds).
///
/// ```
/// use std::time::Duration;
/// use strand::time::{interval, MissedTickBehavior};
/// let mut iv = interval(Duration::from_millis(10));
/// iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
/// assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Skip);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks as fast as possible until caught up; the schedule keeps its
    /// original phase (ticks at `start + k * period`). The default.
    #[default]
    Burst,
    /// Start a new schedule from the late tick: the next tick is `period` after the moment
    /// the late one was returned.
    Delay,
    /// Drop the missed ticks: the next tick is the first one of the original schedule that is
    /// still in the future.
    Skip,
}

impl MissedTickBehavior {
    fn next(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => scheduled.saturating_add(period),
            MissedTickBehavior::Delay => now.saturating_add(period),
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled).as_nanos();
                let p = period.as_nanos();
                let missed = behind / p + 1;
                let step = u64::try_from(p.saturating_mul(missed)).unwrap_or(u64::MAX);
                scheduled.saturating_add(Duration::from_nanos(step))
            }
        }
    }
}

/// Ticks on a schedule; see [`interval`].
///
/// After [`tick`](Interval::tick) returns, no timer stays registered for the next tick until it
/// is polled again.
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed: MissedTickBehavior,
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.delay.deadline())
            .field("period", &self.period)
            .field("missed", &self.missed)
            .finish()
    }
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// Cancel safety: cancel-safe; a cancelled `tick` does not consume a tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; see [`tick`](Interval::tick).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.delay).poll(cx));
        let scheduled = self.delay.deadline();
        let now = Instant::now();
        let next = if now > scheduled.saturating_add(LATE) {
            self.missed.next(scheduled, now, self.period)
        } else {
            scheduled.saturating_add(self.period)
        };
        // Re-arming happens at the next poll: nothing stays registered meanwhile.
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.reset_at(Instant::now().saturating_add(self.period));
    }

    /// Restarts the schedule: the next tick is now.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Restarts the schedule: the next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(Instant::now().saturating_add(after));
    }

    /// Restarts the schedule: the next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What happens when ticks are missed.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what happens when ticks are missed.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}
