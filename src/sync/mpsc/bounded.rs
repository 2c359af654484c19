use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::chan::Chan;
use super::error::{SendError, TryRecvError, TrySendError};

/// Creates a bounded channel with room for `capacity` queued messages.
///
/// [`Sender::send`] waits while the channel is full (backpressure); senders waiting for room
/// are served in FIFO order.
///
/// # Panics
/// If `capacity` is 0 or larger than `Semaphore::MAX_PERMITS`.
///
/// ```
/// use strand::sync::mpsc;
///
/// strand::block_on(async {
///     let (tx, mut rx) = mpsc::channel(2);
///     let producer = strand::spawn(async move {
///         for i in 0..5 {
///             tx.send(i).await.unwrap(); // waits while 2 are queued
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2, 3, 4]);
///     producer.await.unwrap();
/// });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    assert!(
        capacity <= crate::sync::Semaphore::MAX_PERMITS,
        "mpsc channel capacity too large"
    );
    let chan = Rc::new(Chan::new(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// The sending half of a bounded [`channel`]; clone it for more producers.
///
/// The channel stays open while at least one `Sender` (or reserved [`OwnedPermit`]) lives.
pub struct Sender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room if the channel is full.
    ///
    /// Fails, handing the value back in [`SendError`], if the receiver is dropped or closed
    /// (also while waiting).
    ///
    /// # Cancel safety
    /// Dropping the future before it completes never sends the value (it is dropped with the
    /// future) and gives up the sender's place in the queue; a slot already handed to it goes
    /// to the next sender. Use [`reserve`](Self::reserve) to wait for room without risking the
    /// value.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let (tx, rx) = strand::sync::mpsc::channel(1);
    ///     drop(rx);
    ///     let err = tx.send(String::from("hi")).await.unwrap_err();
    ///     assert_eq!(err.0, "hi"); // the value comes back
    /// });
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.chan.reserve().await {
            Ok(()) => {
                Permit { chan: &self.chan }.send(value);
                Ok(())
            }
            Err(()) => Err(SendError(value)),
        }
    }

    /// Sends `value` if there is room right now.
    ///
    /// ```
    /// use strand::sync::mpsc::{self, error::TrySendError};
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// rx.close();
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.try_reserve() {
            Ok(permit) => {
                permit.send(value);
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(value)),
        }
    }

    /// Waits for room for one message and reserves it: [`Permit::send`] then cannot fail or
    /// wait. Cancel-safe: a cancelled reserve never holds or loses a slot.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let (tx, mut rx) = strand::sync::mpsc::channel(1);
    ///     let permit = tx.reserve().await.unwrap();
    ///     assert!(tx.try_send(0).is_err()); // the slot is taken
    ///     permit.send(1);
    ///     assert_eq!(rx.recv().await, Some(1));
    /// });
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        match self.chan.reserve().await {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(()) => Err(SendError(())),
        }
    }

    /// Reserves room for one message if there is some right now.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        if self.chan.is_rx_closed() {
            return Err(TrySendError::Closed(()));
        }
        match self.chan.sem.try_acquire(1) {
            Ok(_) => Ok(Permit { chan: &self.chan }),
            Err(e) if e.is_closed() => Err(TrySendError::Closed(())),
            Err(_) => Err(TrySendError::Full(())),
        }
    }

    /// Like [`reserve`](Self::reserve), consuming the sender: the [`OwnedPermit`] can move
    /// into another task and gives the sender back when used.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        match self.chan.reserve().await {
            Ok(()) => Ok(OwnedPermit { tx: Some(self) }),
            Err(()) => Err(SendError(())),
        }
    }

    /// Like [`try_reserve`](Self::try_reserve), consuming the sender (given back on failure).
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        let res = self.try_reserve().map(std::mem::forget);
        match res {
            Ok(()) => Ok(OwnedPermit { tx: Some(self) }),
            Err(TrySendError::Full(())) => Err(TrySendError::Full(self)),
            Err(TrySendError::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    /// Completes when the receiver is dropped or closed. Cancel-safe.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let (tx, rx) = strand::sync::mpsc::channel::<u8>(1);
    ///     strand::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
    }

    /// Free slots right now.
    pub fn capacity(&self) -> usize {
        self.chan.sem.available_permits()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.max_capacity()
    }

    /// Whether both senders feed the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.chan, &other.chan)
    }

    /// Number of live senders of this channel.
    pub fn strong_count(&self) -> usize {
        self.chan.sender_count()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender")
            .field("capacity", &self.capacity())
            .field("max_capacity", &self.max_capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// One reserved slot of a bounded channel, from [`Sender::reserve`]; dropping it unused frees
/// the slot.
#[must_use = "dropping the permit frees the reserved slot"]
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot; never waits or fails (if the receiver was dropped
    /// meanwhile the value is dropped).
    pub fn send(self, value: T) {
        let chan = self.chan;
        std::mem::forget(self);
        chan.push(value);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release_slot();
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpsc::Permit")
    }
}

/// One reserved slot that owns its [`Sender`], from [`Sender::reserve_owned`].
#[must_use = "dropping the permit frees the reserved slot"]
pub struct OwnedPermit<T> {
    tx: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved slot and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let tx = self.tx.take().expect("permit holds its sender");
        tx.chan.push(value);
        tx
    }

    /// Frees the slot unused and gives the sender back.
    pub fn release(mut self) -> Sender<T> {
        let tx = self.tx.take().expect("permit holds its sender");
        tx.chan.release_slot();
        tx
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            tx.chan.release_slot();
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mpsc::OwnedPermit")
    }
}

/// The receiving half of a bounded [`channel`].
///
/// # Cancel safety
/// [`recv`](Self::recv) and [`recv_many`](Self::recv_many) are cancel-safe: a message is only
/// taken off the queue by the poll that returns it, so dropping the future (a `timeout`, a
/// `select`) never loses one.
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting if none is queued. `None` once every sender is gone
    /// (or the receiver was [closed](Self::close) and no reserved slot is left) **and** every
    /// queued message was received.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let (tx, mut rx) = strand::sync::mpsc::channel(4);
    ///     tx.send(1).await.unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Some(1)); // queued messages first
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Receives up to `limit` queued messages into `buf`, waiting until there is at least one.
    /// Returns how many were added; 0 only when `limit` is 0 or the channel is finished (as
    /// [`recv`](Self::recv) returning `None`).
    pub async fn recv_many(&mut self, buf: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.poll_recv_many(cx, buf, limit)).await
    }

    /// Polls for the next message; the waker of the latest call is the one woken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Takes the next message if one is queued.
    ///
    /// ```
    /// use strand::sync::mpsc::{self, error::TryRecvError};
    /// let (tx, mut rx) = mpsc::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Closes the channel for sending without dropping the receiver: sends fail from now on
    /// (waiting senders too), but queued messages and slots already reserved can still be
    /// received.
    pub fn close(&mut self) {
        self.chan.close_rx();
    }

    /// Whether the channel is closed: the receiver was closed or every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed() || self.chan.sender_count() == 0
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots right now.
    pub fn capacity(&self) -> usize {
        self.chan.sem.available_permits()
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.max_capacity()
    }

    /// Number of live senders.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.sender_count()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_rx();
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;
    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}
