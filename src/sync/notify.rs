use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use super::coop;
use super::wait_list::{update_waker, Key, WaitList, WakeBatch};
use strand_executor::diag::{set_wait_reason, ChannelKind, TrackedWaker, WaitReason};

/// Wakes one task or all waiting tasks, without carrying data.
///
/// - [`notify_one`](Self::notify_one) wakes the oldest waiting [`notified`](Self::notified)
///   future; if none waits, it stores **one** permit (never more) that the next `notified()`
///   consumes at once.
/// - [`notify_waiters`](Self::notify_waiters) wakes every `Notified` future created before the
///   call (also those not polled yet) and stores nothing.
///
/// # Cancel safety
/// [`Notified`] is cancel-safe: dropping it gives up its place; if `notify_one` had already
/// picked it, the notification passes to the next waiter (or becomes the stored permit), so a
/// notification is never lost because its receiver went away.
///
/// # Not `Send`
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(strand::sync::Notify::new());
/// ```
///
/// # Example
/// ```
/// use std::rc::Rc;
/// use strand::sync::Notify;
///
/// strand::block_on(async {
///     let notify = Rc::new(Notify::new());
///     let n2 = notify.clone();
///     let waiter = strand::spawn(async move {
///         n2.notified().await;
///         "woken"
///     });
///     notify.notify_one(); // stored if the task has not started waiting yet
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
pub struct Notify {
    /// Number of `notify_waiters` calls so far; a `Notified` created before a call completes.
    generation: Cell<u64>,
    state: RefCell<State>,
    _not_send: PhantomData<*const ()>,
}

struct State {
    permit: bool,
    waiters: WaitList<Waiter>,
}

struct Waiter {
    /// `generation` when the `Notified` was created.
    generation: u64,
    notified: Option<Kind>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    One,
    All,
}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Self {
        Self::const_new()
    }

    /// Like [`new`](Self::new), usable in `const` context.
    pub const fn const_new() -> Self {
        Notify {
            generation: Cell::new(0),
            state: RefCell::new(State {
                permit: false,
                waiters: WaitList::new(),
            }),
            _not_send: PhantomData,
        }
    }

    /// A future that completes when this `Notify` is notified.
    ///
    /// It consumes a stored permit if there is one, and completes on a
    /// [`notify_waiters`](Self::notify_waiters) call made after it was *created*, even if it was
    /// not polled yet. That allows the lost-wakeup-free pattern "create the future, check the
    /// condition, await the future". It joins the queue that `notify_one` serves on its first poll
    /// (or on [`Notified::enable`]).
    ///
    /// ```
    /// use std::cell::Cell;
    /// use strand::sync::Notify;
    ///
    /// strand::block_on(async {
    ///     let ready = Cell::new(false);
    ///     let notify = Notify::new();
    ///     let consumer = async {
    ///         loop {
    ///             let notified = notify.notified();
    ///             if ready.get() {
    ///                 return;
    ///             }
    ///             notified.await;
    ///         }
    ///     };
    ///     let producer = async {
    ///         ready.set(true);
    ///         notify.notify_waiters();
    ///     };
    ///     futures_lite::future::zip(consumer, producer).await;
    /// });
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            generation: self.generation.get(),
            state: NState::Init,
        }
    }

    /// Wakes the oldest waiting [`Notified`], or stores one permit if nobody waits (a second
    /// call with nobody waiting changes nothing).
    ///
    /// ```
    /// strand::block_on(async {
    ///     let notify = strand::sync::Notify::new();
    ///     notify.notify_one();
    ///     notify.notify_one(); // still one permit
    ///     notify.notified().await; // consumes it
    /// });
    /// ```
    pub fn notify_one(&self) {
        self.notify(false);
    }

    /// Like [`notify_one`](Self::notify_one), but wakes the most recent waiter instead of the
    /// oldest.
    pub fn notify_last(&self) {
        self.notify(true);
    }

    fn notify(&self, last: bool) {
        let waker = {
            let mut st = self.state.borrow_mut();
            let key = if last {
                st.waiters.back()
            } else {
                st.waiters.front()
            };
            match key {
                Some(key) => {
                    st.waiters.unlink(key);
                    let node = st.waiters.get_mut(key);
                    node.data.notified = Some(Kind::One);
                    node.waker.take()
                }
                None => {
                    st.permit = true;
                    None
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every [`Notified`] created before this call, waiting or not yet polled. Stores no
    /// permit.
    ///
    /// ```
    /// use std::rc::Rc;
    /// strand::block_on(async {
    ///     let notify = Rc::new(strand::sync::Notify::new());
    ///     let tasks: Vec<_> = (0..3)
    ///         .map(|_| {
    ///             let n = notify.clone();
    ///             strand::spawn(async move { n.notified().await })
    ///         })
    ///         .collect();
    ///     strand::task::yield_now().await; // let them all start waiting
    ///     notify.notify_waiters();
    ///     for t in tasks {
    ///         t.await.unwrap();
    ///     }
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let mut batch = WakeBatch::new();
        loop {
            let more = {
                let mut st = self.state.borrow_mut();
                let mut more = false;
                while let Some(key) = st.waiters.front() {
                    let node = st.waiters.get_mut(key);
                    // Entries created after this call (by a re-entrant waker) stay queued.
                    if node.data.generation >= generation {
                        break;
                    }
                    if batch.is_full() {
                        more = true;
                        break;
                    }
                    node.data.notified = Some(Kind::All);
                    let waker = node.waker.take();
                    st.waiters.unlink(key);
                    if let Some(w) = waker {
                        batch.push(w);
                    }
                }
                more
            };
            batch.wake_all();
            if !more {
                break;
            }
        }
    }

    /// What a waiter waits on, for the runtime's task dump.
    fn reason(&self) -> WaitReason {
        WaitReason::Channel {
            kind: ChannelKind::Notify,
            id: self as *const Notify as usize as u64,
        }
    }

    pub(crate) fn poll_notified(&self, fut: &mut Notified<'_>, waker: Option<&Waker>) -> Poll<()> {
        let mut st = self.state.borrow_mut();
        match fut.state {
            NState::Init => {
                if st.permit {
                    st.permit = false;
                    fut.state = NState::Done;
                    return Poll::Ready(());
                }
                if self.generation.get() != fut.generation {
                    fut.state = NState::Done;
                    return Poll::Ready(());
                }
                let data = Waiter {
                    generation: fut.generation,
                    notified: None,
                };
                let reason = self.reason();
                let waker = match waker {
                    Some(w) => Some(TrackedWaker::new_waiting(w, reason)),
                    None => {
                        set_wait_reason(reason);
                        None
                    }
                };
                fut.state = NState::Waiting(st.waiters.push_back(data, waker));
                Poll::Pending
            }
            NState::Waiting(key) => {
                let node = st.waiters.get_mut(key);
                if node.data.notified.is_some() {
                    let node = st.waiters.remove(key);
                    drop(st);
                    fut.state = NState::Done;
                    drop(node);
                    return Poll::Ready(());
                }
                let old = match waker {
                    Some(w) => update_waker(&mut node.waker, w, self.reason()),
                    None => {
                        set_wait_reason(self.reason());
                        None
                    }
                };
                drop(st);
                drop(old);
                Poll::Pending
            }
            NState::Done => Poll::Ready(()),
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state.try_borrow() {
            Ok(st) => f
                .debug_struct("Notify")
                .field("permit", &st.permit)
                .field("waiters", &st.waiters.len())
                .finish(),
            Err(_) => f.write_str("Notify { <busy> }"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum NState {
    Init,
    Waiting(Key),
    Done,
}

/// The future of [`Notify::notified`]. Cancel-safe: see [`Notify`].
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    generation: u64,
    state: NState,
}

impl Notified<'_> {
    /// Joins the `notify_one` queue now, without waiting for the first poll; returns true if
    /// it is already notified (a stored permit was consumed or `notify_waiters` ran since it
    /// was created). Useful to not miss a `notify_one` between creating and awaiting.
    ///
    /// ```
    /// use std::pin::pin;
    /// strand::block_on(async {
    ///     let notify = strand::sync::Notify::new();
    ///     let mut notified = pin!(notify.notified());
    ///     assert!(!notified.as_mut().enable());
    ///     notify.notify_one(); // goes to the enabled future, not to a stored permit
    ///     notified.await;
    /// });
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        let notify = this.notify;
        notify.poll_notified(this, None).is_ready()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let notify = this.notify;
        ready!(notify.poll_notified(this, Some(cx.waker())));
        coop.made_progress();
        Poll::Ready(())
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let NState::Waiting(key) = self.state else {
            return;
        };
        let node = self.notify.state.borrow_mut().waiters.remove(key);
        // Picked by notify_one but never saw it: pass the notification on.
        if node.data.notified == Some(Kind::One) {
            self.notify.notify_one();
        }
        drop(node);
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use std::pin::pin;

    #[test]
    fn stores_exactly_one_permit() {
        let n = Notify::new();
        n.notify_one();
        n.notify_one();
        n.notify_one();
        let w = noop_waker();
        assert!(poll_once(&mut n.notified(), &w).is_ready());
        let mut second = n.notified();
        assert!(poll_once(&mut second, &w).is_pending());
        drop(second);
        // notify_waiters stores nothing.
        n.notify_waiters();
        assert!(poll_once(&mut n.notified(), &w).is_pending());
    }

    #[test]
    fn notify_one_is_fifo_and_wakes_the_last_waker() {
        let n = Notify::new();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let (w3, c3) = counting_waker();
        let mut a = n.notified();
        let mut b = n.notified();
        assert!(poll_once(&mut a, &w1).is_pending());
        assert!(poll_once(&mut b, &w3).is_pending());
        assert!(poll_once(&mut a, &w2).is_pending());
        n.notify_one();
        assert_eq!((c1.get(), c2.get(), c3.get()), (0, 1, 0));
        assert!(poll_once(&mut a, &w2).is_ready());
        assert!(poll_once(&mut b, &w3).is_pending());
        n.notify_last();
        assert_eq!(c3.get(), 1);
        assert!(poll_once(&mut b, &w3).is_ready());
    }

    #[test]
    fn dropped_notified_waiter_passes_it_on() {
        let n = Notify::new();
        let (w, c) = counting_waker();
        let mut a = n.notified();
        let mut b = n.notified();
        assert!(poll_once(&mut a, &noop_waker()).is_pending());
        assert!(poll_once(&mut b, &w).is_pending());
        n.notify_one(); // picks a
        drop(a); // a never saw it: b gets it
        assert_eq!(c.get(), 1);
        assert!(poll_once(&mut b, &w).is_ready());
        // Picked and dropped with nobody else waiting: it becomes the stored permit.
        let mut d = n.notified();
        assert!(poll_once(&mut d, &noop_waker()).is_pending());
        n.notify_one();
        drop(d);
        assert!(poll_once(&mut n.notified(), &w).is_ready());
        assert!(poll_once(&mut n.notified(), &w).is_pending());
    }

    #[test]
    fn notify_waiters_reaches_created_futures_only() {
        let n = Notify::new();
        let (w, c) = counting_waker();
        let mut polled: Vec<_> = (0..40).map(|_| n.notified()).collect();
        for f in &mut polled {
            assert!(poll_once(f, &w).is_pending());
        }
        let mut unpolled = n.notified();
        n.notify_waiters();
        assert_eq!(c.get(), 40);
        let mut later = n.notified();
        for f in &mut polled {
            assert!(poll_once(f, &w).is_ready());
        }
        assert!(poll_once(&mut unpolled, &w).is_ready());
        assert!(poll_once(&mut later, &w).is_pending());
        // A notify_waiters-woken future that is dropped passes nothing on.
        let mut x = n.notified();
        assert!(poll_once(&mut x, &w).is_pending());
        n.notify_waiters();
        drop(x);
        assert!(
            poll_once(&mut later, &w).is_ready(),
            "later was created before this call"
        );
        assert!(poll_once(&mut n.notified(), &w).is_pending());
    }

    #[test]
    fn enable_registers_before_poll() {
        let n = Notify::new();
        let mut f = pin!(n.notified());
        assert!(!f.as_mut().enable());
        n.notify_one();
        // Went to f, not into a permit.
        assert!(poll_once(&mut n.notified(), &noop_waker()).is_pending());
        assert!(poll_pinned(f.as_mut(), &noop_waker()).is_ready());
    }

    thread_local! {
        static N: Notify = const { Notify::const_new() };
    }

    fn reenter() {
        N.with(|n| {
            n.notify_one();
            n.notify_waiters();
            let _ = format!("{n:?}");
        });
    }

    #[test]
    fn reentrant_waker_wake_and_drop() {
        N.with(|n| {
            let mut f = n.notified();
            let h1 = hook_waker(reenter, reenter);
            assert!(poll_once(&mut f, &h1).is_pending());
            drop(h1); // the list still holds a clone
            let h2 = hook_waker(reenter, reenter);
            // Replacing the waker drops h1, whose drop calls notify_one (picking f itself and
            // waking h2, which re-enters again and stores a permit) and notify_waiters.
            assert!(poll_once(&mut f, &h2).is_pending());
            drop(h2);
            assert!(poll_once(&mut f, &noop_waker()).is_ready());
            assert!(
                poll_once(&mut n.notified(), &noop_waker()).is_ready(),
                "stored permit"
            );
            assert!(poll_once(&mut n.notified(), &noop_waker()).is_pending());

            let mut g = n.notified();
            let h3 = hook_waker(reenter, reenter);
            assert!(poll_once(&mut g, &h3).is_pending());
            drop(h3);
            n.notify_waiters(); // wakes h3 outside any borrow: it re-enters both notifies
            assert!(poll_once(&mut g, &noop_waker()).is_ready());
            assert!(
                poll_once(&mut n.notified(), &noop_waker()).is_ready(),
                "stored permit"
            );
        });
    }
}
