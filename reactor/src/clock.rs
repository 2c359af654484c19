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
    pub fn now(&self) -> Instant {
        match self.anchor.get() {
            // Never paused or advanced (the common case): no offset to apply, so skip the
            // elapsed-time arithmetic on this hot path (timers read the clock per poll).
            Some(anchor) if anchor == self.base.get() => Instant::now(),
            Some(anchor) => saturating_add(self.base.get(), anchor.elapsed()),
            None => self.base.get(),
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
    fn advance_while_running_shifts_the_clock() {
        let c = Clock::new();
        c.advance(Duration::from_secs(100));
        assert!(c.now() >= Instant::now() + Duration::from_secs(99));
        assert!(!c.is_paused());
    }
}
