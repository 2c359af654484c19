//! Deadlock detection on strand's `Mutex`, `RwLock` and `Semaphore`: lock cycles are reported
//! once, quickly, naming the tasks and the locks; waits that something else can end are not.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use strand::runtime::{Deadlock, DeadlockKind};
use strand::sync::{Mutex, RwLock, Semaphore};
use strand::task::{yield_now, Builder};
use strand::time::{sleep, timeout};

mod util;
use util::spawn_opposite_lockers;

type Reports = Arc<StdMutex<Vec<(Instant, Deadlock)>>>;

fn runtime_with_hook() -> (strand::Runtime, Reports) {
    let reports: Reports = Arc::default();
    let sink = reports.clone();
    let rt = strand::Runtime::builder()
        .on_deadlock(move |d| sink.lock().unwrap().push((Instant::now(), d.clone())))
        .build()
        .unwrap();
    (rt, reports)
}

/// Waits (on a timer, so it does not take part) until a report arrived, at most 10 s.
async fn until_reported(reports: &Reports) {
    for _ in 0..1000 {
        if !reports.lock().unwrap().is_empty() {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("no deadlock was reported within 10 s");
}

fn names(d: &Deadlock) -> Vec<Option<String>> {
    let mut n: Vec<_> = d.tasks().iter().map(|t| t.name.clone()).collect();
    n.sort();
    n
}

#[test]
fn two_tasks_locking_in_opposite_orders_are_reported_once_and_quickly() {
    let (rt, reports) = runtime_with_hook();
    let a_line = line!() + 1;
    let a = Rc::new(Mutex::new("a"));
    let b_line = line!() + 1;
    let b = Rc::new(Mutex::new("b"));
    let last_blocked = Rc::new(Cell::new(None));
    let (left_id, right_id) = rt.block_on(async {
        let (a1, b1) = (a.clone(), b.clone());
        let left = Builder::new()
            .name("left")
            .spawn(async move {
                let _a = a1.lock().await;
                yield_now().await;
                let _b = b1.lock().await;
            })
            .unwrap();
        let (a2, b2, at) = (a.clone(), b.clone(), last_blocked.clone());
        let right = Builder::new()
            .name("right")
            .spawn(async move {
                let _b = b2.lock().await;
                yield_now().await;
                at.set(Some(Instant::now()));
                let _a = a2.lock().await;
            })
            .unwrap();
        until_reported(&reports).await;
        // A few more idle turns: the cycle must not be reported again.
        sleep(Duration::from_millis(50)).await;
        let ids = (left.id(), right.id());
        left.abort();
        right.abort();
        ids
    });
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "one report per cycle");
    let (at, d) = &reports[0];
    let blocked = last_blocked.get().unwrap();
    assert!(
        at.duration_since(blocked) < Duration::from_millis(100),
        "reported {:?} after the last task blocked",
        at.duration_since(blocked)
    );
    assert_eq!(d.kind(), DeadlockKind::LockCycle);
    assert_eq!(names(d), [Some("left".into()), Some("right".into())]);
    let mut ids: Vec<_> = d.tasks().iter().map(|t| t.id.unwrap()).collect();
    ids.sort();
    let mut want = vec![left_id, right_id];
    want.sort();
    assert_eq!(ids, want);
    for t in d.tasks() {
        assert_eq!(t.location.file(), file!());
        assert_eq!(t.waits_for.len(), 1);
        assert_eq!(t.holds.len(), 1);
        assert_ne!(t.waits_for, t.holds);
    }
    let mut lines: Vec<_> = d.locks().iter().map(|l| l.created.line()).collect();
    lines.sort();
    assert_eq!(lines, [a_line, b_line]);
    assert!(d.locks().iter().all(|l| l.kind == "mutex"));
    let text = d.to_string();
    for needle in [
        "deadlock",
        "\"left\"",
        "\"right\"",
        "mutex 0x",
        "waits for",
        "held by",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
    assert_eq!(rt.metrics().deadlocks_detected, 1);
}

#[test]
fn three_task_cycle_through_a_semaphore() {
    let (rt, reports) = runtime_with_hook();
    let sem = Rc::new(Semaphore::new(1));
    let m1 = Rc::new(Mutex::new(()));
    let m2 = Rc::new(Mutex::new(()));
    rt.block_on(async {
        let (s, m) = (sem.clone(), m1.clone());
        let t1 = Builder::new()
            .name("t1")
            .spawn(async move {
                let _p = s.acquire().await.unwrap();
                yield_now().await;
                let _g = m.lock().await;
            })
            .unwrap();
        let (a, b) = (m1.clone(), m2.clone());
        let t2 = Builder::new()
            .name("t2")
            .spawn(async move {
                let _g1 = a.lock().await;
                yield_now().await;
                let _g2 = b.lock().await;
            })
            .unwrap();
        let (m, s) = (m2.clone(), sem.clone());
        let t3 = Builder::new()
            .name("t3")
            .spawn(async move {
                let _g2 = m.lock().await;
                yield_now().await;
                let _p = s.acquire().await.unwrap();
            })
            .unwrap();
        until_reported(&reports).await;
        for t in [t1, t2, t3] {
            t.abort();
        }
    });
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    let d = &reports[0].1;
    assert_eq!(d.kind(), DeadlockKind::LockCycle);
    assert_eq!(
        names(d),
        [Some("t1".into()), Some("t2".into()), Some("t3".into())]
    );
    let mut kinds: Vec<_> = d.locks().iter().map(|l| l.kind).collect();
    kinds.sort();
    assert_eq!(kinds, ["mutex", "mutex", "semaphore"]);
    // In wait order: each task waits for a lock the next one holds.
    let n = d.tasks().len();
    for (i, t) in d.tasks().iter().enumerate() {
        let next = &d.tasks()[(i + 1) % n];
        assert!(next.holds.contains(&t.waits_for[0]), "{d}");
    }
}

#[test]
fn a_task_locking_a_mutex_it_holds_is_reported() {
    let (rt, reports) = runtime_with_hook();
    rt.block_on(async {
        let m = Rc::new(Mutex::new(0));
        let m2 = m.clone();
        let t = Builder::new()
            .name("twice")
            .spawn(async move {
                let _first = m2.lock().await;
                let _second = m2.lock().await;
            })
            .unwrap();
        until_reported(&reports).await;
        t.abort();
    });
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    let d = &reports[0].1;
    assert_eq!(names(d), [Some("twice".into())]);
    assert!(d.to_string().contains("a lock it holds itself"), "{d}");
}

#[test]
fn rwlock_writer_behind_a_reader_that_waits_for_it() {
    let (rt, reports) = runtime_with_hook();
    rt.block_on(async {
        let rw = Rc::new(RwLock::new(0));
        let m = Rc::new(Mutex::new(()));
        let (rw1, m1) = (rw.clone(), m.clone());
        let reader = strand::spawn(async move {
            let _r = rw1.read().await;
            yield_now().await;
            let _m = m1.lock().await;
        });
        let (rw2, m2) = (rw.clone(), m.clone());
        let writer = strand::spawn(async move {
            let _m = m2.lock().await;
            yield_now().await;
            *rw2.write().await += 1;
        });
        until_reported(&reports).await;
        reader.abort();
        writer.abort();
    });
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    let mut kinds: Vec<_> = reports[0].1.locks().iter().map(|l| l.kind).collect();
    kinds.sort();
    assert_eq!(kinds, ["mutex", "rwlock"]);
}

/// With `fail_on_deadlock` (what `#[strand::test]` sets), `block_on` panics with the report
/// when the `block_on` future itself is part of the cycle.
#[test]
fn fail_on_deadlock_panics_out_of_block_on_with_the_cycle() {
    let rt = strand::Runtime::builder()
        .fail_on_deadlock(true)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = panic::catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let a = Rc::new(Mutex::new(()));
            let b = Rc::new(Mutex::new(()));
            let _a = a.lock().await;
            let (a2, b2) = (a.clone(), b.clone());
            let _t = Builder::new()
                .name("other")
                .spawn(async move {
                    let _b = b2.lock().await;
                    yield_now().await;
                    let _a = a2.lock().await;
                })
                .unwrap();
            yield_now().await;
            yield_now().await;
            let _b = b.lock().await;
        })
    }))
    .expect_err("the deadlock must make block_on panic");
    assert!(started.elapsed() < Duration::from_secs(10));
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    for needle in ["deadlock", "the block_on future", "\"other\"", "mutex"] {
        assert!(msg.contains(needle), "{needle:?} missing from\n{msg}");
    }
    // The runtime is still usable afterwards.
    assert_eq!(rt.block_on(async { 5 }), 5);
}

/// `#[strand::test]` fails a deadlocking test with the report (the `timeout` only bounds the
/// test if detection ever broke: its panic message would not match).
#[strand::test]
#[should_panic(expected = "wait for locks held by each other")]
async fn strand_test_fails_on_deadlock() {
    let (left, right) = spawn_opposite_lockers();
    let _ = timeout(Duration::from_secs(20), async {
        let _ = left.await;
        let _ = right.await;
    })
    .await;
    panic!("no deadlock was reported");
}

// ---------------------------------------------------------------------------------------------
// Waits that something else can end are never reported.

fn assert_no_report(f: impl std::future::Future<Output = ()>) {
    let (rt, reports) = runtime_with_hook();
    rt.block_on(f);
    let reports = reports.lock().unwrap();
    assert!(reports.is_empty(), "unexpected report:\n{}", reports[0].1);
}

#[test]
fn a_cycle_with_a_timeout_on_one_side_is_not_a_deadlock() {
    assert_no_report(async {
        let a = Rc::new(Mutex::new(()));
        let b = Rc::new(Mutex::new(()));
        let (a1, b1) = (a.clone(), b.clone());
        let left = strand::spawn(async move {
            let _a = a1.lock().await;
            yield_now().await;
            // Gives up after a while, dropping `a`: the timer can end this wait.
            timeout(Duration::from_millis(50), b1.lock()).await.is_err()
        });
        let right = strand::spawn(async move {
            let _b = b.lock().await;
            yield_now().await;
            let _a = a.lock().await;
        });
        assert!(left.await.unwrap());
        right.await.unwrap();
    });
}

#[test]
fn an_owned_guard_moved_into_another_task_is_not_held_by_its_acquirer() {
    assert_no_report(async {
        let m = Rc::new(Mutex::new(0));
        let guard = m.clone().lock_owned().await;
        let t = strand::spawn(async move {
            sleep(Duration::from_millis(30)).await;
            drop(guard);
        });
        // The root waits for a lock it acquired, but the guard is in `t`, which will release it.
        *m.lock().await += 1;
        t.await.unwrap();
    });
}

#[test]
fn owned_permits_handed_to_workers_do_not_make_the_acceptor_deadlock() {
    assert_no_report(async {
        let limit = Rc::new(Semaphore::new(2));
        let mut workers = Vec::new();
        for i in 0..6u64 {
            let permit = limit.clone().acquire_owned().await.unwrap();
            workers.push(strand::spawn(async move {
                sleep(Duration::from_millis(10 + i)).await;
                drop(permit);
            }));
        }
        for w in workers {
            w.await.unwrap();
        }
    });
}

#[test]
fn waiting_for_a_lock_held_by_a_sleeping_task_is_not_a_deadlock() {
    assert_no_report(async {
        let m = Rc::new(Mutex::new(()));
        let m1 = m.clone();
        let holder = strand::spawn(async move {
            let _g = m1.lock().await;
            sleep(Duration::from_millis(30)).await;
        });
        yield_now().await;
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let m = m.clone();
                strand::spawn(async move { drop(m.lock().await) })
            })
            .collect();
        holder.await.unwrap();
        for w in waiters {
            w.await.unwrap();
        }
    });
}

thread_local! {
    static ON_REPORT: std::cell::RefCell<Option<strand::sync::oneshot::Sender<()>>> =
        const { std::cell::RefCell::new(None) };
}

/// The hook runs on the runtime thread and may act on the report: here it wakes the
/// `block_on` future (which then aborts the deadlocked tasks) instead of letting the runtime
/// wait forever.
#[test]
fn a_hook_can_wake_the_runtime_to_recover() {
    let rt = strand::Runtime::builder()
        .on_deadlock(|_| {
            if let Some(tx) = ON_REPORT.with(|r| r.borrow_mut().take()) {
                let _ = tx.send(());
            }
        })
        .build()
        .unwrap();
    let recovered = rt.block_on(async {
        let (tx, rx) = strand::sync::oneshot::channel();
        ON_REPORT.with(|r| *r.borrow_mut() = Some(tx));
        let (left, right) = spawn_opposite_lockers();
        rx.await.unwrap();
        left.abort();
        right.abort();
        left.await.unwrap_err().is_cancelled() && right.await.unwrap_err().is_cancelled()
    });
    assert!(recovered);
    assert_eq!(rt.metrics().deadlocks_detected, 1);
}

/// Diagnostics are per runtime, a lock is not: a guard taken while they are off and released
/// while they are on (and one taken on, with the lock contended, and released off) leaves the
/// lock's records exact, so a later cycle through it is still reported, once.
#[test]
fn guards_taken_and_released_under_different_diagnostics_settings() {
    let off = strand::Runtime::builder()
        .diagnostics(false)
        .build()
        .unwrap();
    let (on, reports) = runtime_with_hook();
    let a = Rc::new(Mutex::new(()));
    let b = Rc::new(Mutex::new(()));
    let s = Rc::new(Semaphore::new(2));
    // Off, then on.
    let g = off.block_on(async { a.lock().await });
    let p_off = off.block_on(async { s.acquire().await.unwrap() });
    on.block_on(async {
        drop(g);
        // Permits taken with diagnostics off merged into ones taken with them on.
        let mut p_on = s.acquire().await.unwrap();
        p_on.merge(p_off);
        assert_eq!(p_on.num_permits(), 2);
    });
    // On, contended (so the lock has a wait-for graph node), then released off.
    let g = on.block_on(async {
        let g = a.lock().await;
        let a2 = a.clone();
        let waiter = strand::spawn(async move {
            let _g = a2.lock().await;
        });
        yield_now().await;
        waiter.abort();
        assert!(waiter.await.unwrap_err().is_cancelled());
        g
    });
    off.block_on(async { drop(g) });
    assert!(a.try_lock().is_ok() && s.try_acquire_many(2).is_ok());
    // A cycle through `a`, the semaphore and `b`.
    on.block_on(async {
        let (a1, s1, b1) = (a.clone(), s.clone(), b.clone());
        let left = strand::spawn(async move {
            let _a = a1.lock().await;
            let _s = s1.acquire_many(2).await.unwrap();
            yield_now().await;
            let _b = b1.lock().await;
        });
        let (a2, b2) = (a.clone(), b.clone());
        let right = strand::spawn(async move {
            let _b = b2.lock().await;
            yield_now().await;
            let _a = a2.lock().await;
        });
        until_reported(&reports).await;
        left.abort();
        right.abort();
    });
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "one report per cycle");
    assert_eq!(reports[0].1.kind(), DeadlockKind::LockCycle);
    assert_eq!(reports[0].1.locks().len(), 2);
}
