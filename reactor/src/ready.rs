//! Readiness bits, the two I/O directions, and the tick-stamped [`ReadyEvent`].

use std::fmt;
use std::ops;

/// A set of readiness bits reported by the reactor for a registration.
///
/// ```
/// use strand_reactor::Ready;
///
/// let r = Ready::READABLE | Ready::READ_CLOSED;
/// assert!(r.is_readable() && r.is_read_closed());
/// assert!(!r.is_writable());
/// assert_eq!(r - Ready::READABLE, Ready::READ_CLOSED);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ready(u8);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// The source can be read (or accepted from) without blocking, or `WouldBlock` will tell.
    pub const READABLE: Ready = Ready(1);
    /// The source can be written without blocking, or `WouldBlock` will tell.
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// The read half is closed: reads return end-of-stream. Final once set.
    pub const READ_CLOSED: Ready = Ready(1 << 2);
    /// The write half is closed: writes fail. Final once set.
    pub const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// The source reported an error condition (read it with the operation or `SO_ERROR`).
    pub const ERROR: Ready = Ready(1 << 4);
    /// Priority (out-of-band) data is available. Reported with the read direction, but it
    /// alone does not make the read direction ready.
    pub const PRIORITY: Ready = Ready(1 << 5);
    /// Both closed bits.
    pub const ALL_CLOSED: Ready = Ready(Self::READ_CLOSED.0 | Self::WRITE_CLOSED.0);

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Whether [`Ready::READABLE`] is set.
    pub const fn is_readable(self) -> bool {
        self.0 & Self::READABLE.0 != 0
    }
    /// Whether [`Ready::WRITABLE`] is set.
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE.0 != 0
    }
    /// Whether [`Ready::READ_CLOSED`] is set.
    pub const fn is_read_closed(self) -> bool {
        self.0 & Self::READ_CLOSED.0 != 0
    }
    /// Whether [`Ready::WRITE_CLOSED`] is set.
    pub const fn is_write_closed(self) -> bool {
        self.0 & Self::WRITE_CLOSED.0 != 0
    }
    /// Whether [`Ready::ERROR`] is set.
    pub const fn is_error(self) -> bool {
        self.0 & Self::ERROR.0 != 0
    }
    /// Whether [`Ready::PRIORITY`] is set.
    pub const fn is_priority(self) -> bool {
        self.0 & Self::PRIORITY.0 != 0
    }
    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }
    /// `self | other`, usable in constants.
    pub const fn union(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
    /// Whether `self` and `other` share a bit.
    pub const fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }
}

impl ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, rhs: Ready) -> Ready {
        Ready(self.0 & rhs.0)
    }
}

impl ops::Sub for Ready {
    type Output = Ready;
    /// The bits of `self` that are not in `rhs`.
    fn sub(self, rhs: Ready) -> Ready {
        Ready(self.0 & !rhs.0)
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Ready, &str); 6] = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::ERROR, "ERROR"),
            (Ready::PRIORITY, "PRIORITY"),
        ];
        let mut first = true;
        for (bit, name) in NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("EMPTY")?;
        }
        Ok(())
    }
}

/// One direction of a registration. Each direction has its own readiness, tick and waker.
///
/// ```
/// use strand_reactor::{Direction, Ready};
/// assert!(Direction::Read.ready_mask().contains(Ready::READABLE | Ready::READ_CLOSED));
/// assert!(Direction::Write.ready_mask().contains(Ready::WRITABLE | Ready::WRITE_CLOSED));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading, receiving, accepting.
    Read,
    /// Writing, sending, connecting.
    Write,
}

impl Direction {
    pub(crate) const fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }

    /// The bits that make this direction ready: `READABLE | READ_CLOSED | ERROR` for
    /// [`Direction::Read`], `WRITABLE | WRITE_CLOSED | ERROR` for [`Direction::Write`].
    pub const fn ready_mask(self) -> Ready {
        match self {
            Direction::Read => Ready(Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0),
            Direction::Write => Ready(Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::ERROR.0),
        }
    }
}

/// Readiness observed in one direction, stamped with that direction's tick.
///
/// Hand it back to [`Registration::clear_readiness`](crate::Registration::clear_readiness)
/// after the operation returned `WouldBlock`: only the bits it observed are cleared, and only
/// if no newer event arrived for that direction since it was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    pub(crate) ready: Ready,
    pub(crate) tick: u64,
    pub(crate) dir: Direction,
}

impl ReadyEvent {
    /// The readiness bits of the direction when this event was observed.
    pub fn ready(&self) -> Ready {
        self.ready
    }
    /// The direction's event counter when this event was observed (a `u64`: it does not wrap
    /// in practice).
    pub fn tick(&self) -> u64 {
        self.tick
    }
    /// The direction this event is about.
    pub fn direction(&self) -> Direction {
        self.dir
    }
    /// Whether the direction is closed for good (read-closed for reads, write-closed for
    /// writes).
    pub fn is_closed(&self) -> bool {
        match self.dir {
            Direction::Read => self.ready.is_read_closed(),
            Direction::Write => self.ready.is_write_closed(),
        }
    }
}
