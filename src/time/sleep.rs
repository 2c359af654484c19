use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use strand_executor::coop;
use strand_reactor::time::{self as rtime, OnceKey, StartOnce};

use super::Instant;

/// Waits until `duration` has passed.
///
/// A zero duration completes at the first poll. `Duration::MAX` (or anything past ~30 years)
/// is clamped to a far deadline instead of overflowing.
///
/// ```
/// use std::time::Duration;
/// strand::block_on(async {
///     let start = strand::time::Instant::now();
///     strand::time::sleep(Duration::from_millis(3)).await;
///     assert!(start.elapsed() >= Duration::from_millis(3));
/// });
/// ```
///
/// # Panics
/// Polling the returned [`Sleep`] outside a strand runtime panics.
#[inline]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now().saturating_add(duration))
}

/// Waits until `deadline`. A deadline in the past completes at the first poll.
///
/// ```
/// use std::time::Duration;
/// use strand::time::{sleep_until, Instant};
/// strand::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(2);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline)
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// `Sleep` is `Send + Sync` and `Unpin`; it registers with the timer wheel of the runtime that
/// first polls it. Dropping it cancels the timer. It never completes before its deadline.
///
/// Cancel safety: dropping a `Sleep` is always safe; nothing is lost.
pub struct Sleep {
    deadline: Instant,
    state: State,
}

/// Where a [`Sleep`] is: not yet polled (since creation or `reset`), waiting on a timer of
/// the wheel, or done.
#[derive(Clone, Copy)]
enum State {
    Idle,
    Armed(OnceKey),
    Elapsed,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("fired", &matches!(self.state, State::Elapsed))
            .finish()
    }
}

impl Sleep {
    #[inline]
    pub(crate) fn new(deadline: Instant) -> Sleep {
        Sleep {
            deadline,
            state: State::Idle,
        }
    }

    /// The instant at which this sleep completes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use strand::time::{sleep_until, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed (or the sleep already completed).
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(strand::time::sleep(Duration::ZERO).is_elapsed());
    /// assert!(!strand::time::sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, State::Elapsed) || self.deadline <= Instant::now()
    }

    /// Moves the deadline, earlier or later, also after the sleep completed. A sleep that is
    /// waiting (polled, not yet fired) keeps waiting with the waker of its last poll, as
    /// tokio's does: that task is woken at the new deadline, or right away for a deadline in
    /// the past, even if it does not poll the sleep again first. Otherwise the new deadline is
    /// armed at the next poll (a deadline in the past completes at that poll).
    ///
    /// ```
    /// use std::time::Duration;
    /// use strand::time::{sleep, Instant};
    /// strand::block_on(async {
    ///     let mut s = Box::pin(sleep(Duration::from_secs(60)));
    ///     s.as_mut().reset(Instant::now() + Duration::from_millis(1));
    ///     s.await;
    /// });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.state = match this.state {
            State::Armed(key) => match rtime::restart_once(key, deadline.into_std()) {
                Some(StartOnce::Armed(key)) => {
                    this.note_wait();
                    State::Armed(key)
                }
                // Its waker was woken: the next poll completes.
                Some(StartOnce::Elapsed) => State::Elapsed,
                // It fired meanwhile (its waker was woken then) or no reactor is current.
                None => State::Idle,
            },
            _ => State::Idle,
        };
    }

    /// Polls without spending the cooperative budget (used by `Timeout`, whose inner future
    /// already spent it).
    #[inline]
    pub(crate) fn poll_unconstrained(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.state {
            State::Elapsed => Poll::Ready(()),
            // First poll: one reactor visit completes a passed deadline or arms the timer
            // (which the wheel frees when it fires: a Sleep never moves an armed deadline,
            // `reset` cancels and re-arms).
            State::Idle => match rtime::start_once(self.deadline.into_std(), cx.waker()) {
                Some(StartOnce::Elapsed) => {
                    self.state = State::Elapsed;
                    Poll::Ready(())
                }
                Some(StartOnce::Armed(key)) => {
                    self.state = State::Armed(key);
                    self.note_wait();
                    Poll::Pending
                }
                None => panic!(
                    "a strand `Sleep` was polled outside of a strand runtime: timers need \
                     the reactor of `#[strand::main]`, `#[strand::test]` or \
                     `Runtime::block_on`"
                ),
            },
            State::Armed(key) => match rtime::poll_once_timer(key, cx) {
                Poll::Ready(()) => {
                    self.state = State::Elapsed;
                    Poll::Ready(())
                }
                Poll::Pending => {
                    self.note_wait();
                    Poll::Pending
                }
            },
        }
    }

    /// Tells the runtime's task dump what the current task waits on (`Pending` path only).
    #[inline]
    fn note_wait(&self) {
        // (`enabled` is an inlined thread-local read; the call is skipped when off.)
        if !strand_executor::diag::enabled() {
            return;
        }
        strand_executor::diag::set_wait_reason(strand_executor::diag::WaitReason::Timer {
            deadline: self.deadline.into_std(),
        });
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let res = this.poll_unconstrained(cx);
        if res.is_ready() {
            coop.made_progress();
        }
        res
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let State::Armed(key) = self.state {
            rtime::cancel(key.key());
        }
    }
}
