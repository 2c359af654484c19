//! Stress tests for the cross-thread parts of the task state machine: a `JoinHandle` polled,
//! re-registered or dropped on another thread while the executor completes its task.

mod util;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;

use util::{counting_waker, drain, executor, n, run_until, DropLog, DropProbe, Signal};

#[test]
fn handle_repolled_with_new_wakers_while_the_task_completes() {
    let (exec, parker) = executor();
    for round in 0..n(300, 4) {
        let go = Signal::new();
        let wait = go.wait();
        let mut h = exec.spawn(async move {
            wait.await;
            round
        });
        drain(&exec);
        let done = Arc::new(AtomicBool::new(false));
        let d = Arc::clone(&done);
        let poller = thread::spawn(move || {
            let wakers = [counting_waker(), counting_waker()];
            let mut i = 0usize;
            loop {
                let (w, _) = &wakers[i % 2];
                if let Poll::Ready(r) = Pin::new(&mut h).poll(&mut Context::from_waker(w)) {
                    d.store(true, SeqCst);
                    return r.unwrap();
                }
                i += 1;
                if i % 16 == 0 {
                    thread::yield_now();
                }
            }
        });
        let setter = thread::spawn(move || go.set());
        run_until(&exec, &parker, || done.load(SeqCst));
        setter.join().unwrap();
        assert_eq!(poller.join().unwrap(), round);
    }
}

#[test]
fn handle_dropped_on_another_thread_races_completion() {
    let (exec, parker) = executor();
    let log = Arc::new(DropLog::default());
    let rounds = n(300, 4);
    for _ in 0..rounds {
        let go = Signal::new();
        let wait = go.wait();
        let probe_log = Arc::clone(&log);
        let mut h = exec.spawn(async move {
            wait.await;
            DropProbe(probe_log)
        });
        drain(&exec);
        let (w, _) = counting_waker();
        // Register an awaiter first, so the drop has a slot to clean up.
        assert!(Pin::new(&mut h)
            .poll(&mut Context::from_waker(&w))
            .is_pending());
        let dropper = thread::spawn(move || drop(h));
        let setter = thread::spawn(move || go.set());
        let before = log.count();
        run_until(&exec, &parker, || {
            dropper.is_finished() && setter.is_finished() && log.count() == before + 1
        });
        dropper.join().unwrap();
        setter.join().unwrap();
    }
    assert_eq!(log.count(), rounds, "each output dropped exactly once");
    assert_eq!(exec.metrics().tasks_alive, 0);
}

#[test]
fn abort_races_wakes_from_other_threads() {
    let (exec, parker) = executor();
    let log = Arc::new(DropLog::default());
    let rounds = n(300, 4);
    for _ in 0..rounds {
        let stash = Arc::new(std::sync::Mutex::new(Vec::new()));
        let probe = DropProbe(Arc::clone(&log));
        let s = Arc::clone(&stash);
        let h = exec.spawn(async move {
            let _p = probe;
            util::pending_stash(s).await;
        });
        drain(&exec);
        let w = stash.lock().unwrap().pop().unwrap();
        let abort = h.abort_handle();
        let a = thread::spawn(move || abort.abort());
        let b = thread::spawn(move || {
            w.wake_by_ref();
            w.wake();
        });
        run_until(&exec, &parker, || h.is_finished());
        a.join().unwrap();
        b.join().unwrap();
        assert!(util::block_on(h).unwrap_err().is_cancelled());
    }
    assert_eq!(log.count(), rounds);
    assert!(log.all_on(thread::current().id()));
}
