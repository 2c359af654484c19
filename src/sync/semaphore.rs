use std::fmt;
use std::future::Future;
use std::rc::Rc;

use super::error::{AcquireError, TryAcquireError};
use super::raw_sem::{RawSemaphore, SemKind, MAX_PERMITS};

/// A fair counting semaphore for tasks on one thread.
///
/// A semaphore holds a number of permits; [`acquire`](Self::acquire) waits until one is free and
/// returns it as a [`SemaphorePermit`] that gives it back when dropped. Waiters are served in
/// FIFO order, also when they want several permits ([`acquire_many`](Self::acquire_many)): a
/// request for many is never starved by a stream of small ones, and
/// [`try_acquire`](Self::try_acquire) fails while anyone is queued.
///
/// # Cancel safety
/// `acquire` and friends are cancel-safe: dropping the future gives up its place in the queue,
/// and if permits were already handed to it (fully or in part) they pass to the next waiter.
/// A cancelled acquire never holds a permit and never loses one.
///
/// # Not `Send`
/// The semaphore lives on one thread (share it with `&` or [`Rc`]); it uses no atomics.
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(strand::sync::Semaphore::new(1));
/// ```
///
/// # Example
/// ```
/// use std::rc::Rc;
/// use strand::sync::Semaphore;
///
/// strand::block_on(async {
///     let sem = Rc::new(Semaphore::new(2));
///     let mut tasks = Vec::new();
///     for i in 0..5 {
///         let sem = sem.clone();
///         tasks.push(strand::spawn(async move {
///             let _permit = sem.acquire().await.unwrap();
///             // at most two tasks run this part at a time
///             i * 2
///         }));
///     }
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     assert_eq!(sum, 20);
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

impl Semaphore {
    /// The most permits a semaphore can hold; more panics.
    pub const MAX_PERMITS: usize = MAX_PERMITS;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            raw: RawSemaphore::with_kind(permits, SemKind::Semaphore),
        }
    }

    /// Like [`new`](Self::new), usable in `const` context (for a `thread_local!`).
    ///
    /// ```
    /// thread_local! {
    ///     static LIMIT: strand::sync::Semaphore = const { strand::sync::Semaphore::const_new(4) };
    /// }
    /// LIMIT.with(|s| assert_eq!(s.available_permits(), 4));
    /// ```
    #[track_caller]
    pub const fn const_new(permits: usize) -> Self {
        Semaphore {
            raw: RawSemaphore::with_kind(permits, SemKind::Semaphore),
        }
    }

    /// The number of permits free right now (zero whenever a task is queued).
    pub fn available_permits(&self) -> usize {
        self.raw.available_permits()
    }

    /// Adds `n` permits, waking queued tasks they satisfy (oldest first).
    ///
    /// ```
    /// let sem = strand::sync::Semaphore::new(0);
    /// sem.add_permits(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    ///
    /// # Panics
    /// If the total would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    pub fn add_permits(&self, n: usize) {
        self.raw.release(n);
    }

    /// Removes up to `n` free permits for good and returns how many were removed.
    ///
    /// ```
    /// let sem = strand::sync::Semaphore::new(3);
    /// assert_eq!(sem.forget_permits(5), 3);
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        self.raw.forget(n)
    }

    /// Waits for one permit. Fails only if the semaphore is (or gets) [closed](Self::close).
    ///
    /// Cancel-safe: dropping the future never loses or holds a permit; see the type docs.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let sem = strand::sync::Semaphore::new(1);
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert_eq!(sem.available_permits(), 0);
    ///     drop(permit);
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    #[inline]
    pub fn acquire(&self) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        self.acquire_n(1)
    }

    #[inline]
    fn acquire_n(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        self.raw.acquire(n).then_grant(move |res| {
            res.map(|holder| SemaphorePermit {
                sem: self,
                permits: n,
                holder,
            })
        })
    }

    /// Waits for `n` permits at once (queued in FIFO order like everyone else; `n == 0`
    /// succeeds at once).
    ///
    /// ```
    /// strand::block_on(async {
    ///     let sem = strand::sync::Semaphore::new(5);
    ///     let permits = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(permits.num_permits(), 3);
    ///     assert_eq!(sem.available_permits(), 2);
    /// });
    /// ```
    #[inline]
    pub fn acquire_many(
        &self,
        n: u32,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        self.acquire_n(n as usize)
    }

    /// Takes one permit if one is free and nobody is queued.
    ///
    /// ```
    /// use strand::sync::{Semaphore, TryAcquireError};
    /// let sem = Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// drop(p);
    /// sem.close();
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is queued.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let holder = self.raw.try_acquire(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n as usize,
            holder,
        })
    }

    /// Like [`acquire`](Self::acquire), on an `Rc`: the permit keeps the semaphore alive and
    /// can move into a spawned task.
    ///
    /// ```
    /// use std::rc::Rc;
    /// strand::block_on(async {
    ///     let sem = Rc::new(strand::sync::Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await.unwrap();
    ///     let task = strand::spawn(async move {
    ///         let _held = permit; // released when the task ends
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(self: Rc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// Like [`acquire_many`](Self::acquire_many), on an `Rc`.
    pub async fn acquire_many_owned(
        self: Rc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let who = self.raw.acquire(n as usize).await?;
        Ok(OwnedSemaphorePermit::new(self, n as usize, who))
    }

    /// Like [`try_acquire`](Self::try_acquire), on an `Rc`.
    pub fn try_acquire_owned(self: Rc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Like [`try_acquire_many`](Self::try_acquire_many), on an `Rc`.
    pub fn try_acquire_many_owned(
        self: Rc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let who = self.raw.try_acquire(n as usize)?;
        Ok(OwnedSemaphorePermit::new(self, n as usize, who))
    }

    /// Closes the semaphore: every queued and later `acquire` fails with [`AcquireError`],
    /// `try_acquire` with [`TryAcquireError::Closed`]. Permits already held stay valid and are
    /// returned as usual.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let sem = strand::sync::Semaphore::new(0);
    ///     sem.close();
    ///     assert!(sem.acquire().await.is_err());
    ///     assert!(sem.is_closed());
    /// });
    /// ```
    pub fn close(&self) {
        self.raw.close();
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back (to the oldest waiter
/// first).
#[must_use = "dropping the permit releases it at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
    /// The party that acquired the permits (deadlock detection attributes them to it).
    holder: u64,
}

impl<'a> SemaphorePermit<'a> {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits out of the semaphore for good (they are not returned on drop).
    ///
    /// ```
    /// let sem = strand::sync::Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.sem.raw.forget_held(self.permits, self.holder);
        self.permits = 0;
    }

    /// Moves the permits of `other` (of the same semaphore) into `self`.
    ///
    /// # Panics
    /// If `other` belongs to another semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits of different semaphores"
        );
        let n = std::mem::take(&mut other.permits);
        self.sem.raw.transfer(n, other.holder, self.holder);
        self.permits += n;
    }

    /// Splits `n` permits off into a new permit, or `None` if this holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
            holder: self.holder,
        })
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.raw.release_held(self.permits, self.holder);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits of an `Rc<Semaphore>`, from [`Semaphore::acquire_owned`]; dropping it gives them back.
#[must_use = "dropping the permit releases it at once"]
pub struct OwnedSemaphorePermit {
    sem: Rc<Semaphore>,
    permits: usize,
    /// The party to release under: unknown (owned permits may move between tasks), or
    /// `WHO_NONE` when nothing was recorded.
    holder: u64,
}

impl OwnedSemaphorePermit {
    /// The owned permit for `n` permits just granted to `who` (their holder is unknown from
    /// now on: see `RawSemaphore::disown`).
    fn new(sem: Rc<Semaphore>, n: usize, who: u64) -> Self {
        let holder = sem.raw.disown(n, who);
        OwnedSemaphorePermit {
            sem,
            permits: n,
            holder,
        }
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore these permits belong to.
    pub fn semaphore(&self) -> &Rc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.sem.raw.forget_held(self.permits, self.holder);
        self.permits = 0;
    }

    /// Moves the permits of `other` (of the same semaphore) into `self`.
    ///
    /// # Panics
    /// If `other` belongs to another semaphore.
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Rc::ptr_eq(&self.sem, &other.sem),
            "merging permits of different semaphores"
        );
        let n = std::mem::take(&mut other.permits);
        self.sem.raw.transfer(n, other.holder, self.holder);
        self.permits += n;
    }

    /// Splits `n` permits off into a new permit, or `None` if this holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
            holder: self.holder,
        })
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.raw.release_held(self.permits, self.holder);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use std::cell::Cell;
    use std::pin::pin;
    use std::task::Poll;

    #[test]
    fn served_waiter_dropped_before_seeing_it_passes_the_permit() {
        let sem = Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let mut first = Box::pin(sem.acquire());
        let mut second = pin!(sem.acquire());
        assert!(poll_pinned(first.as_mut(), &w1).is_pending());
        assert!(poll_pinned(second.as_mut(), &w2).is_pending());
        drop(held);
        assert_eq!((c1.get(), c2.get()), (1, 0));
        // `first` was handed the permit but is cancelled before it polls again.
        drop(first);
        assert_eq!(c2.get(), 1);
        match poll_pinned(second.as_mut(), &w2) {
            Poll::Ready(Ok(p)) => assert_eq!(p.num_permits(), 1),
            other => panic!(
                "second waiter not served: {:?}",
                other.map(|r| r.map(|_| ()))
            ),
        }
        assert_eq!(sem.available_permits(), 1);
    }

    #[test]
    fn last_waker_is_woken() {
        let sem = Semaphore::new(0);
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let mut acq = pin!(sem.acquire());
        assert!(poll_pinned(acq.as_mut(), &w1).is_pending());
        assert!(poll_pinned(acq.as_mut(), &w2).is_pending());
        sem.add_permits(1);
        assert_eq!((c1.get(), c2.get()), (0, 1));
        assert!(poll_pinned(acq.as_mut(), &w2).is_ready());
    }

    thread_local! {
        static SEM: Semaphore = const { Semaphore::const_new(0) };
        static HITS: Cell<usize> = const { Cell::new(0) };
    }

    fn reenter() {
        SEM.with(|s| {
            // Touch every entry point while the semaphore may be mid-operation.
            let _ = s.available_permits();
            if let Ok(p) = s.try_acquire() {
                drop(p);
            }
            let _ = format!("{s:?}");
        });
        HITS.with(|h| h.set(h.get() + 1));
    }

    #[test]
    fn waker_that_reenters_on_wake_and_drop() {
        SEM.with(|sem| {
            let mut acq = pin!(sem.acquire());
            assert!(poll_pinned(acq.as_mut(), &hook_waker(reenter, reenter)).is_pending());
            // Replacing the waker drops the old one: it re-enters.
            let w2 = hook_waker(reenter, reenter);
            assert!(poll_pinned(acq.as_mut(), &w2).is_pending());
            assert!(HITS.with(Cell::get) >= 1);
            drop(w2);
            let before = HITS.with(Cell::get);
            sem.add_permits(1); // wakes (and drops) the hook waker: re-enters twice
            assert!(HITS.with(Cell::get) >= before + 2);
            match poll_pinned(acq.as_mut(), &noop_waker()) {
                Poll::Ready(Ok(p)) => drop(p),
                _ => panic!("not served"),
            }
            assert_eq!(sem.available_permits(), 1);
            sem.forget_permits(1);
        });
    }
}
