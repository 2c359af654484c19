//! The waiter queue every primitive in this module is built on.
//!
//! A [`WaitList`] is a FIFO of waiter entries stored in a slab (a `Vec` of slots with a free
//! list) and threaded into a doubly linked list by slot index. A waiting future owns exactly one
//! [`Key`]: it inserts its entry when it first has to wait and removes it when it completes or is
//! dropped. Nothing else ever frees an entry; the primitive only *unlinks* an entry from the
//! queue when it hands that waiter something (a permit, a notification) or closes, so the owner
//! can still find out what happened and pass on what it was given.
//!
//! Steady state allocates nothing: the slab only grows to the peak number of concurrent waiters,
//! and the first slot is stored inline, so a primitive that never has more than one waiter at a
//! time (a per-request `Notify`, a mutex shared by two tasks) never allocates at all.
//!
//! Wakers are never dropped or woken by this module while a caller holds a borrow of the
//! primitive's state: [`WaitList::remove`] and [`update_waker`] hand the old waker back, and
//! [`WakeBatch`] collects wakers to wake after the borrow ends (a waker's `Drop` or `wake` may
//! re-enter the primitive).

use std::cell::Cell;
use std::fmt;
use std::task::Waker;

use strand_executor::diag::{set_wait_reason, TrackedWaker, WaitReason};

const NIL: u32 = u32::MAX;

/// Names one entry of a [`WaitList`]; owned by the waiting future.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Key(u32);

/// One waiter.
pub(crate) struct Node<T> {
    prev: u32,
    next: u32,
    linked: bool,
    /// The waker of the last poll (`None` after it was taken for waking); counted as held by
    /// strand for the runtime's hang and deadlock detection.
    pub(crate) waker: Option<TrackedWaker>,
    /// What the primitive keeps per waiter.
    pub(crate) data: T,
}

impl<T> Node<T> {
    /// Whether the entry is still queued (not yet handed anything).
    pub(crate) fn is_linked(&self) -> bool {
        self.linked
    }
}

enum Slot<T> {
    Vacant { next_free: u32 },
    Occupied(Node<T>),
}

/// A slab-backed FIFO of waiters.
pub(crate) struct WaitList<T> {
    /// Slot 0, inline.
    first: Slot<T>,
    /// Slot `i >= 1` lives at `slots[i - 1]`.
    slots: Vec<Slot<T>>,
    free: u32,
    head: u32,
    tail: u32,
    linked: usize,
}

impl<T> WaitList<T> {
    pub(crate) const fn new() -> Self {
        WaitList {
            first: Slot::Vacant { next_free: NIL },
            slots: Vec::new(),
            free: 0,
            head: NIL,
            tail: NIL,
            linked: 0,
        }
    }

    #[cfg(test)]
    fn slot(&self, idx: u32) -> &Slot<T> {
        if idx == 0 {
            &self.first
        } else {
            &self.slots[idx as usize - 1]
        }
    }

    fn slot_mut(&mut self, idx: u32) -> &mut Slot<T> {
        if idx == 0 {
            &mut self.first
        } else {
            &mut self.slots[idx as usize - 1]
        }
    }

    /// Number of queued (linked) entries.
    pub(crate) fn len(&self) -> usize {
        self.linked
    }

    /// No entry is queued (unlinked entries may still exist).
    pub(crate) fn is_empty(&self) -> bool {
        self.linked == 0
    }

    /// Appends a new queued entry and returns its key.
    pub(crate) fn push_back(&mut self, data: T, waker: Option<TrackedWaker>) -> Key {
        let node = Node {
            prev: self.tail,
            next: NIL,
            linked: true,
            waker,
            data,
        };
        let idx = if self.free != NIL {
            let idx = self.free;
            match std::mem::replace(self.slot_mut(idx), Slot::Occupied(node)) {
                Slot::Vacant { next_free } => self.free = next_free,
                Slot::Occupied(_) => unreachable!("free list points at an occupied slot"),
            }
            idx
        } else {
            let idx = u32::try_from(self.slots.len() + 1)
                .ok()
                .filter(|&i| i != NIL)
                .expect("too many concurrent waiters");
            self.slots.push(Slot::Occupied(node));
            idx
        };
        if self.tail != NIL {
            self.node_at(self.tail).next = idx;
        } else {
            self.head = idx;
        }
        self.tail = idx;
        self.linked += 1;
        Key(idx)
    }

    fn node_at(&mut self, idx: u32) -> &mut Node<T> {
        match self.slot_mut(idx) {
            Slot::Occupied(n) => n,
            Slot::Vacant { .. } => unreachable!("wait list link to a vacant slot"),
        }
    }

    /// The entry behind `key`. Panics if `key` was removed (a bug in the primitive).
    #[cfg(test)]
    pub(crate) fn get(&self, key: Key) -> &Node<T> {
        match self.slot(key.0) {
            Slot::Occupied(n) => n,
            Slot::Vacant { .. } => unreachable!("stale wait list key"),
        }
    }

    /// The entry behind `key`, mutably.
    pub(crate) fn get_mut(&mut self, key: Key) -> &mut Node<T> {
        self.node_at(key.0)
    }

    /// Takes the entry out of the queue; it stays allocated for its owner.
    pub(crate) fn unlink(&mut self, key: Key) {
        let (prev, next) = {
            let n = self.node_at(key.0);
            if !n.linked {
                return;
            }
            n.linked = false;
            let links = (n.prev, n.next);
            n.prev = NIL;
            n.next = NIL;
            links
        };
        if prev != NIL {
            self.node_at(prev).next = next;
        } else {
            self.head = next;
        }
        if next != NIL {
            self.node_at(next).prev = prev;
        } else {
            self.tail = prev;
        }
        self.linked -= 1;
    }

    /// Unlinks and frees the entry, returning it (drop its waker only after releasing any
    /// borrow of the primitive).
    pub(crate) fn remove(&mut self, key: Key) -> Node<T> {
        self.unlink(key);
        let next_free = self.free;
        let slot = std::mem::replace(self.slot_mut(key.0), Slot::Vacant { next_free });
        self.free = key.0;
        match slot {
            Slot::Occupied(n) => n,
            Slot::Vacant { .. } => unreachable!("stale wait list key"),
        }
    }

    /// The oldest queued entry.
    pub(crate) fn front(&self) -> Option<Key> {
        (self.head != NIL).then_some(Key(self.head))
    }

    /// The newest queued entry.
    pub(crate) fn back(&self) -> Option<Key> {
        (self.tail != NIL).then_some(Key(self.tail))
    }
}

impl<T> fmt::Debug for WaitList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("queued", &self.linked)
            .finish()
    }
}

/// Stores `waker` in `slot` unless the stored one already wakes the same task; returns the
/// replaced waker, which the caller drops after releasing its borrow (only the last waker
/// counts, and a waker's `Drop` may re-enter the primitive). Records `reason` as what the
/// current task waits on (for the runtime's task dump).
#[must_use = "drop the old waker after releasing the borrow"]
pub(crate) fn update_waker(
    slot: &mut Option<TrackedWaker>,
    waker: &Waker,
    reason: WaitReason,
) -> Option<TrackedWaker> {
    match slot {
        Some(w) if w.will_wake(waker) => {
            set_wait_reason(reason);
            None
        }
        _ => slot.replace(TrackedWaker::new_waiting(waker, reason)),
    }
}

/// [`update_waker`] for a single waker slot in a `Cell` (a channel's receiver or sender): the
/// replaced waker is dropped once the cell holds the new one, with nothing borrowed.
#[inline]
pub(crate) fn register_waker(cell: &Cell<Option<TrackedWaker>>, waker: &Waker, reason: WaitReason) {
    match cell.take() {
        // The usual case, inline: the first wait since the last wake.
        None => cell.set(Some(TrackedWaker::new_waiting(waker, reason))),
        Some(old) => reregister_waker(cell, old, waker, reason),
    }
}

/// [`register_waker`] when a waker is stored already (polled again before a wake).
#[inline(never)]
fn reregister_waker(
    cell: &Cell<Option<TrackedWaker>>,
    old: TrackedWaker,
    waker: &Waker,
    reason: WaitReason,
) {
    let mut slot = Some(old);
    let replaced = update_waker(&mut slot, waker, reason);
    cell.set(slot);
    drop(replaced);
}

const BATCH: usize = 32;

/// Wakers collected under a borrow, woken after it is released.
///
/// The first waker is kept inline and the rest in an array that is only initialized when a
/// second waker arrives, so the common single hand-over costs no more than an `Option<Waker>`.
pub(crate) struct WakeBatch {
    first: Option<Waker>,
    rest: Option<[Option<Waker>; BATCH - 1]>,
    len: usize,
}

impl WakeBatch {
    pub(crate) fn new() -> Self {
        WakeBatch {
            first: None,
            rest: None,
            len: 0,
        }
    }

    /// Whether no more wakers fit; wake this batch and collect again.
    pub(crate) fn is_full(&self) -> bool {
        self.len == BATCH
    }

    /// Adds a waker. Panics when full (check [`is_full`](Self::is_full) first).
    pub(crate) fn push(&mut self, waker: impl Into<Waker>) {
        let waker = waker.into();
        assert!(self.len < BATCH, "wake batch overflow");
        if self.len == 0 {
            self.first = Some(waker);
        } else {
            self.rest.get_or_insert_with(Default::default)[self.len - 1] = Some(waker);
        }
        self.len += 1;
    }

    /// Wakes (and so drops) every collected waker. Call with no borrow held.
    pub(crate) fn wake_all(&mut self) {
        if self.len == 0 {
            return;
        }
        if let Some(w) = self.first.take() {
            w.wake();
        }
        if let Some(rest) = self.rest.as_mut() {
            for slot in &mut rest[..self.len - 1] {
                if let Some(w) = slot.take() {
                    w.wake();
                }
            }
        }
        self.len = 0;
    }
}

impl Drop for WakeBatch {
    fn drop(&mut self) {
        // Only reached with wakers left on an unwinding path; waking is the safe choice.
        self.wake_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(l: &WaitList<u32>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = l.head;
        while cur != NIL {
            let n = match l.slot(cur) {
                Slot::Occupied(n) => n,
                Slot::Vacant { .. } => panic!("vacant in list"),
            };
            out.push(n.data);
            cur = n.next;
        }
        out
    }

    #[test]
    fn fifo_unlink_remove_and_reuse() {
        let mut l = WaitList::new();
        let a = l.push_back(1, None);
        let b = l.push_back(2, None);
        let c = l.push_back(3, None);
        assert_eq!(order(&l), [1, 2, 3]);
        assert_eq!(l.len(), 3);
        l.unlink(b);
        assert!(!l.get(b).is_linked());
        assert_eq!(order(&l), [1, 3]);
        l.unlink(b); // idempotent
        assert_eq!(l.len(), 2);
        assert_eq!(l.remove(b).data, 2);
        assert_eq!(l.remove(a).data, 1);
        assert_eq!(order(&l), [3]);
        assert_eq!(l.front(), Some(c));
        assert_eq!(l.back(), Some(c));
        // Freed slots are reused: no growth in steady state.
        let d = l.push_back(4, None);
        let e = l.push_back(5, None);
        assert_eq!(l.slots.len() + 1, 3);
        assert_eq!(order(&l), [3, 4, 5]);
        l.remove(c);
        l.remove(e);
        assert_eq!(order(&l), [4]);
        assert_eq!(l.front(), Some(d));
        l.remove(d);
        assert!(l.is_empty());
        assert_eq!(l.front(), None);
        assert_eq!(l.back(), None);
    }

    #[test]
    fn wake_batch_wakes_each_once_and_refills() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        struct W(AtomicUsize);
        impl std::task::Wake for W {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let w = Arc::new(W(AtomicUsize::new(0)));
        let mut b = WakeBatch::new();
        for round in 1..=2 {
            while !b.is_full() {
                b.push(Waker::from(w.clone()));
            }
            b.wake_all();
            assert_eq!(w.0.load(Ordering::SeqCst), round * BATCH);
        }
        b.push(Waker::from(w.clone()));
        drop(b);
        assert_eq!(w.0.load(Ordering::SeqCst), 2 * BATCH + 1);
        assert_eq!(Arc::strong_count(&w), 1, "every waker was consumed");
    }

    #[test]
    fn a_single_waiter_at_a_time_never_allocates() {
        let mut l = WaitList::new();
        for i in 0..100 {
            let k = l.push_back(i, None);
            assert_eq!(l.front(), Some(k));
            l.unlink(k);
            assert_eq!(l.remove(k).data, i);
        }
        assert_eq!(l.slots.capacity(), 0);
        let a = l.push_back(1, None);
        let b = l.push_back(2, None);
        assert_eq!(order(&l), [1, 2]);
        l.remove(a);
        l.remove(b);
        assert!(l.is_empty());
    }

    #[test]
    fn random_ops_match_a_model() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut l = WaitList::new();
        let mut model: Vec<(Key, u32)> = Vec::new();
        let mut unlinked: Vec<Key> = Vec::new();
        for i in 0..20_000u32 {
            match next() % 4 {
                0 | 1 => model.push((l.push_back(i, None), i)),
                2 if !model.is_empty() => {
                    let at = (next() % model.len() as u64) as usize;
                    let (k, v) = model.remove(at);
                    assert_eq!(l.remove(k).data, v);
                }
                _ if !model.is_empty() => {
                    let (k, _) = model.remove(0);
                    assert_eq!(l.front(), Some(k));
                    l.unlink(k);
                    unlinked.push(k);
                }
                _ => {}
            }
            if unlinked.len() > 8 {
                l.remove(unlinked.remove(0));
            }
            assert_eq!(l.len(), model.len());
        }
        assert_eq!(order(&l), model.iter().map(|m| m.1).collect::<Vec<_>>());
    }
}
