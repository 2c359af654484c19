//! The fair counting semaphore underneath `Semaphore`, `Mutex`, `RwLock` and the bounded `mpsc`
//! channel.
//!
//! State: the number of free permits, a closed flag and a FIFO [`WaitList`] of waiters, each
//! wanting `needed` permits of which `assigned` were already handed to it. Permits released while
//! waiters are queued go to the oldest waiter first (partially, if it wants more than are free),
//! so a large request is never starved by a stream of small ones and `try_acquire` never jumps
//! the queue: whenever a waiter is queued, no permit is free.
//!
//! A waiter that is fully served is *unlinked* from the queue (its entry stays until its future
//! sees it). If the future is dropped instead, whatever was assigned to it is released again and
//! passes to the next waiter: a cancelled `acquire` never loses a permit nor holds one.
//!
//! Every grant and every release goes through this file, which is where the deadlock detector
//! learns who holds and who waits for a lock (`crate::runtime::diag`): for the lock kinds
//! (mutex, rwlock, semaphore; not a channel's capacity), each grant records the party that
//! acquired (a task id, or the `block_on` future) and the guards release under that party;
//! a waiter entry keeps the waiting party, registered with the runtime's wait-for graph while
//! it is queued. The uncontended fast path only touches an inline holder slot.

use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use strand_executor::diag::{ChannelKind, LockKind, TrackedWaker, WaitReason};

use super::coop;
use super::error::{AcquireError, TryAcquireError};
use super::wait_list::{update_waker, Key, WaitList, WakeBatch};
use crate::runtime::diag::{current_who, Holders, LockNode, WHO_NONE, WHO_UNKNOWN};

/// What a [`RawSemaphore`] is, for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SemKind {
    Mutex,
    RwLock,
    Semaphore,
    /// A bounded channel's capacity: permits have no holders.
    Channel,
}

/// The most permits a semaphore can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

struct Want {
    needed: usize,
    assigned: usize,
    /// The waiting party (see `crate::runtime::diag`), for lock kinds.
    who: u64,
}

struct State {
    permits: usize,
    closed: bool,
    waiters: WaitList<Want>,
    /// Who holds permits, while the lock never had to queue anyone (then `node` has them).
    holders: Holders,
    /// The wait-for graph's view of this lock, from its first queued waiter on.
    node: Option<Rc<LockNode>>,
}

impl State {
    #[inline]
    fn add_holder(&mut self, who: u64, n: usize) {
        match &self.node {
            None => self.holders.add(who, n),
            Some(node) => node.add_holder(who, n),
        }
    }
}

pub(crate) struct RawSemaphore {
    state: RefCell<State>,
    kind: SemKind,
    created: &'static Location<'static>,
    /// Task-local: never moves to another thread.
    _not_send: PhantomData<*const ()>,
}

impl RawSemaphore {
    /// A channel's capacity (no holder tracking).
    #[track_caller]
    pub(crate) const fn new(permits: usize) -> Self {
        Self::with_kind(permits, SemKind::Channel)
    }

    /// A lock of `kind`, created at the caller's location.
    #[track_caller]
    pub(crate) const fn with_kind(permits: usize, kind: SemKind) -> Self {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore holds at most MAX_PERMITS permits"
        );
        RawSemaphore {
            state: RefCell::new(State {
                permits,
                closed: false,
                waiters: WaitList::new(),
                holders: Holders::new(),
                node: None,
            }),
            kind,
            created: Location::caller(),
            _not_send: PhantomData,
        }
    }

    #[inline]
    fn is_lock(&self) -> bool {
        self.kind != SemKind::Channel
    }

    fn id(&self) -> u64 {
        self as *const RawSemaphore as usize as u64
    }

    /// What a task waiting for `needed` permits waits on, for the task dump.
    fn wait_reason(&self, needed: usize) -> WaitReason {
        let id = self.id();
        let kind = match self.kind {
            SemKind::Mutex => LockKind::Mutex,
            SemKind::RwLock if needed == 1 => LockKind::RwLockRead,
            SemKind::RwLock => LockKind::RwLockWrite,
            SemKind::Semaphore => LockKind::Semaphore,
            SemKind::Channel => {
                return WaitReason::Channel {
                    kind: ChannelKind::MpscSend,
                    id,
                }
            }
        };
        WaitReason::Lock { kind, id }
    }

    /// The wait-for graph node of this lock, created at its first queued waiter.
    fn node(&self, st: &mut State) -> Rc<LockNode> {
        st.node
            .get_or_insert_with(|| {
                let kind = match self.kind {
                    SemKind::Mutex => "mutex",
                    SemKind::RwLock => "rwlock",
                    _ => "semaphore",
                };
                LockNode::new(
                    kind,
                    self.id(),
                    self.created,
                    std::mem::take(&mut st.holders),
                )
            })
            .clone()
    }

    /// Gives back `n` permits held by `who` (a guard's drop).
    #[inline]
    pub(crate) fn release_held(&self, n: usize, who: u64) {
        if self.is_lock() {
            let mut st = self.state.borrow_mut();
            match &st.node {
                None => {
                    st.holders.remove(who, n);
                }
                Some(node) => node.remove_holder(who, n),
            }
        }
        self.release(n);
    }

    /// `n` permits held by `who` are given up for good (a forgotten permit).
    pub(crate) fn forget_held(&self, n: usize, who: u64) {
        if self.is_lock() && n > 0 {
            let mut st = self.state.borrow_mut();
            match &st.node {
                None => {
                    st.holders.remove(who, n);
                }
                Some(node) => node.remove_holder(who, n),
            }
        }
    }

    /// `n` permits the current party just acquired move to an owned guard or permit, which may
    /// travel to another task: from now on their holder is unknown.
    pub(crate) fn disown(&self, n: usize) {
        if self.is_lock() && n > 0 {
            let who = current_who();
            let mut st = self.state.borrow_mut();
            match &st.node {
                None => {
                    st.holders.remove(who, n);
                    st.holders.add(WHO_UNKNOWN, n);
                }
                Some(node) => node.transfer(who, WHO_UNKNOWN, n),
            }
        }
    }

    /// Moves `n` permits from `from` to `to` (merging permits of two parties).
    pub(crate) fn transfer(&self, n: usize, from: u64, to: u64) {
        if self.is_lock() && n > 0 && from != to {
            let mut st = self.state.borrow_mut();
            match &st.node {
                None => {
                    st.holders.remove(from, n);
                    st.holders.add(to, n);
                }
                Some(node) => node.transfer(from, to, n),
            }
        }
    }

    pub(crate) fn available_permits(&self) -> usize {
        self.state.borrow().permits
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Number of queued waiters.
    #[cfg(test)]
    pub(crate) fn waiters(&self) -> usize {
        self.state.borrow().waiters.len()
    }

    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut st = self.state.borrow_mut();
        if st.closed {
            return Err(TryAcquireError::Closed);
        }
        if st.waiters.is_empty() && st.permits >= n {
            st.permits -= n;
            if self.is_lock() && n > 0 {
                st.add_holder(current_who(), n);
            }
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    #[inline]
    pub(crate) fn acquire(&self, n: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            needed: n,
            key: None,
        }
    }

    /// Returns `n` permits and hands them to the queued waiters, oldest first.
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut st = self.state.borrow_mut();
        match st.permits.checked_add(n) {
            Some(p) if p <= MAX_PERMITS => st.permits = p,
            _ => panic!("semaphore permits overflow MAX_PERMITS"),
        }
        if !st.waiters.is_empty() {
            drop(st);
            self.serve_waiters();
        }
    }

    /// Hands free permits to queued waiters and wakes the served ones, in batches, with no
    /// borrow held while waking (a woken or dropped waker may re-enter this semaphore).
    #[cold]
    fn serve_waiters(&self) {
        let mut batch = WakeBatch::new();
        loop {
            let more = self.state.borrow_mut().assign(&mut batch);
            batch.wake_all();
            if !more {
                break;
            }
        }
    }

    /// Removes up to `n` free permits for good; returns how many were removed.
    pub(crate) fn forget(&self, n: usize) -> usize {
        let mut st = self.state.borrow_mut();
        let k = st.permits.min(n);
        st.permits -= k;
        k
    }

    /// Closes the semaphore: queued and future acquires fail; permits still held can be
    /// released (and acquired waiters that were already served keep their permits).
    pub(crate) fn close(&self) {
        let mut batch = WakeBatch::new();
        loop {
            let more = {
                let mut st = self.state.borrow_mut();
                st.closed = true;
                let mut more = false;
                while let Some(key) = st.waiters.front() {
                    if batch.is_full() {
                        more = true;
                        break;
                    }
                    st.waiters.unlink(key);
                    let node = st.waiters.get_mut(key);
                    let partial = std::mem::take(&mut node.data.assigned);
                    let waker = node.waker.take().map(TrackedWaker::into_waker);
                    st.permits += partial;
                    if let Some(w) = waker {
                        batch.push(w);
                    }
                }
                more
            };
            batch.wake_all();
            if !more {
                break;
            }
        }
    }
}

impl State {
    /// Hands free permits to the waiters at the front; returns true when `batch` filled up
    /// before the queue was served (call again after waking the batch).
    fn assign(&mut self, batch: &mut WakeBatch) -> bool {
        while self.permits > 0 {
            let Some(key) = self.waiters.front() else {
                break;
            };
            if batch.is_full() {
                return true;
            }
            let node = self.waiters.get_mut(key);
            let take = self.permits.min(node.data.needed - node.data.assigned);
            node.data.assigned += take;
            self.permits -= take;
            if node.data.assigned < node.data.needed {
                break;
            }
            let waker = node.waker.take().map(TrackedWaker::into_waker);
            self.waiters.unlink(key);
            if let Some(w) = waker {
                batch.push(w);
            }
        }
        false
    }
}

impl std::fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.state.try_borrow() {
            Ok(st) => f
                .debug_struct("Semaphore")
                .field("permits", &st.permits)
                .field("waiters", &st.waiters.len())
                .field("closed", &st.closed)
                .finish(),
            Err(_) => f.write_str("Semaphore { <busy> }"),
        }
    }
}

/// Waits for `needed` permits of a [`RawSemaphore`]. Unpin; cancel-safe (see the module docs).
pub(crate) struct Acquire<'a> {
    sem: &'a RawSemaphore,
    needed: usize,
    key: Option<Key>,
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let mut st = this.sem.state.borrow_mut();
        let Some(key) = this.key else {
            if st.closed {
                drop(st);
                coop.made_progress();
                return Poll::Ready(Err(AcquireError(())));
            }
            if this.needed == 0 {
                drop(st);
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            if st.waiters.is_empty() && st.permits >= this.needed {
                st.permits -= this.needed;
                if this.sem.is_lock() {
                    st.add_holder(current_who(), this.needed);
                }
                drop(st);
                coop.made_progress();
                return Poll::Ready(Ok(()));
            }
            // Queue up. With nobody ahead, take what is free now (the rest comes on release).
            let assigned = if st.waiters.is_empty() {
                std::mem::take(&mut st.permits)
            } else {
                0
            };
            let who = if this.sem.is_lock() {
                current_who()
            } else {
                WHO_UNKNOWN
            };
            let want = Want {
                needed: this.needed,
                assigned,
                who,
            };
            let waker = TrackedWaker::new_waiting(cx.waker(), this.sem.wait_reason(this.needed));
            this.key = Some(st.waiters.push_back(want, Some(waker)));
            let node = (this.sem.is_lock() && who != WHO_NONE).then(|| this.sem.node(&mut st));
            drop(st);
            if let Some(node) = node {
                node.add_waiter(who);
            }
            return Poll::Pending;
        };
        let node = st.waiters.get_mut(key);
        if node.is_linked() {
            let old = update_waker(
                &mut node.waker,
                cx.waker(),
                this.sem.wait_reason(this.needed),
            );
            drop(st);
            drop(old);
            return Poll::Pending;
        }
        let node = st.waiters.remove(key);
        this.key = None;
        let served = node.data.assigned == node.data.needed;
        if this.sem.is_lock() {
            if served {
                st.add_holder(current_who(), node.data.needed);
            }
            if let Some(lock) = st.node.clone() {
                drop(st);
                lock.remove_waiter(node.data.who);
            } else {
                drop(st);
            }
        } else {
            drop(st);
        }
        drop(node);
        coop.made_progress();
        Poll::Ready(if served {
            Ok(())
        } else {
            Err(AcquireError(()))
        })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let (node, lock) = {
            let mut st = self.sem.state.borrow_mut();
            (st.waiters.remove(key), st.node.clone())
        };
        if let (true, Some(lock)) = (self.sem.is_lock(), lock) {
            lock.remove_waiter(node.data.who);
        }
        // Pass on whatever this waiter was handed (all of it if it was served but never saw
        // it); then drop its waker, both with no borrow held.
        self.sem.release(node.data.assigned);
        drop(node);
    }
}

impl std::fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acquire")
            .field("needed", &self.needed)
            .field("queued", &self.key.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn fast_path_and_fifo_queue() {
        let sem = RawSemaphore::new(2);
        let mut a = sem.acquire(2);
        assert!(poll_once(&mut a, &noop_waker()).is_ready());
        assert_eq!(sem.available_permits(), 0);
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let mut big = sem.acquire(2);
        let mut small = sem.acquire(1);
        assert!(poll_once(&mut big, &w1).is_pending());
        assert!(poll_once(&mut small, &w2).is_pending());
        // One permit back: assigned to `big` (front), not to `small`; nobody is woken yet.
        sem.release(1);
        assert_eq!(sem.available_permits(), 0);
        assert_eq!((c1.get(), c2.get()), (0, 0));
        assert_eq!(sem.try_acquire(1), Err(TryAcquireError::NoPermits));
        sem.release(1);
        assert_eq!((c1.get(), c2.get()), (1, 0));
        assert!(matches!(poll_once(&mut big, &w1), Poll::Ready(Ok(()))));
        sem.release(2);
        assert_eq!(c2.get(), 1);
        assert!(matches!(poll_once(&mut small, &w2), Poll::Ready(Ok(()))));
        assert_eq!(sem.available_permits(), 1);
    }

    #[test]
    fn dropped_partial_or_served_waiter_passes_permits_on() {
        let sem = RawSemaphore::new(0);
        let (w, c) = counting_waker();
        let mut a = sem.acquire(3);
        let mut b = sem.acquire(1);
        assert!(poll_once(&mut a, &noop_waker()).is_pending());
        assert!(poll_once(&mut b, &w).is_pending());
        sem.release(2); // partially assigned to a
        drop(a); // its 2 go to b (1) and the pool (1)
        assert_eq!(c.get(), 1);
        assert_eq!(sem.available_permits(), 1);
        // b was served but is dropped before seeing it: its permit comes back.
        drop(b);
        assert_eq!(sem.available_permits(), 2);
        assert_eq!(sem.waiters(), 0);
    }

    #[test]
    fn close_fails_waiters_and_returns_partial_permits() {
        let sem = RawSemaphore::new(1);
        let (w, c) = counting_waker();
        let mut a = sem.acquire(2);
        assert!(poll_once(&mut a, &w).is_pending());
        assert_eq!(sem.available_permits(), 0);
        sem.close();
        assert_eq!(c.get(), 1);
        assert_eq!(sem.available_permits(), 1);
        assert!(matches!(poll_once(&mut a, &w), Poll::Ready(Err(_))));
        assert_eq!(sem.try_acquire(1), Err(TryAcquireError::Closed));
        let mut b = sem.acquire(1);
        assert!(matches!(poll_once(&mut b, &w), Poll::Ready(Err(_))));
    }

    #[test]
    fn release_wakes_more_than_one_batch() {
        let sem = RawSemaphore::new(0);
        let (w, c) = counting_waker();
        let mut waiters: Vec<_> = (0..100).map(|_| sem.acquire(1)).collect();
        for a in &mut waiters {
            assert!(poll_once(a, &w).is_pending());
        }
        sem.release(100);
        assert_eq!(c.get(), 100);
        for a in &mut waiters {
            assert!(matches!(poll_once(a, &w), Poll::Ready(Ok(()))));
        }
        assert_eq!(sem.available_permits(), 0);
    }
}
