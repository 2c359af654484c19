//! One level of the wheel: 64 slot list heads and a 64-bit occupancy bitmap.

use super::NIL;

pub(crate) const SLOT_BITS: u32 = 6;
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;

pub(crate) struct Level {
    /// Head entry index of each slot's list (`NIL` when empty).
    pub(super) heads: [u32; SLOTS],
    /// Bit `s` is set iff slot `s` is non-empty.
    pub(super) occupied: u64,
}

impl Level {
    pub(super) const fn new() -> Level {
        Level {
            heads: [NIL; SLOTS],
            occupied: 0,
        }
    }

    /// Width of one slot of `level`, in ticks: 64^level.
    pub(super) const fn slot_width_bits(level: usize) -> u32 {
        SLOT_BITS * level as u32
    }

    /// The lowest occupied slot, if any.
    ///
    /// The wheel keeps every occupied slot of a level strictly after the slot that its
    /// `elapsed` tick falls in, so the lowest occupied slot is also the next one in time.
    pub(super) fn first_occupied(&self) -> Option<usize> {
        if self.occupied == 0 {
            None
        } else {
            Some(self.occupied.trailing_zeros() as usize)
        }
    }

    /// Start tick of `slot` within the level-span window that contains `elapsed`.
    pub(super) fn slot_start(level: usize, slot: usize, elapsed: u64) -> u64 {
        let shift = Self::slot_width_bits(level);
        let span_mask = (1u64 << (shift + SLOT_BITS)) - 1;
        (elapsed & !span_mask) + ((slot as u64) << shift)
    }

    /// The slot that tick `t` falls in at `level`.
    pub(super) fn slot_of(level: usize, t: u64) -> usize {
        ((t >> Self::slot_width_bits(level)) & (SLOTS as u64 - 1)) as usize
    }
}
