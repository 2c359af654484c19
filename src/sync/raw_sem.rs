//! The fair counting semaphore underneath `Semaphore`, `Mutex`, `RwLock` and the bounded `mpsc`
//! channel.
//!
//! State: the number of free permits, a closed flag and a FIFO [`WaitList`] of waiters, each
//! wanting `needed` permits of which `assigned` were already handed to it. Permits released while
//! waiters are queued go to the oldest waiter first (partially, if it wants more than are free),
//! so a large request is never starved by a stream of small ones and no grant jumps the queue:
//! a grant needs free permits *and* nobody queued (free permits with waiters queued happen only
//! while a release wakes one full batch of served waiters before serving the next).
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
//! it is queued. The uncontended grant and release only touch `Cell`s (and, while diagnostics
//! are on, an inline holder slot); with diagnostics off nothing is recorded at all.

use std::cell::{Cell, RefCell};
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

/// What is only touched off the fast paths.
struct State {
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

    fn remove_holder(&mut self, who: u64, n: usize) {
        match &self.node {
            None => {
                self.holders.remove(who, n);
            }
            Some(node) => node.remove_holder(who, n),
        }
    }
}

/// The counting semaphore. The uncontended paths (a grant with permits free, a release with
/// nobody queued) only touch the `Cell`s; the `RefCell`ed [`State`] is borrowed when someone
/// queues, and for holder bookkeeping while diagnostics are on.
/// `flags`: the semaphore is closed.
const CLOSED: u8 = 1;
/// `flags`: somebody is queued (mirrors `!state.waiters.is_empty()`, kept in step by every
/// change of the queue).
const QUEUED: u8 = 2;

pub(crate) struct RawSemaphore {
    /// Free permits. Nonzero only while nobody is queued, except while `serve_waiters` wakes
    /// one full batch before serving the next (a waker may re-enter then): so a grant checks
    /// `flags` too.
    permits: Cell<usize>,
    /// [`CLOSED`] and [`QUEUED`]; zero is the uncontended case.
    flags: Cell<u8>,
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
            permits: Cell::new(permits),
            flags: Cell::new(0),
            state: RefCell::new(State {
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

    /// Brings `queued` in step with the queue after a change of it.
    #[inline]
    fn sync_queued(&self, st: &State) {
        let f = self.flags.get() & !QUEUED;
        self.flags
            .set(if st.waiters.is_empty() { f } else { f | QUEUED });
    }

    #[inline]
    fn queued(&self) -> bool {
        self.flags.get() & QUEUED != 0
    }

    /// Debug builds: `QUEUED` agrees with the queue.
    #[inline]
    fn debug_check(&self, st: &State) {
        debug_assert_eq!(self.queued(), !st.waiters.is_empty(), "QUEUED out of step");
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

    /// Records a grant of `n` permits to the party running now; returns the party it was
    /// recorded for: the one to release them under ([`WHO_NONE`] when nothing was recorded: a
    /// channel, no permits, or diagnostics off).
    #[inline]
    fn granted(&self, n: usize) -> u64 {
        if !self.is_lock() || n == 0 {
            return WHO_NONE;
        }
        let who = current_who();
        if who != WHO_NONE {
            self.add_holder(who, n);
        }
        who
    }

    #[inline(never)]
    fn add_holder(&self, who: u64, n: usize) {
        self.state.borrow_mut().add_holder(who, n);
    }

    /// Takes `who`'s `n` permits out of the holder records.
    #[inline(never)]
    fn remove_holder(&self, who: u64, n: usize) {
        self.state.borrow_mut().remove_holder(who, n);
    }

    /// Gives back `n` permits granted to `who` (a guard's drop; `who` as returned by the
    /// grant).
    #[inline]
    pub(crate) fn release_held(&self, n: usize, who: u64) {
        self.forget_held(n, who);
        self.release(n);
    }

    /// `n` permits granted to `who` are given up for good (a forgotten permit).
    #[inline]
    pub(crate) fn forget_held(&self, n: usize, who: u64) {
        if who != WHO_NONE && n > 0 {
            self.remove_holder(who, n);
        }
    }

    /// `n` permits just granted to `who` move to an owned guard or permit, which may travel to
    /// another task: from now on their holder is unknown. Returns the party to release them
    /// under.
    pub(crate) fn disown(&self, n: usize, who: u64) -> u64 {
        if who == WHO_NONE || n == 0 {
            return WHO_NONE;
        }
        self.transfer(n, who, WHO_UNKNOWN);
        WHO_UNKNOWN
    }

    /// Moves `n` permits from `from` to `to` (merging permits of two parties; either may be
    /// [`WHO_NONE`], for permits taken while diagnostics were off).
    pub(crate) fn transfer(&self, n: usize, from: u64, to: u64) {
        if !self.is_lock() || n == 0 || from == to {
            return;
        }
        let mut st = self.state.borrow_mut();
        match (from, to) {
            (WHO_NONE, to) => st.add_holder(to, n),
            (from, WHO_NONE) => st.remove_holder(from, n),
            (from, to) => match &st.node {
                None => {
                    st.holders.remove(from, n);
                    st.holders.add(to, n);
                }
                Some(node) => node.transfer(from, to, n),
            },
        }
    }

    pub(crate) fn available_permits(&self) -> usize {
        self.permits.get()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.flags.get() & CLOSED != 0
    }

    /// Number of queued waiters.
    #[cfg(test)]
    pub(crate) fn waiters(&self) -> usize {
        let n = self.state.borrow().waiters.len();
        assert_eq!(self.queued(), n > 0, "QUEUED out of step");
        n
    }

    /// Takes `n` permits if they are free and nobody is queued; returns the party to release
    /// them under.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<u64, TryAcquireError> {
        if self.take_uncontended(n) {
            Ok(self.granted(n))
        } else if self.is_closed() {
            Err(TryAcquireError::Closed)
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// The uncontended grant, shared by [`try_acquire`](Self::try_acquire) and
    /// [`Acquire`]'s fast path: takes `n` permits if they are free, the semaphore is open and
    /// nobody is queued (the caller then records the grant with `granted`).
    #[inline(always)]
    fn take_uncontended(&self, n: usize) -> bool {
        let p = self.permits.get();
        let free = p >= n && self.flags.get() == 0;
        if free {
            self.permits.set(p - n);
        }
        free
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
        match self.permits.get().checked_add(n) {
            Some(p) if p <= MAX_PERMITS => self.permits.set(p),
            _ => overflow(),
        }
        if self.queued() && n > 0 {
            self.serve_waiters();
        }
        #[cfg(debug_assertions)]
        if let Ok(st) = self.state.try_borrow() {
            self.debug_check(&st);
        }
    }

    /// Hands free permits to queued waiters and wakes the served ones, in batches, with no
    /// borrow held while waking (a woken or dropped waker may re-enter this semaphore).
    #[cold]
    #[inline(never)]
    fn serve_waiters(&self) {
        let mut batch = WakeBatch::new();
        loop {
            let more = {
                let mut st = self.state.borrow_mut();
                let more = self.assign(&mut st, &mut batch);
                self.sync_queued(&st);
                more
            };
            batch.wake_all();
            if !more {
                break;
            }
        }
    }

    /// Removes up to `n` free permits for good; returns how many were removed.
    pub(crate) fn forget(&self, n: usize) -> usize {
        let p = self.permits.get();
        let k = p.min(n);
        self.permits.set(p - k);
        k
    }

    /// Closes the semaphore: queued and future acquires fail; permits still held can be
    /// released (and acquired waiters that were already served keep their permits).
    pub(crate) fn close(&self) {
        self.flags.set(self.flags.get() | CLOSED);
        let mut batch = WakeBatch::new();
        loop {
            let more = {
                let mut st = self.state.borrow_mut();
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
                    self.permits.set(self.permits.get() + partial);
                    if let Some(w) = waker {
                        batch.push(w);
                    }
                }
                self.sync_queued(&st);
                more
            };
            batch.wake_all();
            if !more {
                break;
            }
        }
    }

    /// Hands free permits to the waiters at the front; returns true when `batch` filled up
    /// before the queue was served (call again after waking the batch).
    fn assign(&self, st: &mut State, batch: &mut WakeBatch) -> bool {
        while self.permits.get() > 0 {
            let Some(key) = st.waiters.front() else {
                break;
            };
            if batch.is_full() {
                return true;
            }
            let node = st.waiters.get_mut(key);
            let free = self.permits.get();
            let take = free.min(node.data.needed - node.data.assigned);
            node.data.assigned += take;
            self.permits.set(free - take);
            if node.data.assigned < node.data.needed {
                break;
            }
            let waker = node.waker.take().map(TrackedWaker::into_waker);
            st.waiters.unlink(key);
            if let Some(w) = waker {
                batch.push(w);
            }
        }
        false
    }
}

#[cold]
#[inline(never)]
fn overflow() -> ! {
    panic!("semaphore permits overflow MAX_PERMITS")
}

impl std::fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Semaphore");
        d.field("permits", &self.permits.get());
        match self.state.try_borrow() {
            Ok(st) => d.field("waiters", &st.waiters.len()),
            Err(_) => d.field("waiters", &format_args!("<busy>")),
        };
        d.field("closed", &self.is_closed()).finish()
    }
}

/// Waits for `needed` permits of a [`RawSemaphore`]; yields the party to release them under
/// (see [`RawSemaphore::release_held`]). Unpin; cancel-safe (see the module docs).
pub(crate) struct Acquire<'a> {
    sem: &'a RawSemaphore,
    needed: usize,
    key: Option<Key>,
}

impl Future for Acquire<'_> {
    type Output = Result<u64, AcquireError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let sem = this.sem;
        let needed = this.needed;
        // The fast path: permits free, not closed, nobody queued.
        if this.key.is_none() && sem.take_uncontended(needed) {
            coop.made_progress();
            return Poll::Ready(Ok(sem.granted(needed)));
        }
        let res = this.poll_slow(cx);
        if res.is_ready() {
            coop.made_progress();
        }
        res
    }
}

impl<'a> Acquire<'a> {
    /// A future that waits like this one, then turns the result (the party the permits were
    /// granted to, or the error) into `f`'s output: how the primitives build their guards
    /// without an `async fn` state machine around the grant.
    #[inline]
    pub(crate) fn then_grant<F, R>(self, f: F) -> Granted<'a, F>
    where
        F: FnOnce(Result<u64, AcquireError>) -> R + Unpin,
    {
        Granted {
            acquire: self,
            make: Some(f),
        }
    }

    /// Everything but the uncontended grant: queue up, re-register, complete after a wait.
    #[inline(never)]
    fn poll_slow(&mut self, cx: &mut Context<'_>) -> Poll<Result<u64, AcquireError>> {
        let sem = self.sem;
        let mut st = sem.state.borrow_mut();
        sem.debug_check(&st);
        let Some(key) = self.key else {
            if sem.is_closed() {
                return Poll::Ready(Err(AcquireError(())));
            }
            if self.needed == 0 {
                return Poll::Ready(Ok(WHO_NONE));
            }
            // Queue up. With nobody ahead, take what is free now (the rest comes on release).
            let assigned = if st.waiters.is_empty() {
                sem.permits.replace(0)
            } else {
                0
            };
            let who = if sem.is_lock() {
                current_who()
            } else {
                WHO_UNKNOWN
            };
            let want = Want {
                needed: self.needed,
                assigned,
                who,
            };
            let waker = TrackedWaker::new_waiting(cx.waker(), sem.wait_reason(self.needed));
            self.key = Some(st.waiters.push_back(want, Some(waker)));
            sem.sync_queued(&st);
            let node = (sem.is_lock() && who != WHO_NONE).then(|| sem.node(&mut st));
            drop(st);
            if let Some(node) = node {
                node.add_waiter(who);
            }
            return Poll::Pending;
        };
        let node = st.waiters.get_mut(key);
        if node.is_linked() {
            let old = update_waker(&mut node.waker, cx.waker(), sem.wait_reason(self.needed));
            drop(st);
            drop(old);
            return Poll::Pending;
        }
        // Served (or closed) while queued: already unlinked, so `queued` is unchanged.
        let node = st.waiters.remove(key);
        self.key = None;
        let served = node.data.assigned == node.data.needed;
        let lock = if sem.is_lock() { st.node.clone() } else { None };
        drop(st);
        if let Some(lock) = lock {
            lock.remove_waiter(node.data.who);
        }
        let who = if served {
            sem.granted(node.data.needed)
        } else {
            WHO_NONE
        };
        drop(node);
        Poll::Ready(if served {
            Ok(who)
        } else {
            Err(AcquireError(()))
        })
    }

    #[inline(never)]
    fn cancel(&mut self, key: Key) {
        let (node, lock) = {
            let mut st = self.sem.state.borrow_mut();
            let node = st.waiters.remove(key);
            self.sem.sync_queued(&st);
            (node, st.node.clone())
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

/// See [`Acquire::then_grant`]. Cancel-safe as [`Acquire`] is.
pub(crate) struct Granted<'a, F> {
    acquire: Acquire<'a>,
    make: Option<F>,
}

impl<F, R> Future for Granted<'_, F>
where
    F: FnOnce(Result<u64, AcquireError>) -> R + Unpin,
{
    type Output = R;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let this = self.get_mut();
        // Checked before acquiring: a finished future polled again must not take (and then
        // strand) another permit.
        let Some(make) = this.make.take() else {
            polled_after_completion()
        };
        match Pin::new(&mut this.acquire).poll(cx) {
            Poll::Ready(res) => Poll::Ready(make(res)),
            Poll::Pending => {
                this.make = Some(make);
                Poll::Pending
            }
        }
    }
}

#[cold]
#[inline(never)]
pub(crate) fn polled_after_completion() -> ! {
    panic!(
        "a lock or permit future was polled after it completed; a finished future must not \
         be polled again (fuse it, or create a new one with lock()/acquire())"
    )
}

impl Drop for Acquire<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cancel(key);
        }
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
        assert!(matches!(poll_once(&mut big, &w1), Poll::Ready(Ok(_))));
        sem.release(2);
        assert_eq!(c2.get(), 1);
        assert!(matches!(poll_once(&mut small, &w2), Poll::Ready(Ok(_))));
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

    thread_local! {
        static SEM: RawSemaphore = const { RawSemaphore::new(0) };
        /// (grants while somebody was queued, grants while nobody was)
        static BARGED: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
    }

    fn barge() {
        SEM.with(|s| {
            let queued = s.waiters() > 0;
            if let Ok(who) = s.try_acquire(1) {
                BARGED.with(|b| {
                    let (jumped, fair) = b.get();
                    b.set(if queued {
                        (jumped + 1, fair)
                    } else {
                        (jumped, fair + 1)
                    });
                });
                s.release_held(1, who);
            }
        });
    }

    /// A release that serves more waiters than one wake batch holds wakes the first batch with
    /// permits still free for the rest: a waker that re-enters then must not get one ahead of
    /// the waiters still queued.
    #[test]
    fn no_grant_jumps_the_queue_between_wake_batches() {
        SEM.with(|sem| {
            let w = hook_waker(barge, || {});
            let mut waiters: Vec<_> = (0..40).map(|_| sem.acquire(1)).collect();
            for a in &mut waiters {
                assert!(poll_once(a, &w).is_pending());
            }
            sem.release(41);
            // The second batch's 8 wakes find nobody queued and one permit free: fair grants.
            assert_eq!(
                BARGED.with(|b| b.get()),
                (0, 8),
                "a re-entrant grant jumped the queue"
            );
            for a in &mut waiters {
                assert!(matches!(poll_once(a, &w), Poll::Ready(Ok(_))));
            }
            assert_eq!(sem.available_permits(), 1);
            assert_eq!(sem.waiters(), 0);
            drop(waiters);
            barge();
            assert_eq!(BARGED.with(|b| b.get()), (0, 9));
        });
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
            assert!(matches!(poll_once(a, &w), Poll::Ready(Ok(_))));
        }
        assert_eq!(sem.available_permits(), 0);
    }
}
