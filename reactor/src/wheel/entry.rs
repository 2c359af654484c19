//! A timer's slot in the wheel's entry table, linked into one list by index.

use std::task::Waker;

use super::NIL;

/// `Entry::list` of an armed entry taken off its list while [`Wheel::process`] walks it.
///
/// [`Wheel::process`]: super::Wheel::process
pub(super) const DETACHED: u16 = 0xFFFD;
/// `Entry::list` of an entry that fired and waits for its key to be consumed.
pub(super) const FIRED: u16 = 0xFFFE;
/// `Entry::list` of a free entry (in the wheel's free set).
pub(super) const VACANT: u16 = 0xFFFF;

/// One timer. 40 bytes on 64-bit targets.
///
/// `list` says where the entry is: a list head index of the wheel (a slot, the overflow list
/// or the expired list; the entry is armed and linked there), [`DETACHED`], [`FIRED`] or
/// [`VACANT`]. The generation changes every time the entry is freed, so an id taken before
/// never matches the entry again (up to 2^32 reuses of one entry).
pub(super) struct Entry {
    /// Deadline tick (ms since the reactor's origin, rounded up).
    pub(super) when: u64,
    pub(super) prev: u32,
    /// Next entry of the same list.
    pub(super) next: u32,
    pub(super) generation: u32,
    pub(super) list: u16,
    /// Freed as soon as it fires (nobody holds its key).
    pub(super) ephemeral: bool,
    pub(super) waker: Option<Waker>,
}

impl Entry {
    pub(super) fn vacant() -> Entry {
        Entry {
            when: 0,
            prev: NIL,
            next: NIL,
            generation: 0,
            list: VACANT,
            ephemeral: false,
            waker: None,
        }
    }
}
