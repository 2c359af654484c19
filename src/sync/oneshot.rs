//! A channel for exactly one value, between tasks on one thread.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]. [`Sender::send`] stores the value (or
//! hands it back if the receiver is gone); the receiver is a future that resolves to the value,
//! or to [`RecvError`] if the sender was dropped without sending.
//!
//! # Cancel safety
//! Awaiting `&mut Receiver` (e.g. in a `select`) is cancel-safe: a value sent meanwhile stays
//! in the channel for the next poll or [`Receiver::try_recv`]. [`Sender::closed`] is cancel-safe.
//!
//! # Not `Send`
//! ```compile_fail
//! fn assert_send<T: Send>(_: T) {}
//! let (tx, rx) = strand::sync::oneshot::channel::<u32>();
//! assert_send(tx);
//! ```
//!
//! # Example
//! ```
//! use strand::sync::oneshot;
//!
//! strand::block_on(async {
//!     let (tx, rx) = oneshot::channel();
//!     strand::spawn(async move {
//!         tx.send("done").unwrap();
//!     });
//!     assert_eq!(rx.await, Ok("done"));
//!
//!     let (tx, rx) = oneshot::channel::<u32>();
//!     drop(tx);
//!     assert!(rx.await.is_err()); // the sender went away without sending
//! });
//! ```

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use strand_executor::diag::{ChannelKind, TrackedWaker, WaitReason};
use strand_executor::LocalRc;

use super::coop;
use super::wait_list::register_waker;

/// Errors of the oneshot channel.
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// The [`Sender`](super::Sender) was dropped without sending (or the receiver was closed
    /// before a value arrived).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(crate) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value yet; the sender may still send.
        Empty,
        /// No value will come: the sender is gone, the receiver was closed, or the value was
        /// already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

/// The sender is done: it sent (the value is in `value` until taken) or was dropped.
const TX_DONE: u8 = 1;
/// The receiver was closed or dropped.
const RX_CLOSED: u8 = 2;

struct Inner<T> {
    state: Cell<u8>,
    value: Cell<Option<T>>,
    rx_waker: Cell<Option<TrackedWaker>>,
    tx_waker: Cell<Option<TrackedWaker>>,
    _not_send: PhantomData<*const ()>,
}

impl<T> Inner<T> {
    fn has(&self, bit: u8) -> bool {
        self.state.get() & bit != 0
    }

    fn set(&self, bit: u8) {
        self.state.set(self.state.get() | bit);
    }
}

/// Stores `waker` in `cell` unless it already wakes the same task (see
/// [`register_waker`]), recording the wait for the task dump.
#[inline]
fn register(cell: &Cell<Option<TrackedWaker>>, waker: &Waker, kind: ChannelKind, id: *const ()) {
    let reason = WaitReason::Channel {
        kind,
        id: id as usize as u64,
    };
    register_waker(cell, waker, reason);
}

#[inline]
fn wake(cell: &Cell<Option<TrackedWaker>>) {
    if let Some(w) = cell.take() {
        w.wake();
    }
}

/// Creates a oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    // On a runtime thread the shared state comes from the executor's cache of free blocks:
    // no allocator round trip per channel.
    let inner = LocalRc::new(Inner {
        state: Cell::new(0),
        value: Cell::new(None),
        rx_waker: Cell::new(None),
        tx_waker: Cell::new(None),
        _not_send: PhantomData,
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner },
    )
}

/// Sends the value of a [`channel`]. Dropping it without sending makes the receiver fail.
pub struct Sender<T> {
    inner: LocalRc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`. Hands it back as `Err(value)` if the receiver was dropped or closed.
    ///
    /// ```
    /// let (tx, rx) = strand::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(5), Err(5));
    /// ```
    #[inline(always)]
    pub fn send(self, value: T) -> Result<(), T> {
        let inner = &self.inner;
        if inner.has(RX_CLOSED) {
            return Err(value);
        }
        inner.value.set(Some(value));
        inner.set(TX_DONE);
        wake(&inner.rx_waker);
        Ok(())
    }

    /// Completes when the receiver is dropped or [closed](Receiver::close): a way to stop
    /// computing a value nobody wants. Cancel-safe.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let (mut tx, rx) = strand::sync::oneshot::channel::<u32>();
    ///     strand::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver being gone; the waker of the latest call is the one woken.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        if self.inner.has(RX_CLOSED) {
            coop.made_progress();
            return Poll::Ready(());
        }
        let id = LocalRc::as_ptr(&self.inner).cast::<()>();
        register(
            &self.inner.tx_waker,
            cx.waker(),
            ChannelKind::OneshotClosed,
            id,
        );
        Poll::Pending
    }

    /// Whether the receiver was dropped or closed (a `send` would fail).
    pub fn is_closed(&self) -> bool {
        self.inner.has(RX_CLOSED)
    }
}

impl<T> Drop for Sender<T> {
    /// Inline, and with no call on the common paths (the receiver gone, or a value sent and
    /// nobody polling `closed`), so that the drop glue needs no stack frame.
    #[inline(always)]
    fn drop(&mut self) {
        if LocalRc::count(&self.inner) == 1 {
            // The receiver is gone: nobody can observe the channel any more, and dropping the
            // shared state right after this drops what is left in it.
            return;
        }
        // Whatever happens next, nobody polls for `closed` any more.
        let tx_waker = self.inner.tx_waker.take();
        if tx_waker.is_some() || !self.inner.has(TX_DONE) {
            sender_gone(&self.inner, tx_waker);
        }
    }
}

/// A sender goes away with the receiver still there: unless it sent, tell the receiver no
/// value will come; then drop the waker of its last `closed` poll.
#[cold]
#[inline(never)]
fn sender_gone<T>(inner: &Inner<T>, tx_waker: Option<TrackedWaker>) {
    if !inner.has(TX_DONE) {
        inner.set(TX_DONE);
        wake(&inner.rx_waker);
    }
    drop(tx_waker);
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Receives the value of a [`channel`]: await it (or `&mut` it) for
/// `Result<T, RecvError>`.
pub struct Receiver<T> {
    inner: LocalRc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it has arrived.
    ///
    /// ```
    /// use strand::sync::oneshot::{self, error::TryRecvError};
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let inner = &self.inner;
        if inner.has(TX_DONE) {
            inner.value.take().ok_or(TryRecvError::Closed)
        } else if inner.has(RX_CLOSED) {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Stops the sender from sending (its `send` fails, `closed()` completes); a value sent
    /// before stays receivable.
    ///
    /// ```
    /// let (tx, mut rx) = strand::sync::oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&mut self) {
        close_rx(&self.inner);
    }

    /// Whether the channel can no longer yield a value (it was taken, or none will come).
    pub fn is_terminated(&self) -> bool {
        let inner = &self.inner;
        (inner.has(TX_DONE) || inner.has(RX_CLOSED)) && {
            let v = inner.value.take();
            let empty = v.is_none();
            inner.value.set(v);
            empty
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// Inlined into the awaiting future: the ready poll is a budget check and a flag test; only
    /// parking (`register`) is a call.
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &self.inner;
        let coop = ready!(coop::poll_proceed(cx));
        if inner.has(TX_DONE) {
            coop.made_progress();
            return Poll::Ready(inner.value.take().ok_or(RecvError(())));
        }
        if inner.has(RX_CLOSED) {
            coop.made_progress();
            return Poll::Ready(Err(RecvError(())));
        }
        park_receiver(inner, cx.waker());
        Poll::Pending
    }
}

/// The receiver waits: store (or keep) its waker.
#[inline(never)]
fn park_receiver<T>(inner: &LocalRc<Inner<T>>, waker: &Waker) {
    register(
        &inner.rx_waker,
        waker,
        ChannelKind::OneshotRecv,
        LocalRc::as_ptr(inner).cast::<()>(),
    );
}

impl<T> Drop for Receiver<T> {
    #[inline]
    fn drop(&mut self) {
        if LocalRc::count(&self.inner) == 1 {
            // The sender is gone (its `closed` waker with it): the shared state, dropped right
            // after this, drops the value and our waker.
            return;
        }
        receiver_gone(&self.inner);
    }
}

/// The receiver closes the channel (once), waking the sender's `closed` poll.
fn close_rx<T>(inner: &Inner<T>) {
    if !inner.has(RX_CLOSED) {
        inner.set(RX_CLOSED);
        wake(&inner.tx_waker);
    }
}

/// A receiver goes away with the sender still there: close the channel (waking a `closed`
/// poll) and drop what nobody will read now rather than when the sender goes. Out of line, so
/// that the common drop (after the value was received) needs no stack frame.
#[cold]
#[inline(never)]
fn receiver_gone<T>(inner: &LocalRc<Inner<T>>) {
    close_rx(inner);
    drop(inner.rx_waker.take());
    drop(inner.value.take());
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver")
            .field("terminated", &self.is_terminated())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use std::rc::Rc;

    #[test]
    fn value_then_closed() {
        let (tx, mut rx) = channel();
        let (w, c) = counting_waker();
        assert!(poll_once(&mut rx, &w).is_pending());
        assert!(!tx.is_closed());
        tx.send(7).unwrap();
        assert_eq!(c.get(), 1);
        assert_eq!(poll_once(&mut rx, &w), Poll::Ready(Ok(7)));
        assert_eq!(poll_once(&mut rx, &w), Poll::Ready(Err(RecvError(()))));
        assert!(rx.is_terminated());
    }

    #[test]
    fn sender_dropped_wakes_with_error() {
        let (tx, mut rx) = channel::<()>();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        assert!(poll_once(&mut rx, &w1).is_pending());
        assert!(poll_once(&mut rx, &w2).is_pending());
        drop(tx);
        assert_eq!((c1.get(), c2.get()), (0, 1));
        assert_eq!(poll_once(&mut rx, &w2), Poll::Ready(Err(RecvError(()))));
    }

    #[test]
    fn closed_future_and_send_after_close() {
        let (mut tx, mut rx) = channel::<String>();
        let (w, c) = counting_waker();
        {
            let mut closed = Box::pin(tx.closed());
            assert!(poll_pinned(closed.as_mut(), &w).is_pending());
            drop(closed); // cancel-safe: nothing to undo
        }
        let mut closed = Box::pin(tx.closed());
        assert!(poll_pinned(closed.as_mut(), &w).is_pending());
        rx.close();
        assert_eq!(c.get(), 1);
        assert!(poll_pinned(closed.as_mut(), &w).is_ready());
        drop(closed);
        assert_eq!(tx.send("x".into()), Err("x".to_string()));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }

    #[test]
    fn value_sent_before_close_is_still_received() {
        let (tx, mut rx) = channel();
        tx.send(3).unwrap();
        rx.close();
        assert_eq!(rx.try_recv(), Ok(3));
    }

    #[test]
    fn unreceived_value_dropped_with_receiver() {
        let token = Rc::new(());
        let (tx, rx) = channel();
        tx.send(token.clone()).unwrap();
        assert_eq!(Rc::strong_count(&token), 2);
        drop(rx);
        assert_eq!(Rc::strong_count(&token), 1);
    }

    thread_local! {
        static TX: std::cell::RefCell<Option<Sender<u8>>> = const { std::cell::RefCell::new(None) };
    }

    fn send_from_drop() {
        if let Some(tx) = TX.with(|t| t.borrow_mut().take()) {
            assert!(!tx.is_closed());
            tx.send(9).unwrap();
        }
    }

    #[test]
    fn waker_whose_drop_sends_does_not_lose_the_wakeup() {
        let (tx, mut rx) = channel::<u8>();
        TX.with(|t| *t.borrow_mut() = Some(tx));
        let h = hook_waker(|| {}, send_from_drop);
        assert!(poll_once(&mut rx, &h).is_pending());
        drop(h);
        let (w2, c2) = counting_waker();
        // Registering w2 drops h, which sends: the send must wake w2, the newest waker.
        assert!(poll_once(&mut rx, &w2).is_pending());
        assert_eq!(c2.get(), 1);
        assert_eq!(poll_once(&mut rx, &w2), Poll::Ready(Ok(9)));
    }
}
