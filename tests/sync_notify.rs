//! `strand::sync::Notify`: one stored permit, notify_waiters, notifications never dropped.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures_lite::future;
use strand::sync::Notify;
use strand::task::yield_now;
use strand::time::timeout;

#[test]
fn notify_one_stores_exactly_one_permit() {
    util::run(async {
        let n = Notify::new();
        for _ in 0..10 {
            n.notify_one();
        }
        n.notified().await; // the stored permit
        assert!(
            timeout(Duration::from_millis(5), n.notified())
                .await
                .is_err(),
            "a second permit was stored"
        );
        // notify_waiters stores nothing.
        n.notify_waiters();
        assert!(future::poll_once(n.notified()).await.is_none());
    });
}

#[test]
fn notify_one_wakes_waiters_in_fifo_order() {
    util::run(async {
        let n = Rc::new(Notify::new());
        let order = Rc::new(Cell::new(0u32));
        let tasks: Vec<_> = (1..=3)
            .map(|i| {
                let (n, order) = (n.clone(), order.clone());
                strand::spawn(async move {
                    n.notified().await;
                    order.set(order.get() * 10 + i);
                })
            })
            .collect();
        yield_now().await;
        for _ in 0..3 {
            n.notify_one();
            yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(order.get(), 123);
    });
}

#[test]
fn notify_waiters_wakes_current_waiters_only() {
    util::run(async {
        let n = Rc::new(Notify::new());
        let woken = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let (n, woken) = (n.clone(), woken.clone());
                strand::spawn(async move {
                    n.notified().await;
                    woken.set(woken.get() + 1);
                })
            })
            .collect();
        yield_now().await;
        n.notify_waiters();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(woken.get(), 5);
        // A waiter that arrives later is not woken by the earlier call.
        assert!(timeout(Duration::from_millis(5), n.notified())
            .await
            .is_err());
    });
}

/// A waiter picked by `notify_one` and cancelled (by a timeout) before it ran passes the
/// notification to the next waiter.
#[test]
fn cancelled_notified_waiter_passes_its_notification_on() {
    util::run(async {
        let n = Rc::new(Notify::new());
        let mut first = Box::pin(n.notified());
        assert!(future::poll_once(first.as_mut()).await.is_none());
        let n2 = n.clone();
        let second = strand::spawn(async move { n2.notified().await });
        yield_now().await;
        n.notify_one(); // goes to `first`
        drop(first); // which never sees it
        util::within(Duration::from_secs(5), "second waiter", second)
            .await
            .unwrap();
        // And with nobody else waiting, it becomes the stored permit.
        let mut lone = Box::pin(n.notified());
        assert!(future::poll_once(lone.as_mut()).await.is_none());
        n.notify_one();
        drop(lone);
        assert!(future::poll_once(n.notified()).await.is_some());
    });
}

#[test]
fn notified_created_before_notify_waiters_completes_without_having_been_polled() {
    util::run(async {
        let n = Notify::new();
        let ready = Cell::new(false);
        let notified = n.notified();
        ready.set(true);
        n.notify_waiters();
        // The "check, then await" pattern does not miss the wakeup.
        timeout(Duration::from_secs(5), notified)
            .await
            .expect("missed notify_waiters");
        assert!(ready.get());
    });
}

#[test]
fn timed_out_waits_leave_no_stale_waiters() {
    util::run(async {
        let n = Notify::new();
        for _ in 0..1_000 {
            let _ = future::poll_once(n.notified()).await;
        }
        // All those cancelled waiters are gone: the next notify_one is stored, not swallowed.
        n.notify_one();
        assert!(future::poll_once(n.notified()).await.is_some());
    });
}
