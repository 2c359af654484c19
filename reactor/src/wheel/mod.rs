//! A hierarchical timer wheel with 1 ms ticks.
//!
//! Ticks are `u64` milliseconds since the reactor's origin, so they never wrap. Six levels of
//! 64 slots cover 2^36 ms (about 2.2 years) ahead of `elapsed` (the last processed tick); level
//! `L` has slots 64^L ms wide. Deadlines farther away sit in an overflow list and move into the
//! wheel once `elapsed` enters their 2^36-tick epoch. Deadlines at or before `elapsed` sit in an
//! expired list that the next [`Wheel::process`] fires first.
//!
//! Entries live in a [`Slab`] and are linked into per-slot doubly linked lists by slab index,
//! so insert and cancel are O(1) and a steady state of insert/cancel allocates nothing (the
//! slab reuses its vacant entries). Each level has a 64-bit occupancy bitmap.
//!
//! Invariant (for every armed entry with `when > elapsed`): if `when ^ elapsed < 2^36`, the
//! entry is at level `L` = the 6-bit group of the highest bit in which `when` and `elapsed`
//! differ (level 0 for the lowest six bits), in slot `(when >> 6L) & 63`. That slot is then
//! strictly after `elapsed`'s own slot at that level, and every entry at a lower level is due
//! earlier than every entry at a higher one. [`Wheel::process`] moves `elapsed` from slot start
//! to slot start, firing entries whose deadline is reached and re-placing the others (which
//! then land at a lower level: "cascading"), so the invariant holds after each step.

mod entry;
mod level;

#[cfg(test)]
mod tests;

use std::mem;
use std::task::Waker;

use slab::Slab;

use entry::{Entry, List};
use level::{Level, SLOTS, SLOT_BITS};

/// "No entry" in the intrusive lists.
pub(crate) const NIL: u32 = u32::MAX;
pub(crate) const LEVELS: usize = 6;
/// Ticks covered by the wheel's levels: 2^36 ms.
pub(crate) const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// Largest deadline tick; farther deadlines are clamped to it (about 146 million years).
pub(crate) const MAX_TICK: u64 = 1 << 62;

/// A timer's identity: slab index plus the generation it was created with.
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
    entries: Slab<Entry>,
    levels: [Level; LEVELS],
    overflow: u32,
    /// Lower bound of the deadlines in the overflow list (`u64::MAX` when empty). It may be
    /// stale-low after a cancel, which only costs a spurious `process` step.
    overflow_min: u64,
    expired: u32,
    elapsed: u64,
    armed: usize,
    next_generation: u32,
    scratch: Vec<u32>,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        const EMPTY: Level = Level::new();
        Wheel {
            entries: Slab::new(),
            levels: [EMPTY; LEVELS],
            overflow: NIL,
            overflow_min: u64::MAX,
            expired: NIL,
            elapsed: 0,
            armed: 0,
            next_generation: 0,
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

    /// Occupied slab entries: armed timers plus fired ones whose key was not yet consumed.
    pub(crate) fn slots(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Arms a timer for tick `when` (clamped to [`MAX_TICK`]). A `when` at or before
    /// `elapsed` fires at the next [`process`](Wheel::process). An `ephemeral` timer frees
    /// itself when it fires.
    pub(crate) fn insert(&mut self, when: u64, waker: Option<Waker>, ephemeral: bool) -> TimerId {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        let index =
            self.entries
                .insert(Entry::new(when.min(MAX_TICK), generation, waker, ephemeral));
        assert!(
            index < NIL as usize,
            "strand: more than 4 billion live timers"
        );
        let index = index as u32;
        self.armed += 1;
        self.place(index);
        TimerId { index, generation }
    }

    fn live(&self, id: TimerId) -> bool {
        matches!(self.entries.get(id.index as usize), Some(e) if e.generation == id.generation)
    }

    /// Moves a live timer's deadline (re-arming it if it had fired). Returns false for a stale
    /// id.
    pub(crate) fn reset(&mut self, id: TimerId, when: u64) -> bool {
        if !self.live(id) {
            return false;
        }
        let e = &mut self.entries[id.index as usize];
        if e.fired {
            e.fired = false;
            self.armed += 1;
        } else {
            self.unlink(id.index);
        }
        self.entries[id.index as usize].when = when.min(MAX_TICK);
        self.place(id.index);
        true
    }

    /// Removes a live timer, armed or fired. Returns its waker (to drop outside borrows), or
    /// `None` for a stale id.
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<Option<Waker>> {
        if !self.live(id) {
            return None;
        }
        if !self.entries[id.index as usize].fired {
            self.unlink(id.index);
            self.armed -= 1;
        }
        Some(self.entries.remove(id.index as usize).waker)
    }

    /// Checks a timer: a fired one is freed (`Fired`), an armed one stores `waker`.
    pub(crate) fn poll(&mut self, id: TimerId, waker: &Waker) -> TimerPoll {
        if !self.live(id) {
            return TimerPoll::Stale;
        }
        let e = &mut self.entries[id.index as usize];
        if e.fired {
            let e = self.entries.remove(id.index as usize);
            debug_assert!(e.waker.is_none());
            return TimerPoll::Fired;
        }
        match &e.waker {
            Some(w) if w.will_wake(waker) => TimerPoll::Pending(None),
            _ => TimerPoll::Pending(e.waker.replace(waker.clone())),
        }
    }

    /// Whether `id` names a live timer that has fired and not been consumed.
    #[cfg(test)]
    pub(crate) fn is_fired(&self, id: TimerId) -> bool {
        self.live(id) && self.entries[id.index as usize].fired
    }

    /// The next tick at which [`process`](Wheel::process) has work: a deadline, or a slot
    /// start where timers cascade to a lower level (never later than the earliest armed
    /// deadline). `elapsed` itself when expired timers wait; `None` when nothing is armed.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        if self.expired != NIL {
            return Some(self.elapsed);
        }
        if let Some((_, _, start)) = self.next_slot() {
            return Some(start);
        }
        if self.overflow != NIL {
            return Some(epoch_start(self.overflow_min).max(self.elapsed + 1));
        }
        None
    }

    /// The lowest occupied slot of the lowest non-empty level, with its start tick.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for (level, l) in self.levels.iter().enumerate() {
            if let Some(slot) = l.first_occupied() {
                debug_assert!(slot > Level::slot_of(level, self.elapsed));
                return Some((level, slot, Level::slot_start(level, slot, self.elapsed)));
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
        if self.expired != NIL {
            let mut batch = mem::take(&mut self.scratch);
            let mut cur = self.take_list(List::Expired);
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
            if let Some((level, slot, start)) = self.next_slot() {
                if start > now {
                    break;
                }
                self.elapsed = start;
                let mut cur = self.take_list(List::Slot((level * SLOTS + slot) as u16));
                while cur != NIL {
                    let next = self.detach_next(cur);
                    if self.entries[cur as usize].when <= self.elapsed {
                        self.fire(cur, &mut on_fire);
                        fired += 1;
                    } else {
                        self.place(cur);
                    }
                    cur = next;
                }
                continue;
            }
            if self.overflow != NIL {
                let epoch = epoch_start(self.overflow_min).max(self.elapsed + 1);
                if epoch > now {
                    break;
                }
                self.elapsed = epoch;
                self.overflow_min = u64::MAX;
                let mut cur = self.take_list(List::Overflow);
                while cur != NIL {
                    let next = self.detach_next(cur);
                    if self.entries[cur as usize].when <= self.elapsed {
                        self.fire(cur, &mut on_fire);
                        fired += 1;
                    } else {
                        self.place(cur);
                    }
                    cur = next;
                }
                continue;
            }
            break;
        }
        if now > self.elapsed {
            self.elapsed = now;
        }
        fired
    }

    fn fire(&mut self, index: u32, on_fire: &mut impl FnMut(TimerId, Option<Waker>)) {
        self.armed -= 1;
        let e = &mut self.entries[index as usize];
        let id = TimerId {
            index,
            generation: e.generation,
        };
        let waker = if e.ephemeral {
            self.entries.remove(index as usize).waker
        } else {
            e.fired = true;
            e.waker.take()
        };
        on_fire(id, waker);
    }

    /// Links an unlinked, armed entry where its deadline belongs relative to `elapsed`.
    fn place(&mut self, index: u32) {
        let when = self.entries[index as usize].when;
        let list = if when <= self.elapsed {
            List::Expired
        } else {
            let diff = when ^ self.elapsed;
            if diff >> WHEEL_BITS != 0 {
                self.overflow_min = self.overflow_min.min(when);
                List::Overflow
            } else {
                let significant = 63 - (diff | (SLOTS as u64 - 1)).leading_zeros();
                let level = (significant / SLOT_BITS) as usize;
                List::Slot((level * SLOTS + Level::slot_of(level, when)) as u16)
            }
        };
        self.push(list, index);
    }

    fn head_mut(&mut self, list: List) -> &mut u32 {
        match list {
            List::Slot(s) => {
                let (level, slot) = (s as usize / SLOTS, s as usize % SLOTS);
                &mut self.levels[level].heads[slot]
            }
            List::Overflow => &mut self.overflow,
            List::Expired => &mut self.expired,
            List::None => unreachable!("no list head for an unlinked entry"),
        }
    }

    fn push(&mut self, list: List, index: u32) {
        let old_head = mem::replace(self.head_mut(list), index);
        if let List::Slot(s) = list {
            self.levels[s as usize / SLOTS].occupied |= 1 << (s as usize % SLOTS);
        }
        if old_head != NIL {
            self.entries[old_head as usize].prev = index;
        }
        let e = &mut self.entries[index as usize];
        debug_assert_eq!(e.list, List::None);
        e.list = list;
        e.prev = NIL;
        e.next = old_head;
    }

    fn unlink(&mut self, index: u32) {
        let e = &mut self.entries[index as usize];
        let (list, prev, next) = (e.list, e.prev, e.next);
        e.list = List::None;
        e.prev = NIL;
        e.next = NIL;
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            *self.head_mut(list) = next;
            if next == NIL {
                if let List::Slot(s) = list {
                    self.levels[s as usize / SLOTS].occupied &= !(1 << (s as usize % SLOTS));
                }
            }
        }
    }

    /// Detaches a whole list, returning its first entry (entries keep their `next` links;
    /// walk them with [`detach_next`](Wheel::detach_next)).
    fn take_list(&mut self, list: List) -> u32 {
        let head = mem::replace(self.head_mut(list), NIL);
        if let List::Slot(s) = list {
            self.levels[s as usize / SLOTS].occupied &= !(1 << (s as usize % SLOTS));
        }
        head
    }

    /// Marks an entry of a detached list as unlinked and returns the next one.
    fn detach_next(&mut self, index: u32) -> u32 {
        let e = &mut self.entries[index as usize];
        let next = e.next;
        e.list = List::None;
        e.prev = NIL;
        e.next = NIL;
        next
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
