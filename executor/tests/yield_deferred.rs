//! A task that yielded waits in the deferred list still holding its RUNNING state (no atomic
//! transitions per yield): aborts, wakes, snapshots and shutdown must all still see it right.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;

use strand_executor::{metrics::TaskState, task};
use util::{block_on, executor, n, DropLog, DropProbe};

/// Yields forever, counting its polls.
async fn spin(polls: Rc<Cell<u32>>) {
    loop {
        polls.set(polls.get() + 1);
        task::yield_now().await;
    }
}

#[test]
fn aborting_a_deferred_task_cancels_it_at_the_next_tick() {
    let (exec, _) = executor();
    let log = Arc::new(DropLog::default());
    let probe = DropProbe(Arc::clone(&log));
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let handle = exec.spawn(async move {
        let _probe = probe;
        spin(p).await;
    });
    assert!(exec.tick(64), "the yield leaves work for the next tick");
    assert!(exec.has_deferred());
    assert_eq!(polls.get(), 1);
    handle.abort();
    assert_eq!(log.count(), 0, "abort never drops the future itself");
    while exec.tick(64) {}
    assert_eq!(polls.get(), 1, "cancelled, not polled again");
    assert_eq!(log.count(), 1);
    assert!(block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn aborting_a_deferred_task_from_another_thread() {
    let (exec, _) = executor();
    let log = Arc::new(DropLog::default());
    let probe = DropProbe(Arc::clone(&log));
    let handle = exec.spawn(async move {
        let _probe = probe;
        loop {
            task::yield_now().await;
        }
    });
    exec.tick(64);
    let abort = handle.abort_handle();
    thread::spawn(move || abort.abort()).join().unwrap();
    while exec.tick(64) {}
    assert_eq!(log.count(), 1);
    assert!(handle.is_finished());
    assert!(block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn a_wake_while_deferred_does_not_poll_twice() {
    let (exec, _) = executor();
    let polls = Rc::new(Cell::new(0u32));
    let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (p, s) = (polls.clone(), stash.clone());
    let handle = exec.spawn(async move {
        // Poll 1: hand out a waker clone, then yield.
        std::future::poll_fn(|cx| {
            p.set(p.get() + 1);
            *s.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(())
        })
        .await;
        task::yield_now().await;
        // Poll 2: the yield is over.
        p.set(p.get() + 1);
        7
    });
    exec.tick(64);
    assert_eq!(polls.get(), 1);
    // Woken (from this thread and another) while it waits in the deferred list.
    let waker = stash.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    thread::spawn(move || waker.wake()).join().unwrap();
    while exec.tick(64) {}
    assert_eq!(polls.get(), 2);
    assert_eq!(block_on(handle).unwrap(), 7);
    assert_eq!(exec.metrics().tasks_alive, 0);
}

#[test]
fn a_deferred_task_shows_as_scheduled() {
    let (exec, _) = executor();
    let polls = Rc::new(Cell::new(0));
    let handle = exec.spawn(spin(polls.clone()));
    exec.tick(64);
    let snap = exec.snapshot();
    assert_eq!(snap.len(), 1);
    assert_eq!(snap[0].id, handle.id());
    assert_eq!(snap[0].state, TaskState::Scheduled);
    assert_eq!(snap[0].polls, 1);
    let accounts = exec.waker_accounts();
    assert!(!accounts[0].idle);
    handle.abort();
    while exec.tick(64) {}
}

#[test]
fn shutdown_drops_deferred_tasks_once_on_this_thread() {
    let count = n(100, 10);
    let (exec, _) = executor();
    let log = Arc::new(DropLog::default());
    let ticks_seen = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for _ in 0..count {
        let probe = DropProbe(Arc::clone(&log));
        let seen = Arc::clone(&ticks_seen);
        handles.push(exec.spawn(async move {
            let _probe = probe;
            loop {
                seen.fetch_add(1, SeqCst);
                task::yield_now().await;
            }
        }));
    }
    // Every task yielded once: all of them wait in the deferred list (holding RUNNING) ...
    exec.tick(u32::MAX);
    assert_eq!(ticks_seen.load(SeqCst), count);
    // ... and half of them were moved to the run queue and polled again by a short tick.
    exec.tick((count / 2) as u32);
    assert_eq!(ticks_seen.load(SeqCst), count + count / 2);
    exec.shutdown();
    assert_eq!(log.count(), count, "each future dropped exactly once");
    assert!(log.all_on(thread::current().id()));
    for h in handles {
        assert!(block_on(h).unwrap_err().is_cancelled());
    }
    drop(exec);
    assert_eq!(log.count(), count);
}

#[test]
fn a_task_that_shuts_the_executor_down_and_yields_is_cancelled() {
    let (exec, _) = executor();
    let exec = Rc::new(exec);
    let log = Arc::new(DropLog::default());
    let probe = DropProbe(Arc::clone(&log));
    let e = Rc::downgrade(&exec);
    let handle = exec.spawn(async move {
        let _probe = probe;
        if let Some(exec) = e.upgrade() {
            exec.shutdown();
        }
        task::yield_now().await;
        unreachable!("polled after shutdown");
    });
    exec.tick(64);
    assert_eq!(log.count(), 1);
    assert!(block_on(handle).unwrap_err().is_cancelled());
}
