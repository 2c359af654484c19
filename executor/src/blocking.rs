//! The blocking pool: a bounded set of threads fed by a producer–consumer queue.
//!
//! One pool per executor. `spawn_blocking` pushes a job onto a `Mutex<VecDeque>` and, under the
//! same lock, decides whether a sleeping worker will take it (`queue.len() <= idle`: each idle
//! worker re-checks the queue before it may exit, and every push notifies the condvar) or a new
//! thread is needed (up to `max_blocking_threads`). Counting idle workers under the queue's
//! lock is what rules out the lost-spawn race (a job queued while the idle count says a worker
//! is free, but that worker just took another job). A worker that waited `thread_keep_alive`
//! without work exits.
//!
//! A job's result (or `Err(panic)` if the closure panicked) completes its task, which wakes the
//! awaiting task through its thread-safe waker. `abort` has no effect on blocking jobs.
//!
//! The in-flight count (queued + running jobs) drops only after a job's completion was
//! delivered, so a runtime that reads it before looking for ready tasks never misses that
//! completion. When the count reaches zero the pool calls the executor's unpark hook (the one
//! remote wakes use): a runtime with a paused clock blocks in its reactor while jobs are in
//! flight and must learn, without polling, that the clock may auto-advance again.
//!
//! Shutdown cancels the jobs still queued (their handles resolve `Err(cancelled)`), tells idle
//! workers to exit, and does not wait for running jobs; `shutdown_blocking(Some(t))` waits up
//! to `t` for the workers to be gone.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use crate::id::Id;
use crate::join_handle::JoinHandle;
use crate::raw::{self, BlockingRunnable};
use crate::scheduler::Unpark;

/// The closure of a blocking job as a one-poll future.
pub(crate) struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("blocking job polled twice");
        Poll::Ready(f())
    }
}

struct Job {
    runnable: BlockingRunnable,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    shutdown: bool,
    spawned_threads: usize,
}

pub(crate) struct Pool {
    state: Mutex<PoolState>,
    /// Workers wait here for jobs.
    work: Condvar,
    /// `shutdown_blocking` waits here for workers to exit.
    exited: Condvar,
    /// Queued + running jobs (readable without the lock by the runtime loop).
    in_flight: AtomicUsize,
    /// Called when `in_flight` drops to zero; taken at shutdown. Locked only then.
    unpark: Mutex<Option<Unpark>>,
    max_threads: usize,
    keep_alive: Duration,
}

thread_local! {
    /// Set on pool threads, so `spawn_blocking` works from inside a blocking job.
    static WORKER_OF: RefCell<Option<Arc<Pool>>> = const { RefCell::new(None) };
}

/// Pool counters for the metrics.
pub(crate) struct PoolStats {
    pub(crate) threads: usize,
    pub(crate) idle: usize,
    pub(crate) queued: usize,
    pub(crate) in_flight: usize,
}

impl Pool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Pool {
        Pool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                shutdown: false,
                spawned_threads: 0,
            }),
            work: Condvar::new(),
            exited: Condvar::new(),
            in_flight: AtomicUsize::new(0),
            unpark: Mutex::new(None),
            max_threads: max_threads.max(1),
            keep_alive,
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // No user code runs under this lock, but do not turn a poisoned lock into more panics.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pool of the blocking thread we are on, if any.
    pub(crate) fn current_worker_pool() -> Option<Arc<Pool>> {
        WORKER_OF.try_with(|w| w.borrow().clone()).ok().flatten()
    }

    /// `SeqCst`, as is the decrement in [`finished`](Pool::finished): with the runtime's
    /// `SeqCst` unpark flag between them, a loop that cleared the flag after the unpark was
    /// skipped (the flag was still set) reads the dropped count.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Sets the hook called (on the thread that finished the last job) whenever the in-flight
    /// count drops to zero: the executor's unpark hook, so that a runtime blocked in its
    /// reactor while jobs were in flight wakes up and re-reads the count.
    pub(crate) fn set_unpark(&self, unpark: Unpark) {
        *self.unpark.lock().unwrap_or_else(PoisonError::into_inner) = Some(unpark);
    }

    /// `n` jobs left the pool (ran to completion or were cancelled, their handles already
    /// resolved). On the edge to zero the runtime is unparked.
    fn finished(&self, n: usize) {
        if n > 0 && self.in_flight.fetch_sub(n, Ordering::SeqCst) == n {
            self.unpark_runtime();
        }
    }

    #[cold]
    fn unpark_runtime(&self) {
        let hook = self
            .unpark
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(unpark) = hook {
            unpark();
        }
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let st = self.lock();
        PoolStats {
            threads: st.threads,
            idle: st.idle,
            queued: st.queue.len(),
            in_flight: self.in_flight(),
        }
    }

    #[track_caller]
    pub(crate) fn spawn<F, R>(self: &Arc<Self>, f: F, name: Option<&str>) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let id = Id::next();
        #[cfg(not(feature = "tracing"))]
        let _ = name;
        #[cfg(feature = "tracing")]
        let span = {
            let loc = std::panic::Location::caller();
            tracing::trace_span!(
                target: "tokio::task",
                "runtime.spawn",
                kind = "blocking",
                task.name = name.unwrap_or(""),
                task.id = id.as_u64(),
                loc.file = loc.file(),
                loc.line = loc.line(),
                loc.col = loc.column(),
            )
        };
        let (runnable, join) = raw::new_blocking(BlockingTask(Some(f)), id);
        let job = Job {
            runnable,
            #[cfg(feature = "tracing")]
            span,
        };
        let spawn_thread = {
            let mut st = self.lock();
            if st.shutdown {
                drop(st);
                drop(job); // cancels it: the handle resolves to Err(cancelled)
                return JoinHandle::new(join);
            }
            st.queue.push_back(job);
            self.in_flight.fetch_add(1, Ordering::AcqRel);
            if st.idle > 0 {
                self.work.notify_one();
            }
            if st.queue.len() > st.idle && st.threads < self.max_threads {
                st.threads += 1;
                st.spawned_threads += 1;
                Some(st.spawned_threads)
            } else {
                None
            }
        };
        if let Some(n) = spawn_thread {
            let pool = Arc::clone(self);
            let spawned = thread::Builder::new()
                .name(format!("strand-blocking-{n}"))
                .spawn(move || pool.worker());
            if let Err(err) = spawned {
                let mut st = self.lock();
                st.threads -= 1;
                if st.threads == 0 {
                    // Nobody will ever run the queued jobs: cancel them rather than hang.
                    let stranded: Vec<Job> = st.queue.drain(..).collect();
                    drop(st);
                    let n = stranded.len();
                    drop(stranded);
                    self.finished(n);
                    panic!("strand: failed to spawn a blocking pool thread: {err}");
                }
            }
        }
        JoinHandle::new(join)
    }

    fn worker(self: Arc<Self>) {
        let _ = WORKER_OF.try_with(|w| *w.borrow_mut() = Some(Arc::clone(&self)));
        let mut st = self.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                run_job(job);
                // After the job completed (and woke its awaiter): the runtime reads the count
                // to decide the clock may auto-advance, so it must not drop early; the edge to
                // zero unparks the runtime, which may be blocked waiting for exactly that.
                self.finished(1);
                st = self.lock();
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let deadline = Instant::now() + self.keep_alive;
            let mut timed_out = false;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    timed_out = true;
                    break;
                }
                st = self
                    .work
                    .wait_timeout(st, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                if !st.queue.is_empty() || st.shutdown {
                    break;
                }
            }
            st.idle -= 1;
            if timed_out && st.queue.is_empty() {
                break;
            }
        }
        st.threads -= 1;
        drop(st);
        self.exited.notify_all();
        let _ = WORKER_OF.try_with(|w| w.borrow_mut().take());
    }

    /// Cancels queued jobs and lets idle workers exit; running jobs finish detached.
    pub(crate) fn shutdown(&self) {
        let queued: Vec<Job> = {
            let mut st = self.lock();
            st.shutdown = true;
            st.queue.drain(..).collect()
        };
        // Running jobs finish detached: they no longer concern the runtime's loop.
        let hook = self
            .unpark
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(hook);
        self.work.notify_all();
        let n = queued.len();
        drop(queued); // each unstarted job resolves Err(cancelled)
        self.finished(n);
    }

    /// Waits up to `timeout` for every worker to exit (after [`Pool::shutdown`]).
    /// Returns true when they all did.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = self.lock();
        while st.threads > 0 {
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return false,
                },
                None => Duration::from_secs(3600),
            };
            st = self
                .exited
                .wait_timeout(st, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

fn run_job(job: Job) {
    #[cfg(feature = "tracing")]
    let _enter = job.span.enter();
    #[cfg(feature = "tracing")]
    {
        let id = job.runnable.id().as_u64();
        tracing::trace!(target: "strand::task", { task.id = id }, "poll");
    }
    job.runnable.run();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    const TIMEOUT: Duration = Duration::from_secs(10);

    /// A pool whose hook records the in-flight count it sees when called.
    fn pool_with_hook() -> (Arc<Pool>, mpsc::Receiver<usize>) {
        let pool = Arc::new(Pool::new(4, Duration::from_secs(5)));
        let (tx, rx) = mpsc::channel();
        let weak = Arc::downgrade(&pool);
        let tx = Mutex::new(tx);
        pool.set_unpark(Arc::new(move || {
            let seen = weak.upgrade().map_or(usize::MAX, |p| p.in_flight());
            let _ = tx.lock().unwrap().send(seen);
        }));
        (pool, rx)
    }

    #[test]
    fn the_hook_runs_when_the_last_job_left_and_not_before() {
        let (pool, calls) = pool_with_hook();
        let (release, gate) = mpsc::channel::<()>();
        let slow = pool.spawn(move || gate.recv_timeout(TIMEOUT).is_ok(), None);
        let fast = pool.spawn(|| 7, None);
        assert_eq!(futures_lite::future::block_on(fast).unwrap(), 7);
        // The fast job's completion did not empty the pool.
        assert!(calls.recv_timeout(Duration::from_millis(50)).is_err());
        assert_eq!(pool.in_flight(), 1);
        release.send(()).unwrap();
        assert!(futures_lite::future::block_on(slow).unwrap());
        // Called once, after the count dropped (the job's result was already delivered).
        assert_eq!(calls.recv_timeout(TIMEOUT), Ok(0));
        assert!(calls.recv_timeout(Duration::from_millis(50)).is_err());
        // Every later drain to zero calls it again.
        let again = pool.spawn(|| (), None);
        futures_lite::future::block_on(again).unwrap();
        assert_eq!(calls.recv_timeout(TIMEOUT), Ok(0));
        pool.shutdown();
        assert!(pool.wait_idle(TIMEOUT));
    }

    #[test]
    fn shutdown_drops_the_hook_and_jobs_finishing_detached_do_not_call_it() {
        let (pool, calls) = pool_with_hook();
        let (started_tx, started) = mpsc::channel::<()>();
        let (release, gate) = mpsc::channel::<()>();
        let running = pool.spawn(
            move || {
                started_tx.send(()).unwrap();
                gate.recv_timeout(TIMEOUT).is_ok()
            },
            None,
        );
        started.recv_timeout(TIMEOUT).unwrap();
        pool.shutdown();
        assert_eq!(pool.in_flight(), 1);
        release.send(()).unwrap();
        assert!(futures_lite::future::block_on(running).unwrap());
        assert!(pool.wait_idle(TIMEOUT));
        assert_eq!(pool.in_flight(), 0);
        // The hook (and the channel's sender in it) is gone: no call was or will be made.
        assert_eq!(
            calls.recv_timeout(TIMEOUT),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
    }
}
