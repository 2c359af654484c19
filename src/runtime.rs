//! The runtime: one thread, one executor, one reactor, and the loop that drives them.
//!
//! [`Runtime::block_on`] runs a future to completion and, while it waits, every task spawned
//! on the runtime. The loop is:
//!
//! 1. poll the root future if it was woken;
//! 2. run a bounded batch of ready tasks (`event_interval` polls);
//! 3. turn the reactor: with a zero timeout when work remains, otherwise until the next timer
//!    or an I/O event or a wake from another thread (with the clock paused and every task idle,
//!    the clock jumps to the next timer instead).
//!
//! ```
//! use strand::Runtime;
//!
//! let rt = Runtime::new().unwrap();
//! let h = rt.spawn(async { 21 * 2 });
//! assert_eq!(rt.block_on(h).unwrap(), 42);
//! ```

mod builder;
mod handle;

pub use builder::Builder;
pub use handle::{EnterGuard, Handle};

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
}

/// The thread-safe part of a runtime, reachable from a [`Handle`] on any thread.
pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) spawner: Spawner,
    notifier: Arc<Notifier>,
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
        });
        if b.start_paused {
            reactor.clock().pause();
        }
        Ok(Runtime {
            inner: Rc::new(Inner {
                executor,
                reactor,
                shared,
                event_interval: b.event_interval,
            }),
        })
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
        self.inner.run(future)
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
    }
}

/// Wakes the root future of `block_on`.
struct RootWaker {
    woken: AtomicBool,
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

impl Inner {
    fn run<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        let root = Arc::new(RootWaker {
            woken: AtomicBool::new(true),
            shared: self.shared.clone(),
        });
        let waker = Waker::from(root.clone());
        let mut cx = Context::from_waker(&waker);
        let clock = self.reactor.clock();
        loop {
            if root.woken.swap(false, Ordering::SeqCst) {
                if let Poll::Ready(v) = coop::budget(|| future.as_mut().poll(&mut cx)) {
                    return v;
                }
            }
            let more = self.executor.tick(self.event_interval);
            let busy = more || root.woken.load(Ordering::SeqCst);
            if busy {
                self.turn(Some(Duration::ZERO));
            } else if clock.is_paused() && self.executor.blocking_in_flight() == 0 {
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
                    None => self.turn(None),
                }
            } else {
                self.turn(None);
            }
        }
    }

    fn turn(&self, timeout: Option<Duration>) {
        if let Err(e) = self.reactor.turn(timeout) {
            // EINTR is handled by mio; anything else means the poller itself broke.
            panic!("strand: the reactor failed to poll for events: {e}");
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
