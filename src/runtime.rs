//! The runtime: one thread, one executor, one reactor, and the loop that drives them.
//!
//! [`Runtime::block_on`] runs a future to completion and, while it waits, every task spawned
//! on the runtime. The loop is:
//!
//! 1. poll the root future if it was woken;
//! 2. if `event_interval` polls ran since the reactor was last polled, or tasks yielded (or
//!    spent their coop budget) and wait for the next tick, poll the reactor (zero timeout);
//! 3. run ready tasks, at most as many as are left of the `event_interval` polls;
//! 4. when nothing is ready, turn the reactor until the next timer or an I/O event or a wake
//!    from another thread (with the clock paused and every task idle, the clock jumps to the
//!    next timer instead, unless `spawn_blocking` jobs are in flight: the loop then blocks
//!    until the blocking pool reports the last one done).
//!
//! ```
//! use strand::Runtime;
//!
//! let rt = Runtime::new().unwrap();
//! let h = rt.spawn(async { 21 * 2 });
//! assert_eq!(rt.block_on(h).unwrap(), 42);
//! ```

mod builder;
pub(crate) mod diag;
mod dump;
mod handle;
mod metrics;

pub use builder::Builder;
pub use diag::{BlockedTask, Deadlock, DeadlockKind, LockInfo};
pub use dump::{
    ChannelKind, Dump, IoDirection, LockKind, RootDump, TaskDump, TaskState, WaitReason,
};
pub use handle::{EnterGuard, Handle};
pub use metrics::{poll_time_bucket_range, RuntimeMetrics, POLL_TIME_BUCKETS};
pub use strand_executor::diag::SlowPoll;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use strand_executor::{coop, Executor, ExecutorConfig, Spawner};
use strand_reactor::{Reactor, Unparker};

use crate::context;
use crate::task::JoinHandle;

static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);

/// A strand runtime: an executor, a reactor and a timer wheel driven by one thread.
///
/// `Runtime` is `!Send`: it stays on the thread that created it. Create one per thread for a
/// thread-per-core service.
///
/// Dropping it drops every task's future exactly once, on this thread, with the runtime still
/// entered (so a `Drop` may spawn, deregister I/O or wake without panicking); `JoinHandle`s that
/// are still pending resolve to a cancelled [`JoinError`](crate::task::JoinError); blocking
/// jobs that are still running finish detached and their results are dropped.
pub struct Runtime {
    inner: Rc<Inner>,
}

/// The runtime's state. Shared (through `Rc`) with the thread-local context.
pub(crate) struct Inner {
    pub(crate) executor: Executor,
    pub(crate) reactor: Reactor,
    pub(crate) shared: Arc<Shared>,
    event_interval: u32,
    pub(crate) counters: metrics::Counters,
    /// Contended locks, for deadlock detection.
    pub(crate) locks: diag::LockRegistry,
    /// Task polls when a hang was last reported (so it is reported once).
    hang_reported_at: Cell<Option<u64>>,
    on_deadlock: Option<builder::DeadlockHook>,
    fail_on_deadlock: bool,
    /// Wait reasons, waker accounting, deadlock and hang detection (`Builder::diagnostics`).
    pub(crate) diagnostics: bool,
    /// The root waker of the running `block_on` (a weak reference: it must not count as a
    /// waker clone).
    root: RefCell<std::sync::Weak<RootWaker>>,
}

/// The thread-safe part of a runtime, reachable from a [`Handle`] on any thread.
pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) spawner: Spawner,
    notifier: Arc<Notifier>,
    /// Live [`Handle`]s: while there is one, another thread may spawn, so no hang is reported.
    pub(crate) handles: AtomicUsize,
}

/// Unparks the loop when something happens on another thread.
struct Notifier {
    unparker: Unparker,
    /// Set on the false→true edge of a remote wake; the mio waker is written only then. The
    /// loop clears it after each reactor turn, so at most one eventfd write happens per turn.
    notified: AtomicBool,
}

impl Notifier {
    fn notify(&self) {
        if !self.notified.swap(true, Ordering::SeqCst) {
            self.unparker.unpark();
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.inner.shared.id)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Creates a runtime with the default configuration.
    ///
    /// ```
    /// let rt = strand::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 5 }), 5);
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Returns a [`Builder`] to configure a runtime.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = strand::Runtime::builder()
    ///     .max_blocking_threads(16)
    ///     .thread_keep_alive(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_builder(b: &Builder) -> io::Result<Runtime> {
        let reactor = Reactor::new()?;
        let notifier = Arc::new(Notifier {
            unparker: reactor.unparker(),
            notified: AtomicBool::new(false),
        });
        let hook = notifier.clone();
        let unpark: Arc<dyn Fn() + Send + Sync> = Arc::new(move || hook.notify());
        let executor = Executor::new(
            ExecutorConfig {
                max_blocking_threads: b.max_blocking_threads,
                thread_keep_alive: b.thread_keep_alive,
            },
            unpark,
        );
        let shared = Arc::new(Shared {
            id: NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed),
            spawner: executor.spawner(),
            notifier,
            handles: AtomicUsize::new(0),
        });
        if b.start_paused {
            reactor.clock().pause();
        }
        executor.set_slow_poll_hook(b.on_slow_poll.clone());
        if b.slow_poll_threshold.is_some() {
            executor.set_slow_poll_threshold(b.slow_poll_threshold);
        }
        if b.poll_time_histogram {
            executor.set_poll_time_histogram(true);
        }
        let inner = Rc::new(Inner {
            executor,
            reactor,
            shared,
            event_interval: b.event_interval,
            counters: metrics::Counters::default(),
            locks: diag::LockRegistry::default(),
            hang_reported_at: Cell::new(None),
            on_deadlock: b.on_deadlock.clone(),
            fail_on_deadlock: b.fail_on_deadlock,
            diagnostics: b.diagnostics_enabled(),
            root: RefCell::new(std::sync::Weak::new()),
        });
        handle::register_local(&inner);
        Ok(Runtime { inner })
    }

    /// Returns a [`Handle`] to this runtime: `Send + Sync + Clone`, it spawns `Send` futures
    /// from any thread.
    ///
    /// ```
    /// let rt = strand::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let h = std::thread::spawn(move || handle.spawn(async { 7 })).join().unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 7);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle::new(self.inner.shared.clone())
    }

    /// Spawns a task on this runtime from outside `block_on`; it runs once the runtime is
    /// driven.
    ///
    /// ```
    /// let rt = strand::Runtime::new().unwrap();
    /// let h = rt.spawn(async { "hi" });
    /// assert_eq!(rt.block_on(h).unwrap(), "hi");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let _enter = self.enter();
        strand_executor::task::spawn(future)
    }

    /// Enters the runtime's context without driving it, so that [`spawn`](crate::spawn),
    /// sockets and timers can be created from synchronous code.
    ///
    /// ```
    /// let rt = strand::Runtime::new().unwrap();
    /// let h = {
    ///     let _guard = rt.enter();
    ///     strand::spawn(async { 1 })
    /// };
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard::new(&self.inner)
    }

    /// Runs `future` to completion, driving every task of this runtime meanwhile.
    ///
    /// # Panics
    /// When called from inside `block_on` of any strand runtime on this thread: a nested
    /// `block_on` would block the outer runtime's tasks. The outer runtime stays usable.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if context::driving() != 0 {
            panic!(
                "Cannot start a strand runtime from within a runtime: `block_on` was called \
                 while `Runtime::block_on` (or `#[strand::main]`/`#[strand::test]`) is already \
                 driving this thread. Use `.await` (or `strand::spawn`) instead."
            );
        }
        let _driving = context::set_driving(self.inner.shared.id);
        let _enter = self.enter();
        self.inner.run(future, Location::caller())
    }

    /// The runtime's counters; see [`RuntimeMetrics`].
    ///
    /// ```
    /// let rt = strand::Runtime::new().unwrap();
    /// rt.block_on(async { strand::spawn(async {}).await.unwrap() });
    /// assert_eq!(rt.metrics().tasks_spawned, 1);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        self.inner.metrics()
    }

    /// A snapshot of every live task: id, name, spawn location, state, polls, time since the
    /// last poll and what it waits on; see [`Dump`]. Also callable from inside a task, through
    /// [`Handle::dump`].
    ///
    /// ```
    /// let rt = strand::Runtime::new().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// let dump = rt.dump();
    /// assert_eq!(dump.tasks().len(), 1);
    /// assert_eq!(dump.tasks()[0].id, h.id());
    /// assert_eq!(dump.tasks()[0].state, strand::runtime::TaskState::Scheduled);
    /// ```
    pub fn dump(&self) -> Dump {
        self.inner.dump()
    }

    /// Shuts the runtime down, waiting up to `timeout` for running blocking jobs to finish.
    ///
    /// Every task's future is dropped first, as on drop.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = strand::Runtime::new().unwrap();
    /// rt.spawn(async { strand::spawn_blocking(|| std::thread::sleep(Duration::from_millis(10))) });
    /// rt.shutdown_timeout(Duration::from_secs(1));
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.inner.shutdown(Some(timeout));
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.inner.shutdown(None);
        handle::unregister_local(&self.inner);
    }
}

/// Wakes the root future of `block_on`.
pub(crate) struct RootWaker {
    pub(crate) woken: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for RootWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        // On the driving thread the loop sees the flag before it sleeps; elsewhere the loop
        // may be blocked in the reactor and must be unparked.
        if context::driving() != self.shared.id {
            self.shared.notifier.notify();
        }
    }
}

/// Ends the root future's diagnostics when `run` returns or unwinds.
struct RootGuard<'a>(&'a Inner);

impl Drop for RootGuard<'_> {
    fn drop(&mut self) {
        self.0.executor.end_root();
        *self.0.root.borrow_mut() = std::sync::Weak::new();
    }
}

impl Inner {
    fn run<F: Future>(&self, future: F, location: &'static Location<'static>) -> F::Output {
        let mut future = pin!(future);
        let root = Arc::new(RootWaker {
            woken: AtomicBool::new(true),
            shared: self.shared.clone(),
        });
        let waker = Waker::from(root.clone());
        self.executor.begin_root(&waker, location);
        *self.root.borrow_mut() = Arc::downgrade(&root);
        let _root_guard = RootGuard(self);
        let mut cx = Context::from_waker(&waker);
        let clock = self.reactor.clock();
        // Polls (tasks and the root future) left before the reactor must be polled again.
        let mut budget = self.event_interval.max(1);
        loop {
            // A plain load first: the swap (an atomic write) only when the root was woken.
            if root.woken.load(Ordering::SeqCst) && root.woken.swap(false, Ordering::SeqCst) {
                budget = budget.saturating_sub(1);
                let polled = self
                    .executor
                    .poll_root(|| coop::budget(|| future.as_mut().poll(&mut cx)));
                if let Poll::Ready(v) = polled {
                    return v;
                }
            }
            // While work remains the reactor is polled (without blocking) once per
            // `event_interval` polls, and always before tasks that yielded (or spent their
            // budget) run again: that turn is what a yield promises them.
            if budget == 0 || self.executor.has_deferred() {
                self.poll_reactor();
                budget = self.event_interval.max(1);
            }
            let before = self.executor.polls();
            let more = self.executor.tick(budget);
            let polled = self.executor.polls().wrapping_sub(before);
            budget = budget.saturating_sub(u32::try_from(polled).unwrap_or(u32::MAX));
            let busy = more || root.woken.load(Ordering::SeqCst);
            if busy {
                continue;
            }
            budget = self.event_interval.max(1);
            if clock.is_paused() && self.executor.blocking_in_flight() == 0 {
                // Auto-advance: first collect I/O that is already there; if nothing became
                // ready, jump the clock to the next timer and fire it.
                self.turn(Some(Duration::ZERO));
                if self.executor.has_ready() || root.woken.load(Ordering::SeqCst) {
                    continue;
                }
                match self.reactor.next_timer_deadline() {
                    Some(deadline) => {
                        clock.set_time(deadline);
                        self.turn(Some(Duration::ZERO));
                    }
                    None => {
                        if !self.before_block(&root) {
                            self.turn(None);
                        }
                    }
                }
            } else if !self.before_block(&root) {
                // With the clock paused and blocking jobs in flight this blocks too: the pool
                // unparks the loop when its in-flight count drops to zero (which happens after
                // the last job's completion woke its awaiter), and the next pass auto-advances.
                self.turn(None);
            }
        }
    }

    /// The non-blocking reactor poll between two batches of tasks. With no I/O source
    /// registered and no timer due, a zero-timeout poll could only report an unpark from
    /// another thread — whose work the executor's remote queue already carries — so the
    /// syscall is skipped.
    #[inline]
    fn poll_reactor(&self) {
        if self.reactor.registrations() == 0 {
            if self.reactor.timers() == 0 {
                return;
            }
            match self.reactor.next_timer_deadline() {
                Some(deadline) if deadline <= self.reactor.clock().now() => {}
                _ => return,
            }
        }
        self.turn(Some(Duration::ZERO));
    }

    fn turn(&self, timeout: Option<Duration>) {
        match self.reactor.turn(timeout) {
            Ok(stats) => {
                let c = &self.counters;
                metrics::add(&c.turns, 1);
                metrics::add(&c.events, stats.events as u64);
                metrics::add(&c.timers_fired, stats.timers_fired as u64);
            }
            // EINTR is handled by mio; anything else means the poller itself broke.
            Err(e) => panic!("strand: the reactor failed to poll for events: {e}"),
        }
        self.shared.notifier.notified.store(false, Ordering::SeqCst);
    }

    fn shutdown(self: &Rc<Self>, blocking_timeout: Option<Duration>) {
        let _enter = EnterGuard::new(self);
        self.executor.shutdown();
        self.reactor.shutdown();
        self.executor.shutdown_blocking(blocking_timeout);
    }
}
