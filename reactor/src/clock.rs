//! The reactor's clock: real time, or a paused clock that only moves when told to.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

/// About 30 years: what a deadline that would overflow `Instant` is clamped to.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `instant + duration`, clamped to a far-future instant (about 30 years past `instant`, or as
/// far as the platform's `Instant` reaches) instead of overflowing.
///
/// ```
/// use std::time::{Duration, Instant};
/// let now = Instant::now();
/// assert!(strand_reactor::time::saturating_add(now, Duration::MAX) > now);
/// assert_eq!(
///     strand_reactor::time::saturating_add(now, Duration::from_secs(1)),
///     now + Duration::from_secs(1)
/// );
/// ```
pub fn saturating_add(instant: Instant, duration: Duration) -> Instant {
    if let Some(t) = instant.checked_add(duration) {
        return t;
    }
    let mut step = FAR_FUTURE.min(duration);
    while !step.is_zero() {
        if let Some(t) = instant.checked_add(step) {
            return t;
        }
        step /= 2;
    }
    instant
}

/// The reactor's notion of "now", used by its timers.
///
/// Running (the default), [`now`](Clock::now) follows [`std::time::Instant::now`], shifted by
/// whatever [`advance`](Clock::advance) added and by the time spent paused. Paused, it stands
/// still at a frozen instant that only [`advance`](Clock::advance) and
/// [`set_time`](Clock::set_time) move. It never goes backwards.
///
/// ```
/// use std::time::Duration;
/// use strand_reactor::Reactor;
///
/// let reactor = Reactor::new().unwrap();
/// let clock = reactor.clock();
/// clock.pause();
/// let t0 = clock.now();
/// std::thread::sleep(Duration::from_millis(2));
/// assert_eq!(clock.now(), t0);
/// clock.advance(Duration::from_secs(3600));
/// assert_eq!(clock.now(), t0 + Duration::from_secs(3600));
/// clock.resume();
/// assert!(clock.now() >= t0 + Duration::from_secs(3600));
/// ```
pub struct Clock {
    /// Tick 0 of the reactor's timer wheel: the clock time when the reactor was created.
    origin: Instant,
    /// Clock time at `anchor` (running) or the frozen time (paused).
    base: Cell<Instant>,
    /// Real time at which the clock read `base`; `None` while paused.
    anchor: Cell<Option<Instant>>,
}

/// How far past the latest clock reading a deadline may be for [`Clock::is_due`] to read the
/// clock to check it; a deadline farther out is taken as not yet due.
const NEAR: Duration = Duration::from_millis(100);

thread_local! {
    /// Whether the clock of the reactor current on this thread is in step with
    /// [`Instant::now`] (never paused or advanced), so that `time::now` may read `Instant::now`
    /// without visiting the reactor. `false` while no reactor is current. Set when a reactor is
    /// entered or left; cleared (conservatively) whenever any clock on this thread is paused or
    /// advanced.
    static IN_STEP: Cell<bool> = const { Cell::new(false) };
    /// The latest `Instant::now()` taken through this module on this thread: a lower bound of
    /// the current time of every in-step clock, free to read.
    static LATEST: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Records whether the clock of the reactor now current on this thread is in step with real
/// time (`Reactor::enter` and its guard call it).
pub(crate) fn set_current_in_step(in_step: bool) {
    IN_STEP.set(in_step);
}

/// `Instant::now()` if the current reactor's clock is in step with it (no reactor visit).
#[inline]
pub(crate) fn now_if_in_step() -> Option<Instant> {
    if IN_STEP.get() {
        Some(real_now())
    } else {
        None
    }
}

/// `Instant::now()`, recorded as this thread's latest reading.
#[inline]
fn real_now() -> Instant {
    let now = Instant::now();
    LATEST.set(Some(now));
    now
}

impl Clock {
    pub(crate) fn new() -> Clock {
        let now = Instant::now();
        Clock {
            origin: now,
            base: Cell::new(now),
            anchor: Cell::new(Some(now)),
        }
    }

    /// The current time of this clock.
    #[inline]
    pub fn now(&self) -> Instant {
        match self.anchor.get() {
            // Never paused or advanced (the common case): no offset to apply, so skip the
            // elapsed-time arithmetic on this hot path (every sleep reads the clock once).
            Some(anchor) if anchor == self.base.get() => real_now(),
            Some(anchor) => saturating_add(self.base.get(), anchor.elapsed()),
            None => self.base.get(),
        }
    }

    /// Whether this clock is in step with [`Instant::now`] (never paused or advanced).
    pub(crate) fn in_step(&self) -> bool {
        self.anchor.get() == Some(self.base.get())
    }

    /// Whether `deadline` has passed, reading the clock only when it must. For a clock in step
    /// with real time: a deadline at or before the thread's latest reading has passed (no
    /// read); one more than [`NEAR`] (100 ms) after it is taken as not yet due (no read; a
    /// caller that then arms a timer sees it fire at the next reactor turn if it has in fact
    /// passed); in between the clock decides. A paused or advanced clock is always asked
    /// (free while paused). So it never answers `true` early, and `sleep(0)` or a deadline
    /// taken from `now()` is due without a read.
    #[inline]
    pub(crate) fn is_due(&self, deadline: Instant) -> bool {
        match self.anchor.get() {
            Some(anchor) if anchor == self.base.get() => {
                if let Some(latest) = LATEST.get() {
                    if deadline <= latest {
                        return true;
                    }
                    // More than NEAR after the latest reading: taken as not due, no read.
                    if deadline.checked_sub(NEAR).is_some_and(|d| d > latest) {
                        return false;
                    }
                }
                deadline <= real_now()
            }
            Some(_) => deadline <= self.now(),
            None => deadline <= self.base.get(),
        }
    }

    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    /// Freezes the clock. Pausing a paused clock does nothing.
    ///
    /// The frozen time is the current time rounded up to the next whole millisecond of the
    /// timer wheel's grid (a jump forward of less than 1 ms), so that a deadline a whole number
    /// of milliseconds after a paused `now` fires exactly when the paused clock reaches it.
    pub fn pause(&self) {
        IN_STEP.set(false);
        if self.anchor.get().is_some() {
            let now = self.now();
            let rem = now.saturating_duration_since(self.origin).subsec_nanos() % 1_000_000;
            let snap = if rem == 0 { 0 } else { 1_000_000 - rem };
            self.base
                .set(saturating_add(now, Duration::from_nanos(u64::from(snap))));
            self.anchor.set(None);
        }
    }

    /// Lets a paused clock run again from where it stands (it does not jump to real time).
    /// Resuming a running clock does nothing.
    pub fn resume(&self) {
        if self.anchor.get().is_none() {
            self.anchor.set(Some(Instant::now()));
        }
    }

    /// Whether the clock is paused.
    pub fn is_paused(&self) -> bool {
        self.anchor.get().is_none()
    }

    /// Moves the clock forward by `duration` (paused or running). Huge durations are clamped,
    /// never overflow.
    pub fn advance(&self, duration: Duration) {
        IN_STEP.set(false);
        self.base.set(saturating_add(self.base.get(), duration));
    }

    /// Moves the clock forward to `instant`; an instant at or before [`now`](Clock::now) does
    /// nothing (the clock never goes backwards). Used for auto-advance of a paused clock.
    pub fn set_time(&self, instant: Instant) {
        let now = self.now();
        if instant > now {
            self.advance(instant - now);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("now", &self.now())
            .field("paused", &self.is_paused())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_clock_follows_std() {
        let c = Clock::new();
        let a = Instant::now();
        let n = c.now();
        let b = Instant::now();
        assert!(a <= n && n <= b);
    }

    #[test]
    fn paused_clock_set_time_never_goes_back() {
        let c = Clock::new();
        c.pause();
        let t0 = c.now();
        c.set_time(t0 + Duration::from_millis(10));
        assert_eq!(c.now(), t0 + Duration::from_millis(10));
        c.set_time(t0);
        assert_eq!(c.now(), t0 + Duration::from_millis(10));
        c.advance(Duration::MAX);
        assert!(c.now() > t0 + Duration::from_secs(86_400 * 365));
    }

    #[test]
    fn pause_snaps_to_the_millisecond_grid() {
        let c = Clock::new();
        std::thread::sleep(Duration::from_micros(300));
        let before = c.now();
        c.pause();
        let frozen = c.now();
        assert!(frozen >= before && frozen - before < Duration::from_millis(1));
        assert_eq!((frozen - c.origin()).subsec_nanos() % 1_000_000, 0);
    }

    #[test]
    fn is_due_never_answers_early() {
        let c = Clock::new();
        let now = c.now();
        assert!(c.is_due(now));
        assert!(c.is_due(now - Duration::from_secs(1)));
        assert!(!c.is_due(now + Duration::from_secs(1)));
        // Within NEAR of the latest reading the clock decides.
        let near = now + Duration::from_millis(2);
        if c.is_due(near) {
            assert!(Instant::now() >= near);
        }
        std::thread::sleep(Duration::from_millis(3));
        assert!(c.is_due(near));
        // A deadline more than NEAR past the latest reading is not due even once it has
        // passed by the real clock; a fresh reading then shows it.
        let later = c.now() + NEAR + Duration::from_millis(2);
        std::thread::sleep(NEAR + Duration::from_millis(3));
        assert!(!c.is_due(later));
        c.now();
        assert!(c.is_due(later));
    }

    #[test]
    fn is_due_with_a_paused_clock_follows_the_clock() {
        let c = Clock::new();
        c.pause();
        let t0 = c.now();
        assert!(!c.is_due(t0 + Duration::from_secs(10)));
        c.advance(Duration::from_secs(10));
        assert!(c.is_due(t0 + Duration::from_secs(10)));
        assert!(!c.is_due(t0 + Duration::from_secs(11)));
    }

    #[test]
    fn advance_while_running_shifts_the_clock() {
        let c = Clock::new();
        c.advance(Duration::from_secs(100));
        assert!(c.now() >= Instant::now() + Duration::from_secs(99));
        assert!(!c.is_paused());
    }
}
