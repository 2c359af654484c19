//! The state shared by both halves of a bounded or unbounded channel.
//!
//! A `VecDeque` of messages (its buffer grows to the peak backlog and is reused), the receiver's
//! waker, the number of live senders and, for a bounded channel, a [`RawSemaphore`] holding one
//! permit per free slot: a sender takes a permit before it pushes, the receiver returns it when
//! it pops. Closing the receiver closes the semaphore, which fails every waiting sender.
//!
//! Borrow discipline: the `RefCell`s are only borrowed for a push or a pop; messages are dropped,
//! and wakers woken or dropped, after the borrow ends (their `Drop` may re-enter the channel,
//! e.g. a message holding a `Sender` of this very channel).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use strand_executor::diag::{ChannelKind, TrackedWaker, WaitReason};

use crate::sync::coop;
use crate::sync::notify::Notify;
use crate::sync::raw_sem::{Acquire, RawSemaphore};
use crate::sync::wait_list::register_waker;

use super::error::TryRecvError;

const RX_CLOSED: u8 = 1;
const RX_DROPPED: u8 = 2;

pub(super) struct Chan<T> {
    queue: RefCell<VecDeque<T>>,
    rx_waker: Cell<Option<TrackedWaker>>,
    tx_count: Cell<usize>,
    rx_state: Cell<u8>,
    /// Woken (`notify_waiters`) when the receiver closes, for `Sender::closed`.
    closed: Notify,
    /// Free slots of a bounded channel; unused (and never touched) when unbounded.
    pub(super) sem: RawSemaphore,
    /// Capacity of a bounded channel, 0 when unbounded.
    cap: usize,
}

impl<T> Chan<T> {
    pub(super) fn new(cap: usize) -> Self {
        Chan {
            queue: RefCell::new(VecDeque::new()),
            rx_waker: Cell::new(None),
            tx_count: Cell::new(1),
            rx_state: Cell::new(0),
            closed: Notify::const_new(),
            sem: RawSemaphore::new(cap),
            cap,
        }
    }

    fn bounded(&self) -> bool {
        self.cap != 0
    }

    pub(super) fn max_capacity(&self) -> usize {
        self.cap
    }

    pub(super) fn add_sender(&self) {
        self.tx_count.set(self.tx_count.get() + 1);
    }

    pub(super) fn drop_sender(&self) {
        let n = self.tx_count.get() - 1;
        self.tx_count.set(n);
        if n == 0 {
            self.wake_rx();
        }
    }

    pub(super) fn sender_count(&self) -> usize {
        self.tx_count.get()
    }

    pub(super) fn is_rx_closed(&self) -> bool {
        self.rx_state.get() & RX_CLOSED != 0
    }

    fn wake_rx(&self) {
        if let Some(w) = self.rx_waker.take() {
            w.wake();
        }
    }

    /// Queues a message (the sender already holds a slot, or the channel is unbounded) and
    /// wakes the receiver. A message for a dropped receiver is dropped at once.
    pub(super) fn push(&self, value: T) {
        if self.rx_state.get() & RX_DROPPED != 0 {
            drop(value);
            return;
        }
        self.queue.borrow_mut().push_back(value);
        self.wake_rx();
    }

    /// A bounded sender gives back a slot it reserved but did not use.
    pub(super) fn release_slot(&self) {
        self.sem.release(1);
        if self.is_rx_closed() {
            // The receiver may be waiting for the last reserved slot to report the end.
            self.wake_rx();
        }
    }

    /// Receiver side: closes the channel for sending; queued messages stay receivable.
    pub(super) fn close_rx(&self) {
        if self.is_rx_closed() {
            return;
        }
        self.rx_state.set(self.rx_state.get() | RX_CLOSED);
        if self.bounded() {
            self.sem.close();
        }
        self.closed.notify_waiters();
    }

    /// Receiver dropped: close, and drop what is queued (outside the borrow).
    pub(super) fn drop_rx(&self) {
        self.close_rx();
        self.rx_state.set(self.rx_state.get() | RX_DROPPED);
        drop(self.rx_waker.take());
        loop {
            let batch = std::mem::take(&mut *self.queue.borrow_mut());
            if batch.is_empty() {
                break;
            }
            drop(batch);
        }
    }

    /// No message is queued and none can come any more.
    fn is_drained(&self) -> bool {
        if self.tx_count.get() == 0 {
            return true;
        }
        if !self.is_rx_closed() {
            return false;
        }
        // Closed: senders holding a reserved slot may still send.
        !self.bounded() || self.sem.available_permits() + self.queue.borrow().len() >= self.cap
    }

    fn pop(&self) -> Option<T> {
        let v = self.queue.borrow_mut().pop_front();
        if v.is_some() && self.bounded() {
            self.sem.release(1);
        }
        v
    }

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.pop() {
            Some(v) => Ok(v),
            None if self.is_drained() => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = ready!(coop::poll_proceed(cx));
        if let Some(v) = self.pop() {
            coop.made_progress();
            return Poll::Ready(Some(v));
        }
        if self.is_drained() {
            coop.made_progress();
            return Poll::Ready(None);
        }
        self.register_rx(cx.waker());
        Poll::Pending
    }

    pub(super) fn poll_recv_many(
        &self,
        cx: &mut Context<'_>,
        buf: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let coop = ready!(coop::poll_proceed(cx));
        let n = {
            let mut q = self.queue.borrow_mut();
            let n = q.len().min(limit);
            buf.extend(q.drain(..n));
            n
        };
        if n > 0 {
            if self.bounded() {
                self.sem.release(n);
            }
            coop.made_progress();
            return Poll::Ready(n);
        }
        if self.is_drained() {
            coop.made_progress();
            return Poll::Ready(0);
        }
        self.register_rx(cx.waker());
        Poll::Pending
    }

    /// Only the last waker counts; the replaced one is dropped with nothing borrowed (if its
    /// `Drop` sends, the push wakes the waker just stored).
    fn register_rx(&self, waker: &Waker) {
        let reason = WaitReason::Channel {
            kind: ChannelKind::MpscRecv,
            id: self as *const Self as usize as u64,
        };
        register_waker(&self.rx_waker, waker, reason);
    }

    /// Waits for a free slot of a bounded channel; `Err` once the receiver is gone.
    pub(super) fn reserve(&self) -> Reserve<'_, T> {
        Reserve {
            chan: self,
            acquire: Some(self.sem.acquire(1)),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// Completes once the receiver is closed or dropped.
    pub(super) async fn closed(&self) {
        loop {
            let notified = self.closed.notified();
            if self.is_rx_closed() {
                return;
            }
            notified.await;
        }
    }
}

/// Waits for one slot; cancel-safe (a slot handed to a cancelled reserve goes to the next
/// sender, and a closed receiver waiting for the last reserved slot is woken).
pub(super) struct Reserve<'a, T> {
    chan: &'a Chan<T>,
    acquire: Option<Acquire<'a>>,
}

impl<T> Future for Reserve<'_, T> {
    type Output = Result<(), ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        let this = self.get_mut();
        let acquire = this
            .acquire
            .as_mut()
            .expect("Reserve polled after completion");
        let res = ready!(Pin::new(acquire).poll(cx));
        this.acquire = None;
        Poll::Ready(res.map(|_| ()).map_err(|_| ()))
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        if let Some(acquire) = self.acquire.take() {
            drop(acquire);
            if self.chan.is_rx_closed() {
                self.chan.wake_rx();
            }
        }
    }
}
