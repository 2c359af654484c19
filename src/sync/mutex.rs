use std::cell::{RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;

use super::error::TryLockError;
use super::raw_sem::{RawSemaphore, SemKind};

/// An async mutual-exclusion lock for tasks on one thread.
///
/// [`lock`](Self::lock) waits until the lock is free and returns a [`MutexGuard`] that gives
/// `&mut T`; the lock is released when the guard drops. Use it (instead of a `RefCell`) when the
/// value must stay locked across an `.await`.
///
/// Waiters are served in FIFO order: the task that has waited longest gets the lock next, and
/// [`try_lock`](Self::try_lock) fails while anyone is queued.
///
/// # Cancel safety
/// `lock` is cancel-safe: dropping the future (a `timeout`, a `select`) gives up its place in
/// the queue; if the lock was already handed to it, it passes straight to the next waiter. A
/// cancelled `lock()` never leaves the mutex held and never loses a wakeup.
///
/// # Not `Send`
/// Share it with `&` or [`Rc`]; it uses no atomics.
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(strand::sync::Mutex::new(0u32));
/// ```
///
/// # Example
/// ```
/// use std::rc::Rc;
/// use strand::sync::Mutex;
///
/// strand::block_on(async {
///     let log = Rc::new(Mutex::new(Vec::new()));
///     let mut tasks = Vec::new();
///     for i in 0..3 {
///         let log = log.clone();
///         tasks.push(strand::spawn(async move {
///             let mut guard = log.lock().await;
///             strand::task::yield_now().await; // still held across the await
///             guard.push(i);
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(*log.lock().await, [0, 1, 2]);
/// });
/// ```
pub struct Mutex<T> {
    sem: RawSemaphore,
    // `None` only while an `OwnedMutexGuard` has moved the value out.
    value: RefCell<Option<T>>,
}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`. Deadlock reports name it by where it was
    /// created.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Mutex {
            sem: RawSemaphore::with_kind(1, SemKind::Mutex),
            value: RefCell::new(Some(value)),
        }
    }

    /// Like [`new`](Self::new), usable in `const` context.
    #[track_caller]
    pub const fn const_new(value: T) -> Self {
        Mutex {
            sem: RawSemaphore::with_kind(1, SemKind::Mutex),
            value: RefCell::new(Some(value)),
        }
    }

    /// Waits for the lock.
    ///
    /// Cancel-safe (see the type docs).
    ///
    /// ```
    /// strand::block_on(async {
    ///     let m = strand::sync::Mutex::new(1);
    ///     *m.lock().await += 1;
    ///     assert_eq!(*m.lock().await, 2);
    /// });
    /// ```
    // The semaphore's hand-written grant future rather than an `async fn`: the uncontended
    // lock is then a few inlined `Cell` operations with no state machine around them.
    #[inline]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        self.sem.acquire(1).then_grant(move |res| match res {
            Ok(who) => self.guard(who),
            Err(_) => unreachable!("a mutex's semaphore is never closed"),
        })
    }

    /// Takes the lock if it is free and nobody is queued for it.
    ///
    /// ```
    /// let m = strand::sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(who) => Ok(self.guard(who)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// The guard for a lock just granted to the party `who`.
    #[inline]
    fn guard(&self, who: u64) -> MutexGuard<'_, T> {
        let value = RefMut::map(self.value.borrow_mut(), |v| match v {
            Some(v) => v,
            None => value_missing(),
        });
        MutexGuard {
            value,
            _release: Release(&self.sem, who),
        }
    }

    /// Like [`lock`](Self::lock), on an `Rc`: the guard owns a reference to the mutex and can
    /// move into a spawned task.
    ///
    /// ```
    /// use std::rc::Rc;
    /// strand::block_on(async {
    ///     let m = Rc::new(strand::sync::Mutex::new(0));
    ///     let mut guard = m.clone().lock_owned().await;
    ///     strand::spawn(async move { *guard = 7 }).await.unwrap();
    ///     assert_eq!(*m.lock().await, 7);
    /// });
    /// ```
    pub async fn lock_owned(self: Rc<Self>) -> OwnedMutexGuard<T> {
        let who = match self.sem.acquire(1).await {
            Ok(who) => who,
            Err(_) => unreachable!("a mutex's semaphore is never closed"),
        };
        let who = self.sem.disown(1, who);
        OwnedMutexGuard::new(self, who)
    }

    /// Like [`try_lock`](Self::try_lock), on an `Rc`.
    pub fn try_lock_owned(self: Rc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(who) => {
                let who = self.sem.disown(1, who);
                Ok(OwnedMutexGuard::new(self, who))
            }
            Err(_) => Err(TryLockError(())),
        }
    }

    /// `&mut` access without locking: the borrow checker proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        self.value
            .get_mut()
            .as_mut()
            .expect("mutex value present while unlocked")
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.value
            .into_inner()
            .expect("mutex value present while unlocked")
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

#[cold]
#[inline(never)]
fn value_missing() -> ! {
    panic!("mutex value present while unlocked")
}

/// Releases one permit of the mutex's semaphore, granted to the party in `.1` (as the grant
/// returned it), when dropped. A separate field so that it drops *after* the value borrow: a
/// waiter woken by the release may re-enter and lock at once.
struct Release<'a>(&'a RawSemaphore, u64);

impl Drop for Release<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.release_held(1, self.1);
    }
}

/// Exclusive access to the value of a [`Mutex`]; unlocks when dropped.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct MutexGuard<'a, T> {
    // Field order matters: the borrow ends before the release runs.
    value: RefMut<'a, T>,
    _release: Release<'a>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.value, f)
    }
}

/// Exclusive access to the value of an `Rc<Mutex<T>>`, from [`Mutex::lock_owned`]; unlocks when
/// dropped.
///
/// While it is held the value lives in the guard (it moves back into the mutex on drop), so
/// taking an owned guard moves `T` twice: cheap for the usual small values; box a large one.
#[must_use = "dropping the guard unlocks the mutex at once"]
pub struct OwnedMutexGuard<T> {
    lock: Rc<Mutex<T>>,
    value: Option<T>,
    /// The party to release under (see `RawSemaphore::disown`).
    who: u64,
}

impl<T> OwnedMutexGuard<T> {
    fn new(lock: Rc<Mutex<T>>, who: u64) -> Self {
        let value = lock.value.borrow_mut().take();
        debug_assert!(value.is_some(), "mutex value present while unlocked");
        OwnedMutexGuard { lock, value, who }
    }

    /// The mutex this guard locks.
    pub fn mutex(&self) -> &Rc<Mutex<T>> {
        &self.lock
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value.as_ref().expect("owned guard holds the value")
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_mut().expect("owned guard holds the value")
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        *self.lock.value.borrow_mut() = self.value.take();
        self.lock.sem.release_held(1, self.who);
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::{pin, Pin};

    #[test]
    fn cancelled_lock_never_leaves_it_held() {
        // Randomized: lockers queue up, get polled, get cancelled at random points (also right
        // after being handed the lock), the holder unlocks at random points.
        let m = Mutex::new(0u64);
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as usize
        };
        let (w, _) = counting_waker();
        let mut pending: Vec<Pin<Box<dyn Future<Output = MutexGuard<'_, u64>> + '_>>> = Vec::new();
        let mut held: Option<MutexGuard<'_, u64>> = None;
        let mut acquired = 0u64;
        for _ in 0..10_000 {
            match next() % 4 {
                0 => pending.push(Box::pin(m.lock())),
                1 if !pending.is_empty() => drop(pending.swap_remove(next() % pending.len())),
                2 => held = None,
                _ if !pending.is_empty() => {
                    let i = next() % pending.len();
                    if let Poll::Ready(mut g) = poll_pinned(pending[i].as_mut(), &w) {
                        assert!(held.is_none(), "two guards at once");
                        *g += 1;
                        acquired += 1;
                        held = Some(g);
                        drop(pending.swap_remove(i));
                    }
                }
                _ => {}
            }
            if held.is_none() && pending.is_empty() {
                assert!(
                    m.try_lock().is_ok(),
                    "mutex left locked by a cancelled lock()"
                );
            }
        }
        drop(held);
        drop(pending);
        assert!(m.try_lock().is_ok());
        assert_eq!(m.sem.waiters(), 0);
        assert!(
            acquired > 100,
            "the test exercised too few hand-offs: {acquired}"
        );
        assert_eq!(m.into_inner(), acquired);
    }

    use std::task::Poll;

    #[test]
    fn fifo_handoff_and_last_waker() {
        let m = Mutex::new(Vec::new());
        let g = m.try_lock().unwrap();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let (w3, c3) = counting_waker();
        let mut a = Box::pin(m.lock());
        let mut b = Box::pin(m.lock());
        assert!(poll_pinned(a.as_mut(), &w1).is_pending());
        assert!(poll_pinned(b.as_mut(), &w3).is_pending());
        assert!(poll_pinned(a.as_mut(), &w2).is_pending()); // a moves to another waker
        assert!(m.try_lock().is_err());
        drop(g);
        assert_eq!((c1.get(), c2.get(), c3.get()), (0, 1, 0));
        // Nobody can barge in between the hand-off and a's poll.
        assert!(m.try_lock().is_err());
        let Poll::Ready(mut ga) = poll_pinned(a.as_mut(), &w2) else {
            panic!("a not served")
        };
        ga.push('a');
        drop(ga);
        assert_eq!(c3.get(), 1);
        let Poll::Ready(mut gb) = poll_pinned(b.as_mut(), &w3) else {
            panic!("b not served")
        };
        gb.push('b');
        drop(gb);
        drop((a, b));
        assert_eq!(m.into_inner(), ['a', 'b']);
    }

    #[test]
    fn owned_guard_moves_value_back() {
        let m = Rc::new(Mutex::new(String::from("x")));
        let mut g = m.clone().try_lock_owned().unwrap();
        assert!(m.try_lock().is_err());
        g.push('y');
        assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
        drop(g);
        assert_eq!(*m.try_lock().unwrap(), "xy");
        let (w, c) = counting_waker();
        let held = m.try_lock().unwrap();
        let mut f = pin!(m.clone().lock_owned());
        assert!(poll_pinned(f.as_mut(), &w).is_pending());
        drop(held);
        assert_eq!(c.get(), 1);
        let Poll::Ready(g) = poll_pinned(f.as_mut(), &w) else {
            panic!("not served")
        };
        assert_eq!(*g, "xy");
        assert!(Rc::ptr_eq(g.mutex(), &m));
    }

    thread_local! {
        static M: Rc<Mutex<u32>> = Rc::new(Mutex::new(0));
        static REENTERED: Cell<u32> = const { Cell::new(0) };
    }

    fn reenter() {
        M.with(|m| {
            // Locking from inside a waker's wake/drop must work whenever the mutex is free.
            if let Ok(mut g) = m.try_lock() {
                *g += 1;
            }
        });
        REENTERED.with(|r| r.set(r.get() + 1));
    }

    #[test]
    fn reentrant_waker_drop_and_wake() {
        let m = M.with(Rc::clone);
        let g = m.try_lock().unwrap();
        let mut f = pin!(m.lock());
        assert!(poll_pinned(f.as_mut(), &hook_waker(reenter, reenter)).is_pending());
        let w2 = hook_waker(reenter, reenter);
        assert!(poll_pinned(f.as_mut(), &w2).is_pending()); // drops the first hook waker
        drop(w2);
        assert_eq!(REENTERED.with(Cell::get), 1);
        drop(g); // hands the lock to f, wakes (and drops) the hook: re-enters twice, lock busy
        assert_eq!(REENTERED.with(Cell::get), 3);
        let Poll::Ready(g) = poll_pinned(f.as_mut(), &noop_waker()) else {
            panic!("not served")
        };
        assert_eq!(*g, 0, "nobody got the lock while it was handed over");
        drop(g);
        // Now the guard drop wakes nobody; a waker dropped while unlocked may lock.
        let mut f2 = pin!(m.lock());
        let held = m.try_lock().unwrap();
        assert!(poll_pinned(f2.as_mut(), &hook_waker(reenter, reenter)).is_pending());
        drop(held);
        let Poll::Ready(g) = poll_pinned(f2.as_mut(), &noop_waker()) else {
            panic!("not served")
        };
        drop(g);
        assert_eq!(*m.try_lock().unwrap(), 0);
    }
}
