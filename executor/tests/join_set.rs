//! `JoinSet`: completion order, abort_all, shutdown, drop.

mod util;

use std::cell::RefCell;
use std::future::pending;
use std::rc::Rc;
use std::sync::Arc;

use strand_executor::task::{self, JoinSet};
use util::{block_on, drain, executor, n, DropLog, DropProbe};

#[test]
fn join_next_returns_results_in_completion_order() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let h = task::spawn(async {
        let mut set = JoinSet::new();
        assert!(set.is_empty());
        for delay in [3u32, 1, 2] {
            set.spawn(async move {
                for _ in 0..delay {
                    task::yield_now().await;
                }
                delay
            });
        }
        assert_eq!(set.len(), 3);
        let mut order = Vec::new();
        while let Some(res) = set.join_next().await {
            order.push(res.unwrap());
        }
        assert!(set.join_next().await.is_none());
        order
    });
    drain(&exec);
    assert_eq!(block_on(h).unwrap(), [1, 2, 3]);
}

#[test]
fn many_tasks_and_len() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let count = n(2_000, 50);
    let h = task::spawn(async move {
        let mut set = JoinSet::new();
        for i in 0..count {
            set.spawn(async move { i });
        }
        let mut sum = 0;
        let mut seen = 0;
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
            seen += 1;
            assert_eq!(set.len(), count - seen);
        }
        sum
    });
    drain(&exec);
    assert_eq!(block_on(h).unwrap(), count * (count - 1) / 2);
}

#[test]
fn abort_all_and_abort_handles() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let h = task::spawn(async {
        let mut set = JoinSet::new();
        let first = set.spawn(pending::<u8>());
        set.spawn(pending::<u8>());
        set.spawn(async { 9u8 });
        task::yield_now().await;
        first.abort();
        let mut cancelled = 0;
        let mut ok = Vec::new();
        // One cancelled by its handle and the finished one come first.
        for _ in 0..2 {
            match set.join_next().await.unwrap() {
                Ok(v) => ok.push(v),
                Err(e) if e.is_cancelled() => cancelled += 1,
                Err(e) => panic!("{e}"),
            }
        }
        set.abort_all();
        let last = set.join_next().await.unwrap().unwrap_err();
        assert!(last.is_cancelled());
        (cancelled, ok, set.len())
    });
    drain(&exec);
    assert_eq!(block_on(h).unwrap(), (1, vec![9], 0));
}

#[test]
fn dropping_the_set_aborts_everything() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let log = Arc::new(DropLog::default());
    let mut set = JoinSet::new();
    for _ in 0..5 {
        let probe = DropProbe(Arc::clone(&log));
        set.spawn(async move {
            let _p = probe;
            pending::<()>().await;
        });
    }
    drain(&exec);
    assert_eq!(log.count(), 0);
    drop(set);
    drain(&exec);
    assert_eq!(log.count(), 5);
    assert_eq!(exec.metrics().tasks_alive, 0);
}

#[test]
fn shutdown_waits_for_every_task_to_be_gone() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let log = Arc::new(DropLog::default());
    let l = Arc::clone(&log);
    let h = task::spawn(async move {
        let mut set = JoinSet::new();
        for _ in 0..4 {
            let probe = DropProbe(Arc::clone(&l));
            set.spawn(async move {
                let _p = probe;
                pending::<()>().await;
            });
        }
        task::yield_now().await;
        set.shutdown().await;
        (set.len(), l.count())
    });
    drain(&exec);
    assert_eq!(block_on(h).unwrap(), (0, 4));
    assert_eq!(log.count(), 4);
}

#[test]
fn try_join_next_and_detach_all() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let mut set = JoinSet::new();
    set.spawn(async { 1 });
    assert!(set.try_join_next().is_none(), "not run yet");
    drain(&exec);
    assert_eq!(set.try_join_next().unwrap().unwrap(), 1);
    assert!(set.try_join_next().is_none());
    let ran = Rc::new(RefCell::new(false));
    let r = ran.clone();
    set.spawn(async move {
        task::yield_now().await;
        *r.borrow_mut() = true;
        2
    });
    set.detach_all();
    assert!(set.is_empty());
    drain(&exec);
    assert!(*ran.borrow(), "detached tasks keep running");
}

#[test]
fn join_all_collects_outputs() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let mut set = JoinSet::new();
    for i in 0..5 {
        set.spawn(async move { i });
    }
    let h = task::spawn(set.join_all());
    drain(&exec);
    let mut v = block_on(h).unwrap();
    v.sort();
    assert_eq!(v, [0, 1, 2, 3, 4]);
}

#[test]
fn spawn_blocking_into_a_set() {
    let (exec, parker) = executor();
    let _g = exec.enter();
    let mut set = JoinSet::new();
    set.spawn_blocking(|| 5);
    set.spawn_on(async { 6 }, &exec);
    let h = task::spawn(async move {
        let mut v = Vec::new();
        while let Some(r) = set.join_next().await {
            v.push(r.unwrap());
        }
        v.sort();
        v
    });
    util::run_until(&exec, &parker, || h.is_finished());
    assert_eq!(block_on(h).unwrap(), [5, 6]);
}
