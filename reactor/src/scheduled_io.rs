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

#[derive(Default)]
struct DirState {
    ready: Ready,
    /// Bumped by every event that touches this direction; never by the other direction.
    tick: u64,
    /// The `poll_ready` waker: only the last one counts.
    waker: Option<Waker>,
    /// One entry per live [`Readiness`](crate::Readiness) future; `None` once woken.
    waiters: Slab<Option<Waker>>,
}

impl DirState {
    fn deliver(&mut self, bits: Ready, wake: &mut Vec<Waker>) {
        self.ready |= bits;
        self.tick = self.tick.wrapping_add(1);
        self.take_wakers(wake);
    }

    fn take_wakers(&mut self, wake: &mut Vec<Waker>) {
        wake.extend(self.waker.take());
        for (_, w) in self.waiters.iter_mut() {
            wake.extend(w.take());
        }
    }
}

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

pub(crate) struct ScheduledIo {
    pub(crate) generation: u32,
    dirs: [DirState; 2],
}

impl ScheduledIo {
    pub(crate) fn new(generation: u32) -> ScheduledIo {
        ScheduledIo {
            generation,
            dirs: Default::default(),
        }
    }

    /// Records a mio event and moves the wakers of every direction it touches into `wake`.
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

    pub(crate) fn deliver(&mut self, read: Ready, write: Ready, wake: &mut Vec<Waker>) {
        if !read.is_empty() {
            self.dirs[0].deliver(read, wake);
        }
        if !write.is_empty() {
            self.dirs[1].deliver(write, wake);
        }
    }

    /// The direction's readiness if it makes the direction ready.
    pub(crate) fn ready_event(&self, dir: Direction) -> Option<ReadyEvent> {
        let d = &self.dirs[dir.index()];
        if d.ready.intersects(dir.ready_mask()) {
            Some(ReadyEvent {
                ready: d.ready,
                tick: d.tick,
                dir,
            })
        } else {
            None
        }
    }

    pub(crate) fn ready(&self, dir: Direction) -> Ready {
        self.dirs[dir.index()].ready
    }

    /// Clears what `ev` observed unless a newer event arrived in that direction.
    pub(crate) fn clear(&mut self, ev: ReadyEvent) -> Clear {
        let d = &mut self.dirs[ev.dir.index()];
        if d.tick != ev.tick {
            return Clear::Stale;
        }
        let bits = ev.ready & CLEARABLE;
        if bits.is_empty() {
            return Clear::Nothing;
        }
        d.ready = d.ready - bits;
        Clear::Cleared
    }

    /// After an operation that proved the direction's queue empty (a short read or write on a
    /// stream socket): clears the readiness bit of `ev`'s direction (`READABLE` or `WRITABLE`)
    /// unless a newer event arrived in that direction. Closed, error and priority bits stay;
    /// if `ev` observed `PRIORITY` (urgent data, at which a stream read stops short) nothing
    /// is cleared.
    pub(crate) fn clear_drained(&mut self, ev: ReadyEvent) -> Clear {
        let d = &mut self.dirs[ev.dir.index()];
        if d.tick != ev.tick {
            return Clear::Stale;
        }
        let bit = match ev.dir {
            Direction::Read if ev.ready.is_priority() => return Clear::Nothing,
            Direction::Read => Ready::READABLE,
            Direction::Write => Ready::WRITABLE,
        };
        if !d.ready.intersects(bit) {
            return Clear::Nothing;
        }
        d.ready = d.ready - bit;
        Clear::Cleared
    }

    /// Makes `waker` the direction's `poll_ready` waker; returns the replaced one.
    pub(crate) fn set_waker(&mut self, dir: Direction, waker: &Waker) -> Option<Waker> {
        let slot = &mut self.dirs[dir.index()].waker;
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
        let waiters = &mut self.dirs[dir.index()].waiters;
        match key.and_then(|k| waiters.get_mut(k).map(|w| (k, w))) {
            Some((k, slot)) => match slot {
                Some(w) if w.will_wake(waker) => (k, None),
                _ => (k, slot.replace(waker.clone())),
            },
            None => (waiters.insert(Some(waker.clone())), None),
        }
    }

    pub(crate) fn remove_waiter(&mut self, dir: Direction, key: usize) -> Option<Waker> {
        self.dirs[dir.index()].waiters.try_remove(key).flatten()
    }

    /// Moves every waker (both directions, all waiters) into `wake`.
    pub(crate) fn take_all_wakers(&mut self, wake: &mut Vec<Waker>) {
        for d in &mut self.dirs {
            d.take_wakers(wake);
        }
    }

    #[cfg(test)]
    pub(crate) fn waiter_count(&self, dir: Direction) -> usize {
        self.dirs[dir.index()].waiters.len()
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
