use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::rc::{Rc, Weak};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Dump, Inner, RuntimeMetrics, Shared};
use crate::context;
use crate::task::JoinHandle;

thread_local! {
    /// Every runtime living on this thread (entered or not), so that a `Handle` can reach its
    /// runtime's thread-bound state from anywhere on that thread.
    static LOCAL: RefCell<Vec<Weak<Inner>>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn register_local(inner: &Rc<Inner>) {
    LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        l.retain(|w| w.strong_count() > 0);
        l.push(Rc::downgrade(inner));
    });
}

pub(crate) fn unregister_local(inner: &Rc<Inner>) {
    let _ = LOCAL.try_with(|l| {
        l.borrow_mut()
            .retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Rc::as_ptr(inner)));
    });
}

fn find_local(id: u64) -> Option<Rc<Inner>> {
    LOCAL
        .try_with(|l| {
            l.borrow()
                .iter()
                .filter_map(Weak::upgrade)
                .find(|inner| inner.shared.id == id)
        })
        .ok()
        .flatten()
}

/// A cheap, thread-safe reference to a [`Runtime`](crate::Runtime).
///
/// `Handle` is `Send + Sync + Clone`: another thread can use it to spawn `Send` futures onto
/// the runtime. The runtime thread picks them up at its next turn.
///
/// ```
/// strand::block_on(async {
///     let handle = strand::runtime::Handle::current();
///     let h = std::thread::spawn(move || handle.spawn(async { 2 + 2 })).join().unwrap();
///     assert_eq!(h.await.unwrap(), 4);
/// });
/// ```
pub struct Handle {
    shared: Arc<Shared>,
}

impl Clone for Handle {
    fn clone(&self) -> Handle {
        Handle::new(self.shared.clone())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.handles.fetch_sub(1, Ordering::SeqCst);
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("runtime", &self.shared.id)
            .finish()
    }
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        shared.handles.fetch_add(1, Ordering::SeqCst);
        Handle { shared }
    }

    /// Runs `f` with the runtime, which must live on this thread.
    #[track_caller]
    fn with_local<R>(&self, what: &str, f: impl FnOnce(&Inner) -> R) -> R {
        match find_local(self.shared.id) {
            Some(inner) => f(&inner),
            None => panic!(
                "`Handle::{what}` called off the runtime's thread: a runtime's tasks and counters \
                 live on its own thread, so call it there (from a task, the `block_on` future or \
                 code that entered the runtime), e.g. `handle.spawn(async {{ \
                 strand::runtime::Handle::current().{what}() }})` and send the result back"
            ),
        }
    }

    /// The runtime's counters; see [`RuntimeMetrics`].
    ///
    /// # Panics
    /// Off the runtime's thread. A `Handle` is `Send`, but the counters are plain (non-atomic)
    /// integers owned by the runtime thread, which is what keeps them cheap; to read them from
    /// elsewhere, spawn a task that reads and sends them.
    ///
    /// ```
    /// strand::block_on(async {
    ///     strand::spawn(async {}).await.unwrap();
    ///     let m = strand::runtime::Handle::current().metrics();
    ///     assert_eq!(m.tasks_spawned, 1);
    /// });
    /// ```
    #[track_caller]
    pub fn metrics(&self) -> RuntimeMetrics {
        self.with_local("metrics", Inner::metrics)
    }

    /// A snapshot of every live task of the runtime; see [`Dump`]. Callable from inside a task
    /// (that task shows as running).
    ///
    /// # Panics
    /// Off the runtime's thread (as [`metrics`](Self::metrics)).
    ///
    /// ```
    /// strand::block_on(async {
    ///     let me = strand::spawn(async {
    ///         let dump = strand::runtime::Handle::current().dump();
    ///         let me = dump.task(strand::task::id()).unwrap();
    ///         assert_eq!(me.state, strand::runtime::TaskState::Running);
    ///     });
    ///     me.await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn dump(&self) -> Dump {
        self.with_local("dump", Inner::dump)
    }

    /// The handle of the runtime entered on this thread.
    ///
    /// # Panics
    /// Outside a runtime: call it from code driven by `#[strand::main]`, `#[strand::test]` or
    /// [`Runtime::block_on`](crate::Runtime::block_on).
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(h) => h,
            None => panic!(
                "`Handle::current` called outside of a strand runtime: call it from code run by \
                 `#[strand::main]`, `#[strand::test]` or `Runtime::block_on`"
            ),
        }
    }

    /// The handle of the runtime entered on this thread, or `None` outside any runtime.
    ///
    /// ```
    /// assert!(strand::runtime::Handle::try_current().is_none());
    /// strand::block_on(async {
    ///     assert!(strand::runtime::Handle::try_current().is_some());
    /// });
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::with_current(|c| c.map(|inner| Handle::new(inner.shared.clone())))
    }

    /// Spawns a `Send` future onto the runtime from any thread.
    ///
    /// If the runtime has shut down, the returned handle resolves to a cancelled
    /// [`JoinError`](crate::task::JoinError).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawner.spawn(future)
    }
}

/// Keeps a runtime entered; returned by [`Runtime::enter`](crate::Runtime::enter).
#[must_use = "the runtime is only entered while the guard lives"]
pub struct EnterGuard<'a> {
    _ctx: context::ContextGuard,
    _exec: strand_executor::EnterGuard<'a>,
    _reactor: strand_reactor::EnterGuard<'a>,
    _diag: DiagGuard,
    _not_send: PhantomData<Rc<()>>,
}

/// Restores the thread's diagnostics setting when the runtime is left.
struct DiagGuard {
    prev: bool,
}

impl Drop for DiagGuard {
    fn drop(&mut self) {
        strand_executor::diag::set_enabled(self.prev);
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

impl<'a> EnterGuard<'a> {
    pub(crate) fn new(inner: &'a Rc<Inner>) -> EnterGuard<'a> {
        EnterGuard {
            _ctx: context::enter(inner),
            _exec: inner.executor.enter(),
            _reactor: inner.reactor.enter(),
            _diag: DiagGuard {
                prev: strand_executor::diag::set_enabled(inner.diagnostics),
            },
            _not_send: PhantomData,
        }
    }
}
