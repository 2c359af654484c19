//! A fan-out waker: many tasks waiting on one direction of one registration.
//!
//! The reactor keeps one waker per direction of a registration (the last one registered wins),
//! which is right for a stream (one reader, one writer). A listener, though, is accepted on
//! through `&self` by several tasks at once, and every one of them must be woken when a
//! connection arrives; otherwise all but the last would sleep forever even with connections
//! queued. So a listener hands the reactor one [`Waiters::waker`] that, when woken, wakes every
//! task that registered itself here. Woken tasks that lose the race for the connection get
//! `WouldBlock`, which clears the readiness and re-registers them.
//!
//! Each waiter owns a slot key; its future removes the slot when it completes or is dropped, so
//! a cancelled waiter leaves nothing behind. Wakers are woken and dropped outside the lock (a
//! waker's `wake` or `Drop` may run arbitrary code).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};

use slab::Slab;

pub(crate) struct Waiters {
    shared: Arc<Shared>,
    /// The waker handed to the reactor; built once.
    waker: Waker,
}

struct Shared {
    /// A slot is `Some(waker)` while its owner waits, `None` after it was woken (until the owner
    /// polls again or goes away).
    slots: Mutex<Slab<Option<Waker>>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slab<Option<Waker>>> {
        // A panic while holding this lock cannot leave the slab inconsistent (every critical
        // section is a single slab operation), so a poisoned lock is still usable.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Take one waker at a time and wake it with the lock released.
        let mut next = 0;
        loop {
            let found = {
                let mut slots = self.lock();
                let mut found = None;
                while next < slots.capacity() {
                    let key = next;
                    next += 1;
                    if let Some(Some(_)) = slots.get(key) {
                        found = slots[key].take();
                        break;
                    }
                }
                found
            };
            match found {
                Some(waker) => waker.wake(),
                None => break,
            }
        }
    }
}

impl Waiters {
    pub(crate) fn new() -> Waiters {
        let shared = Arc::new(Shared {
            slots: Mutex::new(Slab::new()),
        });
        let waker = Waker::from(shared.clone());
        Waiters { shared, waker }
    }

    /// The waker to hand to the reactor.
    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }

    /// Records that the owner of `key` waits with `waker` (allocating a slot on first use).
    pub(crate) fn register(&self, key: &mut Option<usize>, waker: &Waker) {
        let old = {
            let mut slots = self.shared.lock();
            match *key {
                Some(k) => match slots.get_mut(k) {
                    Some(Some(current)) if current.will_wake(waker) => None,
                    Some(slot) => slot.replace(waker.clone()),
                    None => {
                        *key = Some(slots.insert(Some(waker.clone())));
                        None
                    }
                },
                None => {
                    *key = Some(slots.insert(Some(waker.clone())));
                    None
                }
            }
        };
        drop(old);
    }

    /// Releases the slot of `key`, if any.
    pub(crate) fn remove(&self, key: &mut Option<usize>) {
        if let Some(k) = key.take() {
            let old = self.shared.lock().try_remove(k);
            drop(old);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shared.lock().len()
    }
}

impl fmt::Debug for Waiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiters")
            .field(
                "waiting",
                &self
                    .shared
                    .lock()
                    .iter()
                    .filter(|(_, w)| w.is_some())
                    .count(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counter(AtomicUsize);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let c = Arc::new(Counter(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn wakes_every_registered_waiter_once() {
        let w = Waiters::new();
        let (c1, w1) = counter();
        let (c2, w2) = counter();
        let (mut k1, mut k2) = (None, None);
        w.register(&mut k1, &w1);
        w.register(&mut k2, &w2);
        w.waker().wake_by_ref();
        assert_eq!(c1.0.load(Ordering::SeqCst), 1);
        assert_eq!(c2.0.load(Ordering::SeqCst), 1);
        // Already woken: a second wake reaches nobody until they register again.
        w.waker().wake_by_ref();
        assert_eq!(c1.0.load(Ordering::SeqCst), 1);
        w.register(&mut k2, &w2);
        w.waker().wake_by_ref();
        assert_eq!(c1.0.load(Ordering::SeqCst), 1);
        assert_eq!(c2.0.load(Ordering::SeqCst), 2);
        w.remove(&mut k1);
        w.remove(&mut k2);
        assert_eq!(w.len(), 0);
        assert!(k1.is_none() && k2.is_none());
    }

    #[test]
    fn last_waker_of_a_waiter_counts() {
        let w = Waiters::new();
        let (c1, w1) = counter();
        let (c2, w2) = counter();
        let mut k = None;
        w.register(&mut k, &w1);
        w.register(&mut k, &w2);
        assert_eq!(w.len(), 1);
        w.waker().wake_by_ref();
        assert_eq!(c1.0.load(Ordering::SeqCst), 0);
        assert_eq!(c2.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn removed_waiter_is_not_woken() {
        let w = Waiters::new();
        let (c1, w1) = counter();
        let mut k = None;
        w.register(&mut k, &w1);
        w.remove(&mut k);
        w.waker().wake_by_ref();
        assert_eq!(c1.0.load(Ordering::SeqCst), 0);
    }
}
