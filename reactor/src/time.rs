//! Timers on the current reactor's wheel, and the current reactor's clock.
//!
//! These are the building blocks of `strand::time` (`Sleep`, `Interval`, `timeout`): a timer is
//! registered with a deadline and a waker and named by a [`TimerKey`], which is plain `Copy`
//! data (`Send + Sync`), so the futures built on it can be `Send + Sync` too. Deadlines are
//! in the reactor's [`Clock`](crate::Clock) (which may be paused) and are rounded up to the next
//! millisecond, so a timer never fires before its deadline; a deadline at or before
//! [`now`] fires at the next [`Reactor::turn`](crate::Reactor::turn). Huge deadlines are clamped,
//! never overflow.
//!
//! # Key lifecycle
//!
//! A key is live from [`register`] until it is consumed: [`poll_timer`] returning `Ready`
//! (the timer fired) or [`cancel`]. Every registered key must end one of these two ways (a
//! `Sleep` cancels in `Drop`), or its slot stays allocated until the reactor drops. A consumed
//! key is stale; its slab slot may be reused, but the generation in the key keeps it from ever
//! observing or touching the new timer there.
//!
//! # Keys on another reactor
//!
//! A key names a timer of one reactor. Used where another reactor (or none) is current:
//! [`cancel`] and [`reset`] do nothing (the original timer stays in its own wheel until that
//! reactor drops); [`poll_timer`] returns `Ready` if the deadline given to [`register`] has
//! passed by the current clock, and otherwise arms a one-shot timer for that deadline on the
//! current reactor (freed when it fires) and returns `Pending`; with no reactor current it
//! panics unless the deadline has passed. So a timer moved across runtimes still never
//! completes early.
//!
//! ```
//! use std::future::Future;
//! use std::sync::Arc;
//! use std::task::{Context, Poll, Wake, Waker};
//! use std::time::Duration;
//! use strand_reactor::{time, Reactor};
//!
//! struct Noop;
//! impl Wake for Noop { fn wake(self: Arc<Self>) {} }
//!
//! let reactor = Reactor::new().unwrap();
//! let _enter = reactor.enter();
//! let waker = Waker::from(Arc::new(Noop));
//! let mut cx = Context::from_waker(&waker);
//! let key = time::register(time::now() + Duration::from_millis(2), &waker).unwrap();
//! while time::poll_timer(key, &mut cx).is_pending() {
//!     reactor.turn(None).unwrap(); // blocks until the timer is due
//! }
//! assert_eq!(reactor.timers(), 0);
//! ```

use std::fmt;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

pub use crate::clock::saturating_add;
use crate::reactor::current;
use crate::wheel::{TimerId, TimerPoll, Wheel, MAX_TICK};

const NANOS_PER_TICK: u128 = 1_000_000;

/// The reactor's timer state: the wheel plus the instant its tick 0 stands for.
pub(crate) struct Timers {
    wheel: Wheel,
    origin: Instant,
}

impl Timers {
    pub(crate) fn new(origin: Instant) -> Timers {
        Timers {
            wheel: Wheel::new(),
            origin,
        }
    }

    /// The tick a deadline fires at: 0 (i.e. "already due") at or before `now`, else the
    /// deadline rounded up to the next millisecond, clamped.
    fn deadline_tick(&self, deadline: Instant, now: Instant) -> u64 {
        if deadline <= now {
            return 0;
        }
        let nanos = deadline.saturating_duration_since(self.origin).as_nanos();
        nanos.div_ceil(NANOS_PER_TICK).min(MAX_TICK as u128) as u64
    }

    fn now_tick(&self, now: Instant) -> u64 {
        let ms = now.saturating_duration_since(self.origin).as_millis();
        ms.min(MAX_TICK as u128) as u64
    }

    fn tick_instant(&self, tick: u64) -> Instant {
        saturating_add(self.origin, Duration::from_millis(tick))
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.wheel.next_expiration().map(|t| self.tick_instant(t))
    }

    pub(crate) fn armed(&self) -> usize {
        self.wheel.armed()
    }

    pub(crate) fn slots(&self) -> usize {
        self.wheel.slots()
    }

    pub(crate) fn process(&mut self, now: Instant, wake: &mut Vec<Waker>) -> usize {
        let tick = self.now_tick(now);
        self.wheel.process(tick, |_, w| wake.extend(w))
    }

    #[cfg(test)]
    pub(crate) fn wheel(&self) -> &Wheel {
        &self.wheel
    }
}

/// Names one timer of one reactor. Plain data: `Copy + Send + Sync`.
///
/// It carries the reactor's id, the timer's slab slot and generation (so a stale key never
/// reaches another timer that reuses the slot), and the deadline given to [`register`] (used
/// only when the key is polled on another reactor, see the [module docs](self)).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    reactor: u64,
    id: TimerId,
    deadline: Instant,
}

impl TimerKey {
    /// Whether this key belongs to the reactor current on this thread.
    pub fn is_current(&self) -> bool {
        current().is_some_and(|r| r.id == self.reactor)
    }

    /// The id of the reactor whose wheel holds this timer.
    pub fn reactor_id(&self) -> u64 {
        self.reactor
    }
}

impl fmt::Debug for TimerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerKey")
            .field("reactor", &self.reactor)
            .field("slot", &self.id.index)
            .field("generation", &self.id.generation)
            .finish()
    }
}

/// Now, in the current reactor's clock (which may be paused); [`Instant::now`] outside a
/// runtime.
///
/// ```
/// let before = std::time::Instant::now();
/// assert!(strand_reactor::time::now() >= before);
/// ```
pub fn now() -> Instant {
    match current() {
        Some(r) => r.clock.now(),
        None => Instant::now(),
    }
}

/// Arms a timer for `deadline` (in the reactor clock) on the current reactor; `waker` is
/// woken when it fires. Returns `None` outside a runtime.
///
/// A deadline at or before [`now`] fires at the next turn; a far deadline is clamped.
pub fn register(deadline: Instant, waker: &Waker) -> Option<TimerKey> {
    let r = current()?;
    let now = r.clock.now();
    let mut timers = r.timers.borrow_mut();
    let tick = timers.deadline_tick(deadline, now);
    let id = timers.wheel.insert(tick, Some(waker.clone()), false);
    Some(TimerKey {
        reactor: r.id,
        id,
        deadline,
    })
}

/// `Ready` once the timer fired (consuming the key); otherwise stores `cx`'s waker (only the
/// last one counts) and returns `Pending`.
///
/// A key that no longer names a live timer (already consumed, or cancelled) returns `Ready`.
/// For a key of another reactor, see the [module docs](self).
///
/// # Panics
/// With no reactor current and the key's deadline not yet passed.
pub fn poll_timer(key: TimerKey, cx: &mut Context<'_>) -> Poll<()> {
    let Some(r) = current() else {
        if Instant::now() >= key.deadline {
            return Poll::Ready(());
        }
        panic!(
            "a strand timer was polled outside of a strand runtime: no strand reactor is \
             running; poll it inside #[strand::main], #[strand::test] or Runtime::block_on"
        );
    };
    if r.id != key.reactor {
        let now = r.clock.now();
        if now >= key.deadline {
            return Poll::Ready(());
        }
        let mut timers = r.timers.borrow_mut();
        let tick = timers.deadline_tick(key.deadline, now);
        timers.wheel.insert(tick, Some(cx.waker().clone()), true);
        return Poll::Pending;
    }
    let res = r.timers.borrow_mut().wheel.poll(key.id, cx.waker());
    match res {
        TimerPoll::Fired | TimerPoll::Stale => Poll::Ready(()),
        TimerPoll::Pending(old) => {
            drop(old);
            Poll::Pending
        }
    }
}

/// Moves a live timer to `deadline`, earlier or later; a timer that fired but was not yet
/// consumed is armed again. Does nothing for a stale key or a key of another reactor.
pub fn reset(key: TimerKey, deadline: Instant) {
    let Some(r) = current() else { return };
    if r.id != key.reactor {
        return;
    }
    let now = r.clock.now();
    let mut timers = r.timers.borrow_mut();
    let tick = timers.deadline_tick(deadline, now);
    timers.wheel.reset(key.id, tick);
}

/// Cancels a timer and frees its slot. Does nothing if the key was already consumed, is
/// stale, or belongs to another reactor.
pub fn cancel(key: TimerKey) {
    let Some(r) = current() else { return };
    if r.id != key.reactor {
        return;
    }
    let waker = r.timers.borrow_mut().wheel.cancel(key.id);
    // Dropped here, after the borrow: a waker's Drop may re-enter the reactor.
    drop(waker);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reactor;
    use std::sync::Arc;
    use std::task::Wake;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn deadlines_round_up_and_clamp() {
        let origin = Instant::now();
        let t = Timers::new(origin);
        assert_eq!(t.deadline_tick(origin, origin), 0);
        assert_eq!(t.deadline_tick(origin + Duration::from_nanos(1), origin), 1);
        assert_eq!(
            t.deadline_tick(origin + Duration::from_millis(64), origin),
            64
        );
        assert_eq!(
            t.deadline_tick(origin + Duration::from_micros(64_001), origin),
            65
        );
        let far = saturating_add(origin, Duration::MAX);
        assert!(t.deadline_tick(far, origin) <= MAX_TICK);
        assert_eq!(t.now_tick(origin + Duration::from_micros(63_999)), 63);
    }

    #[test]
    fn sleeps_created_and_dropped_leave_memory_flat() {
        let reactor = Reactor::new().unwrap();
        let _e = reactor.enter();
        let waker = Waker::from(Arc::new(Noop));
        let keep: Vec<_> = (0..50)
            .map(|i| register(now() + Duration::from_secs(i + 1), &waker).unwrap())
            .collect();
        let cap = reactor.inner().timers.borrow().wheel().capacity();
        for i in 0..200_000u64 {
            let key = register(now() + Duration::from_millis(1 + i % 5_000), &waker).unwrap();
            cancel(key);
        }
        let timers = reactor.inner().timers.borrow();
        assert!(timers.wheel().capacity() <= cap.max(64));
        assert_eq!(timers.wheel().slots(), keep.len());
    }
}
