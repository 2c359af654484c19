//! A timer's slot in the wheel's slab, linked into one list by slab index.

use std::task::Waker;

use super::NIL;

/// Which list an entry is linked into.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum List {
    /// Not linked: fired, or being moved.
    None,
    /// `level * 64 + slot` of the wheel.
    Slot(u16),
    /// Deadline too far for the wheel's span (more than 2^36 ms ahead).
    Overflow,
    /// Deadline at or before the wheel's current tick: fires at the next `process`.
    Expired,
}

pub(super) struct Entry {
    /// Deadline tick (ms since the reactor's origin, rounded up).
    pub(super) when: u64,
    pub(super) prev: u32,
    pub(super) next: u32,
    pub(super) list: List,
    pub(super) generation: u32,
    pub(super) fired: bool,
    /// Freed as soon as it fires (nobody holds its key).
    pub(super) ephemeral: bool,
    pub(super) waker: Option<Waker>,
}

impl Entry {
    pub(super) fn new(when: u64, generation: u32, waker: Option<Waker>, ephemeral: bool) -> Entry {
        Entry {
            when,
            prev: NIL,
            next: NIL,
            list: List::None,
            generation,
            fired: false,
            ephemeral,
            waker,
        }
    }
}
