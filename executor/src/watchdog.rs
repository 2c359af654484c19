//! The slow-poll watchdog: a thread that reports a poll still running past the threshold.
//!
//! While a slow-poll threshold is set, the executor thread publishes each poll's start (task id,
//! start time) into a [`Watch`] through a sequence lock, and the end of the poll as a plain
//! store; that is a handful of atomic stores per poll, next to the clock read that timing the
//! poll already costs. The watchdog thread wakes every half threshold, reads the slot, and
//! reports (once) a poll that started more than a threshold ago and has not ended: a blocking
//! call on the runtime thread is reported *while* it blocks. Names and spawn locations of the
//! tasks are kept in a side table, filled only while the watchdog runs.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::diag::{default_slow_poll_report, SlowPoll, SlowPollHook};
use crate::id::Id;

/// What the watchdog reports about a task: its name and where it was spawned.
#[derive(Clone)]
pub(crate) struct TaskMeta {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) location: &'static Location<'static>,
}

/// The root future's key in the side table.
pub(crate) const ROOT: u64 = 0;

pub(crate) struct Watch {
    epoch: Instant,
    /// Sequence lock over `task` and `start`: odd while the executor thread writes them. Its
    /// even values number the polls.
    seq: AtomicU64,
    task: AtomicU64,
    /// Nanoseconds since `epoch`.
    start: AtomicU64,
    /// The `seq` of the last poll that ended.
    done: AtomicU64,
    threshold_ns: AtomicU64,
    meta: Mutex<HashMap<u64, TaskMeta>>,
    hook: Mutex<Option<SlowPollHook>>,
    stop: Mutex<bool>,
    wake: Condvar,
    reports: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Watch {
    pub(crate) fn new(threshold: Duration, hook: Option<SlowPollHook>) -> Watch {
        Watch {
            epoch: Instant::now(),
            seq: AtomicU64::new(0),
            task: AtomicU64::new(0),
            start: AtomicU64::new(0),
            done: AtomicU64::new(0),
            threshold_ns: AtomicU64::new(nanos(threshold)),
            meta: Mutex::new(HashMap::new()),
            hook: Mutex::new(hook),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            reports: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_threshold(&self, threshold: Duration) {
        self.threshold_ns.store(nanos(threshold), Ordering::Relaxed);
    }

    pub(crate) fn set_hook(&self, hook: Option<SlowPollHook>) {
        *lock(&self.hook) = hook;
    }

    pub(crate) fn reports(&self) -> u64 {
        self.reports.load(Ordering::Relaxed)
    }

    pub(crate) fn insert_meta(&self, id: u64, meta: TaskMeta) {
        lock(&self.meta).insert(id, meta);
    }

    pub(crate) fn remove_meta(&self, id: u64) {
        lock(&self.meta).remove(&id);
    }

    /// Executor thread: a poll of `task` (0: the root future) started at `start`. Returns the
    /// ticket to pass to [`end`](Self::end).
    pub(crate) fn begin(&self, task: u64, start: Instant) -> u64 {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.task.store(task, Ordering::Relaxed);
        self.start.store(
            nanos(start.saturating_duration_since(self.epoch)),
            Ordering::Relaxed,
        );
        self.seq.store(s + 2, Ordering::Release);
        s + 2
    }

    /// Executor thread: the poll with `ticket` returned.
    pub(crate) fn end(&self, ticket: u64) {
        self.done.store(ticket, Ordering::Release);
    }

    /// The poll in progress, if any: (ticket, task, start in ns since the epoch).
    fn sample(&self) -> Option<(u64, u64, u64)> {
        for _ in 0..64 {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let task = self.task.load(Ordering::Relaxed);
            let start = self.start.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) != s1 {
                continue;
            }
            if s1 == 0 || self.done.load(Ordering::Acquire) == s1 {
                return None; // never polled, or not inside a poll
            }
            if self.seq.load(Ordering::Acquire) != s1 {
                continue; // it ended and another began meanwhile
            }
            return Some((s1, task, start));
        }
        None
    }

    /// Asks the watchdog thread to exit.
    pub(crate) fn stop(&self) {
        *lock(&self.stop) = true;
        self.wake.notify_all();
    }

    fn threshold(&self) -> Duration {
        Duration::from_nanos(self.threshold_ns.load(Ordering::Relaxed))
    }

    fn run(&self) {
        let mut reported = 0;
        let mut stopped = lock(&self.stop);
        loop {
            let period =
                (self.threshold() / 2).clamp(Duration::from_millis(1), Duration::from_secs(1));
            let (guard, _) = self
                .wake
                .wait_timeout(stopped, period)
                .unwrap_or_else(PoisonError::into_inner);
            stopped = guard;
            if *stopped {
                return;
            }
            let Some((ticket, task, start)) = self.sample() else {
                continue;
            };
            let threshold = self.threshold();
            let elapsed = self
                .epoch
                .elapsed()
                .saturating_sub(Duration::from_nanos(start));
            if ticket == reported || elapsed <= threshold {
                continue;
            }
            reported = ticket;
            // Report without holding the stop lock: the hook may take its time.
            drop(stopped);
            self.report(task, elapsed, threshold);
            stopped = lock(&self.stop);
        }
    }

    fn report(&self, task: u64, elapsed: Duration, threshold: Duration) {
        let meta = lock(&self.meta).get(&task).cloned();
        let report = SlowPoll {
            task: Id::from_u64(task),
            name: meta.as_ref().and_then(|m| m.name.clone()),
            location: meta.map(|m| m.location),
            elapsed,
            threshold,
            in_progress: true,
        };
        self.reports.fetch_add(1, Ordering::Relaxed);
        let hook = lock(&self.hook).clone();
        match hook {
            Some(hook) => hook(&report),
            None => default_slow_poll_report(&report),
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Starts the watchdog thread for `watch`.
pub(crate) fn spawn(watch: Arc<Watch>) -> Option<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("strand-watchdog".into())
        .spawn(move || watch.run())
        .ok()
}
