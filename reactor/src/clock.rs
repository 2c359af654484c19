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

/// A cheap upper bound on the real time, from `CLOCK_MONOTONIC_COARSE`: what lets
/// [`Clock::is_due`] prove a deadline is still ahead without a fine clock read.
///
/// Why the bound holds:
///
/// - `CLOCK_MONOTONIC_COARSE` is `CLOCK_MONOTONIC` as of the timekeeper's last update, at a
///   timer tick. It trails the real `CLOCK_MONOTONIC` by the time since that update plus the
///   part of a tick not yet accumulated: less than two resolutions (`clock_getres` of the
///   coarse clock, one tick) while ticks come on time. Measured on the development VM (HZ =
///   250, 4 ms ticks): at most 1.7 resolutions over 350 million back-to-back reads (so "one
///   resolution" is not a bound). The bound adds [`MARGIN_TICKS`](coarse::MARGIN_TICKS)
///   resolutions plus 1 ms, which leaves two more ticks of room for a late tick (a delayed
///   interrupt, a preempted timekeeping CPU of a VM).
/// - std's `Instant` is `CLOCK_MONOTONIC` on Linux and Android (see "underlying system
///   calls" in its docs). The map between the two is calibrated once per thread: `m0`, a
///   `CLOCK_MONOTONIC` reading, then `i0 = Instant::now()`. `i0` stands for some monotonic
///   time `v0 >= m0`, so the instant of monotonic time `t` is `i0 + (t - v0) <= i0 + (t - m0)`:
///   using `m0` errs late, which only makes the bound looser (a fine read more often), never
///   early. Of a few tries, the one with the shortest gap around `Instant::now()` is kept.
///   The thread keeps `base = i0 - m0 + margin`, so a coarse reading `c` bounds the real
///   time by `base + c`: one `Instant` addition per check.
/// - A coarse clock that fails, or reports a resolution of zero or above
///   [`MAX_RESOLUTION`](coarse::MAX_RESOLUTION): no bound, and the caller reads the fine
///   clock.
#[cfg(all(any(target_os = "linux", target_os = "android"), not(miri)))]
mod coarse {
    use std::cell::Cell;
    use std::time::{Duration, Instant};

    use rustix::time::Timespec;
    use rustix::time::{
        clock_getres, clock_gettime, clock_gettime_dynamic, ClockId, DynamicClockId,
    };

    /// A coarser clock than this is not used.
    pub(super) const MAX_RESOLUTION: Duration = Duration::from_millis(10);
    /// Resolutions (ticks) the bound adds to a coarse reading, besides 1 ms.
    pub(super) const MARGIN_TICKS: u32 = 4;
    /// Calibration tries; the tightest is kept.
    const TRIES: usize = 4;

    #[derive(Clone, Copy)]
    enum State {
        Uncalibrated,
        Unavailable,
        /// At a coarse reading `c`, the real time is at most `base + c`.
        Ready {
            base: Instant,
        },
    }

    /// The bound for the latest coarse reading: the reading, and `base` plus it. The coarse clock moves once per kernel tick (every few ms), so most
    /// checks read the value of the check before and skip the `Instant` addition (a call
    /// into std) and the conversions around it.
    #[derive(Clone, Copy)]
    struct Last {
        reading: Timespec,
        bound: Instant,
    }

    thread_local! {
        static STATE: Cell<State> = const { Cell::new(State::Uncalibrated) };
        /// `None` until the first bound of this thread.
        static LAST: Cell<Option<Last>> = const { Cell::new(None) };
    }

    /// Whether `deadline` is certainly after the real time ([`Instant::now`]) at this call.
    /// `false` means "don't know": read the fine clock.
    #[inline]
    pub(super) fn certainly_ahead(deadline: Instant) -> bool {
        match LAST.get() {
            Some(last) => {
                // Infallible here: calibration read this clock successfully, and a clock id
                // the kernel knows does not go away.
                let c = clock_gettime(ClockId::MonotonicCoarse);
                if c == last.reading {
                    return deadline > last.bound;
                }
                new_bound(c).is_some_and(|bound| deadline > bound)
            }
            // First check on this thread, or no usable coarse clock.
            None => match STATE.get() {
                State::Unavailable => false,
                State::Uncalibrated | State::Ready { .. } => {
                    new_bound(clock_gettime(ClockId::MonotonicCoarse))
                        .is_some_and(|bound| deadline > bound)
                }
            },
        }
    }

    /// The bound for coarse reading `c` (calibrating the thread first if needed), recorded
    /// as the latest; `None` without a usable coarse clock or for a reading out of range.
    #[inline(never)]
    fn new_bound(c: Timespec) -> Option<Instant> {
        let base = match STATE.get() {
            State::Ready { base } => base,
            State::Unavailable => return None,
            State::Uncalibrated => calibrate()?,
        };
        let (Ok(secs), Ok(nanos)) = (u64::try_from(c.tv_sec), u32::try_from(c.tv_nsec)) else {
            return None;
        };
        // (`Duration::new` carries nanoseconds past a second into the seconds.)
        let bound = base.checked_add(Duration::new(secs, nanos))?;
        LAST.set(Some(Last { reading: c, bound }));
        Some(bound)
    }

    /// Calibrates this thread's map (see the [module docs](self)), or records that there is
    /// no usable coarse clock.
    #[cold]
    #[inline(never)]
    fn calibrate() -> Option<Instant> {
        let base = measure();
        STATE.set(match base {
            Some(base) => State::Ready { base },
            None => State::Unavailable,
        });
        base
    }

    fn nanos(t: Timespec) -> i128 {
        i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
    }

    fn read(clock: ClockId) -> Option<i128> {
        clock_gettime_dynamic(DynamicClockId::Known(clock))
            .ok()
            .map(nanos)
    }

    fn duration(nanos: i128) -> Option<Duration> {
        let nanos = u128::try_from(nanos).ok()?;
        let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
        Some(Duration::new(secs, (nanos % 1_000_000_000) as u32))
    }

    /// `i0 - m0 + margin` (see the [module docs](self)).
    fn measure() -> Option<Instant> {
        let res = nanos(clock_getres(ClockId::MonotonicCoarse));
        if res <= 0 || res > MAX_RESOLUTION.as_nanos() as i128 {
            return None;
        }
        read(ClockId::MonotonicCoarse)?;
        let mut best: Option<(i128, i128, Instant)> = None;
        for _ in 0..TRIES {
            let m0 = read(ClockId::Monotonic)?;
            let i0 = Instant::now();
            let m1 = read(ClockId::Monotonic)?;
            if best.map_or(true, |(gap, _, _)| m1 - m0 < gap) {
                best = Some((m1 - m0, m0, i0));
            }
        }
        let (_, m0, i0) = best?;
        let margin = i128::from(MARGIN_TICKS) * res + 1_000_000;
        let shift = margin - m0;
        if shift >= 0 {
            i0.checked_add(duration(shift)?)
        } else {
            i0.checked_sub(duration(-shift)?)
        }
    }
}

/// No cheap bound on the real time here (other systems, or Miri, which cannot run the vDSO):
/// [`Clock::is_due`] reads the fine clock.
#[cfg(not(all(any(target_os = "linux", target_os = "android"), not(miri))))]
mod coarse {
    use std::time::Instant;

    #[inline]
    pub(super) fn certainly_ahead(_deadline: Instant) -> bool {
        false
    }
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

    /// Whether `deadline` has passed, exactly, reading the fine clock only when it must.
    ///
    /// For a clock in step with real time: a deadline at or before the thread's latest
    /// reading has passed (no read); one after the cheap upper bound on the real time that
    /// [`coarse::certainly_ahead`] takes from `CLOCK_MONOTONIC_COARSE` (Linux and Android; a
    /// few ns) has not (no fine read); in between, or where no such bound is available, the
    /// fine clock decides. A paused or advanced clock is always asked (free while paused).
    /// So it never answers `true` early nor `false` late: a deadline that passed before the
    /// call, however long the thread went without reading the clock, is due; `sleep(0)` or a
    /// deadline taken from `now()` is due without a read.
    #[inline]
    pub(crate) fn is_due(&self, deadline: Instant) -> bool {
        match self.anchor.get() {
            Some(anchor) if anchor == self.base.get() => {
                if LATEST.get().is_some_and(|latest| deadline <= latest) {
                    return true;
                }
                if coarse::certainly_ahead(deadline) {
                    return false;
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

    /// Keeps the thread busy, without sleeping and without a reading through this module,
    /// until `d` has passed.
    fn spin_for(d: Duration) {
        let start = Instant::now();
        while start.elapsed() < d {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn is_due_is_exact_for_a_running_clock() {
        let c = Clock::new();
        let now = c.now();
        assert!(c.is_due(now));
        assert!(c.is_due(now - Duration::from_secs(1)));
        assert!(!c.is_due(now + Duration::from_secs(3600)));
        let near = now + Duration::from_millis(2);
        if c.is_due(near) {
            assert!(Instant::now() >= near);
        }
        std::thread::sleep(Duration::from_millis(3));
        assert!(c.is_due(near));
        // Deadlines far past the latest reading that passed while the thread slept or was
        // busy without reading the clock are due.
        for d in [20, 150] {
            let later = c.now() + Duration::from_millis(d);
            std::thread::sleep(Duration::from_millis(d + 1));
            assert!(c.is_due(later), "{d} ms, slept");
            let later = c.now() + Duration::from_millis(d);
            spin_for(Duration::from_millis(d + 1));
            assert!(c.is_due(later), "{d} ms, busy");
        }
    }

    #[cfg(all(any(target_os = "linux", target_os = "android"), not(miri)))]
    #[test]
    fn the_coarse_bound_never_falls_below_the_real_time() {
        let mut rng = fastrand::Rng::with_seed(3);
        let start = Instant::now();
        let (mut checks, mut ahead) = (0u32, 0u32);
        // 300 ms: every phase of several ticks, with sleeps of random length in between.
        while start.elapsed() < Duration::from_millis(300) {
            // `now`, and anything before it, has passed by the time of each check.
            let now = Instant::now();
            assert!(!coarse::certainly_ahead(now));
            let back = Duration::from_micros(rng.u64(0..30_000));
            if let Some(before) = now.checked_sub(back) {
                assert!(!coarse::certainly_ahead(before));
            }
            if coarse::certainly_ahead(Instant::now() + Duration::from_secs(1)) {
                ahead += 1;
            }
            checks += 1;
            if rng.u8(..) < 4 {
                std::thread::sleep(Duration::from_micros(rng.u64(0..6_000)));
            }
        }
        // The bound is also useful: a deadline 1 s out is proven ahead (a miss needs the
        // thread to lose the CPU for about a second between the two reads).
        assert!(ahead > checks / 2, "{ahead} of {checks}");
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
