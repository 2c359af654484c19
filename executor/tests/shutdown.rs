//! Shutdown: every live future dropped exactly once, on the executor thread, entered.

mod util;

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread;

use strand_executor::task;
use util::{block_on, drain, executor, n, pending_stash, DropLog, DropProbe};

#[test]
fn ten_thousand_live_tasks_are_dropped_once_on_the_executor_thread() {
    let count = n(10_000, 200);
    let log = Arc::new(DropLog::default());
    let (exec, _) = executor();
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let probe = DropProbe(Arc::clone(&log));
        handles.push(exec.spawn(async move {
            let _probe = probe;
            if i % 2 == 0 {
                // Half of them have been polled and are idle, half never ran.
                pending::<()>().await;
            }
        }));
        if i == count / 2 {
            // Poll the first half once.
            drain(&exec);
        }
    }
    let finished_before = handles.iter().filter(|h| h.is_finished()).count();
    let dropped_before = log.count();
    assert_eq!(dropped_before, finished_before);
    drop(exec);
    assert_eq!(log.count(), count, "each future dropped exactly once");
    assert!(log.all_on(thread::current().id()));
    let cancelled = handles
        .into_iter()
        .map(block_on)
        .filter(|r| r.as_ref().is_err_and(|e| e.is_cancelled()))
        .count();
    assert_eq!(cancelled, count - finished_before);
}

#[test]
fn shutdown_is_idempotent_and_resolves_handles() {
    let (exec, _) = executor();
    let h = exec.spawn(pending::<()>());
    drain(&exec);
    exec.shutdown();
    assert!(exec.is_closed());
    exec.shutdown();
    assert!(!exec.tick(64));
    assert_eq!(exec.metrics().tasks_alive, 0);
    assert!(block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn drops_during_shutdown_run_with_the_executor_entered() {
    let (exec, _) = executor();
    let spawned_in_drop: Rc<Cell<Option<task::JoinHandle<()>>>> = Rc::default();
    let blocking_in_drop: Rc<Cell<Option<task::JoinHandle<()>>>> = Rc::default();
    struct SpawnOnDrop(
        Rc<Cell<Option<task::JoinHandle<()>>>>,
        Rc<Cell<Option<task::JoinHandle<()>>>>,
    );
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            // Must not panic: the executor is entered while futures are dropped.
            self.0.set(Some(task::spawn(async {})));
            self.1.set(Some(task::spawn_blocking(|| ())));
        }
    }
    let probe = SpawnOnDrop(spawned_in_drop.clone(), blocking_in_drop.clone());
    exec.spawn(async move {
        let _p = probe;
        pending::<()>().await;
    });
    drain(&exec);
    drop(exec); // not entered by the caller
    let late = spawned_in_drop.take().unwrap();
    assert!(block_on(late).unwrap_err().is_cancelled());
    let late_blocking = blocking_in_drop.take().unwrap();
    assert!(block_on(late_blocking).unwrap_err().is_cancelled());
}

#[test]
fn spawns_after_shutdown_resolve_cancelled_and_drop_their_future() {
    let (exec, _) = executor();
    let spawner = exec.spawner();
    exec.shutdown();
    let log = Arc::new(DropLog::default());
    let probe = DropProbe(Arc::clone(&log));
    let h = exec.spawn(async move {
        let _p = probe;
    });
    assert_eq!(log.count(), 1, "dropped at once");
    assert!(h.is_finished());
    assert!(block_on(h).unwrap_err().is_cancelled());
    assert!(spawner.is_closed());
    let remote = thread::spawn(move || block_on(spawner.spawn(async { 1 })))
        .join()
        .unwrap();
    assert!(remote.unwrap_err().is_cancelled());
    let b = exec.spawn_blocking(|| 1);
    assert!(block_on(b).unwrap_err().is_cancelled());
}

#[test]
fn unadopted_remote_spawns_are_cancelled_by_shutdown() {
    let (exec, _) = executor();
    let spawner = exec.spawner();
    let log = Arc::new(DropLog::default());
    let probe = DropProbe(Arc::clone(&log));
    let h = thread::spawn(move || {
        spawner.spawn(async move {
            let _p = probe;
        })
    })
    .join()
    .unwrap();
    assert_eq!(log.count(), 0);
    drop(exec);
    assert_eq!(log.count(), 1);
    assert!(block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn queued_and_woken_tasks_at_shutdown_are_dropped_once() {
    let (exec, _) = executor();
    let log = Arc::new(DropLog::default());
    let stash = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..10 {
        let probe = DropProbe(Arc::clone(&log));
        let s = Arc::clone(&stash);
        exec.spawn(async move {
            let _p = probe;
            pending_stash(s).await;
        });
    }
    drain(&exec);
    // Half woken locally, half remotely; none polled again before shutdown.
    let wakers: Vec<_> = stash.lock().unwrap().drain(..).collect();
    {
        let _g = exec.enter();
        wakers[..5].iter().for_each(|w| w.wake_by_ref());
    }
    let remote: Vec<_> = wakers[5..].to_vec();
    thread::spawn(move || remote.into_iter().for_each(|w| w.wake()))
        .join()
        .unwrap();
    exec.shutdown();
    assert_eq!(log.count(), 10);
    // Wakes after shutdown are no-ops.
    wakers.iter().for_each(|w| w.wake_by_ref());
    drop(wakers);
    drop(exec);
    assert_eq!(log.count(), 10);
}

#[test]
fn shutdown_from_inside_a_task() {
    let exec = Rc::new(strand_executor::Executor::new(
        Default::default(),
        Arc::new(|| {}),
    ));
    let log = Arc::new(DropLog::default());
    let probe = DropProbe(Arc::clone(&log));
    let other = exec.spawn(async move {
        let _p = probe;
        pending::<()>().await;
    });
    let inner = Rc::clone(&exec);
    let probe = DropProbe(Arc::clone(&log));
    let me = exec.spawn(async move {
        let _p = probe;
        inner.shutdown();
        pending::<()>().await;
    });
    drain(&exec);
    assert_eq!(
        log.count(),
        2,
        "the other task and then the running one were dropped"
    );
    assert!(block_on(other).unwrap_err().is_cancelled());
    assert!(block_on(me).unwrap_err().is_cancelled());
    assert_eq!(exec.metrics().tasks_alive, 0);
}

/// Takes (and fills with `0xAB`) one cached block of every size class, as any `LocalRc` or
/// spawn made from a destructor at shutdown could: whatever block is free is reused now.
fn reuse_every_cached_block(keep: &mut Vec<Box<dyn std::any::Any>>) {
    macro_rules! take_class {
        ($($n:literal)*) => {$(
            keep.push(Box::new(strand_executor::LocalRc::new([0xABu8; $n])));
        )*};
    }
    // `LocalRc<[u8; N]>` is a count (8 bytes) and N bytes: N = 16k - 8 fills class k exactly.
    take_class!(8 24 40 56 72 88 104 120 136 152 168 184 200 216 232 248 264 280 296 312 328
        344 360 376 392 408 424 440 456 472 488 504 520 536 552 568 584 600 616 632 648 664 680
        696 712 728 744 760 776 792 808 824 840 856 872 888 904 920 936 952 968 984 1000 1016);
}

/// Sets off `reuse_every_cached_block` when dropped.
struct ReuseOnDrop(Rc<std::cell::RefCell<Vec<Box<dyn std::any::Any>>>>);

impl Drop for ReuseOnDrop {
    fn drop(&mut self) {
        reuse_every_cached_block(&mut self.0.borrow_mut());
    }
}

#[test]
fn a_task_cancelled_from_the_deferred_list_leaves_the_registry_before_its_block_is_reused() {
    // Two tasks that yield forever: at shutdown both sit in the deferred list, still
    // `RUNNING`, and are cancelled from there. The first one's block is freed to the cache by
    // its completion; the second one's future, dropped next, takes every cached block and
    // overwrites it. The registry walk that follows must not touch the first task any more
    // (it used to: its entry stayed, and its "header" was now someone else's bytes).
    let kept = Rc::new(std::cell::RefCell::new(Vec::new()));
    {
        let (exec, _) = executor();
        let first = exec.spawn(async {
            loop {
                task::yield_now().await;
            }
        });
        let guard = ReuseOnDrop(Rc::clone(&kept));
        let second = exec.spawn(async move {
            let _guard = guard;
            loop {
                task::yield_now().await;
            }
        });
        // Without handles the blocks are freed at completion.
        drop((first, second));
        assert!(exec.tick(16), "both yielded to the next tick");
        assert_eq!(exec.metrics().tasks_alive, 2);
        drop(exec);
    }
    assert!(
        !kept.borrow().is_empty(),
        "the second future's destructor ran and reused the cached blocks"
    );
    drop(kept);
}
