use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// A moment on the runtime's clock.
///
/// Inside a runtime whose clock is paused, [`Instant::now`] follows the paused clock; otherwise
/// it is [`std::time::Instant::now`]. Arithmetic past what the platform can represent is
/// clamped by the timer functions, never an overflow panic there.
///
/// ```
/// use std::time::Duration;
/// use strand::time::Instant;
///
/// let a = Instant::now();
/// let b = a + Duration::from_millis(10);
/// assert_eq!(b - a, Duration::from_millis(10));
/// assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

/// How far past an instant [`Instant::far_future_from`] lies: about 30 years.
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

impl Instant {
    /// The current time on the runtime's clock.
    #[inline]
    pub fn now() -> Instant {
        Instant(strand_reactor::time::now())
    }

    /// Time passed since `self` (zero if `self` is later than now).
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self - earlier`, zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// `self - earlier`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// `self - earlier`, zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// `self + d`, or `None` if it cannot be represented.
    #[inline]
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` if it cannot be represented.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }

    /// The `std` instant.
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// A moment about 30 years after `self`: what "never" is clamped to.
    pub(crate) fn far_future_from(self) -> Instant {
        Instant(strand_reactor::time::saturating_add(self.0, FAR))
    }

    /// `self + d`, clamped to [`far_future_from`](Self::far_future_from) instead of
    /// overflowing.
    #[inline]
    pub(crate) fn saturating_add(self, d: Duration) -> Instant {
        if d < FAR {
            if let Some(t) = self.checked_add(d) {
                return t;
            }
        }
        self.far_future_from()
    }
}

impl From<std::time::Instant> for Instant {
    fn from(i: std::time::Instant) -> Instant {
        Instant(i)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(i: Instant) -> std::time::Instant {
        i.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
