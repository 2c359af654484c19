//! A single-value channel that keeps only the latest value: one sender, many receivers, each
//! receiver noticing changes it has not seen yet.
//!
//! [`channel`]`(init)` returns a [`Sender`] and a [`Receiver`]; more receivers come from
//! [`Sender::subscribe`] or `Receiver::clone`. [`Sender::send`] replaces the value and wakes every
//! receiver waiting in [`Receiver::changed`]. Each receiver remembers the version it last saw:
//! `changed()` completes at once if the current value is unseen, otherwise when the next value
//! is sent; it fails with [`RecvError`] once the sender is gone and the
//! current value was seen. A slow receiver skips intermediate values, it never queues them.
//!
//! # Borrows
//! [`Receiver::borrow`] and [`Sender::borrow`] return a [`Ref`] that borrows the value: do not
//! hold it across an `.await` or while sending. Sending while a `Ref` is alive panics (on one
//! thread this is a bug in the caller, not something to wait for).
//!
//! # Cancel safety
//! `changed`, `wait_for` and `Sender::closed` are cancel-safe: a cancelled `changed()` marks
//! nothing as seen, so the change is still reported by the next call.
//!
//! # Not `Send`
//! ```compile_fail
//! fn assert_send<T: Send>(_: T) {}
//! let (tx, rx) = strand::sync::watch::channel(0u32);
//! assert_send(rx);
//! ```
//!
//! # Example
//! ```
//! use strand::sync::watch;
//!
//! strand::block_on(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     let observer = strand::spawn(async move {
//!         let mut seen = vec![*rx.borrow_and_update()];
//!         while rx.changed().await.is_ok() {
//!             seen.push(*rx.borrow_and_update());
//!         }
//!         seen // ends when the sender is dropped
//!     });
//!     strand::task::yield_now().await;
//!     tx.send("running").unwrap();
//!     strand::task::yield_now().await;
//!     drop(tx);
//!     assert_eq!(observer.await.unwrap(), ["starting", "running"]);
//! });
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use super::coop;
use super::notify::{Notified, Notify};

/// Errors of the watch channel.
pub mod error {
    use std::error::Error;
    use std::fmt;

    /// Every receiver is gone: the value comes back in `.0`.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> Error for SendError<T> {}

    /// The sender is gone (and, for `changed`, the current value was already seen).
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub struct RecvError(pub(crate) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl Error for RecvError {}
}

use error::{RecvError, SendError};

struct Shared<T> {
    value: RefCell<T>,
    /// Bumped by every send; receivers compare it with the version they saw.
    version: Cell<u64>,
    tx_alive: Cell<bool>,
    rx_count: Cell<usize>,
    /// Receivers waiting in `changed` (woken by `notify_waiters` on send and on sender drop).
    changed: Notify,
    /// The sender waiting in `closed` (woken when the last receiver goes).
    closed: Notify,
}

/// Creates a watch channel holding `init`, which the first receiver counts as seen.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::new(init);
    let rx = tx.subscribe();
    (tx, rx)
}

/// Polls `notified` (re-armed after each wake) until `done` says something; spends one unit of
/// cooperative budget per completed wait.
fn poll_until<'a, R>(
    cx: &mut Context<'_>,
    notify: &'a Notify,
    notified: &mut Notified<'a>,
    mut done: impl FnMut() -> Option<R>,
) -> Poll<R> {
    let coop = ready!(coop::poll_proceed(cx));
    loop {
        if let Some(r) = done() {
            coop.made_progress();
            return Poll::Ready(r);
        }
        ready!(notify.poll_notified(notified, Some(cx.waker())));
        *notified = notify.notified();
    }
}

/// The sending half of a [`channel`].
pub struct Sender<T> {
    shared: Rc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender holding `init`, without receivers yet (see [`subscribe`](Self::subscribe)).
    pub fn new(init: T) -> Self {
        Sender {
            shared: Rc::new(Shared {
                value: RefCell::new(init),
                version: Cell::new(0),
                tx_alive: Cell::new(true),
                rx_count: Cell::new(0),
                changed: Notify::const_new(),
                closed: Notify::const_new(),
            }),
        }
    }

    /// Replaces the value and notifies every receiver; fails, handing the value back, if there
    /// is no receiver.
    ///
    /// ```
    /// let (tx, rx) = strand::sync::watch::channel(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow(), 2);
    /// drop(rx);
    /// assert_eq!(tx.send(3).unwrap_err().0, 3);
    /// ```
    ///
    /// # Panics
    /// If a [`Ref`] to the value is alive.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.rx_count.get() == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Replaces the value even without receivers, notifies them, and returns the old value.
    ///
    /// # Panics
    /// If a [`Ref`] to the value is alive.
    pub fn send_replace(&self, value: T) -> T {
        let old = std::mem::replace(&mut *self.borrow_mut(), value);
        self.bump();
        old
    }

    /// Modifies the value in place and notifies the receivers.
    ///
    /// ```
    /// let (tx, rx) = strand::sync::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    ///
    /// # Panics
    /// If a [`Ref`] to the value is alive.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|v| {
            modify(v);
            true
        });
    }

    /// Runs `modify` on the value; notifies the receivers only if it returns true, and returns
    /// that.
    ///
    /// # Panics
    /// If a [`Ref`] to the value is alive.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let modified = modify(&mut self.borrow_mut());
        if modified {
            self.bump();
        }
        modified
    }

    fn borrow_mut(&self) -> std::cell::RefMut<'_, T> {
        self.shared
            .value
            .try_borrow_mut()
            .expect("watch value is borrowed (a `watch::Ref` is alive) while sending")
    }

    fn bump(&self) {
        self.shared.version.set(self.shared.version.get() + 1);
        self.shared.changed.notify_waiters();
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.value.borrow(),
            has_changed: false,
        }
    }

    /// A new receiver, which counts the current value as seen.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.rx_count.set(self.shared.rx_count.get() + 1);
        Receiver {
            shared: self.shared.clone(),
            seen: self.shared.version.get(),
        }
    }

    /// Number of live receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.rx_count.get()
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Completes when every receiver is gone. Cancel-safe.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let (tx, rx) = strand::sync::watch::channel(());
    ///     strand::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    pub async fn closed(&self) {
        let shared = &*self.shared;
        let mut notified = shared.closed.notified();
        std::future::poll_fn(|cx| {
            poll_until(cx, &shared.closed, &mut notified, || {
                (shared.rx_count.get() == 0).then_some(())
            })
        })
        .await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.tx_alive.set(false);
        self.shared.changed.notify_waiters();
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("watch::Sender");
        match self.shared.value.try_borrow() {
            Ok(v) => d.field("value", &*v),
            Err(_) => d.field("value", &format_args!("<borrowed>")),
        };
        d.field("version", &self.shared.version.get())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

/// A receiver of a [`channel`]; clone it for more (a clone has seen what the original saw).
pub struct Receiver<T> {
    shared: Rc<Shared<T>>,
    seen: u64,
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let has_changed = self.shared.version.get() != self.seen;
        Ref {
            inner: self.shared.value.borrow(),
            has_changed,
        }
    }

    /// Borrows the current value and marks it seen.
    ///
    /// ```
    /// let (tx, mut rx) = strand::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert!(rx.has_changed().unwrap());
    /// let v = rx.borrow_and_update();
    /// assert!(v.has_changed());
    /// assert_eq!(*v, 1);
    /// drop(v);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let version = self.shared.version.get();
        let has_changed = version != self.seen;
        self.seen = version;
        Ref {
            inner: self.shared.value.borrow(),
            has_changed,
        }
    }

    /// Whether the current value is unseen; `Err` once the sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        if !self.shared.tx_alive.get() {
            return Err(RecvError(()));
        }
        Ok(self.shared.version.get() != self.seen)
    }

    /// Marks the current value unseen: the next `changed()` completes at once.
    pub fn mark_changed(&mut self) {
        self.seen = self.shared.version.get().wrapping_sub(1);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.shared.version.get();
    }

    /// Waits until the value is one this receiver has not seen, and marks it seen. Completes at
    /// once if the current value is unseen; fails once the sender is gone and the current value
    /// was seen. Cancel-safe.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let (tx, mut rx) = strand::sync::watch::channel(0);
    ///     strand::spawn(async move {
    ///         tx.send(1).unwrap();
    ///     });
    ///     rx.changed().await.unwrap();
    ///     assert_eq!(*rx.borrow(), 1);
    ///     assert!(rx.changed().await.is_err()); // sender gone, nothing unseen
    /// });
    /// ```
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        let Receiver { shared, seen } = self;
        let shared = &**shared;
        let mut notified = shared.changed.notified();
        std::future::poll_fn(|cx| {
            poll_until(cx, &shared.changed, &mut notified, || {
                let version = shared.version.get();
                if version != *seen {
                    *seen = version;
                    Some(Ok(()))
                } else if !shared.tx_alive.get() {
                    Some(Err(RecvError(())))
                } else {
                    None
                }
            })
        })
        .await
    }

    /// Waits until `f` accepts the current value (checked now, then after each change), marks
    /// it seen and returns a borrow of it. Fails if the sender goes away first.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let (tx, mut rx) = strand::sync::watch::channel(0);
    ///     strand::spawn(async move {
    ///         for i in 1..=5 {
    ///             tx.send(i).unwrap();
    ///             strand::task::yield_now().await;
    ///         }
    ///     });
    ///     let v = rx.wait_for(|v| *v >= 3).await.unwrap();
    ///     assert!(*v >= 3);
    /// });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        loop {
            let ok = {
                let version = self.shared.version.get();
                let value = self.shared.value.borrow();
                let ok = f(&value);
                if ok {
                    self.seen = version;
                }
                ok
            };
            if ok {
                return Ok(Ref {
                    inner: self.shared.value.borrow(),
                    has_changed: false,
                });
            }
            self.seen = self.shared.version.get();
            self.changed().await?;
        }
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.rx_count.set(self.shared.rx_count.get() + 1);
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let n = self.shared.rx_count.get() - 1;
        self.shared.rx_count.set(n);
        if n == 0 {
            self.shared.closed.notify_waiters();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("watch::Receiver");
        match self.shared.value.try_borrow() {
            Ok(v) => d.field("value", &*v),
            Err(_) => d.field("value", &format_args!("<borrowed>")),
        };
        d.field("seen", &self.seen).finish()
    }
}

/// A borrow of a watch channel's value; do not hold it across an `.await` (sending while it is
/// alive panics).
pub struct Ref<'a, T> {
    inner: std::cell::Ref<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether the value was unseen by the receiver when borrowed (always false from
    /// [`Sender::borrow`] and [`Receiver::wait_for`]).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::test_util::*;
    use std::pin::pin;

    #[test]
    fn changed_semantics() {
        let (tx, mut rx) = channel(0);
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        {
            let mut ch = pin!(rx.changed());
            assert!(poll_pinned(ch.as_mut(), &w1).is_pending());
            assert!(poll_pinned(ch.as_mut(), &w2).is_pending());
            tx.send(1).unwrap();
            tx.send(2).unwrap(); // the receiver skips 1
            assert_eq!((c1.get(), c2.get()), (0, 1));
            assert_eq!(poll_pinned(ch.as_mut(), &w2), Poll::Ready(Ok(())));
        }
        assert_eq!(*rx.borrow(), 2);
        assert!(!rx.borrow().has_changed());
        // A cancelled changed() does not mark anything seen.
        tx.send(3).unwrap();
        assert!(rx.has_changed().unwrap());
        // Sender dropped with an unseen value: Ok first, then Err.
        drop(tx);
        assert!(rx.has_changed().is_err());
        assert_eq!(poll_once(&mut pin!(rx.changed()), &w1), Poll::Ready(Ok(())));
        assert_eq!(*rx.borrow(), 3);
        assert_eq!(
            poll_once(&mut pin!(rx.changed()), &w1),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn sender_drop_wakes_waiters_and_receivers_close_sender() {
        let (tx, rx) = channel(());
        let mut rx2 = rx.clone();
        let mut rx1 = rx;
        assert_eq!(tx.receiver_count(), 2);
        let (w, c) = counting_waker();
        let mut a = Box::pin(rx1.changed());
        let mut b = Box::pin(rx2.changed());
        assert!(poll_pinned(a.as_mut(), &w).is_pending());
        assert!(poll_pinned(b.as_mut(), &w).is_pending());
        let mut closed = Box::pin(tx.closed());
        let (wc, cc) = counting_waker();
        assert!(poll_pinned(closed.as_mut(), &wc).is_pending());
        drop((a, b));
        drop(rx1);
        assert_eq!(cc.get(), 0);
        drop(rx2);
        assert_eq!(cc.get(), 1);
        assert!(poll_pinned(closed.as_mut(), &wc).is_ready());
        assert_eq!(c.get(), 0);
        drop(closed);
        assert_eq!(tx.send(()), Err(SendError(())));
        assert_eq!(tx.send_replace(()), ());
        let mut rx3 = tx.subscribe();
        assert!(!rx3.has_changed().unwrap());
        let mut ch = Box::pin(rx3.changed());
        assert!(poll_pinned(ch.as_mut(), &w).is_pending());
        drop(tx);
        assert_eq!(c.get(), 1);
        assert_eq!(
            poll_pinned(ch.as_mut(), &w),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn send_if_modified_and_mark() {
        let (tx, mut rx) = channel(5);
        assert!(!tx.send_if_modified(|_| false));
        assert!(!rx.has_changed().unwrap());
        rx.mark_changed();
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert!(tx.send_if_modified(|v| {
            *v += 1;
            true
        }));
        assert_eq!(*rx.borrow_and_update(), 6);
    }

    #[test]
    #[should_panic(expected = "borrowed")]
    fn send_while_borrowed_panics() {
        let (tx, rx) = channel(0);
        let _r = rx.borrow();
        let _ = tx.send(1);
    }
}
