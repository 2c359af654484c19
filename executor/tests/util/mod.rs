//! Shared helpers for the executor's integration tests: no reactor, just `tick` loops.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use strand_executor::{Executor, ExecutorConfig};

/// Generous bound for anything that waits on another thread (a loaded 2-core box, or Miri).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Scales a count down under Miri.
pub fn n(normal: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        normal
    }
}

/// The runtime side of `unpark`: counts calls and lets the test thread sleep until one.
#[derive(Default)]
pub struct Parker {
    calls: AtomicUsize,
    notified: Mutex<bool>,
    cond: Condvar,
}

impl Parker {
    pub fn calls(&self) -> usize {
        self.calls.load(SeqCst)
    }

    /// Waits for an unpark (or `max`), then clears the flag.
    pub fn park_timeout(&self, max: Duration) {
        let mut notified = self.notified.lock().unwrap();
        if !*notified {
            notified = self.cond.wait_timeout(notified, max).unwrap().0;
        }
        *notified = false;
    }
}

pub fn executor() -> (Executor, Arc<Parker>) {
    executor_with(ExecutorConfig::default())
}

pub fn executor_with(config: ExecutorConfig) -> (Executor, Arc<Parker>) {
    let parker = Arc::new(Parker::default());
    let p = Arc::clone(&parker);
    let exec = Executor::new(
        config,
        Arc::new(move || {
            p.calls.fetch_add(1, SeqCst);
            *p.notified.lock().unwrap() = true;
            p.cond.notify_one();
        }),
    );
    (exec, parker)
}

/// Ticks until nothing is ready.
pub fn drain(exec: &Executor) {
    while exec.tick(64) {}
}

/// Ticks (sleeping on the parker when idle, as the runtime would in its reactor) until `done`.
pub fn run_until(exec: &Executor, parker: &Parker, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        drain(exec);
        if done() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the executor"
        );
        if !exec.has_ready() {
            parker.park_timeout(Duration::from_millis(2));
        }
    }
}

/// Blocks on a future outside the executor (e.g. a finished `JoinHandle`).
pub fn block_on<F: Future>(f: F) -> F::Output {
    futures_lite::future::block_on(f)
}

/// Polls a future once with a no-op waker.
pub fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

pub fn noop_waker() -> Waker {
    Waker::from(Arc::new(Noop))
}

/// A waker that counts its wakes.
#[derive(Default)]
pub struct CountingWaker(pub AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

pub fn counting_waker() -> (Waker, Arc<CountingWaker>) {
    let c = Arc::new(CountingWaker::default());
    (Waker::from(Arc::clone(&c)), c)
}

/// Counts drops and remembers the thread of each.
#[derive(Default)]
pub struct DropLog {
    pub count: AtomicUsize,
    pub threads: Mutex<Vec<ThreadId>>,
}

impl DropLog {
    pub fn count(&self) -> usize {
        self.count.load(SeqCst)
    }
    pub fn all_on(&self, thread: ThreadId) -> bool {
        self.threads.lock().unwrap().iter().all(|t| *t == thread)
    }
}

pub struct DropProbe(pub Arc<DropLog>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.0.count.fetch_add(1, SeqCst);
        self.0.threads.lock().unwrap().push(thread::current().id());
    }
}

/// A one-shot signal settable from any thread; awaiting it waits until it is set.
#[derive(Default)]
pub struct Signal {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    pub fn new() -> Arc<Signal> {
        Arc::new(Signal::default())
    }

    pub fn set(&self) {
        self.set.store(true, SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }

    pub fn is_set(&self) -> bool {
        self.set.load(SeqCst)
    }

    pub fn wait(self: &Arc<Self>) -> impl Future<Output = ()> + Send + 'static {
        let this = Arc::clone(self);
        std::future::poll_fn(move |cx| {
            *this.waker.lock().unwrap() = Some(cx.waker().clone());
            if this.set.load(SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A future that stays pending forever and stashes every waker it is polled with.
pub fn pending_stash(stash: Arc<Mutex<Vec<Waker>>>) -> impl Future<Output = ()> {
    std::future::poll_fn(move |cx| {
        stash.lock().unwrap().push(cx.waker().clone());
        Poll::<()>::Pending
    })
}
