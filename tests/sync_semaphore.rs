//! `strand::sync::Semaphore`: permits are never lost or leaked by cancelled waiters.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures_lite::future;
use strand::sync::{Semaphore, TryAcquireError};
use strand::task::yield_now;
use strand::time::timeout;

/// A waiter is handed the permit and is cancelled before it runs again: the permit must go to
/// the next waiter, not vanish.
#[test]
fn waiter_dropped_after_being_granted_does_not_lose_the_permit() {
    util::run(async {
        let sem = Rc::new(Semaphore::new(1));
        let held = sem.acquire().await.unwrap();
        // `first` queues, then `second` (a task).
        let mut first = Box::pin(sem.acquire());
        assert!(future::poll_once(first.as_mut()).await.is_none());
        let s2 = sem.clone();
        let second = strand::spawn(async move {
            let p = s2.acquire().await.unwrap();
            p.num_permits()
        });
        yield_now().await;
        drop(held); // handed to `first`
        assert_eq!(sem.available_permits(), 0);
        drop(first); // cancelled after being served
        let got = util::within(Duration::from_secs(5), "second waiter", second)
            .await
            .unwrap();
        assert_eq!(got, 1);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// Randomized acquire/cancel/release with multi-permit requests; at the end every permit is
/// back and concurrency never exceeded the limit.
#[test]
fn cancelled_acquires_never_leak_or_lose_permits() {
    const PERMITS: usize = 3;
    util::run(async {
        let sem = Rc::new(Semaphore::new(PERMITS));
        let in_use = Rc::new(Cell::new(0usize));
        let tasks: Vec<_> = (0..6u64)
            .map(|t| {
                let (sem, in_use) = (sem.clone(), in_use.clone());
                strand::spawn(async move {
                    let mut rng = fastrand::Rng::with_seed(t + 10);
                    for _ in 0..1_000 {
                        let n = rng.u32(1..=PERMITS as u32);
                        let permit = match rng.u8(..3) {
                            0 => {
                                timeout(Duration::from_micros(rng.u64(0..20)), sem.acquire_many(n))
                                    .await
                                    .ok()
                                    .map(Result::unwrap)
                            }
                            1 => future::poll_once(sem.acquire_many(n))
                                .await
                                .map(Result::unwrap),
                            _ => {
                                future::or(
                                    async {
                                        yield_now().await;
                                        None
                                    },
                                    async { Some(sem.acquire_many(n).await.unwrap()) },
                                )
                                .await
                            }
                        };
                        if let Some(p) = permit {
                            assert_eq!(p.num_permits(), n as usize);
                            in_use.set(in_use.get() + p.num_permits());
                            assert!(in_use.get() <= PERMITS, "more permits out than exist");
                            if rng.bool() {
                                yield_now().await;
                            }
                            in_use.set(in_use.get() - p.num_permits());
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(sem.available_permits(), PERMITS);
        assert!(sem.try_acquire_many(PERMITS as u32).is_ok());
    });
}

#[test]
fn large_request_is_not_starved_by_small_ones() {
    util::run(async {
        let sem = Rc::new(Semaphore::new(2));
        let a = sem.acquire().await.unwrap();
        let s = sem.clone();
        let big = strand::spawn(async move { s.acquire_many(2).await.unwrap().num_permits() });
        yield_now().await;
        // One permit is free, but the big request is queued first: no barging.
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(a);
        assert_eq!(big.await.unwrap(), 2);
        assert_eq!(sem.available_permits(), 2);
    });
}

#[test]
fn close_fails_waiters_and_later_acquires() {
    util::run(async {
        let sem = Rc::new(Semaphore::new(0));
        let s = sem.clone();
        let waiter = strand::spawn(async move { s.acquire().await.map(|_| ()) });
        yield_now().await;
        sem.close();
        assert!(waiter.await.unwrap().is_err());
        assert!(sem.acquire().await.is_err());
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        assert!(sem.clone().acquire_owned().await.is_err());
        sem.add_permits(1); // allowed, but nothing can be acquired
        assert!(sem.try_acquire().is_err());
    });
}

#[test]
fn owned_permits_add_permits_and_forget() {
    util::run(async {
        let sem = Rc::new(Semaphore::new(1));
        let p = sem.clone().acquire_owned().await.unwrap();
        assert!(Rc::ptr_eq(p.semaphore(), &sem));
        let task = strand::spawn(async move {
            yield_now().await;
            drop(p);
        });
        let p2 = sem.clone().acquire_owned().await.unwrap(); // waits for the task's drop
        task.await.unwrap();
        p2.forget();
        assert_eq!(sem.available_permits(), 0);
        sem.add_permits(2);
        let mut p = sem.acquire_many(2).await.unwrap();
        let p1 = p.split(1).unwrap();
        assert_eq!((p.num_permits(), p1.num_permits()), (1, 1));
        p.merge(p1);
        drop(p);
        assert_eq!(sem.available_permits(), 2);
    });
}
