//! Multi-producer, single-consumer FIFO channels between tasks on one thread.
//!
//! - [`channel`]`(capacity)`: bounded; [`Sender::send`] waits while `capacity` messages are
//!   queued, senders waiting for room are served in FIFO order, and [`Sender::reserve`] waits
//!   for room without committing a value.
//! - [`unbounded_channel`]: [`UnboundedSender::send`] never waits.
//!
//! Messages are received in the order they were sent (FIFO; per producer and overall), each
//! exactly once. A send fails with [`SendError`](error::SendError), handing the value back, once
//! the receiver is dropped or closed. [`Receiver::recv`] returns `None` only after every sender
//! is gone and every queued message was received.
//!
//! # Cancel safety
//! `recv`, `recv_many`, `reserve` and `closed` are cancel-safe. `send` is cancel-safe in that a
//! cancelled send never sends and never holds a slot, but the value it carried is dropped with
//! it (reserve first to keep it).
//!
//! # Not `Send`
//! ```compile_fail
//! fn assert_send<T: Send>(_: T) {}
//! let (tx, rx) = strand::sync::mpsc::channel::<u32>(1);
//! assert_send(tx);
//! ```
//! ```compile_fail
//! fn assert_send<T: Send>(_: T) {}
//! let (tx, rx) = strand::sync::mpsc::unbounded_channel::<u32>();
//! assert_send(rx);
//! ```

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{channel, OwnedPermit, Permit, Receiver, Sender};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender};

#[cfg(test)]
mod tests {
    use super::error::*;
    use super::*;
    use crate::sync::test_util::*;
    use std::cell::{Cell, RefCell};
    use std::pin::pin;
    use std::rc::Rc;
    use std::task::{Poll, Waker};

    #[test]
    fn fifo_exactly_once_with_recv_cancelled_at_random() {
        let (tx, mut rx) = channel::<(u8, u32)>(16);
        let txs: Vec<_> = (0..4).map(|_| tx.clone()).collect();
        drop(tx);
        let w = noop_waker();
        let mut sends: Vec<_> = txs
            .iter()
            .enumerate()
            .map(|(p, _)| (p as u8, 0u32))
            .collect();
        let mut next_expected = [0u32; 4];
        let mut rng = 0x1234_5678_9abc_def1u64;
        let mut rand = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as usize
        };
        let mut received = 0;
        const N: u32 = 5_000;
        while received < 4 * N {
            // Producers: try_send as far as room allows.
            for (tx, s) in txs.iter().zip(sends.iter_mut()) {
                if s.1 < N && rand() % 2 == 0 && tx.try_send(*s).is_ok() {
                    s.1 += 1;
                }
            }
            // Consumer: a recv future polled once, then (often) cancelled.
            let mut fut = Box::pin(rx.recv());
            if let Poll::Ready(Some((p, i))) = poll_pinned(fut.as_mut(), &w) {
                assert_eq!(i, next_expected[p as usize], "producer {p} out of order");
                next_expected[p as usize] += 1;
                received += 1;
            }
            drop(fut);
        }
        assert_eq!(next_expected, [N; 4]);
        drop(txs);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn recv_none_only_after_all_senders_and_queue() {
        let (tx, mut rx) = unbounded_channel();
        let tx2 = tx.clone();
        tx.send(1).unwrap();
        drop(tx);
        let (w, c) = counting_waker();
        assert_eq!(poll_once(&mut pin!(rx.recv()), &w), Poll::Ready(Some(1)));
        let mut r = Box::pin(rx.recv());
        assert!(poll_pinned(r.as_mut(), &w).is_pending());
        tx2.send(2).unwrap();
        assert_eq!(c.get(), 1);
        assert_eq!(poll_pinned(r.as_mut(), &w), Poll::Ready(Some(2)));
        drop(r);
        let mut r = Box::pin(rx.recv());
        assert!(poll_pinned(r.as_mut(), &w).is_pending());
        drop(tx2);
        assert_eq!(c.get(), 2);
        assert_eq!(poll_pinned(r.as_mut(), &w), Poll::Ready(None));
        drop(r);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn send_error_hands_value_back_also_to_waiting_senders() {
        let (tx, mut rx) = channel(1);
        tx.try_send(String::from("a")).unwrap();
        let (w, c) = counting_waker();
        let mut blocked = Box::pin(tx.send(String::from("b")));
        assert!(poll_pinned(blocked.as_mut(), &w).is_pending());
        rx.close();
        assert_eq!(c.get(), 1);
        match poll_pinned(blocked.as_mut(), &w) {
            Poll::Ready(Err(SendError(v))) => assert_eq!(v, "b"),
            other => panic!("expected SendError, got {:?}", other.map(|r| r.is_ok())),
        }
        assert_eq!(
            tx.try_send("c".into()),
            Err(TrySendError::Closed("c".into()))
        );
        // Queued messages survive close.
        assert_eq!(rx.try_recv().unwrap(), "a");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
        let (utx, urx) = unbounded_channel();
        drop(urx);
        assert_eq!(utx.send(vec![1]).unwrap_err().into_inner(), [1]);
    }

    #[test]
    fn closed_receiver_waits_for_reserved_slots() {
        let (tx, mut rx) = channel::<u32>(2);
        let permit = tx.try_reserve().unwrap();
        rx.close();
        assert!(tx.is_closed());
        let (w, c) = counting_waker();
        let mut r = Box::pin(rx.recv());
        assert!(
            poll_pinned(r.as_mut(), &w).is_pending(),
            "a reserved slot may still send"
        );
        permit.send(5);
        assert_eq!(c.get(), 1);
        assert_eq!(poll_pinned(r.as_mut(), &w), Poll::Ready(Some(5)));
        drop(r);
        let permit = tx.try_reserve();
        assert!(permit.is_err());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn closed_receiver_woken_when_a_granted_reserve_is_cancelled() {
        let (tx, mut rx) = channel::<u32>(1);
        let held = tx.try_reserve().unwrap();
        let mut waiting = Box::pin(tx.reserve());
        assert!(poll_pinned(waiting.as_mut(), &noop_waker()).is_pending());
        drop(held); // the slot goes to `waiting`
        rx.close();
        let (w, c) = counting_waker();
        let mut r = pin!(rx.recv());
        assert!(poll_pinned(r.as_mut(), &w).is_pending());
        drop(waiting); // gives the slot back without sending: the end is reached
        assert_eq!(c.get(), 1);
        assert_eq!(poll_pinned(r.as_mut(), &w), Poll::Ready(None));
    }

    #[test]
    fn waiting_senders_are_served_fifo_and_cancelled_one_passes_its_slot() {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap();
        let (w, c) = counting_waker();
        let mut a = Box::pin(tx.send(1));
        let mut b = Box::pin(tx.send(2));
        let mut d = Box::pin(tx.send(3));
        for f in [&mut a, &mut b, &mut d] {
            assert!(poll_pinned(f.as_mut(), &w).is_pending());
        }
        assert_eq!(rx.try_recv(), Ok(0)); // slot to a
        assert_eq!(c.get(), 1);
        drop(a); // a cancelled after being handed the slot: b gets it
        assert_eq!(c.get(), 2);
        assert!(matches!(poll_pinned(b.as_mut(), &w), Poll::Ready(Ok(()))));
        assert!(poll_pinned(d.as_mut(), &w).is_pending());
        assert_eq!(rx.try_recv(), Ok(2));
        assert!(matches!(poll_pinned(d.as_mut(), &w), Poll::Ready(Ok(()))));
        assert_eq!(rx.try_recv(), Ok(3));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert_eq!(tx.capacity(), 1);
    }

    #[test]
    fn recv_wakes_the_last_waker() {
        let (tx, mut rx) = unbounded_channel();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let mut r = pin!(rx.recv());
        assert!(poll_pinned(r.as_mut(), &w1).is_pending());
        assert!(poll_pinned(r.as_mut(), &w2).is_pending());
        tx.send(()).unwrap();
        assert_eq!((c1.get(), c2.get()), (0, 1));
    }

    #[test]
    fn recv_many_and_len() {
        let (tx, mut rx) = channel(8);
        for i in 0..5 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(rx.len(), 5);
        assert_eq!(tx.capacity(), 3);
        let mut buf = Vec::new();
        assert_eq!(
            poll_once(&mut pin!(rx.recv_many(&mut buf, 3)), &noop_waker()),
            Poll::Ready(3)
        );
        assert_eq!(tx.capacity(), 6);
        assert_eq!(
            poll_once(&mut pin!(rx.recv_many(&mut buf, 10)), &noop_waker()),
            Poll::Ready(2)
        );
        assert_eq!(buf, [0, 1, 2, 3, 4]);
        drop(tx);
        assert_eq!(
            poll_once(&mut pin!(rx.recv_many(&mut buf, 10)), &noop_waker()),
            Poll::Ready(0)
        );
    }

    #[test]
    fn dropped_receiver_drops_queued_messages_and_late_permit_sends() {
        let token = Rc::new(());
        let (tx, rx) = channel(4);
        tx.try_send(token.clone()).unwrap();
        let permit = tx.try_reserve().unwrap();
        drop(rx);
        assert_eq!(Rc::strong_count(&token), 1);
        permit.send(token.clone()); // dropped at once: nobody can receive it
        assert_eq!(Rc::strong_count(&token), 1);
    }

    // A message whose Drop sends on the same channel: dropping the receiver with it queued
    // must not re-borrow the queue.
    struct SendsOnDrop(Option<UnboundedSender<SendsOnDrop>>);

    impl Drop for SendsOnDrop {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                assert!(tx.send(SendsOnDrop(None)).is_err());
            }
        }
    }

    #[test]
    fn message_drop_reenters_channel() {
        let (tx, rx) = unbounded_channel();
        tx.send(SendsOnDrop(Some(tx.clone()))).unwrap();
        drop(tx);
        drop(rx);
    }

    thread_local! {
        static TX: RefCell<Option<UnboundedSender<u32>>> = const { RefCell::new(None) };
        static DROPS: Cell<u32> = const { Cell::new(0) };
    }

    fn send_from_waker() {
        DROPS.with(|d| d.set(d.get() + 1));
        TX.with(|t| {
            if let Some(tx) = t.borrow().as_ref() {
                tx.send(100).unwrap();
            }
        });
    }

    #[test]
    fn waker_whose_drop_sends() {
        let (tx, mut rx) = unbounded_channel();
        TX.with(|t| *t.borrow_mut() = Some(tx));
        let mut r = Box::pin(rx.recv());
        let h = hook_waker(send_from_waker, send_from_waker);
        assert!(poll_pinned(r.as_mut(), &h).is_pending());
        drop(h);
        let (w2, c2): (Waker, _) = counting_waker();
        assert!(poll_pinned(r.as_mut(), &w2).is_pending()); // drops h: it sends
        assert_eq!(DROPS.with(Cell::get), 1);
        assert_eq!(
            c2.get(),
            1,
            "the send from the old waker's drop wakes the new one"
        );
        assert_eq!(poll_pinned(r.as_mut(), &w2), Poll::Ready(Some(100)));
        drop(r);
        TX.with(|t| t.borrow_mut().take());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }
}
