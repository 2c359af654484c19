//! `JoinSet`: a collection of tasks, joined in completion order.

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use crate::abort_handle::AbortHandle;
use crate::coop;
use crate::error::JoinError;
use crate::join_handle::JoinHandle;
use crate::scheduler::Executor;

/// A set of tasks spawned on the current runtime, awaited in the order they finish.
///
/// Each entry has its own waker, so [`join_next`](JoinSet::join_next) only polls the handles
/// of tasks that finished (or were never polled), not the whole set. Dropping the set aborts
/// every task still in it.
///
/// ```
/// use strand_executor::{task::JoinSet, Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let sum = exec.spawn(async {
///     let mut set = JoinSet::new();
///     for i in 1..=10u32 {
///         set.spawn(async move { i });
///     }
///     let mut sum = 0;
///     while let Some(res) = set.join_next().await {
///         sum += res.unwrap();
///     }
///     sum
/// });
/// while exec.tick(64) {}
/// assert_eq!(futures_lite::future::block_on(sum).unwrap(), 55);
/// ```
pub struct JoinSet<T> {
    entries: Slab<Entry<T>>,
    notify: Arc<Notify>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Arc<EntryWaker>,
    as_waker: Waker,
}

#[derive(Default)]
struct Notify {
    inner: Mutex<NotifyInner>,
}

#[derive(Default)]
struct NotifyInner {
    /// Keys of entries to poll (possibly stale: checked against the slab).
    ready: VecDeque<usize>,
    /// The waker of the task awaiting `join_next`.
    waker: Option<Waker>,
}

impl Notify {
    fn lock(&self) -> MutexGuard<'_, NotifyInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct EntryWaker {
    key: usize,
    queued: AtomicBool,
    notify: Arc<Notify>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let waker = {
            let mut inner = self.notify.lock();
            inner.ready.push_back(self.key);
            inner.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            notify: Arc::new(Notify::default()),
        }
    }

    /// Tasks in the set (finished ones count until joined).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let entry = self.entries.vacant_entry();
        let waker = Arc::new(EntryWaker {
            key: entry.key(),
            queued: AtomicBool::new(true),
            notify: Arc::clone(&self.notify),
        });
        let as_waker = Waker::from(Arc::clone(&waker));
        let key = entry.key();
        entry.insert(Entry {
            handle,
            waker,
            as_waker,
        });
        // Poll it once at the next `join_next`, which registers its waker.
        self.notify.lock().ready.push_back(key);
        abort
    }

    /// Aborts every task in the set; they stay in it until joined (as `Err(cancelled)`, or
    /// their output if they finished first).
    pub fn abort_all(&mut self) {
        for (_, entry) in &self.entries {
            entry.handle.abort();
        }
    }

    /// Removes every task from the set without aborting them (they keep running, detached).
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.notify.lock().ready.clear();
    }

    /// Waits for any task to finish and returns its result; `None` when the set is empty.
    ///
    /// Cancel-safe: if the returned future is dropped before completion, no task result is
    /// lost (it stays in the set).
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Returns a finished task's result without waiting, `None` if none is finished yet (or the
    /// set is empty).
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        match coop::with_unconstrained(|| self.poll_entries(None)) {
            Poll::Ready(res) => res,
            Poll::Pending => None,
        }
    }

    /// Polls for the next finished task: `Ready(None)` when the set is empty.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let res = coop::with_unconstrained(|| self.poll_entries(Some(cx.waker())));
        if res.is_ready() {
            coop.made_progress();
        }
        res
    }

    fn poll_entries(&mut self, waker: Option<&Waker>) -> Poll<Option<Result<T, JoinError>>> {
        if self.entries.is_empty() {
            return Poll::Ready(None);
        }
        // Register first, so that a completion after we looked at the queue still wakes us.
        let queued = {
            let mut inner = self.notify.lock();
            if let Some(waker) = waker {
                match &inner.waker {
                    Some(w) if w.will_wake(waker) => {}
                    _ => inner.waker = Some(waker.clone()),
                }
            }
            inner.ready.len()
        };
        // Bounded by what was queued on entry: a handle that wakes itself right away is looked
        // at again on the next call, never in a loop here.
        for _ in 0..queued {
            let Some(key) = self.notify.lock().ready.pop_front() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(key) else {
                continue; // stale: the entry was joined already
            };
            entry.waker.queued.store(false, Ordering::Release);
            let mut cx = Context::from_waker(&entry.as_waker);
            if let Poll::Ready(res) = Pin::new(&mut entry.handle).poll(&mut cx) {
                self.entries.remove(key);
                return Poll::Ready(Some(res));
            }
        }
        Poll::Pending
    }

    /// Aborts every task and waits until they are all gone (results discarded).
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in completion order.
    ///
    /// # Panics
    /// Re-raises the panic of a task that panicked (and aborts the rest).
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(res) = self.join_next().await {
            match res {
                Ok(value) => out.push(value),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("{err}"),
            }
        }
        out
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime into the set.
    ///
    /// # Panics
    /// Outside of a strand runtime.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let handle = crate::task::spawn(future);
        self.insert(handle)
    }

    /// Spawns `future` on `executor` into the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, executor: &Executor) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let handle = executor.spawn(future);
        self.insert(handle)
    }

    /// Runs `f` on the current blocking pool, into the set (abort has no effect on it).
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        let handle = crate::task::spawn_blocking(f);
        self.insert(handle)
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}
