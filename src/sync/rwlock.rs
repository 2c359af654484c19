use std::cell::{Ref, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};

use super::error::TryLockError;
use super::raw_sem::{RawSemaphore, SemKind, MAX_PERMITS};
use crate::runtime::diag::WHO_NONE;

/// The most readers an [`RwLock`] admits at once by default.
const MAX_READS: usize = u32::MAX as usize >> 3;

/// An async reader-writer lock for tasks on one thread: many readers or one writer.
///
/// The lock is fair: readers and writers queue in one FIFO, so a waiting writer blocks the
/// readers that arrive after it (no writer starvation), and the readers queued behind a writer
/// all get in together once it is done.
///
/// # Cancel safety
/// `read` and `write` are cancel-safe: dropping the future gives up its place in the queue and
/// passes on anything it was already handed; a cancelled wait never leaves the lock held.
///
/// # Not `Send`
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(strand::sync::RwLock::new(0u32));
/// ```
///
/// # Example
/// ```
/// use std::rc::Rc;
/// use strand::sync::RwLock;
///
/// strand::block_on(async {
///     let lock = Rc::new(RwLock::new(5));
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await; // many readers at once
///         assert_eq!(*r1 + *r2, 10);
///     }
///     *lock.write().await += 1;
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    max_readers: usize,
    sem: RawSemaphore,
    value: RefCell<T>,
}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Self {
        RwLock {
            max_readers: MAX_READS,
            sem: RawSemaphore::with_kind(MAX_READS, SemKind::RwLock),
            value: RefCell::new(value),
        }
    }

    /// Like [`new`](Self::new), usable in `const` context.
    #[track_caller]
    pub const fn const_new(value: T) -> Self {
        RwLock {
            max_readers: MAX_READS,
            sem: RawSemaphore::with_kind(MAX_READS, SemKind::RwLock),
            value: RefCell::new(value),
        }
    }

    /// A lock that admits at most `max_readers` readers at once.
    ///
    /// # Panics
    /// If `max_readers` is 0 or larger than `Semaphore::MAX_PERMITS`.
    #[track_caller]
    pub fn with_max_readers(value: T, max_readers: u32) -> Self {
        let max_readers = max_readers as usize;
        assert!(
            max_readers > 0 && max_readers <= MAX_PERMITS,
            "max_readers out of range"
        );
        RwLock {
            max_readers,
            sem: RawSemaphore::with_kind(max_readers, SemKind::RwLock),
            value: RefCell::new(value),
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared (read) access.
    ///
    /// Cancel-safe (see the type docs).
    #[inline]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> + '_ {
        // The semaphore is never closed.
        self.sem
            .acquire(1)
            .then_grant(move |who| self.read_guard(who.unwrap_or(WHO_NONE)))
    }

    /// Takes shared access if no writer holds or waits for the lock.
    ///
    /// ```
    /// let lock = strand::sync::RwLock::new(1);
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_err());
    /// drop(r);
    /// assert!(lock.try_write().is_ok());
    /// ```
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(1) {
            Ok(who) => Ok(self.read_guard(who)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Waits for exclusive (write) access.
    ///
    /// Cancel-safe (see the type docs).
    #[inline]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        self.sem
            .acquire(self.max_readers)
            .then_grant(move |who| self.write_guard(who.unwrap_or(WHO_NONE)))
    }

    /// Takes exclusive access if the lock is free and nobody is queued.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire(self.max_readers) {
            Ok(who) => Ok(self.write_guard(who)),
            Err(_) => Err(TryLockError(())),
        }
    }

    fn read_guard(&self, who: u64) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            value: self.value.borrow(),
            _release: Release(&self.sem, 1, who),
        }
    }

    fn write_guard(&self, who: u64) -> RwLockWriteGuard<'_, T> {
        RwLockWriteGuard {
            lock: self,
            value: self.value.borrow_mut(),
            _release: Release(&self.sem, self.max_readers, who),
        }
    }

    /// `&mut` access without locking: the borrow checker proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Returns permits when dropped; declared after the value borrow in each guard so the borrow
/// ends first (a waiter woken by the release may re-enter and lock at once).
/// Releases `.1` permits held by the party `.2` when dropped.
struct Release<'a>(&'a RawSemaphore, usize, u64);

impl Drop for Release<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.release_held(self.1, self.2);
    }
}

/// Shared access to the value of an [`RwLock`]; releases it when dropped.
#[must_use = "dropping the guard releases the lock at once"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    value: Ref<'a, T>,
    _release: Release<'a>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.value, f)
    }
}

/// Exclusive access to the value of an [`RwLock`]; releases it when dropped.
#[must_use = "dropping the guard releases the lock at once"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    value: RefMut<'a, T>,
    _release: Release<'a>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns write access into read access without letting a writer in between; readers
    /// queued behind this writer get in at once.
    ///
    /// ```
    /// strand::block_on(async {
    ///     let lock = strand::sync::RwLock::new(1);
    ///     let mut w = lock.write().await;
    ///     *w = 2;
    ///     let r = w.downgrade();
    ///     assert_eq!(*r, 2);
    ///     assert!(lock.try_read().is_ok());
    /// });
    /// ```
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let RwLockWriteGuard {
            lock,
            value,
            _release,
        } = self;
        drop(value);
        // Keep one permit for the read guard, hand back the rest.
        let who = _release.2;
        std::mem::forget(_release);
        let read = RwLockReadGuard {
            value: lock.value.borrow(),
            _release: Release(&lock.sem, 1, who),
        };
        lock.sem.release_held(lock.max_readers - 1, who);
        read
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.value, f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;
    use std::pin::pin;
    use std::task::Poll;

    #[test]
    fn waiting_writer_blocks_later_readers_then_readers_enter_together() {
        let lock = RwLock::new(0);
        let r0 = lock.try_read().unwrap();
        let (ww, cw) = counting_waker();
        let (wr, cr) = counting_waker();
        let mut w = pin!(lock.write());
        assert!(poll_pinned(w.as_mut(), &ww).is_pending());
        // A writer waits: new readers queue behind it.
        assert!(lock.try_read().is_err());
        let mut r1 = pin!(lock.read());
        let mut r2 = pin!(lock.read());
        assert!(poll_pinned(r1.as_mut(), &wr).is_pending());
        assert!(poll_pinned(r2.as_mut(), &wr).is_pending());
        drop(r0);
        assert_eq!((cw.get(), cr.get()), (1, 0));
        let Poll::Ready(mut g) = poll_pinned(w.as_mut(), &ww) else {
            panic!("writer not served")
        };
        *g = 9;
        drop(g);
        assert_eq!(cr.get(), 2);
        let Poll::Ready(a) = poll_pinned(r1.as_mut(), &wr) else {
            panic!("reader 1")
        };
        let Poll::Ready(b) = poll_pinned(r2.as_mut(), &wr) else {
            panic!("reader 2")
        };
        assert_eq!(*a + *b, 18);
    }

    #[test]
    fn cancelled_writer_lets_readers_through() {
        let lock = RwLock::new(());
        let r0 = lock.try_read().unwrap();
        let (w, c) = counting_waker();
        let mut wr = Box::pin(lock.write());
        assert!(poll_pinned(wr.as_mut(), &noop_waker()).is_pending());
        let mut rd = pin!(lock.read());
        assert!(poll_pinned(rd.as_mut(), &w).is_pending());
        drop(wr); // gives back its partially assigned permits: the reader gets in
        assert_eq!(c.get(), 1);
        assert!(poll_pinned(rd.as_mut(), &w).is_ready());
        drop(r0);
    }

    #[test]
    fn downgrade_and_max_readers() {
        let lock = RwLock::with_max_readers(String::new(), 2);
        let a = lock.try_read().unwrap();
        let b = lock.try_read().unwrap();
        assert!(lock.try_read().is_err());
        drop((a, b));
        let mut w = lock.try_write().unwrap();
        w.push('x');
        let r = w.downgrade();
        assert_eq!(&*r, "x");
        let r2 = lock.try_read().unwrap();
        assert!(lock.try_read().is_err());
        assert!(lock.try_write().is_err());
        drop((r, r2));
        assert!(lock.try_write().is_ok());
        assert_eq!(format!("{lock:?}"), "RwLock { data: \"x\" }");
    }
}
