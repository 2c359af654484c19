//! The per-registration state kept in the reactor's slab: readiness, tick and wakers for each
//! direction.
//!
//! Every method that replaces or removes a waker hands the old one back instead of dropping it,
//! so the caller can drop it after releasing the slab borrow (a waker's `Drop` may re-enter
//! the reactor).

use std::task::Waker;

use slab::Slab;

use crate::ready::{Direction, Ready, ReadyEvent};

/// Bits that a `WouldBlock` may clear in each direction (closed bits are final).
const CLEARABLE: Ready = Ready::READABLE
    .union(Ready::WRITABLE)
    .union(Ready::ERROR)
    .union(Ready::PRIORITY);

/// Outcome of [`ScheduledIo::clear`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Clear {
    /// The observed bits were cleared.
    Cleared,
    /// A newer event arrived since: nothing cleared, the fresh readiness stays.
    Stale,
    /// Current, but only final (closed) bits were observed: nothing to clear.
    Nothing,
}

/// One registration's state: 64 bytes, one cache line (checked by a test). Per direction
/// (index [`Direction::index`]): readiness bits, an event tick, and the `poll_ready` waker; the
/// waiter lists of [`Readiness`](crate::Readiness) futures live in a box allocated on first
/// use (most sockets never have one: a stream's reader and writer use the per-direction waker).
pub(crate) struct ScheduledIo {
    /// Bumped by every event that touches the direction; never by the other direction.
    ticks: [u64; 2],
    /// The `poll_ready` wakers: only the last one counts.
    wakers: [Option<Waker>; 2],
    /// One entry per live `Readiness` future and direction; `None` once woken.
    waiters: Option<Box<[Slab<Option<Waker>>; 2]>>,
    pub(crate) generation: u32,
    ready: [Ready; 2],
    /// Gives the type a niche, so the reactor slab's `Entry` enum fits in the same 64 bytes.
    _niche: Niche,
}

/// A one-value byte: the other 255 values are a niche for enclosing enums.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Niche {
    Only = 0,
}

impl ScheduledIo {
    pub(crate) fn new(generation: u32) -> ScheduledIo {
        ScheduledIo {
            ticks: [0; 2],
            wakers: [None, None],
            waiters: None,
            generation,
            ready: [Ready::EMPTY; 2],
            _niche: Niche::Only,
        }
    }

    /// Records a mio event and moves the wakers of every direction it touches into `wake`.
    #[inline]
    pub(crate) fn on_event(&mut self, ev: &mio::event::Event, wake: &mut Vec<Waker>) {
        let mut read = Ready::EMPTY;
        let mut write = Ready::EMPTY;
        if ev.is_readable() {
            read |= Ready::READABLE;
        }
        if ev.is_read_closed() {
            read |= Ready::READ_CLOSED;
        }
        if ev.is_priority() {
            read |= Ready::PRIORITY;
        }
        if ev.is_writable() {
            write |= Ready::WRITABLE;
        }
        if ev.is_write_closed() {
            write |= Ready::WRITE_CLOSED;
        }
        if ev.is_error() {
            read |= Ready::ERROR;
            write |= Ready::ERROR;
        }
        self.deliver(read, write, wake);
    }

    #[inline]
    pub(crate) fn deliver(&mut self, read: Ready, write: Ready, wake: &mut Vec<Waker>) {
        if !read.is_empty() {
            self.deliver_dir(0, read, wake);
        }
        if !write.is_empty() {
            self.deliver_dir(1, write, wake);
        }
    }

    #[inline]
    fn deliver_dir(&mut self, i: usize, bits: Ready, wake: &mut Vec<Waker>) {
        self.ready[i] |= bits;
        self.ticks[i] = self.ticks[i].wrapping_add(1);
        self.take_wakers(i, wake);
    }

    #[inline]
    fn take_wakers(&mut self, i: usize, wake: &mut Vec<Waker>) {
        if let Some(w) = self.wakers[i].take() {
            wake.push(w);
        }
        if let Some(waiters) = &mut self.waiters {
            for (_, w) in waiters[i].iter_mut() {
                wake.extend(w.take());
            }
        }
    }

    /// The direction's readiness if it makes the direction ready.
    #[inline]
    pub(crate) fn ready_event(&self, dir: Direction) -> Option<ReadyEvent> {
        let i = dir.index();
        let ready = self.ready[i];
        if ready.intersects(dir.ready_mask()) {
            Some(ReadyEvent {
                ready,
                tick: self.ticks[i],
                dir,
            })
        } else {
            None
        }
    }

    pub(crate) fn ready(&self, dir: Direction) -> Ready {
        self.ready[dir.index()]
    }

    /// Clears what `ev` observed unless a newer event arrived in that direction.
    pub(crate) fn clear(&mut self, ev: ReadyEvent) -> Clear {
        let i = ev.dir.index();
        if self.ticks[i] != ev.tick {
            return Clear::Stale;
        }
        let bits = ev.ready & CLEARABLE;
        if bits.is_empty() {
            return Clear::Nothing;
        }
        self.ready[i] = self.ready[i] - bits;
        Clear::Cleared
    }

    /// After an operation that proved the direction's queue empty (a short read or write on a
    /// stream socket): clears the readiness bit of `ev`'s direction (`READABLE` or `WRITABLE`)
    /// unless a newer event arrived in that direction. Closed, error and priority bits stay;
    /// if `ev` observed `PRIORITY` (urgent data, at which a stream read stops short) nothing
    /// is cleared.
    pub(crate) fn clear_drained(&mut self, ev: ReadyEvent) -> Clear {
        let i = ev.dir.index();
        if self.ticks[i] != ev.tick {
            return Clear::Stale;
        }
        let bit = match ev.dir {
            Direction::Read if ev.ready.is_priority() => return Clear::Nothing,
            Direction::Read => Ready::READABLE,
            Direction::Write => Ready::WRITABLE,
        };
        if !self.ready[i].intersects(bit) {
            return Clear::Nothing;
        }
        self.ready[i] = self.ready[i] - bit;
        Clear::Cleared
    }

    /// Makes `waker` the direction's `poll_ready` waker; returns the replaced one.
    #[inline]
    pub(crate) fn set_waker(&mut self, dir: Direction, waker: &Waker) -> Option<Waker> {
        let slot = &mut self.wakers[dir.index()];
        match slot {
            Some(w) if w.will_wake(waker) => None,
            _ => slot.replace(waker.clone()),
        }
    }

    /// Stores `waker` in the waiter entry `key` (inserting one if `None`); returns the key and
    /// the replaced waker.
    pub(crate) fn set_waiter(
        &mut self,
        dir: Direction,
        key: Option<usize>,
        waker: &Waker,
    ) -> (usize, Option<Waker>) {
        let waiters = &mut self.waiters.get_or_insert_with(Default::default)[dir.index()];
        match key.and_then(|k| waiters.get_mut(k).map(|w| (k, w))) {
            Some((k, slot)) => match slot {
                Some(w) if w.will_wake(waker) => (k, None),
                _ => (k, slot.replace(waker.clone())),
            },
            None => (waiters.insert(Some(waker.clone())), None),
        }
    }

    pub(crate) fn remove_waiter(&mut self, dir: Direction, key: usize) -> Option<Waker> {
        self.waiters.as_mut()?[dir.index()]
            .try_remove(key)
            .flatten()
    }

    /// Moves every waker (both directions, all waiters) into `wake`.
    pub(crate) fn take_all_wakers(&mut self, wake: &mut Vec<Waker>) {
        self.take_wakers(0, wake);
        self.take_wakers(1, wake);
    }

    #[cfg(test)]
    pub(crate) fn waiter_count(&self, dir: Direction) -> usize {
        self.waiters.as_ref().map_or(0, |w| w[dir.index()].len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn a_registration_slot_is_one_cache_line() {
        // The reactor's slab stores `slab::Entry<ScheduledIo>`, an enum shaped like this one.
        #[allow(dead_code)]
        enum Entry {
            Vacant(usize),
            Occupied(ScheduledIo),
        }
        assert!(std::mem::size_of::<ScheduledIo>() <= 64);
        assert!(std::mem::size_of::<Entry>() <= 64);
    }

    #[test]
    fn waiter_lists_are_allocated_on_first_use_only() {
        let mut io = ScheduledIo::new(0);
        let (_c, w) = waker();
        assert!(io.waiters.is_none());
        assert!(io.set_waker(Direction::Read, &w).is_none());
        assert!(io.remove_waiter(Direction::Read, 0).is_none());
        assert!(
            io.waiters.is_none(),
            "no waiter storage for poll_ready users"
        );
        let (k, _) = io.set_waiter(Direction::Write, None, &w);
        assert_eq!(io.waiter_count(Direction::Write), 1);
        assert_eq!(io.waiter_count(Direction::Read), 0);
        let mut wake = Vec::new();
        io.take_all_wakers(&mut wake);
        assert_eq!(wake.len(), 2, "the poll_ready waker and the waiter");
        assert!(
            io.remove_waiter(Direction::Write, k).is_none(),
            "already woken"
        );
        assert_eq!(io.waiter_count(Direction::Write), 0);
    }

    #[test]
    fn stale_clear_keeps_fresh_readiness() {
        let mut io = ScheduledIo::new(0);
        let mut wake = Vec::new();
        io.deliver(Ready::READABLE, Ready::EMPTY, &mut wake);
        let seen = io.ready_event(Direction::Read).unwrap();
        io.deliver(Ready::READABLE, Ready::EMPTY, &mut wake);
        assert_eq!(
            io.clear(seen),
            Clear::Stale,
            "a stale clear must not wipe the new event"
        );
        assert!(io.ready_event(Direction::Read).is_some());
        let fresh = io.ready_event(Direction::Read).unwrap();
        assert_eq!(io.clear(fresh), Clear::Cleared);
        assert!(io.ready_event(Direction::Read).is_none());
    }

    #[test]
    fn write_events_do_not_block_read_clears() {
        let mut io = ScheduledIo::new(0);
        let mut wake = Vec::new();
        io.deliver(Ready::READABLE, Ready::WRITABLE, &mut wake);
        let seen = io.ready_event(Direction::Read).unwrap();
        for _ in 0..1000 {
            io.deliver(Ready::EMPTY, Ready::WRITABLE, &mut wake);
        }
        assert_eq!(io.clear(seen), Clear::Cleared);
        assert!(io.ready_event(Direction::Read).is_none());
        assert!(io.ready_event(Direction::Write).is_some());
    }

    #[test]
    fn closed_bits_survive_clear_and_error_is_per_direction() {
        let mut io = ScheduledIo::new(0);
        let mut wake = Vec::new();
        io.deliver(
            Ready::READABLE | Ready::READ_CLOSED | Ready::ERROR,
            Ready::ERROR,
            &mut wake,
        );
        let r = io.ready_event(Direction::Read).unwrap();
        assert_eq!(io.clear(r), Clear::Cleared);
        assert_eq!(io.ready(Direction::Read), Ready::READ_CLOSED);
        let closed = io.ready_event(Direction::Read).unwrap();
        assert_eq!(io.clear(closed), Clear::Nothing);
        // The write side still sees its error.
        assert!(io.ready(Direction::Write).is_error());
    }

    #[test]
    fn only_the_last_waker_is_woken_and_old_ones_come_back() {
        let mut io = ScheduledIo::new(0);
        let (c1, w1) = waker();
        let (c2, w2) = waker();
        assert!(io.set_waker(Direction::Read, &w1).is_none());
        let old = io.set_waker(Direction::Read, &w2);
        assert!(old.unwrap().will_wake(&w1));
        let mut wake = Vec::new();
        io.deliver(Ready::READABLE, Ready::EMPTY, &mut wake);
        for w in wake.drain(..) {
            w.wake();
        }
        assert_eq!(c1.0.load(Ordering::SeqCst), 0);
        assert_eq!(c2.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn every_waiter_is_woken() {
        let mut io = ScheduledIo::new(0);
        let (c1, w1) = waker();
        let (c2, w2) = waker();
        let (k1, _) = io.set_waiter(Direction::Read, None, &w1);
        let (k2, _) = io.set_waiter(Direction::Read, None, &w2);
        assert_ne!(k1, k2);
        let mut wake = Vec::new();
        io.deliver(Ready::EMPTY, Ready::WRITABLE, &mut wake);
        assert!(wake.is_empty(), "a write event must not wake readers");
        io.deliver(Ready::READABLE, Ready::EMPTY, &mut wake);
        assert_eq!(wake.len(), 2);
        wake.drain(..).for_each(Waker::wake);
        assert_eq!(c1.0.load(Ordering::SeqCst), 1);
        assert_eq!(c2.0.load(Ordering::SeqCst), 1);
        assert!(io.remove_waiter(Direction::Read, k1).is_none());
        assert_eq!(io.waiter_count(Direction::Read), 1);
    }
}
