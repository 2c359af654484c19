//! `strand::sync::mpsc`: FIFO, exactly-once, cancel-safe `recv`, close and error semantics.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures_lite::future;
use strand::sync::mpsc::{self, error::TryRecvError, error::TrySendError};
use strand::task::yield_now;
use strand::time::timeout;

const PRODUCERS: usize = 4;
const PER_PRODUCER: u32 = 250_000;

/// The consumer's `recv` is raced against a timer or a yield and cancelled whenever it loses;
/// every message must still arrive exactly once and in order per producer.
#[test]
fn four_producers_exactly_once_fifo_while_recv_is_cancelled_constantly() {
    util::run(async {
        let (tx, mut rx) = mpsc::channel::<(usize, u32)>(32);
        for p in 0..PRODUCERS {
            let tx = tx.clone();
            strand::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(p as u64);
                for i in 0..PER_PRODUCER {
                    tx.send((p, i)).await.unwrap();
                    if rng.u8(..4) == 0 {
                        yield_now().await; // let the queue run dry now and then
                    }
                }
            });
        }
        drop(tx);

        let mut next = [0u32; PRODUCERS];
        let mut cancelled = 0u64;
        let mut rng = fastrand::Rng::with_seed(99);
        loop {
            let got: Option<Option<(usize, u32)>> = match rng.u8(..3) {
                // A racing timer of a few microseconds.
                0 => timeout(Duration::from_micros(rng.u64(1..5)), rx.recv())
                    .await
                    .ok(),
                // One poll, then cancelled if nothing was queued.
                1 => future::poll_once(rx.recv()).await,
                // The yield is polled first: a recv that was pending on the first poll is
                // cancelled on the second, even if a message arrived (and woke it) meanwhile.
                _ => {
                    future::or(
                        async {
                            yield_now().await;
                            None
                        },
                        async { Some(rx.recv().await) },
                    )
                    .await
                }
            };
            match got {
                Some(Some((p, i))) => {
                    assert_eq!(
                        i, next[p],
                        "producer {p}: message out of order or duplicated"
                    );
                    next[p] += 1;
                }
                Some(None) => break,
                None => cancelled += 1,
            }
        }
        assert_eq!(next, [PER_PRODUCER; PRODUCERS], "messages lost");
        assert!(
            cancelled > 1_000,
            "recv was cancelled only {cancelled} times"
        );
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn unbounded_fifo_exactly_once_with_cancelled_recv() {
    util::run(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        let producer = strand::spawn(async move {
            for i in 0..50_000 {
                tx.send(i).unwrap();
                if i % 7 == 0 {
                    yield_now().await;
                }
            }
        });
        let mut expected = 0;
        while expected < 50_000 {
            if let Some(v) = future::poll_once(rx.recv()).await {
                assert_eq!(v, Some(expected));
                expected += 1;
            } else {
                yield_now().await;
            }
        }
        producer.await.unwrap();
        assert_eq!(rx.recv().await, None);
    });
}

#[test]
fn recv_returns_none_only_after_every_sender_is_gone_and_queue_is_empty() {
    util::run(async {
        let (tx, mut rx) = mpsc::channel(8);
        let tx2 = tx.clone();
        tx.send(1).await.unwrap();
        drop(tx);
        assert_eq!(rx.recv().await, Some(1));
        // One sender left: recv waits rather than returning None.
        assert!(future::poll_once(rx.recv()).await.is_none());
        assert!(!rx.is_closed());
        strand::spawn(async move {
            yield_now().await;
            tx2.send(2).await.unwrap();
            yield_now().await;
            drop(tx2);
        });
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.recv().await, None, "None is final");
        assert!(rx.is_closed());
    });
}

#[test]
fn send_error_hands_the_value_back() {
    util::run(async {
        let (tx, rx) = mpsc::channel::<String>(1);
        tx.send("queued".into()).await.unwrap();
        // A sender waiting for room when the receiver goes gets its value back.
        let tx2 = tx.clone();
        let waiting = strand::spawn(async move { tx2.send("waiting".into()).await });
        yield_now().await;
        drop(rx);
        let err = waiting.await.unwrap().unwrap_err();
        assert_eq!(err.0, "waiting");
        assert_eq!(err.to_string(), "channel closed");
        assert_eq!(
            tx.send("late".into()).await.unwrap_err().into_inner(),
            "late"
        );
        assert_eq!(
            tx.try_send("try".into()),
            Err(TrySendError::Closed("try".to_string()))
        );
        assert!(tx.is_closed());

        let (utx, urx) = mpsc::unbounded_channel::<Vec<u8>>();
        drop(urx);
        assert_eq!(utx.send(vec![1, 2]).unwrap_err().0, [1, 2]);
    });
}

#[test]
fn bounded_backpressure_and_fifo_senders() {
    util::run(async {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        tx.try_send(0).unwrap();
        tx.try_send(1).unwrap();
        assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
        assert_eq!(tx.capacity(), 0);
        assert_eq!(tx.max_capacity(), 2);
        let order = Rc::new(Cell::new(0u32));
        let mut senders = Vec::new();
        for v in 2..6 {
            let tx = tx.clone();
            let order = order.clone();
            senders.push(strand::spawn(async move {
                tx.send(v).await.unwrap();
                order.set(order.get() * 10 + v);
            }));
            yield_now().await; // queue them in order
        }
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(rx.recv().await.unwrap());
            yield_now().await;
        }
        for s in senders {
            s.await.unwrap();
        }
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        assert_eq!(
            order.get(),
            2345,
            "senders waiting for room are served FIFO"
        );
    });
}

#[test]
fn reserve_permit_and_close() {
    util::run(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let permit = tx.reserve().await.unwrap();
        assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
        rx.close();
        // A reserved slot can still be used after close; recv drains it, then ends.
        permit.send(7);
        assert_eq!(rx.recv().await, Some(7));
        assert_eq!(rx.recv().await, None);
        assert!(tx.reserve().await.is_err());

        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let owned = tx.clone().reserve_owned().await.unwrap();
        let back = owned.send(3);
        assert!(back.same_channel(&tx));
        assert_eq!(rx.recv().await, Some(3));
        let owned = tx.clone().reserve_owned().await.unwrap();
        drop(owned.release());
        assert_eq!(tx.capacity(), 1);
    });
}

#[test]
fn sender_closed_completes_when_receiver_goes() {
    util::run(async {
        let (tx, rx) = mpsc::channel::<()>(1);
        let (utx, mut urx) = mpsc::unbounded_channel::<()>();
        let done = Rc::new(Cell::new(false));
        let flag = done.clone();
        let watcher = strand::spawn(async move {
            tx.closed().await;
            utx.closed().await;
            flag.set(true);
        });
        yield_now().await;
        drop(rx);
        yield_now().await;
        yield_now().await;
        assert!(!done.get(), "the unbounded receiver is still open");
        urx.close();
        util::within(Duration::from_secs(5), "closed()", watcher)
            .await
            .unwrap();
    });
}

/// A consumer that always finds a message must still yield to other tasks: `recv` spends the
/// cooperative budget.
#[test]
fn busy_receiver_yields_to_other_tasks() {
    util::run(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        for i in 0..100_000 {
            tx.send(i).unwrap();
        }
        let other_ran = Rc::new(Cell::new(false));
        let flag = other_ran.clone();
        let consumer = strand::spawn(async move {
            let mut seen_before_flag = 0;
            for _ in 0..100_000 {
                rx.recv().await.unwrap();
                if !flag.get() {
                    seen_before_flag += 1;
                }
            }
            seen_before_flag
        });
        let flag = other_ran.clone();
        strand::spawn(async move { flag.set(true) });
        let seen_before_flag = consumer.await.unwrap();
        assert!(other_ran.get());
        assert!(
            seen_before_flag < 10_000,
            "the other task waited for {seen_before_flag} receives"
        );
    });
}
