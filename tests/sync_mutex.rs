//! `strand::sync::Mutex` and `RwLock`: cancelled waits, fairness, exclusion across awaits.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures_lite::future;
use strand::sync::{Mutex, RwLock};
use strand::task::yield_now;
use strand::time::timeout;

/// 10,000 randomized lock attempts, cancelled by timeouts, by a single poll or by losing a race
/// against a yield; the holder keeps the lock across awaits. Nobody ever sees two holders and
/// the mutex ends up free.
#[test]
fn lock_cancelled_by_timeout_never_leaves_the_mutex_held() {
    util::run(async {
        let m = Rc::new(Mutex::new(0u64));
        let inside = Rc::new(Cell::new(false));
        let tasks: Vec<_> = (0..4u64)
            .map(|t| {
                let m = m.clone();
                let inside = inside.clone();
                strand::spawn(async move {
                    let mut rng = fastrand::Rng::with_seed(t);
                    let (mut locked, mut cancelled) = (0u64, 0u64);
                    for _ in 0..2_500 {
                        let guard = match rng.u8(..3) {
                            0 => timeout(Duration::from_micros(rng.u64(0..20)), m.lock())
                                .await
                                .ok(),
                            1 => future::poll_once(m.lock()).await,
                            _ => {
                                future::or(
                                    async {
                                        yield_now().await;
                                        None
                                    },
                                    async { Some(m.lock().await) },
                                )
                                .await
                            }
                        };
                        match guard {
                            Some(mut g) => {
                                assert!(!inside.replace(true), "two holders at once");
                                *g += 1;
                                for _ in 0..rng.u8(..3) {
                                    yield_now().await;
                                }
                                inside.set(false);
                                drop(g);
                                locked += 1;
                            }
                            None => cancelled += 1,
                        }
                    }
                    (locked, cancelled)
                })
            })
            .collect();
        let (mut locked, mut cancelled) = (0, 0);
        for t in tasks {
            let (l, c) = t.await.unwrap();
            locked += l;
            cancelled += c;
        }
        assert_eq!(locked + cancelled, 10_000);
        assert!(cancelled > 100, "only {cancelled} cancelled attempts");
        let guard = m.try_lock().expect("mutex left held by a cancelled lock()");
        assert_eq!(*guard, locked);
    });
}

#[test]
fn waiters_get_the_lock_in_fifo_order() {
    util::run(async {
        let m = Rc::new(Mutex::new(Vec::new()));
        let held = m.lock().await;
        let mut tasks = Vec::new();
        for i in 0..5 {
            let m = m.clone();
            tasks.push(strand::spawn(async move { m.lock().await.push(i) }));
            yield_now().await; // each queues before the next is spawned
        }
        assert!(m.try_lock().is_err());
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*m.lock().await, [0, 1, 2, 3, 4]);
    });
}

#[test]
fn try_lock_does_not_barge_past_a_woken_waiter() {
    util::run(async {
        let m = Rc::new(Mutex::new(()));
        let held = m.lock().await;
        let m2 = m.clone();
        let waiter = strand::spawn(async move {
            let _g = m2.lock().await;
        });
        yield_now().await;
        drop(held); // handed to the waiter, which has not run yet
        assert!(m.try_lock().is_err());
        waiter.await.unwrap();
        assert!(m.try_lock().is_ok());
    });
}

#[test]
fn owned_guard_moves_into_a_task() {
    util::run(async {
        let m = Rc::new(Mutex::new(String::new()));
        let mut guard = m.clone().lock_owned().await;
        let task = strand::spawn(async move {
            yield_now().await;
            guard.push_str("from task");
        });
        // Waits until the task drops the guard.
        assert_eq!(*m.lock().await, "from task");
        task.await.unwrap();
        assert_eq!(Rc::strong_count(&m), 1);
        assert_eq!(Rc::try_unwrap(m).unwrap().into_inner(), "from task");
    });
}

#[test]
fn rwlock_readers_share_writer_excludes_and_is_not_starved() {
    util::run(async {
        let lock = Rc::new(RwLock::new(0));
        let log = Rc::new(RefCell::new(Vec::new()));
        let r1 = lock.read().await;
        let r2 = lock.read().await;
        assert_eq!(*r1 + *r2, 0);
        let writer = {
            let (lock, log) = (lock.clone(), log.clone());
            strand::spawn(async move {
                let mut w = lock.write().await;
                *w = 1;
                log.borrow_mut().push("w");
            })
        };
        yield_now().await;
        // The writer waits: a later reader queues behind it.
        assert!(lock.try_read().is_err());
        let reader = {
            let (lock, log) = (lock.clone(), log.clone());
            strand::spawn(async move {
                let r = lock.read().await;
                log.borrow_mut()
                    .push(if *r == 1 { "r after w" } else { "r before w" });
            })
        };
        yield_now().await;
        drop((r1, r2));
        writer.await.unwrap();
        reader.await.unwrap();
        assert_eq!(*log.borrow(), ["w", "r after w"]);
    });
}

#[test]
fn rwlock_write_cancelled_by_timeout_leaves_it_usable() {
    util::run(async {
        let lock = RwLock::new(5);
        let r = lock.read().await;
        assert!(timeout(Duration::from_millis(1), lock.write())
            .await
            .is_err());
        // The cancelled writer gave back what it had collected: readers are not blocked.
        let r2 = lock
            .try_read()
            .expect("readers blocked by a cancelled writer");
        drop((r, r2));
        *lock.write().await += 1;
        assert_eq!(*lock.read().await, 6);
    });
}

/// Polling a finished `lock()` / `acquire()` future again is misuse: it panics with a message
/// that says so, and takes no second permit (the mutex and semaphore stay usable).
#[test]
fn lock_and_acquire_polled_after_completion_panic_without_taking_a_permit() {
    use std::future::Future;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    let mut cx = Context::from_waker(Waker::noop());
    util::run(async {
        let m = Mutex::new(5);
        let mut lock = pin!(m.lock());
        let Poll::Ready(guard) = lock.as_mut().poll(&mut cx) else {
            panic!("an unlocked mutex must lock at once");
        };
        drop(guard);
        let err = catch_unwind(AssertUnwindSafe(|| lock.as_mut().poll(&mut cx))).unwrap_err();
        let msg = panic_text(&*err);
        assert!(msg.contains("polled after it completed"), "{msg}");
        assert_eq!(*m.try_lock().expect("no permit was taken by the misuse"), 5);

        let s = strand::sync::Semaphore::new(1);
        let mut acquire = pin!(s.acquire());
        let Poll::Ready(Ok(permit)) = acquire.as_mut().poll(&mut cx) else {
            panic!("a free permit must be granted at once");
        };
        drop(permit);
        let err = catch_unwind(AssertUnwindSafe(|| acquire.as_mut().poll(&mut cx))).unwrap_err();
        let msg = panic_text(&*err);
        assert!(msg.contains("polled after it completed"), "{msg}");
        assert_eq!(s.available_permits(), 1);
    });
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    match payload.downcast_ref::<&'static str>() {
        Some(s) => s,
        None => payload.downcast_ref::<String>().map_or("", String::as_str),
    }
}
