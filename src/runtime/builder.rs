use std::fmt;
use std::io;
use std::time::Duration;

use super::Runtime;

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
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("event_interval", &self.event_interval)
            .field("start_paused", &self.start_paused)
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
        }
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

    /// Builds the runtime.
    ///
    /// Fails when the OS refuses the poller or its waker (for example, out of descriptors).
    pub fn build(&mut self) -> io::Result<Runtime> {
        Runtime::from_builder(self)
    }
}
