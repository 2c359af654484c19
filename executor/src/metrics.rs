//! Executor metrics and task snapshots.
//!
//! Counters are plain `Cell<u64>`s bumped on the executor thread: no atomics, no clock reads
//! on the hot path. Poll timing (the histogram and slow-poll detection) costs a clock read per
//! poll, so it is switched on at run time: by
//! [`Executor::set_poll_time_histogram`](crate::Executor::set_poll_time_histogram) or by
//! setting a [slow-poll threshold](crate::Executor::set_slow_poll_threshold).

use std::cell::Cell;
use std::fmt;
use std::ops::Range;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::diag::WaitReason;
use crate::id::Id;

/// Number of buckets of [`ExecutorMetrics::poll_time_histogram`].
pub const POLL_TIME_BUCKETS: usize = 16;

/// The bucket a poll of duration `d` is counted in: bucket 0 holds polls under 1 µs, bucket
/// `i` (1 ≤ i < 15) polls in `[2^(i-1), 2^i)` µs, the last bucket everything from 16.384 ms.
pub fn poll_time_bucket(d: Duration) -> usize {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let bits = (u64::BITS - micros.leading_zeros()) as usize;
    bits.min(POLL_TIME_BUCKETS - 1)
}

/// The durations counted in bucket `i` (the last one ends at `Duration::MAX`).
///
/// ```
/// use std::time::Duration;
/// use strand_executor::metrics::{poll_time_bucket, poll_time_bucket_range};
///
/// let d = Duration::from_micros(300);
/// assert!(poll_time_bucket_range(poll_time_bucket(d)).contains(&d));
/// ```
pub fn poll_time_bucket_range(i: usize) -> Range<Duration> {
    let start = if i == 0 {
        Duration::ZERO
    } else {
        Duration::from_micros(1 << (i - 1))
    };
    let end = if i + 1 >= POLL_TIME_BUCKETS {
        Duration::MAX
    } else {
        Duration::from_micros(1 << i)
    };
    start..end
}

/// A snapshot of an executor's counters; see [`Executor::metrics`](crate::Executor::metrics).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecutorMetrics {
    /// Tasks spawned so far (blocking jobs not included).
    pub tasks_spawned: u64,
    /// Tasks alive now (spawned, not yet finished).
    pub tasks_alive: usize,
    /// Task polls so far (each poll of each task).
    pub polls: u64,
    /// Calls to `tick`.
    pub ticks: u64,
    /// Tasks queued from the executor's own thread (wakes, yields, self-wakes).
    pub local_schedules: u64,
    /// Tasks queued from other threads (wakes and spawns through the remote queue).
    pub remote_schedules: u64,
    /// Times a task had spent its cooperative budget and was made to yield.
    pub budget_forced_yields: u64,
    /// Threads in the blocking pool now.
    pub blocking_threads: usize,
    /// Idle threads in the blocking pool now.
    pub blocking_idle_threads: usize,
    /// Blocking jobs waiting for a thread.
    pub blocking_queue_depth: usize,
    /// Blocking jobs queued or running.
    pub blocking_in_flight: usize,
    /// Polls that took longer than the slow-poll threshold (0 when none is set).
    pub slow_polls: u64,
    /// Polls the slow-poll watchdog reported while they were still running (blocking calls
    /// caught in the act).
    pub slow_polls_in_progress: u64,
    /// Timed polls per duration bucket (see [`poll_time_bucket_range`]); all zero unless poll
    /// timing is on.
    pub poll_time_histogram: [u64; POLL_TIME_BUCKETS],
}

/// What a task is doing, in a [`TaskSnapshot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting to be woken.
    Idle,
    /// Woken, waiting in a run queue.
    Scheduled,
    /// Being polled right now (the snapshot was taken from inside it, or from a task it runs).
    Running,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
        })
    }
}

/// One live task, as seen by [`Executor::snapshot`](crate::Executor::snapshot).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskSnapshot {
    /// The task's id.
    pub id: Id,
    /// The name given with [`Builder::name`](crate::task::Builder::name).
    pub name: Option<String>,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// What it is doing.
    pub state: TaskState,
    /// How many times it was polled.
    pub polls: u64,
    /// When it was last polled, `None` if never. Coarse: the clock is read at the first tick
    /// after the executor was idle and then once per 64 polls while it stays busy, so this may
    /// be up to 64 back-to-back polls early.
    pub last_poll: Option<Instant>,
    /// What it waits on, as told by the strand resources its last poll was pending on (empty
    /// when it is scheduled or running, never polled, or waits on something strand does not
    /// know, like a foreign future).
    pub waits_on: Vec<WaitReason>,
}

/// The executor-thread counters.
#[derive(Default, Debug)]
pub(crate) struct Counters {
    pub(crate) spawned: Cell<u64>,
    pub(crate) polls: Cell<u64>,
    pub(crate) ticks: Cell<u64>,
    pub(crate) local_schedules: Cell<u64>,
    pub(crate) remote_schedules: Cell<u64>,
    pub(crate) forced_yields: Cell<u64>,
    pub(crate) slow_polls: Cell<u64>,
    pub(crate) watchdog_reports: Cell<u64>,
    pub(crate) histogram: [Cell<u64>; POLL_TIME_BUCKETS],
}

pub(crate) fn bump(counter: &Cell<u64>) {
    counter.set(counter.get().wrapping_add(1));
}

impl Counters {
    pub(crate) fn fill(&self, m: &mut ExecutorMetrics) {
        m.tasks_spawned = self.spawned.get();
        m.polls = self.polls.get();
        m.ticks = self.ticks.get();
        m.local_schedules = self.local_schedules.get();
        m.remote_schedules = self.remote_schedules.get();
        m.budget_forced_yields = self.forced_yields.get();
        m.slow_polls = self.slow_polls.get();
        for (dst, src) in m.poll_time_histogram.iter_mut().zip(&self.histogram) {
            *dst = src.get();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_partition_durations() {
        assert_eq!(poll_time_bucket(Duration::from_nanos(999)), 0);
        assert_eq!(poll_time_bucket(Duration::from_micros(1)), 1);
        assert_eq!(poll_time_bucket(Duration::from_micros(3)), 2);
        assert_eq!(poll_time_bucket(Duration::from_micros(4)), 3);
        assert_eq!(
            poll_time_bucket(Duration::from_secs(60)),
            POLL_TIME_BUCKETS - 1
        );
        for i in 0..POLL_TIME_BUCKETS {
            let r = poll_time_bucket_range(i);
            assert_eq!(poll_time_bucket(r.start), i);
            if i + 1 < POLL_TIME_BUCKETS {
                assert_eq!(poll_time_bucket(r.end - Duration::from_nanos(1)), i);
                assert_eq!(r.end, poll_time_bucket_range(i + 1).start);
            }
        }
    }
}
