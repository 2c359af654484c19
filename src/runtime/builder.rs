use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::{Deadlock, Runtime, SlowPoll};

/// The deadlock/hang report hook.
pub(crate) type DeadlockHook = Arc<dyn Fn(&Deadlock) + Send + Sync>;
/// The slow-poll report hook.
pub(crate) type SlowPollHook = Arc<dyn Fn(&SlowPoll) + Send + Sync>;

/// Configures and builds a [`Runtime`].
///
/// Setters take and return `&mut Self`, so a chain on a temporary works:
///
/// ```
/// use std::time::Duration;
/// let rt = strand::Runtime::builder()
///     .event_interval(31)
///     .max_blocking_threads(8)
///     .thread_keep_alive(Duration::from_millis(500))
///     .start_paused(true)
///     .build()
///     .unwrap();
/// rt.block_on(async {
///     // The clock is paused: an hour passes at once.
///     strand::time::sleep(Duration::from_secs(3600)).await;
/// });
/// ```
#[derive(Clone)]
pub struct Builder {
    pub(crate) max_blocking_threads: usize,
    pub(crate) thread_keep_alive: Duration,
    pub(crate) event_interval: u32,
    pub(crate) start_paused: bool,
    pub(crate) slow_poll_threshold: Option<Duration>,
    pub(crate) on_slow_poll: Option<SlowPollHook>,
    pub(crate) poll_time_histogram: bool,
    pub(crate) on_deadlock: Option<DeadlockHook>,
    pub(crate) fail_on_deadlock: bool,
    pub(crate) diagnostics: Option<bool>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("event_interval", &self.event_interval)
            .field("start_paused", &self.start_paused)
            .field("slow_poll_threshold", &self.slow_poll_threshold)
            .field("on_slow_poll", &self.on_slow_poll.is_some())
            .field("poll_time_histogram", &self.poll_time_histogram)
            .field("on_deadlock", &self.on_deadlock.is_some())
            .field("fail_on_deadlock", &self.fail_on_deadlock)
            .field("diagnostics", &self.diagnostics_enabled())
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The default configuration: at most 512 blocking threads kept alive 10 s when idle,
    /// the reactor polled every 61 task polls, the clock running.
    pub fn new() -> Builder {
        Builder {
            max_blocking_threads: 512,
            thread_keep_alive: Duration::from_secs(10),
            event_interval: 61,
            start_paused: false,
            slow_poll_threshold: None,
            on_slow_poll: None,
            poll_time_histogram: false,
            on_deadlock: None,
            fail_on_deadlock: false,
            diagnostics: None,
        }
    }

    /// Whether the runtime built will keep diagnostics (see [`diagnostics`](Self::diagnostics)).
    pub(crate) fn diagnostics_enabled(&self) -> bool {
        self.diagnostics.unwrap_or(
            cfg!(debug_assertions) || self.on_deadlock.is_some() || self.fail_on_deadlock,
        )
    }

    /// The most threads the blocking pool may run at once (default 512). Jobs beyond it wait
    /// in the queue.
    ///
    /// # Panics
    /// If `n` is zero.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        assert!(n > 0, "max_blocking_threads must be at least 1");
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking thread waits for a new job before it exits (default 10 s).
    pub fn thread_keep_alive(&mut self, d: Duration) -> &mut Self {
        self.thread_keep_alive = d;
        self
    }

    /// How many task polls the scheduler runs between two polls of the reactor while tasks
    /// stay ready (default 61). Lower favours I/O latency, higher favours throughput.
    ///
    /// # Panics
    /// If `n` is zero.
    pub fn event_interval(&mut self, n: u32) -> &mut Self {
        assert!(n > 0, "event_interval must be at least 1");
        self.event_interval = n;
        self
    }

    /// Starts the runtime with its clock paused (see [`time::pause`](crate::time::pause)).
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    /// Reports every poll that runs longer than `threshold` (of a task or of the `block_on`
    /// future), naming the task and where it was spawned: through
    /// [`on_slow_poll`](Self::on_slow_poll) if set, else as a `tracing` warning with the
    /// `tracing` feature, else on stderr; and counted in
    /// [`RuntimeMetrics::slow_polls`](crate::runtime::RuntimeMetrics::slow_polls).
    ///
    /// A watchdog thread also reports a poll that is *still running* past the threshold, while
    /// it runs ([`SlowPoll::in_progress`]): a blocking call on the runtime thread (a
    /// `std::thread::sleep`, a synchronous read, a long computation) is reported while it
    /// blocks, not only after. The watchdog wakes every half threshold and exits with the
    /// runtime.
    ///
    /// Cost: polls are timed only while a threshold is set (a clock read and a few atomic
    /// stores per poll, roughly 30 ns); without one, nothing is timed.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let reports = Arc::new(Mutex::new(Vec::new()));
    /// let sink = reports.clone();
    /// let rt = strand::Runtime::builder()
    ///     .slow_poll_threshold(Duration::from_millis(20))
    ///     .on_slow_poll(move |r| sink.lock().unwrap().push(r.clone()))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     strand::task::Builder::new()
    ///         .name("blocker")
    ///         .spawn(async { std::thread::sleep(Duration::from_millis(100)) })
    ///         .unwrap()
    ///         .await
    ///         .unwrap();
    /// });
    /// let reports = reports.lock().unwrap();
    /// // One report while it slept (from the watchdog), one when the poll returned.
    /// assert!(reports.iter().any(|r| r.in_progress && r.name.as_deref() == Some("blocker")));
    /// assert!(reports.iter().any(|r| !r.in_progress && r.name.as_deref() == Some("blocker")));
    /// assert_eq!(rt.metrics().slow_polls, 1);
    /// ```
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Self {
        self.slow_poll_threshold = Some(threshold);
        self
    }

    /// Where slow-poll reports go (see [`slow_poll_threshold`](Self::slow_poll_threshold)). The
    /// hook runs on the runtime thread for polls that returned and on the watchdog thread for
    /// polls still running, so it must be `Send + Sync`.
    pub fn on_slow_poll<F>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(&SlowPoll) + Send + Sync + 'static,
    {
        self.on_slow_poll = Some(Arc::new(hook));
        self
    }

    /// Records every poll's duration in
    /// [`RuntimeMetrics::poll_time_histogram`](crate::runtime::RuntimeMetrics::poll_time_histogram)
    /// (off by default: it costs a clock read per poll).
    pub fn poll_time_histogram(&mut self, enabled: bool) -> &mut Self {
        self.poll_time_histogram = enabled;
        self
    }

    /// Where deadlock and hang reports go (default: a `tracing` error with the `tracing`
    /// feature, else stderr). The hook runs on the runtime thread, just before it would block.
    ///
    /// - **Deadlock**: tasks (or the `block_on` future) that wait for strand `Mutex`, `RwLock`
    ///   or `Semaphore` locks held by each other, in a cycle, while nothing else (no timer,
    ///   socket, channel or other thread) could wake them. Reported within the loop turn in
    ///   which the last of them blocks, once per cycle.
    /// - **Hang**: the `block_on` future and every task wait and the runtime can prove that
    ///   nothing can ever wake them (no I/O source, no timer, no blocking job, no
    ///   [`Handle`](crate::runtime::Handle), and every waker held by a strand resource).
    ///   Reported with a [`Dump`](crate::runtime::Dump). Where the runtime cannot prove it
    ///   (a waker held by another thread, say), it stays silent.
    ///
    /// Detection needs the runtime's [`diagnostics`](Self::diagnostics); setting a hook turns
    /// them on (they are on by default in debug builds). See [`Deadlock`] for what a report
    /// holds.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use std::sync::{Arc, Mutex};
    /// use strand::runtime::DeadlockKind;
    /// use strand::sync::Mutex as AsyncMutex;
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = seen.clone();
    /// let rt = strand::Runtime::builder()
    ///     .on_deadlock(move |report| sink.lock().unwrap().push(report.kind()))
    ///     .build()
    ///     .unwrap();
    /// let (a, b) = (Rc::new(AsyncMutex::new(())), Rc::new(AsyncMutex::new(())));
    /// rt.block_on(async {
    ///     let (a2, b2) = (a.clone(), b.clone());
    ///     let left = strand::spawn(async move {
    ///         let _a = a2.lock().await;
    ///         strand::task::yield_now().await;
    ///         let _b = b2.lock().await;
    ///     });
    ///     let right = strand::spawn(async move {
    ///         let _b = b.lock().await;
    ///         strand::task::yield_now().await;
    ///         let _a = a.lock().await;
    ///     });
    ///     // Give up after a while (a real program would hang here).
    ///     strand::time::sleep(std::time::Duration::from_millis(50)).await;
    ///     left.abort();
    ///     right.abort();
    /// });
    /// assert_eq!(*seen.lock().unwrap(), [DeadlockKind::LockCycle]);
    /// ```
    pub fn on_deadlock<F>(&mut self, hook: F) -> &mut Self
    where
        F: Fn(&Deadlock) + Send + Sync + 'static,
    {
        self.on_deadlock = Some(Arc::new(hook));
        self
    }

    /// Turns the task diagnostics on or off: what each task waits on (the "waiting on" column
    /// of a [`Dump`](crate::runtime::Dump)), and the waker accounting behind deadlock and hang
    /// detection ([`on_deadlock`](Self::on_deadlock)).
    ///
    /// They cost a few nanoseconds each time a task parks on a strand resource or is woken from
    /// one (a wait-heavy task-to-task benchmark runs 20–50% slower), so they are **on by default
    /// in debug builds** (`cfg(debug_assertions)`: `cargo test`, `cargo run`) and **off in
    /// release builds** unless asked for here or implied by [`on_deadlock`](Self::on_deadlock)
    /// (or `#[strand::test]`). Metrics, dumps (without wait reasons) and the slow-poll
    /// watchdog work either way.
    ///
    /// ```
    /// let rt = strand::Runtime::builder().diagnostics(true).build().unwrap();
    /// rt.block_on(async {
    ///     let t = strand::spawn(strand::time::sleep(std::time::Duration::from_secs(60)));
    ///     strand::task::yield_now().await;
    ///     let dump = strand::runtime::Handle::current().dump();
    ///     assert_eq!(dump.task(t.id()).unwrap().waits_on.len(), 1);
    ///     t.abort();
    /// });
    /// ```
    pub fn diagnostics(&mut self, enabled: bool) -> &mut Self {
        self.diagnostics = Some(enabled);
        self
    }

    /// Makes `block_on` panic with the report when a deadlock or hang is detected (after the
    /// [`on_deadlock`](Self::on_deadlock) hook, if any), instead of waiting forever.
    /// `#[strand::test]` turns it on, so a test that deadlocks fails with the cycle.
    #[doc(hidden)]
    pub fn fail_on_deadlock(&mut self, fail: bool) -> &mut Self {
        self.fail_on_deadlock = fail;
        self
    }

    /// Builds the runtime.
    ///
    /// Fails when the OS refuses the poller or its waker (for example, out of descriptors).
    pub fn build(&mut self) -> io::Result<Runtime> {
        Runtime::from_builder(self)
    }
}
