//! [`RuntimeMetrics`]: the runtime's counters, always on.

use std::cell::Cell;

pub use strand_executor::metrics::{poll_time_bucket_range, POLL_TIME_BUCKETS};

/// A snapshot of a runtime's counters, from [`Runtime::metrics`](crate::Runtime::metrics) or
/// [`Handle::metrics`](crate::runtime::Handle::metrics).
///
/// Always on, no feature flag: every counter is a plain integer bumped on the runtime thread
/// (no atomics, no clock reads). The two timing-based figures cost a clock read per poll and are
/// off until asked for: [`slow_polls`](Self::slow_polls) counts only with
/// [`Builder::slow_poll_threshold`](crate::runtime::Builder::slow_poll_threshold) set, and the
/// [`poll_time_histogram`](Self::poll_time_histogram) fills only with
/// [`Builder::poll_time_histogram`](crate::runtime::Builder::poll_time_histogram) on.
///
/// ```
/// let rt = strand::Runtime::new().unwrap();
/// rt.block_on(async {
///     for i in 0..3 {
///         strand::spawn(async move { i }).await.unwrap();
///     }
///     strand::time::sleep(std::time::Duration::from_millis(1)).await;
/// });
/// let m = rt.metrics();
/// assert_eq!(m.tasks_spawned, 3);
/// assert_eq!(m.tasks_alive, 0);
/// assert!(m.polls >= 3);
/// assert!(m.timers_fired >= 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Tasks spawned so far (blocking jobs not included).
    pub tasks_spawned: u64,
    /// Tasks alive now (spawned, not finished).
    pub tasks_alive: usize,
    /// Task polls so far (the `block_on` future's polls not included).
    pub polls: u64,
    /// Tasks queued from the runtime's thread (wakes, yields, spawns).
    pub local_schedules: u64,
    /// Tasks queued from other threads (wakes and `Handle::spawn`).
    pub remote_schedules: u64,
    /// Times a task had spent its cooperative budget and was made to yield.
    pub budget_forced_yields: u64,
    /// Scheduler ticks (batches of task polls).
    pub ticks: u64,
    /// Reactor turns (`epoll_wait`/`kevent` calls, blocking or not).
    pub reactor_turns: u64,
    /// I/O readiness events the reactor dispatched to sockets.
    pub events: u64,
    /// Timers fired (sleeps, timeouts, interval ticks).
    pub timers_fired: u64,
    /// I/O sources registered with the reactor now.
    pub io_registrations: usize,
    /// Timers armed now.
    pub timers_armed: usize,
    /// Threads in the blocking pool now.
    pub blocking_threads: usize,
    /// Idle threads in the blocking pool now.
    pub blocking_idle_threads: usize,
    /// Blocking jobs waiting for a thread.
    pub blocking_queue_depth: usize,
    /// Blocking jobs queued or running.
    pub blocking_in_flight: usize,
    /// Polls (of tasks or of the `block_on` future) that took longer than the slow-poll
    /// threshold.
    pub slow_polls: u64,
    /// Polls the slow-poll watchdog caught while they were still running.
    pub slow_polls_in_progress: u64,
    /// Lock cycles reported by deadlock detection.
    pub deadlocks_detected: u64,
    /// Hangs reported (nothing could ever wake the runtime).
    pub hangs_detected: u64,
    /// Timed polls per duration bucket (bucket `i` is [`poll_time_bucket_range`]`(i)`: under
    /// 1 µs, then powers of two up to 16 ms and more); all zero unless the histogram is on.
    pub poll_time_histogram: [u64; POLL_TIME_BUCKETS],
}

/// The runtime-level counters (the executor keeps its own).
#[derive(Default, Debug)]
pub(crate) struct Counters {
    pub(crate) turns: Cell<u64>,
    pub(crate) events: Cell<u64>,
    pub(crate) timers_fired: Cell<u64>,
    pub(crate) deadlocks: Cell<u64>,
    pub(crate) hangs: Cell<u64>,
}

pub(crate) fn add(c: &Cell<u64>, n: u64) {
    c.set(c.get().wrapping_add(n));
}

impl super::Inner {
    pub(crate) fn metrics(&self) -> RuntimeMetrics {
        let e = self.executor.metrics();
        let c = &self.counters;
        RuntimeMetrics {
            tasks_spawned: e.tasks_spawned,
            tasks_alive: e.tasks_alive,
            polls: e.polls,
            local_schedules: e.local_schedules,
            remote_schedules: e.remote_schedules,
            budget_forced_yields: e.budget_forced_yields,
            ticks: e.ticks,
            reactor_turns: c.turns.get(),
            events: c.events.get(),
            timers_fired: c.timers_fired.get(),
            io_registrations: self.reactor.registrations(),
            timers_armed: self.reactor.timers(),
            blocking_threads: e.blocking_threads,
            blocking_idle_threads: e.blocking_idle_threads,
            blocking_queue_depth: e.blocking_queue_depth,
            blocking_in_flight: e.blocking_in_flight,
            slow_polls: e.slow_polls,
            slow_polls_in_progress: e.slow_polls_in_progress,
            deadlocks_detected: c.deadlocks.get(),
            hangs_detected: c.hangs.get(),
            poll_time_histogram: e.poll_time_histogram,
        }
    }
}
