//! `strand::sync::oneshot` and `strand::sync::watch` between tasks.

mod util;

use std::time::Duration;

use futures_lite::future;
use strand::sync::{oneshot, watch};
use strand::task::yield_now;
use strand::time::timeout;

#[test]
fn oneshot_ping_pong_between_tasks() {
    util::run(async {
        let mut total = 0;
        for i in 0..1_000u64 {
            let (ping_tx, ping_rx) = oneshot::channel();
            let (pong_tx, pong_rx) = oneshot::channel();
            strand::spawn(async move {
                let v = ping_rx.await.unwrap();
                pong_tx.send(v + 1).unwrap();
            });
            ping_tx.send(i).unwrap();
            total += pong_rx.await.unwrap();
        }
        assert_eq!(total, (1..=1_000).sum::<u64>());
    });
}

#[test]
fn oneshot_sender_dropped_and_receiver_dropped() {
    util::run(async {
        let (tx, rx) = oneshot::channel::<u8>();
        strand::spawn(async move {
            yield_now().await;
            drop(tx);
        });
        let err = rx.await.unwrap_err();
        assert_eq!(err.to_string(), "channel closed");

        let (tx, rx) = oneshot::channel();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(vec![1]), Err(vec![1]));
    });
}

#[test]
fn oneshot_closed_completes_when_receiver_goes() {
    util::run(async {
        let (mut tx, rx) = oneshot::channel::<u8>();
        assert!(timeout(Duration::from_millis(2), tx.closed())
            .await
            .is_err());
        strand::spawn(async move {
            yield_now().await;
            drop(rx);
        });
        util::within(Duration::from_secs(5), "closed()", tx.closed()).await;
        assert!(tx.is_closed());

        let (mut tx, mut rx) = oneshot::channel::<u8>();
        rx.close();
        tx.closed().await;
        assert_eq!(tx.send(1), Err(1));
        assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed));
    });
}

#[test]
fn oneshot_receiver_is_cancel_safe() {
    util::run(async {
        let (tx, mut rx) = oneshot::channel();
        // Cancelled polls of `&mut rx` lose nothing.
        for _ in 0..10 {
            assert!(timeout(Duration::from_micros(10), &mut rx).await.is_err());
        }
        strand::spawn(async move { tx.send("v").unwrap() });
        assert_eq!(rx.await, Ok("v"));
    });
}

#[test]
fn watch_receivers_see_latest_value_and_close() {
    util::run(async {
        let (tx, rx) = watch::channel(0u32);
        let observers: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = rx.clone();
                strand::spawn(async move {
                    let mut seen = Vec::new();
                    while rx.changed().await.is_ok() {
                        seen.push(*rx.borrow_and_update());
                    }
                    seen
                })
            })
            .collect();
        drop(rx);
        yield_now().await;
        assert_eq!(tx.receiver_count(), 3);
        tx.send(1).unwrap();
        tx.send(2).unwrap(); // overwrites 1 before anyone looks
        yield_now().await;
        tx.send_modify(|v| *v += 1);
        yield_now().await;
        drop(tx);
        for o in observers {
            assert_eq!(o.await.unwrap(), [2, 3]);
        }
    });
}

#[test]
fn watch_changed_is_cancel_safe_and_sender_closed_works() {
    util::run(async {
        let (tx, mut rx) = watch::channel("a");
        assert!(future::poll_once(rx.changed()).await.is_none());
        tx.send("b").unwrap();
        // The cancelled changed() marked nothing as seen.
        assert!(rx.has_changed().unwrap());
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow(), "b");
        assert!(!rx.has_changed().unwrap());

        let waiter = strand::spawn(async move {
            tx.closed().await;
            tx.send("c").unwrap_err().0
        });
        yield_now().await;
        drop(rx);
        assert_eq!(
            util::within(Duration::from_secs(5), "Sender::closed", waiter)
                .await
                .unwrap(),
            "c"
        );
    });
}

#[test]
fn watch_wait_for_predicate() {
    util::run(async {
        let (tx, mut rx) = watch::channel(0);
        strand::spawn(async move {
            for i in 1..=10 {
                tx.send(i).unwrap();
                yield_now().await;
            }
        });
        let v = *rx.wait_for(|v| *v >= 5).await.unwrap();
        assert!(v >= 5);
        // The sender finishes and goes away; wait_for on an impossible value then fails.
        assert!(rx.wait_for(|v| *v > 100).await.is_err());
        assert_eq!(*rx.borrow(), 10);
    });
}
