//! Waker handling of every primitive, driven by hand with custom wakers: the last waker a
//! future was polled with is the one woken, and a waker whose `wake` or `Drop` re-enters the
//! primitive neither deadlocks nor panics.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use strand::sync::{mpsc, oneshot, watch, Mutex, Notify, RwLock, Semaphore};

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Waker, Arc<Count>) {
    let c = Arc::new(Count::default());
    (Waker::from(c.clone()), c)
}

fn n(c: &Count) -> usize {
    c.0.load(Ordering::SeqCst)
}

fn poll<F: Future + ?Sized>(f: Pin<&mut F>, w: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(w))
}

/// Polls `fut` with W1, then W2, runs `trigger`, and checks that only W2 was woken and that
/// the future then completes.
fn check_last_waker_wins<F: Future>(fut: F, trigger: impl FnOnce()) -> F::Output {
    let mut fut = Box::pin(fut);
    let (w1, c1) = counting();
    let (w2, c2) = counting();
    assert!(poll(fut.as_mut(), &w1).is_pending());
    assert!(poll(fut.as_mut(), &w2).is_pending());
    trigger();
    assert_eq!(n(&c1), 0, "the replaced waker was woken");
    assert_eq!(n(&c2), 1, "the last waker was not woken");
    match poll(fut.as_mut(), &w2) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("woken but not ready"),
    }
}

#[test]
fn last_waker_wins_everywhere() {
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    drop(check_last_waker_wins(m.lock(), || drop(g)));

    let lock = RwLock::new(0);
    let r = lock.try_read().unwrap();
    drop(check_last_waker_wins(lock.write(), || drop(r)));

    let sem = Semaphore::new(0);
    drop(check_last_waker_wins(sem.acquire(), || sem.add_permits(1)).unwrap());

    let notify = Notify::new();
    check_last_waker_wins(notify.notified(), || notify.notify_one());

    let (tx, mut rx) = mpsc::channel::<u8>(1);
    assert_eq!(
        check_last_waker_wins(rx.recv(), || tx.try_send(4).unwrap()),
        Some(4)
    );
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    tx.try_send(0).unwrap();
    check_last_waker_wins(tx.send(1), || assert_eq!(rx.try_recv(), Ok(0))).unwrap();

    let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
    assert_eq!(check_last_waker_wins(urx.recv(), || drop(utx)), None);

    let (otx, orx) = oneshot::channel();
    assert_eq!(check_last_waker_wins(orx, || otx.send(5).unwrap()), Ok(5));
    let (mut otx, orx) = oneshot::channel::<()>();
    check_last_waker_wins(otx.closed(), || drop(orx));

    let (wtx, mut wrx) = watch::channel(0);
    check_last_waker_wins(wrx.changed(), || wtx.send(1).unwrap()).unwrap();
    check_last_waker_wins(wtx.closed(), || drop(wrx));
}

/// A waker that calls a hook from `wake` and from `Drop`. Hooks are plain `fn`s that reach the
/// (`!Send`) primitive through thread-locals, since a waker must be `Send + Sync`.
struct Hook(fn());

impl Wake for Hook {
    fn wake(self: Arc<Self>) {
        (self.0)();
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        (self.0)();
    }
}

fn hook(f: fn()) -> Waker {
    Waker::from(Arc::new(Hook(f)))
}

thread_local! {
    static MUTEX: Rc<Mutex<u32>> = Rc::new(Mutex::new(0));
    static SEM: Rc<Semaphore> = Rc::new(Semaphore::new(0));
    static NOTIFY: Rc<Notify> = Rc::new(Notify::new());
    static TX: RefCell<Option<mpsc::Sender<u32>>> = const { RefCell::new(None) };
    static HITS: Cell<u32> = const { Cell::new(0) };
}

fn hit() {
    HITS.with(|h| h.set(h.get() + 1));
}

fn hits() -> u32 {
    HITS.with(Cell::get)
}

fn touch_mutex() {
    hit();
    MUTEX.with(|m| {
        if let Ok(mut g) = m.try_lock() {
            *g += 1;
        }
        let _ = format!("{m:?}");
    });
}

#[test]
fn reentrant_waker_mutex() {
    let m = MUTEX.with(Rc::clone);
    let g = m.try_lock().unwrap();
    let mut f = Box::pin(m.lock());
    assert!(poll(f.as_mut(), &hook(touch_mutex)).is_pending());
    let before = hits();
    assert!(poll(f.as_mut(), &hook(touch_mutex)).is_pending()); // drops the first hook
    assert!(hits() > before);
    drop(g); // hands over, wakes (and drops) the hook: both re-enter while the lock is in flight
    let Poll::Ready(g) = poll(f.as_mut(), &counting().0) else {
        panic!("not handed over")
    };
    assert_eq!(*g, 0, "nobody took the lock during the hand-over");
    drop(g);
    drop(f);
    assert!(m.try_lock().is_ok());
}

fn touch_semaphore() {
    hit();
    SEM.with(|s| {
        // A permit taken here goes straight back (and may be handed on): re-entrant release.
        drop(s.try_acquire());
        let _ = (s.available_permits(), s.is_closed());
        let _ = format!("{s:?}");
    });
}

#[test]
fn reentrant_waker_semaphore() {
    let sem = SEM.with(Rc::clone);
    let mut a = Box::pin(sem.acquire());
    let mut b = Box::pin(sem.acquire());
    assert!(poll(a.as_mut(), &hook(touch_semaphore)).is_pending());
    assert!(poll(b.as_mut(), &hook(touch_semaphore)).is_pending());
    let before = hits();
    assert!(poll(a.as_mut(), &hook(touch_semaphore)).is_pending()); // drops a's first hook
    assert_eq!(hits(), before + 1);
    sem.add_permits(2); // serves a and b, waking both hooks outside any borrow
    assert!(hits() >= before + 3);
    let Poll::Ready(Ok(p)) = poll(a.as_mut(), &counting().0) else {
        panic!("a not served")
    };
    drop(b); // served but never polled again: passes its permit back
    drop(p);
    drop(a);
    assert_eq!(sem.available_permits(), 2);
}

fn touch_notify() {
    hit();
    NOTIFY.with(|n| {
        n.notify_one();
        n.notify_waiters();
    });
}

#[test]
fn reentrant_waker_notify() {
    let notify = NOTIFY.with(Rc::clone);
    let mut f = Box::pin(notify.notified());
    assert!(poll(f.as_mut(), &hook(touch_notify)).is_pending());
    let mut g = Box::pin(notify.notified());
    assert!(poll(g.as_mut(), &hook(touch_notify)).is_pending());
    notify.notify_waiters();
    assert!(poll(f.as_mut(), &counting().0).is_ready());
    assert!(poll(g.as_mut(), &counting().0).is_ready());
    // The re-entrant notify_one calls found nobody waiting: exactly one permit is stored.
    assert!(poll(Box::pin(notify.notified()).as_mut(), &counting().0).is_ready());
    assert!(poll(Box::pin(notify.notified()).as_mut(), &counting().0).is_pending());
}

fn send_from_waker() {
    hit();
    TX.with(|t| {
        if let Ok(slot) = t.try_borrow() {
            if let Some(tx) = slot.as_ref() {
                let _ = tx.try_send(1);
            }
        }
    });
}

#[test]
fn reentrant_waker_mpsc() {
    let (tx, mut rx) = mpsc::channel(4);
    TX.with(|t| *t.borrow_mut() = Some(tx));
    {
        let mut r = Box::pin(rx.recv());
        assert!(poll(r.as_mut(), &hook(send_from_waker)).is_pending());
        let (w2, c2) = counting();
        // Replacing the waker drops the hook, which sends: that must wake w2.
        assert!(poll(r.as_mut(), &w2).is_pending());
        assert_eq!(n(&c2), 1);
        assert_eq!(poll(r.as_mut(), &w2), Poll::Ready(Some(1)));
    }
    TX.with(|t| t.borrow_mut().take());
    let mut rest = Vec::new();
    while let Ok(v) = rx.try_recv() {
        rest.push(v);
    }
    assert!(rest.len() <= 3);
    assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected));
}
