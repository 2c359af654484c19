//! Time: sleeps, timeouts, intervals and a clock that tests can pause.
//!
//! Timers live in the reactor's hierarchical timer wheel (1 ms resolution, O(1) insert and
//! cancel). A timer never fires before its deadline; it may fire up to about a millisecond
//! after it (plus whatever the thread was busy with). A deadline that is zero or already past
//! completes at the first poll without waiting for the wheel.
//!
//! ```
//! use std::time::Duration;
//! use strand::time::{sleep, timeout, Instant};
//!
//! strand::block_on(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_millis(5)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(5));
//!
//!     let slow = sleep(Duration::from_secs(10));
//!     assert!(timeout(Duration::from_millis(1), slow).await.is_err());
//! });
//! ```
//!
//! ## The paused clock
//! [`pause`] freezes the runtime's clock. While it is paused and every task is idle (and no
//! blocking job is in flight), the runtime jumps the clock straight to the next timer, so a
//! test of an hour-long timeout runs in microseconds. [`advance`] moves it by hand.

mod clock;
mod instant;
mod interval;
mod sleep;
mod timeout;

pub use clock::{advance, pause, resume};
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Timeout};

/// Errors of the time module.
pub mod error {
    use std::fmt;

    /// Returned by [`timeout`](super::timeout) when the deadline passed before the future
    /// completed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Elapsed(pub(super) ());

    impl fmt::Display for Elapsed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    impl std::error::Error for Elapsed {}

    impl From<Elapsed> for std::io::Error {
        fn from(e: Elapsed) -> std::io::Error {
            std::io::Error::new(std::io::ErrorKind::TimedOut, e)
        }
    }
}
