//! Timers on the current reactor's wheel, and the current reactor's clock.
//!
//! These are the building blocks of `strand::time` (`Sleep`, `Interval`, `timeout`): a timer is
//! registered with a deadline and a waker and named by a [`TimerKey`], which is plain `Copy`
//! data (`Send + Sync`), so the futures built on it can be `Send + Sync` too. Deadlines are
//! in the reactor's [`Clock`](crate::Clock) (which may be paused) and are rounded up to the next
//! millisecond, so a timer never fires before its deadline, and it fires in the first
//! [`Reactor::turn`](crate::Reactor::turn) that sees the clock at or past that millisecond (a
//! deadline already in the past fires at the next turn, which then does not block; one within
//! the current millisecond waits for the millisecond to end). Huge deadlines are clamped, never
//! overflow. Callers that want "a zero or past deadline completes at once" use [`start`]
//! instead of [`register`] for the first poll: one reactor visit that either reports the
//! deadline passed or arms the timer. A timer whose deadline never moves can use
//! [`start_once`] instead (as `strand::time::Sleep` does), which the wheel frees as it fires.
//!
//! # Key lifecycle
//!
//! A key is live from [`register`] (or [`start`]) until it is consumed: [`poll_timer`] returning
//! `Ready` (the timer fired) or [`cancel`]; a [`start_once`] key also when its timer fires.
//! Every registered key must end one of these ways (a `Sleep` cancels in `Drop`), or its slot
//! stays allocated until the reactor drops. A consumed
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
use crate::reactor::{current, with_current, Inner};
use crate::wheel::{TimerId, TimerPoll, Wheel, MAX_TICK};

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

    /// The tick a deadline fires at: the deadline rounded up to the next millisecond since
    /// the origin, clamped. A tick at or before the wheel's last processed tick lands in its
    /// expired list and fires at the next turn.
    #[inline]
    fn deadline_tick(&self, deadline: Instant) -> u64 {
        let d = deadline
            .checked_duration_since(self.origin)
            .unwrap_or_default();
        let secs = d.as_secs();
        if secs > MAX_TICK / 1_000 {
            return MAX_TICK;
        }
        // (No overflow: `secs * 1_000 + 1_000` is far below `u64::MAX`.)
        let ms = u64::from(d.subsec_nanos().div_ceil(1_000_000));
        (secs * 1_000 + ms).min(MAX_TICK)
    }

    /// Arms a timer with a clone of `waker` for `deadline`; an `ephemeral` one is freed as
    /// soon as it fires. Returns its key and deadline tick.
    #[inline]
    fn arm(
        &mut self,
        reactor: u64,
        deadline: Instant,
        waker: &Waker,
        ephemeral: bool,
    ) -> (TimerKey, u64) {
        let tick = self.deadline_tick(deadline);
        let id = self.wheel.insert(tick, Some(waker.clone()), ephemeral);
        let key = TimerKey {
            reactor,
            id,
            deadline,
        };
        (key, tick)
    }

    fn now_tick(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.origin);
        let ms = u64::from(d.subsec_millis());
        d.as_secs()
            .saturating_mul(1_000)
            .saturating_add(ms)
            .min(MAX_TICK)
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
#[inline]
pub fn now() -> Instant {
    // The common case (a clock never paused or advanced) reads `Instant::now` directly.
    match crate::clock::now_if_in_step() {
        Some(now) => now,
        None => now_slow(),
    }
}

/// [`now`] through the current reactor (paused or advanced clock, or none).
#[cold]
#[inline(never)]
fn now_slow() -> Instant {
    with_current(|r| match r {
        Some(r) => r.clock.now(),
        None => Instant::now(),
    })
}

/// Arms a timer for `deadline` (in the reactor clock) on the current reactor; `waker` is
/// woken when it fires. Returns `None` outside a runtime.
///
/// The deadline is rounded up to the next millisecond; a past deadline fires at the next
/// turn; a far deadline is clamped.
pub fn register(deadline: Instant, waker: &Waker) -> Option<TimerKey> {
    with_current(|r| {
        let r = r?;
        Some(r.timers.borrow_mut().arm(r.id, deadline, waker, false).0)
    })
}

/// What [`start`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The deadline has passed: no timer was armed.
    Elapsed,
    /// A timer is armed for the deadline (as by [`register`]).
    Armed(TimerKey),
}

/// The first poll of a timer future in one reactor visit: [`Start::Elapsed`] if `deadline`
/// has passed, otherwise arms a timer as [`register`] does. Returns `None` outside a runtime.
///
/// It is exact: `Elapsed` exactly when the deadline has passed by the clock at the call (never
/// early, and never `Armed` for a deadline that passed before the call, however long the
/// thread went without reading the clock). It stays cheap: a deadline at or before the
/// latest time the reactor's clock returned on this thread is `Elapsed` without a clock read
/// (so `now() + 0`, or a deadline taken from `now()`, completes at once); on Linux and
/// Android a deadline past a cheap upper bound on the current time (from
/// `CLOCK_MONOTONIC_COARSE`, a few ns, plus a margin of four of its ticks and 1 ms) is
/// `Armed` without a fine clock read; anything else is checked against the clock. (The
/// margin is twice what the coarse clock was measured to trail by; should a stalled kernel
/// tick ever exceed it, the timer armed for a passed deadline fires at the next turn, which
/// does not block.) A paused clock is exact and free.
///
/// ```
/// use std::sync::Arc;
/// use std::task::{Wake, Waker};
/// use std::time::Duration;
/// use strand_reactor::{time, Reactor};
///
/// struct Noop;
/// impl Wake for Noop { fn wake(self: Arc<Self>) {} }
///
/// let reactor = Reactor::new().unwrap();
/// let _enter = reactor.enter();
/// let waker = Waker::from(Arc::new(Noop));
/// assert_eq!(time::start(time::now(), &waker), Some(time::Start::Elapsed));
/// // Passed while the thread was busy, with no clock read since: still elapsed.
/// let soon = time::now() + Duration::from_millis(120);
/// std::thread::sleep(Duration::from_millis(130));
/// assert_eq!(time::start(soon, &waker), Some(time::Start::Elapsed));
/// let later = time::now() + Duration::from_secs(5);
/// let Some(time::Start::Armed(key)) = time::start(later, &waker) else { panic!() };
/// assert_eq!(reactor.timers(), 1);
/// time::cancel(key);
/// ```
#[inline]
pub fn start(deadline: Instant, waker: &Waker) -> Option<Start> {
    with_current(|r| {
        Some(match arm_unless_due(r?, deadline, waker, false) {
            StartOnce::Elapsed => Start::Elapsed,
            StartOnce::Armed(once) => Start::Armed(once.key),
        })
    })
}

/// What [`start`], [`start_once`] and [`restart_once`] share, on reactor `r`: `Elapsed` if
/// `deadline` has passed, else a timer armed with a clone of `waker` (freed when it fires if
/// `ephemeral`; the key comes wrapped in a [`OnceKey`] either way, `start` unwraps it).
#[inline(always)]
fn arm_unless_due(r: &Inner, deadline: Instant, waker: &Waker, ephemeral: bool) -> StartOnce {
    if r.clock.is_due(deadline) {
        return StartOnce::Elapsed;
    }
    let (key, tick) = r.timers.borrow_mut().arm(r.id, deadline, waker, ephemeral);
    StartOnce::Armed(OnceKey { key, tick })
}

/// A timer armed by [`start_once`]: a [`TimerKey`] whose timer the wheel frees as soon as it
/// fires, plus its deadline tick, which lets [`poll_once_timer`] see that it fired without
/// looking at the timer's entry. Plain data: `Copy + Send + Sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OnceKey {
    key: TimerKey,
    tick: u64,
}

impl OnceKey {
    /// The timer's key, for [`cancel`] (and [`TimerKey::is_current`]).
    pub fn key(&self) -> TimerKey {
        self.key
    }
}

/// What [`start_once`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartOnce {
    /// The deadline has passed: no timer was armed.
    Elapsed,
    /// A timer is armed for the deadline.
    Armed(OnceKey),
}

/// [`start`] for a timer that is waited on until it fires or is cancelled, and never
/// [`reset`] (as `strand::time::Sleep` uses it): the same exact "elapsed, else arm" in one
/// reactor visit, but the wheel frees the timer as soon as it fires, and
/// [`poll_once_timer`] then answers `Ready` from the wheel's progress alone. A timer that
/// fired and was not polled since costs no slot (its key is stale: [`cancel`] does nothing,
/// [`poll_timer`] and [`poll_once_timer`] return `Ready`, [`reset`] does nothing). Returns
/// `None` outside a runtime.
///
/// ```
/// use std::sync::Arc;
/// use std::task::{Context, Wake, Waker};
/// use std::time::Duration;
/// use strand_reactor::{time, Reactor};
///
/// struct Noop;
/// impl Wake for Noop { fn wake(self: Arc<Self>) {} }
///
/// let reactor = Reactor::new().unwrap();
/// let _enter = reactor.enter();
/// let waker = Waker::from(Arc::new(Noop));
/// let mut cx = Context::from_waker(&waker);
/// assert_eq!(time::start_once(time::now(), &waker), Some(time::StartOnce::Elapsed));
/// let soon = time::now() + Duration::from_millis(2);
/// let Some(time::StartOnce::Armed(key)) = time::start_once(soon, &waker) else { panic!() };
/// while time::poll_once_timer(key, &mut cx).is_pending() {
///     reactor.turn(None).unwrap();
/// }
/// assert!(time::now() >= soon);
/// assert_eq!(reactor.timer_slots(), 0); // freed when it fired
/// ```
#[inline]
pub fn start_once(deadline: Instant, waker: &Waker) -> Option<StartOnce> {
    with_current(|r| Some(arm_unless_due(r?, deadline, waker, true)))
}

/// Moves an armed [`start_once`] timer to `deadline`, keeping the waker its last poll stored
/// (as a reset tokio timer does): the old timer is cancelled and a new one armed with that
/// waker, in one reactor visit. If `deadline` has passed, that waker is woken now and the
/// result is [`StartOnce::Elapsed`]. `None` when there is nothing to move (the key is stale:
/// the timer fired, and its waker was woken then, or was cancelled; or it belongs to another
/// reactor, or none is current): then arm anew with [`start_once`] at the next poll.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::task::{Wake, Waker};
/// use std::time::Duration;
/// use strand_reactor::{time, Reactor};
///
/// struct Count(AtomicUsize);
/// impl Wake for Count {
///     fn wake(self: Arc<Self>) { self.0.fetch_add(1, Ordering::SeqCst); }
/// }
///
/// let reactor = Reactor::new().unwrap();
/// let _enter = reactor.enter();
/// let count = Arc::new(Count(AtomicUsize::new(0)));
/// let waker = Waker::from(Arc::clone(&count));
/// let later = time::now() + Duration::from_secs(60);
/// let Some(time::StartOnce::Armed(key)) = time::start_once(later, &waker) else { panic!() };
/// // Earlier, still ahead: the same waker now waits for the new deadline.
/// let soon = time::now() + Duration::from_millis(2);
/// let Some(time::StartOnce::Armed(key)) = time::restart_once(key, soon) else { panic!() };
/// while count.0.load(Ordering::SeqCst) == 0 {
///     reactor.turn(None).unwrap();
/// }
/// assert!(time::now() >= soon);
/// // Into the past: woken at once.
/// let Some(time::StartOnce::Armed(key)) = time::start_once(later, &waker) else { panic!() };
/// assert_eq!(time::restart_once(key, time::now()), Some(time::StartOnce::Elapsed));
/// assert_eq!(count.0.load(Ordering::SeqCst), 2);
/// assert_eq!(reactor.timers(), 0);
/// ```
pub fn restart_once(key: OnceKey, deadline: Instant) -> Option<StartOnce> {
    let (res, waker) = with_current(|r| {
        let r = r.filter(|r| r.id == key.key.reactor)?;
        let waker = r.timers.borrow_mut().wheel.cancel(key.key.id)??;
        Some((arm_unless_due(r, deadline, &waker, true), waker))
    })?;
    // Woken and dropped here, after every borrow: a waker may re-enter the reactor.
    if res == StartOnce::Elapsed {
        waker.wake();
    }
    Some(res)
}

/// `Ready` once the timer of `key` fired (or was cancelled); otherwise stores `cx`'s waker
/// (only the last one counts) and returns `Pending`. As [`poll_timer`] for the rest (a key of
/// another reactor, or none current).
///
/// Once the wheel has processed the timer's tick it is known to have fired (it was armed no
/// later than that tick, and nothing moves it): `Ready` without touching the timer's entry,
/// which after a burst of firings is usually out of the cache.
#[inline]
pub fn poll_once_timer(key: OnceKey, cx: &mut Context<'_>) -> Poll<()> {
    let fired = with_current(|r| {
        r.is_some_and(|r| {
            r.id == key.key.reactor && r.timers.borrow().wheel.has_fired_through(key.tick)
        })
    });
    if fired {
        return Poll::Ready(());
    }
    poll_timer(key.key, cx)
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
    let (res, old) = with_current(|r| {
        let Some(r) = r else {
            return (None, None);
        };
        if r.id != key.reactor {
            if r.clock.now() >= key.deadline {
                return (Some(Poll::Ready(())), None);
            }
            let mut timers = r.timers.borrow_mut();
            let tick = timers.deadline_tick(key.deadline);
            timers.wheel.insert(tick, Some(cx.waker().clone()), true);
            return (Some(Poll::Pending), None);
        }
        match r.timers.borrow_mut().wheel.poll(key.id, cx.waker()) {
            TimerPoll::Fired | TimerPoll::Stale => (Some(Poll::Ready(())), None),
            TimerPoll::Pending(old) => (Some(Poll::Pending), old),
        }
    });
    // A replaced waker is dropped here, outside every borrow.
    drop(old);
    match res {
        Some(res) => res,
        None if Instant::now() >= key.deadline => Poll::Ready(()),
        None => panic!(
            "a strand timer was polled outside of a strand runtime: no strand reactor is \
             running; poll it inside #[strand::main], #[strand::test] or Runtime::block_on"
        ),
    }
}

/// Moves a live timer to `deadline`, earlier or later; a timer that fired but was not yet
/// consumed is armed again. Does nothing for a stale key, a key of another reactor, or the key
/// of a [`start_once`] timer (whose deadline never moves).
pub fn reset(key: TimerKey, deadline: Instant) {
    with_current(|r| {
        if let Some(r) = r.filter(|r| r.id == key.reactor) {
            let mut timers = r.timers.borrow_mut();
            let tick = timers.deadline_tick(deadline);
            timers.wheel.reset(key.id, tick);
        }
    });
}

/// Cancels a timer and frees its slot. Does nothing if the key was already consumed, is
/// stale, or belongs to another reactor.
#[inline]
pub fn cancel(key: TimerKey) {
    let waker = with_current(|r| match r {
        Some(r) if r.id == key.reactor => r.timers.borrow_mut().wheel.cancel(key.id),
        _ => None,
    });
    // Dropped here, after every borrow: a waker's Drop may re-enter the reactor.
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
        assert_eq!(t.deadline_tick(origin), 0);
        assert_eq!(t.deadline_tick(origin - Duration::from_secs(1)), 0);
        assert_eq!(t.deadline_tick(origin + Duration::from_nanos(1)), 1);
        assert_eq!(t.deadline_tick(origin + Duration::from_millis(64)), 64);
        assert_eq!(t.deadline_tick(origin + Duration::from_micros(64_001)), 65);
        assert_eq!(t.deadline_tick(origin + Duration::from_secs(3)), 3_000);
        let far = saturating_add(origin, Duration::MAX);
        assert!(t.deadline_tick(far) <= MAX_TICK);
        assert!(t.deadline_tick(far) > 86_400_000 * 365 * 29);
        assert_eq!(t.now_tick(origin + Duration::from_micros(63_999)), 63);
    }

    /// A waker that counts its wakes.
    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn once_timers_fire_free_their_slot_and_wake_the_last_waker() {
        let reactor = Reactor::new().unwrap();
        let _e = reactor.enter();
        let (first, last) = (
            Arc::new(Count(Default::default())),
            Arc::new(Count(Default::default())),
        );
        let (w1, w2) = (Waker::from(first.clone()), Waker::from(last.clone()));
        let deadline = now() + Duration::from_millis(3);
        let Some(StartOnce::Armed(key)) = start_once(deadline, &w1) else {
            panic!("a deadline 3 ms ahead is armed");
        };
        assert_eq!((reactor.timers(), reactor.timer_slots()), (1, 1));
        assert!(poll_once_timer(key, &mut Context::from_waker(&w2)).is_pending());
        while reactor.timers() == 1 {
            reactor.turn(None).unwrap();
        }
        assert!(now() >= deadline, "fired early");
        // Freed when it fired, before any poll.
        assert_eq!(reactor.timer_slots(), 0);
        assert_eq!(last.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(first.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert!(poll_once_timer(key, &mut Context::from_waker(&w2)).is_ready());
        // The key is stale: cancel and reset do nothing, polls stay ready.
        cancel(key.key());
        reset(key.key(), now() + Duration::from_secs(5));
        assert_eq!(reactor.timers(), 0);
        assert!(poll_timer(key.key(), &mut Context::from_waker(&w2)).is_ready());
    }

    #[test]
    fn once_timers_keep_their_deadline_and_cancel() {
        let reactor = Reactor::new().unwrap();
        let _e = reactor.enter();
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        assert_eq!(start_once(now(), &waker), Some(StartOnce::Elapsed));
        let deadline = now() + Duration::from_millis(40);
        let Some(StartOnce::Armed(key)) = start_once(deadline, &waker) else {
            panic!("a deadline 40 ms ahead is armed");
        };
        // `reset` cannot move it earlier: polls stay pending until the deadline.
        reset(key.key(), now());
        reactor.turn(Some(Duration::from_millis(5))).unwrap();
        if now() < deadline {
            assert!(poll_once_timer(key, &mut cx).is_pending());
        }
        cancel(key.key());
        assert_eq!((reactor.timers(), reactor.timer_slots()), (0, 0));
        assert!(
            poll_once_timer(key, &mut cx).is_ready(),
            "a cancelled key is stale"
        );
    }

    #[test]
    fn once_keys_of_another_reactor_never_complete_early() {
        // Reactor b is older: its wheel has processed ticks past the key's tick on a.
        let b = Reactor::new().unwrap();
        std::thread::sleep(Duration::from_millis(60));
        let a = Reactor::new().unwrap();
        let key = {
            let _e = a.enter();
            let waker = Waker::from(Arc::new(Noop));
            let Some(StartOnce::Armed(key)) = start_once(now() + Duration::from_millis(30), &waker)
            else {
                panic!("armed");
            };
            key
        };
        let _e = b.enter();
        b.turn(Some(Duration::ZERO)).unwrap();
        assert!(b
            .inner()
            .timers
            .borrow()
            .wheel()
            .has_fired_through(key.tick));
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        if now() < key.key().deadline {
            assert!(poll_once_timer(key, &mut cx).is_pending());
        }
        while poll_once_timer(key, &mut cx).is_pending() {
            b.turn(None).unwrap();
        }
        assert!(now() >= key.key().deadline);
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
