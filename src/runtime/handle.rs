use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use super::{Inner, Shared};
use crate::context;
use crate::task::JoinHandle;

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
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
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
        Handle { shared }
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
    _not_send: PhantomData<Rc<()>>,
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
            _not_send: PhantomData,
        }
    }
}
