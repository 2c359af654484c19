use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::chan::Chan;
use super::error::{SendError, TryRecvError};

/// Creates a channel without a capacity limit: [`UnboundedSender::send`] never waits.
///
/// Without backpressure a fast producer can queue messages faster than they are consumed;
/// prefer [`channel`](super::channel) unless the producer is naturally bounded.
///
/// ```
/// use strand::sync::mpsc;
///
/// strand::block_on(async {
///     let (tx, mut rx) = mpsc::unbounded_channel();
///     for i in 0..3 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Rc::new(Chan::new(0));
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { chan },
    )
}

/// The sending half of an [`unbounded_channel`]; clone it for more producers.
pub struct UnboundedSender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Queues `value` at once, or hands it back in [`SendError`] if the receiver is dropped or
    /// closed.
    ///
    /// ```
    /// let (tx, rx) = strand::sync::mpsc::unbounded_channel();
    /// drop(rx);
    /// assert_eq!(tx.send(7).unwrap_err().0, 7);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.chan.is_rx_closed() {
            return Err(SendError(value));
        }
        self.chan.push(value);
        Ok(())
    }

    /// Completes when the receiver is dropped or closed. Cancel-safe.
    pub async fn closed(&self) {
        self.chan.closed().await
    }

    /// Whether the receiver is dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
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

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of an [`unbounded_channel`].
///
/// # Cancel safety
/// [`recv`](Self::recv) and [`recv_many`](Self::recv_many) are cancel-safe: dropping the future
/// never loses a message.
pub struct UnboundedReceiver<T> {
    chan: Rc<Chan<T>>,
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next message, waiting if none is queued; `None` once every sender is gone
    /// (or the receiver was closed) and every queued message was received.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Receives up to `limit` queued messages into `buf`, waiting until there is at least one;
    /// returns how many were added (0 only when `limit` is 0 or the channel is finished).
    pub async fn recv_many(&mut self, buf: &mut Vec<T>, limit: usize) -> usize {
        std::future::poll_fn(|cx| self.chan.poll_recv_many(cx, buf, limit)).await
    }

    /// Polls for the next message; the waker of the latest call is the one woken.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Takes the next message if one is queued.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Closes the channel for sending; queued messages can still be received.
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

    /// Number of live senders.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.sender_count()
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.drop_rx();
    }
}

impl<T> futures_core::Stream for UnboundedReceiver<T> {
    type Item = T;
    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedReceiver")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}
