//! A hierarchical timer wheel with 1 ms ticks.
//!
//! Ticks are `u64` milliseconds since the reactor's origin, so they never wrap. Six levels of
//! 64 slots cover 2^36 ms (about 2.2 years) ahead of `elapsed` (the last processed tick); level
//! `L` has slots 64^L ms wide. Deadlines farther away sit in an overflow list and move into the
//! wheel once `elapsed` enters their 2^36-tick epoch. Deadlines at or before `elapsed` sit in an
//! expired list that the next [`Wheel::process`] fires first.
//!
//! Entries live in a table of their own (a `Vec`, with a bitmap of the free entries) and are
//! linked into per-slot doubly linked lists by index, so insert and cancel are O(1), touch one
//! entry plus at most two neighbours, and a steady state of insert/cancel allocates nothing.
//! Freed entries are reused lowest index first, which keeps timers armed together in
//! neighbouring entries (see [`FreeSet`](free::FreeSet)). Each level has a 64-bit occupancy
//! bitmap.
//!
//! Invariant (for every armed entry with `when > elapsed`): if `when ^ elapsed < 2^36`, the
//! entry is at level `L` = the 6-bit group of the highest bit in which `when` and `elapsed`
//! differ (level 0 for the lowest six bits), in slot `(when >> 6L) & 63`. That slot is then
//! strictly after `elapsed`'s own slot at that level, and every entry at a lower level is due
//! earlier than every entry at a higher one. [`Wheel::process`] moves `elapsed` from slot start
//! to slot start, firing entries whose deadline is reached and re-placing the others (which
//! then land at a lower level: "cascading"), so the invariant holds after each step.

mod entry;
mod free;

#[cfg(test)]
mod tests;

use std::mem;
use std::task::Waker;

use entry::{Entry, DETACHED, FIRED, VACANT};
use free::FreeSet;

/// "No entry" in the intrusive lists.
pub(crate) const NIL: u32 = u32::MAX;
pub(crate) const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks covered by the wheel's levels: 2^36 ms.
pub(crate) const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// Largest deadline tick; farther deadlines are clamped to it (about 146 million years).
pub(crate) const MAX_TICK: u64 = 1 << 62;

/// List heads: `level * 64 + slot` for the wheel's slots, then these two.
const OVERFLOW: u16 = (LEVELS * SLOTS) as u16;
const EXPIRED: u16 = OVERFLOW + 1;
const HEADS: usize = EXPIRED as usize + 1;

/// A timer's identity: entry index plus the generation it was created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimerId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// What [`Wheel::poll`] found.
pub(crate) enum TimerPoll {
    /// The timer fired; its entry is freed and the id is now stale.
    Fired,
    /// Still armed; the waker is stored. Carries the replaced waker, to drop outside borrows.
    Pending(Option<Waker>),
    /// The id names no live timer (already consumed or cancelled).
    Stale,
}

pub(crate) struct Wheel {
    entries: Vec<Entry>,
    /// The vacant entries.
    free: FreeSet,
    /// Entries in use (armed, or fired and not yet consumed).
    used: usize,
    heads: [u32; HEADS],
    /// Bit `s` of `occupied[L]` is set iff slot `s` of level `L` is non-empty.
    occupied: [u64; LEVELS],
    /// Lower bound of the deadlines in the overflow list (`u64::MAX` when empty). It may be
    /// stale-low after a cancel, which only costs a spurious `process` step.
    overflow_min: u64,
    elapsed: u64,
    armed: usize,
    scratch: Vec<u32>,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Vec::new(),
            free: FreeSet::new(),
            used: 0,
            heads: [NIL; HEADS],
            occupied: [0; LEVELS],
            overflow_min: u64::MAX,
            elapsed: 0,
            armed: 0,
            scratch: Vec::new(),
        }
    }

    /// The last processed tick.
    #[cfg(test)]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Armed (not yet fired) timers.
    pub(crate) fn armed(&self) -> usize {
        self.armed
    }

    /// Entries in use: armed timers plus fired ones whose key was not yet consumed.
    pub(crate) fn slots(&self) -> usize {
        self.used
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Arms a timer for tick `when` (clamped to [`MAX_TICK`]). A `when` at or before
    /// `elapsed` fires at the next [`process`](Wheel::process). An `ephemeral` timer frees
    /// itself when it fires.
    #[inline]
    pub(crate) fn insert(&mut self, when: u64, waker: Option<Waker>, ephemeral: bool) -> TimerId {
        let index = match self.free.take() {
            Some(index) => index,
            None => {
                let index = self.entries.len();
                assert!(
                    index < NIL as usize,
                    "strand: more than 4 billion live timers"
                );
                self.entries.push(Entry::vacant());
                index as u32
            }
        };
        self.used += 1;
        self.armed += 1;
        let when = when.min(MAX_TICK);
        let list = self.list_for(when);
        let e = &mut self.entries[index as usize];
        debug_assert_eq!(e.list, VACANT);
        e.when = when;
        e.ephemeral = ephemeral;
        e.waker = waker;
        let generation = e.generation;
        self.push(list, index);
        TimerId { index, generation }
    }

    /// The entry `id` names, if it is still in use.
    #[inline]
    fn live(&self, id: TimerId) -> Option<&Entry> {
        // A freed entry's generation moved on, and a vacant one's matches no issued id.
        self.entries
            .get(id.index as usize)
            .filter(|e| e.generation == id.generation)
    }

    /// Moves a live timer's deadline (re-arming it if it had fired). Returns false for a stale
    /// id, or an ephemeral timer (which stays as it is: whoever armed it counts on its deadline
    /// not moving, see `time::start_once`).
    pub(crate) fn reset(&mut self, id: TimerId, when: u64) -> bool {
        let Some(e) = self.live(id) else {
            return false;
        };
        if e.ephemeral {
            return false;
        }
        if e.list == FIRED {
            self.armed += 1;
        } else {
            self.unlink(id.index);
        }
        let when = when.min(MAX_TICK);
        self.entries[id.index as usize].when = when;
        let list = self.list_for(when);
        self.push(list, id.index);
        true
    }

    /// Removes a live timer, armed or fired. Returns its waker (to drop outside borrows), or
    /// `None` for a stale id.
    #[inline]
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<Option<Waker>> {
        let e = self.live(id)?;
        if e.list != FIRED {
            self.unlink(id.index);
            self.armed -= 1;
        }
        Some(self.free_entry(id.index))
    }

    /// Checks a timer: a fired one is freed (`Fired`), an armed one stores `waker`.
    #[inline]
    pub(crate) fn poll(&mut self, id: TimerId, waker: &Waker) -> TimerPoll {
        let Some(e) = self.live(id) else {
            return TimerPoll::Stale;
        };
        if e.list == FIRED {
            let w = self.free_entry(id.index);
            debug_assert!(w.is_none());
            return TimerPoll::Fired;
        }
        let e = &mut self.entries[id.index as usize];
        match &e.waker {
            Some(w) if w.will_wake(waker) => TimerPoll::Pending(None),
            _ => TimerPoll::Pending(e.waker.replace(waker.clone())),
        }
    }

    /// Whether every timer armed for `tick` or earlier has fired: `tick` is at or before the
    /// last processed tick and no timer waits in the expired list (where a timer armed for a
    /// processed tick goes until the next [`process`](Wheel::process)).
    #[inline]
    pub(crate) fn has_fired_through(&self, tick: u64) -> bool {
        tick <= self.elapsed && self.heads[EXPIRED as usize] == NIL
    }

    /// Whether `id` names a live timer that has fired and not been consumed.
    #[cfg(test)]
    pub(crate) fn is_fired(&self, id: TimerId) -> bool {
        self.live(id).is_some_and(|e| e.list == FIRED)
    }

    /// The next tick at which [`process`](Wheel::process) has work: a deadline, or a slot
    /// start where timers cascade to a lower level (never later than the earliest armed
    /// deadline). `elapsed` itself when expired timers wait; `None` when nothing is armed.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        if self.heads[EXPIRED as usize] != NIL {
            return Some(self.elapsed);
        }
        if let Some((_, start)) = self.next_slot() {
            return Some(start);
        }
        if self.heads[OVERFLOW as usize] != NIL {
            return Some(epoch_start(self.overflow_min).max(self.elapsed + 1));
        }
        None
    }

    /// The lowest occupied slot of the lowest non-empty level (as a list head index), with
    /// its start tick.
    ///
    /// Every occupied slot of a level is strictly after the slot that `elapsed` falls in, so
    /// the lowest occupied slot is also the next one in time.
    fn next_slot(&self) -> Option<(u16, u64)> {
        for (level, &bits) in self.occupied.iter().enumerate() {
            if bits != 0 {
                let slot = bits.trailing_zeros() as u64;
                let shift = SLOT_BITS * level as u32;
                debug_assert!(slot > (self.elapsed >> shift) & (SLOTS as u64 - 1));
                let span_mask = (1u64 << (shift + SLOT_BITS)) - 1;
                let start = (self.elapsed & !span_mask) + (slot << shift);
                return Some(((level * SLOTS) as u16 + slot as u16, start));
            }
        }
        None
    }

    /// Advances to tick `now`, firing every timer whose deadline is `<= now` in deadline order:
    /// `on_fire` gets its id and waker (call the waker after releasing every borrow). Returns
    /// how many fired.
    pub(crate) fn process(
        &mut self,
        now: u64,
        mut on_fire: impl FnMut(TimerId, Option<Waker>),
    ) -> usize {
        let mut fired = 0;
        if self.heads[EXPIRED as usize] != NIL {
            let mut batch = mem::take(&mut self.scratch);
            let mut cur = self.take_list(EXPIRED);
            while cur != NIL {
                batch.push(cur);
                cur = self.detach_next(cur);
            }
            batch.sort_by_key(|&i| self.entries[i as usize].when);
            for &i in &batch {
                self.fire(i, &mut on_fire);
                fired += 1;
            }
            batch.clear();
            self.scratch = batch;
        }
        loop {
            let list = if let Some((list, start)) = self.next_slot() {
                if start > now {
                    break;
                }
                self.elapsed = start;
                list
            } else if self.heads[OVERFLOW as usize] != NIL {
                let epoch = epoch_start(self.overflow_min).max(self.elapsed + 1);
                if epoch > now {
                    break;
                }
                self.elapsed = epoch;
                self.overflow_min = u64::MAX;
                OVERFLOW
            } else {
                break;
            };
            let mut cur = self.take_list(list);
            while cur != NIL {
                let next = self.detach_next(cur);
                let when = self.entries[cur as usize].when;
                if when <= self.elapsed {
                    self.fire(cur, &mut on_fire);
                    fired += 1;
                } else {
                    let to = self.list_for(when);
                    self.push(to, cur);
                }
                cur = next;
            }
        }
        if now > self.elapsed {
            self.elapsed = now;
        }
        fired
    }

    #[inline]
    fn fire(&mut self, index: u32, on_fire: &mut impl FnMut(TimerId, Option<Waker>)) {
        self.armed -= 1;
        let e = &mut self.entries[index as usize];
        let id = TimerId {
            index,
            generation: e.generation,
        };
        let waker = if e.ephemeral {
            self.free_entry(index)
        } else {
            e.list = FIRED;
            e.waker.take()
        };
        on_fire(id, waker);
    }

    /// Returns an entry to the free set (its generation moves on); gives back its waker.
    #[inline]
    fn free_entry(&mut self, index: u32) -> Option<Waker> {
        let e = &mut self.entries[index as usize];
        e.generation = e.generation.wrapping_add(1);
        e.list = VACANT;
        self.free.put(index);
        self.used -= 1;
        e.waker.take()
    }

    /// The list an armed entry due at `when` belongs in, relative to `elapsed`.
    #[inline]
    fn list_for(&mut self, when: u64) -> u16 {
        if when <= self.elapsed {
            return EXPIRED;
        }
        let diff = when ^ self.elapsed;
        if diff >> WHEEL_BITS != 0 {
            self.overflow_min = self.overflow_min.min(when);
            return OVERFLOW;
        }
        let significant = 63 - (diff | (SLOTS as u64 - 1)).leading_zeros();
        let level = significant / SLOT_BITS;
        let slot = (when >> (level * SLOT_BITS)) & (SLOTS as u64 - 1);
        (level as usize * SLOTS) as u16 + slot as u16
    }

    /// Links an unlinked, armed entry at the head of `list`.
    #[inline]
    fn push(&mut self, list: u16, index: u32) {
        let old_head = mem::replace(&mut self.heads[list as usize], index);
        if list < OVERFLOW {
            self.occupied[list as usize / SLOTS] |= 1 << (list as usize % SLOTS);
        }
        if old_head != NIL {
            self.entries[old_head as usize].prev = index;
        }
        let e = &mut self.entries[index as usize];
        e.list = list;
        e.prev = NIL;
        e.next = old_head;
    }

    /// Takes an armed entry off its list (it stays armed, to be re-linked or freed).
    #[inline]
    fn unlink(&mut self, index: u32) {
        let e = &self.entries[index as usize];
        let (list, prev, next) = (e.list, e.prev, e.next);
        debug_assert!(list < HEADS as u16, "unlinking an entry that is not linked");
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.heads[list as usize] = next;
            if next == NIL && list < OVERFLOW {
                self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
            }
        }
        self.entries[index as usize].list = DETACHED;
    }

    /// Detaches a whole list, returning its first entry (entries keep their `next` links;
    /// walk them with [`detach_next`](Wheel::detach_next)).
    fn take_list(&mut self, list: u16) -> u32 {
        let head = mem::replace(&mut self.heads[list as usize], NIL);
        if list < OVERFLOW {
            self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
        }
        head
    }

    /// Marks an entry of a detached list as unlinked and returns the next one.
    #[inline]
    fn detach_next(&mut self, index: u32) -> u32 {
        let e = &mut self.entries[index as usize];
        e.list = DETACHED;
        e.next
    }
}

/// First tick of the 2^36-tick epoch that `t` falls in.
fn epoch_start(t: u64) -> u64 {
    (t >> WHEEL_BITS) << WHEEL_BITS
}

impl Wheel {
    /// `Poll` form of [`Wheel::poll`] for callers that only need readiness.
    #[cfg(test)]
    pub(crate) fn poll_ready(&mut self, id: TimerId, waker: &Waker) -> std::task::Poll<()> {
        match self.poll(id, waker) {
            TimerPoll::Fired | TimerPoll::Stale => std::task::Poll::Ready(()),
            TimerPoll::Pending(_) => std::task::Poll::Pending,
        }
    }
}
