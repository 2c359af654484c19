//! [`Registration`]: one I/O source's slot in the reactor, and the readiness API sockets are
//! built on.

use std::cell::RefMut;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use mio::event::Source;
use mio::Interest;

use crate::reactor::{current, gone, Inner, Reactor};
use crate::ready::{Direction, Ready, ReadyEvent};
use crate::scheduled_io::{Clear, ScheduledIo};
use crate::token;

/// A source registered with a reactor: its readiness cache and wakers. `!Send`:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<strand_reactor::Registration>();
/// ```
///
/// # Contract for owners (strand-net)
///
/// - Register once, normally for `READABLE | WRITABLE` (both directions; the reactor is
///   edge-triggered, so there is no re-registration per operation).
/// - Call [`deregister`](Registration::deregister) with the source **before** its descriptor is
///   closed (typically in the owner's `Drop`, then let the source drop). Dropping the
///   `Registration` frees the slot; the generation in the token drops any event that still
///   arrives for it.
/// - After [`poll_ready`](Registration::poll_ready) said ready, operate until the OS returns
///   `WouldBlock`, then [`clear_readiness`](Registration::clear_readiness) with the event you
///   observed. [`poll_io`](Registration::poll_io) / [`try_io`](Registration::try_io) /
///   [`async_io`](Registration::async_io) do exactly this. A stream socket may also take a
///   short read or write as the proof ([`poll_io_drain`](Registration::poll_io_drain)).
/// - The `poll_*` methods keep one waker per direction (the last one counts): one task per
///   direction. When several tasks may wait on the same direction (several acceptors on one
///   listener, `readable().await` from several tasks), use [`readiness`](Registration::readiness)
///   or [`async_io`](Registration::async_io), which keep one waiter per future.
/// - The coop budget is the caller's business; nothing here spends it.
///
/// ```
/// use std::io::{Read, Write};
/// use std::task::{Context, Poll, Waker};
/// use strand_reactor::{Direction, Interest, Reactor, Registration};
///
/// let reactor = Reactor::new().unwrap();
/// let _enter = reactor.enter();
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
/// let (server, _) = listener.accept().unwrap();
/// server.set_nonblocking(true).unwrap();
/// let mut server = mio::net::TcpStream::from_std(server);
/// let reg = Registration::new(&mut server, Interest::READABLE | Interest::WRITABLE).unwrap();
///
/// client.write_all(b"hi").unwrap();
/// let waker = Waker::from(std::sync::Arc::new(Noop));
/// let mut cx = Context::from_waker(&waker);
/// let mut buf = [0; 8];
/// let n = loop {
///     match reg.poll_io(&mut cx, Direction::Read, || (&server).read(&mut buf)) {
///         Poll::Ready(res) => break res.unwrap(),
///         Poll::Pending => { reactor.turn(None).unwrap(); }
///     }
/// };
/// assert_eq!(&buf[..n], b"hi");
/// reg.deregister(&mut server).unwrap();
///
/// struct Noop;
/// impl std::task::Wake for Noop { fn wake(self: std::sync::Arc<Self>) {} }
/// ```
pub struct Registration {
    inner: Weak<Inner>,
    /// The slab index (below `token::MAX_INDEX`, so it fits) and the generation: the token.
    index: u32,
    generation: u32,
}

impl Registration {
    /// Registers `source` for `interest` on the current reactor.
    ///
    /// # Errors
    /// The OS registration failed (nothing stays registered, no slot leaks), or the reactor
    /// has shut down.
    ///
    /// # Panics
    /// Outside a runtime (no reactor entered on this thread).
    #[track_caller]
    pub fn new(source: &mut impl Source, interest: Interest) -> io::Result<Registration> {
        let Some(inner) = current() else {
            panic!(
                "no strand reactor is running: I/O resources must be created and used inside \
                 #[strand::main], #[strand::test] or Runtime::block_on"
            );
        };
        Self::register(&inner, source, interest)
    }

    /// Registers `source` on `reactor` (whether or not it is entered).
    pub fn new_on(
        reactor: &Reactor,
        source: &mut impl Source,
        interest: Interest,
    ) -> io::Result<Registration> {
        Self::register(reactor.inner(), source, interest)
    }

    fn register(
        inner: &Rc<Inner>,
        source: &mut impl Source,
        interest: Interest,
    ) -> io::Result<Registration> {
        let (_, token) = inner.register(source, interest)?;
        let (index, generation) = token::unpack(token);
        Ok(Registration {
            inner: Rc::downgrade(inner),
            index: u32::try_from(index).expect("slab index below token::MAX_INDEX"),
            generation,
        })
    }

    /// The slab index.
    #[inline]
    fn index(&self) -> usize {
        self.index as usize
    }

    /// This registration's entry of the slab, borrowed.
    #[inline]
    fn io<'a>(&self, inner: &'a Inner) -> RefMut<'a, ScheduledIo> {
        RefMut::map(inner.ios.borrow_mut(), |ios| &mut ios[self.index()])
    }

    #[inline]
    fn live(&self) -> io::Result<Rc<Inner>> {
        match self.inner.upgrade() {
            Some(inner) if !inner.is_shutdown() => Ok(inner),
            _ => Err(gone()),
        }
    }

    /// `Ready(Ok(event))` if `dir` is ready (readable/writable, closed, or errored); otherwise
    /// stores `cx`'s waker as the direction's waker (replacing the previous one: only the last
    /// counts) and returns `Pending`. `Ready(Err(_))` once the reactor has shut down or is
    /// gone.
    pub fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<ReadyEvent>> {
        let inner = match self.live() {
            Ok(inner) => inner,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let io = self.io(&inner);
        if let Some(ev) = io.ready_event(dir) {
            return Poll::Ready(Ok(ev));
        }
        park(io, dir, cx.waker())
    }

    /// Clears the readiness `ev` observed, unless an event arrived in that direction since
    /// (then the fresh readiness stays). Closed bits are never cleared.
    pub fn clear_readiness(&self, ev: ReadyEvent) {
        if let Some(inner) = self.inner.upgrade() {
            inner.ios.borrow_mut()[self.index()].clear(ev);
        }
    }

    /// Polls readiness, runs `f`, and on `WouldBlock` clears the readiness it saw and polls
    /// again (so it returns `Pending` with the waker stored once the source is drained). Any
    /// other result of `f` is returned. Spurious readiness never surfaces as an error.
    ///
    /// If `f` returns `WouldBlock` while only a final closed bit is set (nothing clearable),
    /// it returns `Pending` and waits for the next event instead of spinning.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_drain(cx, dir, f, |_| false)
    }

    /// [`poll_io`](Registration::poll_io) for operations that can prove the direction drained
    /// without a `WouldBlock`: when `f` succeeds and `drained` says so for its result, the
    /// readiness bit of `dir` it observed (`READABLE` or `WRITABLE`) is cleared before the
    /// result is returned, so the next call waits for a new event instead of paying a syscall
    /// that would only return `WouldBlock`.
    ///
    /// `drained` must only say yes when the OS guarantees a new edge for anything that arrives
    /// (or frees up) after the operation: a read that returned fewer bytes than asked on a TCP
    /// socket (the receive queue was empty at that instant), a short write on a stream socket
    /// (the send buffer was full). Never for datagram sockets, listeners or peeks. The clear
    /// is tick-checked like a `WouldBlock` clear (an event that arrived meanwhile keeps the
    /// direction ready), keeps the closed and error bits (a read-closed stream still reads
    /// end-of-file at once), and is skipped when the read side observed
    /// [`PRIORITY`](crate::Ready::PRIORITY) (a TCP read stops short at urgent data).
    #[inline]
    pub fn poll_io_drain<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut f: impl FnMut() -> io::Result<R>,
        drained: impl FnOnce(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        // One upgrade for the whole call; the slab is borrowed only around the bookkeeping,
        // never while `f` runs (it may re-enter the reactor).
        let inner = match self.live() {
            Ok(inner) => inner,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let mut ev = {
            let io = self.io(&inner);
            match io.ready_event(dir) {
                Some(ev) => ev,
                None => return park(io, dir, cx.waker()),
            }
        };
        loop {
            match f() {
                Ok(r) => {
                    if drained(&r) {
                        inner.ios.borrow_mut()[self.index()].clear_drained(ev);
                    }
                    return Poll::Ready(Ok(r));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Clear and re-check in one borrow: either a newer event is there (try
                    // again at once) or the waker is stored and we park.
                    let mut io = self.io(&inner);
                    let next = match io.clear(ev) {
                        Clear::Cleared | Clear::Stale => io.ready_event(dir),
                        // Only final bits, and the OS still says WouldBlock: wait for the
                        // next event instead of spinning.
                        Clear::Nothing => None,
                    };
                    match next {
                        Some(next) if !inner.is_shutdown() => ev = next,
                        Some(_) => return Poll::Ready(Err(gone())),
                        None => return park(io, dir, cx.waker()),
                    }
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn clear(&self, ev: ReadyEvent) -> Clear {
        match self.inner.upgrade() {
            Some(inner) => inner.ios.borrow_mut()[self.index()].clear(ev),
            // The next poll_ready reports the reactor gone.
            None => Clear::Stale,
        }
    }

    /// Runs `f` once if `dir` has cached readiness; otherwise returns `WouldBlock` without
    /// calling it. A `WouldBlock` from `f` clears the readiness it saw.
    pub fn try_io<R>(&self, dir: Direction, f: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        let inner = self.live()?;
        let ev = inner.ios.borrow()[self.index()].ready_event(dir);
        drop(inner);
        let Some(ev) = ev else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        match f() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_readiness(ev);
                Err(e)
            }
            res => res,
        }
    }

    /// A future that resolves once `dir` is ready. Unlike
    /// [`poll_ready`](Registration::poll_ready), every such future keeps its own waiter, so
    /// any number of tasks may wait on the same direction; dropping it removes the waiter.
    pub fn readiness(&self, dir: Direction) -> Readiness<'_> {
        Readiness {
            reg: self,
            dir,
            waiter: None,
            after_tick: None,
        }
    }

    /// Waits for readiness and runs `f` until it returns something other than `WouldBlock`
    /// (clearing the observed readiness on each `WouldBlock`). Any number of tasks may run it
    /// on the same direction at once. Cancel safe if `f` is: `f` only runs when the future is
    /// polled, and a result of `f` is returned from that same poll.
    pub async fn async_io<R>(
        &self,
        dir: Direction,
        mut f: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let mut after = None;
        loop {
            let mut fut = self.readiness(dir);
            fut.after_tick = after;
            let ev = fut.await?;
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    after = match self.clear(ev) {
                        Clear::Cleared | Clear::Stale => None,
                        // Only final bits, and the OS still says WouldBlock: wait for a newer
                        // event instead of spinning.
                        Clear::Nothing => Some(ev.tick),
                    };
                }
                res => return res,
            }
        }
    }

    /// Deregisters `source` from the OS poller. Call it before the descriptor is closed. The
    /// slot itself is freed when the `Registration` drops. Returns `Ok(())` when the reactor
    /// is already gone (its poller closed, nothing is registered anymore).
    pub fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        match self.inner.upgrade() {
            Some(inner) => inner.deregister(source),
            None => Ok(()),
        }
    }

    /// Cached readiness of `dir` (may be empty). No waker is stored.
    pub fn ready(&self, dir: Direction) -> Ready {
        match self.inner.upgrade() {
            Some(inner) => inner.ios.borrow()[self.index()].ready(dir),
            None => Ready::EMPTY,
        }
    }

    /// Whether the read side reported closed (end of stream). Final once true.
    pub fn is_read_closed(&self) -> bool {
        self.ready(Direction::Read).is_read_closed()
    }

    /// Whether the write side reported closed. Final once true.
    pub fn is_write_closed(&self) -> bool {
        self.ready(Direction::Write).is_write_closed()
    }

    /// The mio token this source is registered with (slot index and generation).
    pub fn token(&self) -> mio::Token {
        token::pack(self.index(), self.generation)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            let io = inner.ios.borrow_mut().try_remove(self.index());
            // Its wakers drop here, after the borrow.
            drop(io);
        }
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token())
            .field("read", &self.ready(Direction::Read))
            .field("write", &self.ready(Direction::Write))
            .finish()
    }
}

/// Stores `waker` as the waker of `dir` (only the last one counts) and returns `Pending`. The
/// replaced waker is dropped only after the borrow is released: its `Drop` may re-enter the
/// reactor.
#[inline]
fn park<T>(mut io: RefMut<'_, ScheduledIo>, dir: Direction, waker: &Waker) -> Poll<T> {
    let old = io.set_waker(dir, waker);
    drop(io);
    drop(old);
    Poll::Pending
}

/// Future returned by [`Registration::readiness`]: resolves to the [`ReadyEvent`] once the
/// direction is ready. Each future has its own waiter slot, so many may wait at once.
#[must_use = "futures do nothing unless polled"]
pub struct Readiness<'a> {
    reg: &'a Registration,
    dir: Direction,
    waiter: Option<usize>,
    /// Ignore readiness still stamped with this tick (it was already tried).
    after_tick: Option<u64>,
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = match this.reg.live() {
            Ok(inner) => inner,
            Err(e) => return Poll::Ready(Err(e)),
        };
        let mut ios = inner.ios.borrow_mut();
        let io = &mut ios[this.reg.index()];
        match io.ready_event(this.dir) {
            Some(ev) if this.after_tick != Some(ev.tick) => {
                let old = this
                    .waiter
                    .take()
                    .and_then(|k| io.remove_waiter(this.dir, k));
                drop(ios);
                drop(old);
                Poll::Ready(Ok(ev))
            }
            _ => {
                let (key, old) = io.set_waiter(this.dir, this.waiter, cx.waker());
                this.waiter = Some(key);
                drop(ios);
                drop(old);
                Poll::Pending
            }
        }
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        if let (Some(key), Some(inner)) = (self.waiter, self.reg.inner.upgrade()) {
            let old = inner.ios.borrow_mut()[self.reg.index()].remove_waiter(self.dir, key);
            drop(old);
        }
    }
}

impl fmt::Debug for Readiness<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("dir", &self.dir)
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    fn deliver(reg: &Registration, read: Ready) {
        let inner = reg.inner.upgrade().unwrap();
        let mut wake = Vec::new();
        inner.ios.borrow_mut()[reg.index()].deliver(read, Ready::EMPTY, &mut wake);
    }

    #[test]
    fn would_block_with_only_closed_bits_parks_instead_of_spinning() {
        let reactor = Reactor::new().unwrap();
        let mut sock = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let reg = Registration::new_on(&reactor, &mut sock, Interest::READABLE).unwrap();
        deliver(&reg, Ready::READ_CLOSED);
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut calls = 0;
        for _ in 0..3 {
            let res: Poll<io::Result<()>> = reg.poll_io(&mut cx, Direction::Read, || {
                calls += 1;
                Err(io::ErrorKind::WouldBlock.into())
            });
            assert!(res.is_pending());
        }
        assert_eq!(calls, 3, "one attempt per poll, no spinning");
        assert!(reg.is_read_closed());
        reg.deregister(&mut sock).unwrap();
    }

    fn new_reg(reactor: &Reactor) -> (mio::net::UdpSocket, Registration) {
        let mut sock = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let reg = Registration::new_on(reactor, &mut sock, Interest::READABLE).unwrap();
        (sock, reg)
    }

    #[test]
    fn a_drained_result_clears_only_the_direction_bit_and_keeps_read_closed() {
        let reactor = Reactor::new().unwrap();
        let (mut sock, reg) = new_reg(&reactor);
        // Data and FIN in one event.
        deliver(&reg, Ready::READABLE | Ready::READ_CLOSED);
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut calls = 0;
        let res = reg.poll_io_drain(
            &mut cx,
            Direction::Read,
            || {
                calls += 1;
                Ok(3usize)
            },
            |&n| n < 8,
        );
        assert!(matches!(res, Poll::Ready(Ok(3))));
        assert_eq!(reg.ready(Direction::Read), Ready::READ_CLOSED);
        // The next read runs at once, with no new event, and would see end-of-file.
        let res = reg.poll_io_drain(
            &mut cx,
            Direction::Read,
            || {
                calls += 1;
                Ok(0usize)
            },
            |&n| n > 0 && n < 8,
        );
        assert!(matches!(res, Poll::Ready(Ok(0))));
        assert_eq!(calls, 2);
        reg.deregister(&mut sock).unwrap();
    }

    #[test]
    fn a_drained_result_leaves_readiness_when_not_drained_or_stale_or_urgent() {
        let reactor = Reactor::new().unwrap();
        let (mut sock, reg) = new_reg(&reactor);
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        deliver(&reg, Ready::READABLE);
        // A full transfer proves nothing: readiness stays.
        let res = reg.poll_io_drain(&mut cx, Direction::Read, || Ok(8usize), |&n| n < 8);
        assert!(matches!(res, Poll::Ready(Ok(8))));
        assert!(reg.ready(Direction::Read).is_readable());
        // An event that lands during the operation keeps the direction ready.
        let res = reg.poll_io_drain(
            &mut cx,
            Direction::Read,
            || {
                deliver(&reg, Ready::READABLE);
                Ok(1usize)
            },
            |_| true,
        );
        assert!(matches!(res, Poll::Ready(Ok(1))));
        assert!(reg.ready(Direction::Read).is_readable());
        // Readiness that saw urgent data is kept past a short read.
        deliver(&reg, Ready::READABLE | Ready::PRIORITY);
        let res = reg.poll_io_drain(&mut cx, Direction::Read, || Ok(1usize), |_| true);
        assert!(matches!(res, Poll::Ready(Ok(1))));
        assert!(reg.ready(Direction::Read).is_readable());
        // Without it, a drained result clears, and the next poll parks without calling `f`.
        let res = reg.poll_io(&mut cx, Direction::Read, || -> io::Result<()> {
            Err(io::ErrorKind::WouldBlock.into())
        });
        assert!(res.is_pending());
        deliver(&reg, Ready::READABLE);
        let res = reg.poll_io_drain(&mut cx, Direction::Read, || Ok(1usize), |_| true);
        assert!(matches!(res, Poll::Ready(Ok(1))));
        let mut called = false;
        let res = reg.poll_io_drain(
            &mut cx,
            Direction::Read,
            || {
                called = true;
                Ok(1usize)
            },
            |_| true,
        );
        assert!(res.is_pending() && !called);
        reg.deregister(&mut sock).unwrap();
    }

    #[test]
    fn a_drained_write_keeps_the_error_bit_and_the_read_side() {
        let reactor = Reactor::new().unwrap();
        let (mut sock, reg) = new_reg(&reactor);
        let inner = reg.inner.upgrade().unwrap();
        let mut wake = Vec::new();
        inner.ios.borrow_mut()[reg.index()].deliver(
            Ready::READABLE,
            Ready::WRITABLE | Ready::ERROR,
            &mut wake,
        );
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let res = reg.poll_io_drain(&mut cx, Direction::Write, || Ok(1usize), |_| true);
        assert!(matches!(res, Poll::Ready(Ok(1))));
        assert_eq!(reg.ready(Direction::Write), Ready::ERROR);
        assert_eq!(reg.ready(Direction::Read), Ready::READABLE);
        reg.deregister(&mut sock).unwrap();
    }

    #[test]
    fn poll_io_retries_when_a_newer_event_arrived_during_the_operation() {
        let reactor = Reactor::new().unwrap();
        let mut sock = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let reg = Registration::new_on(&reactor, &mut sock, Interest::READABLE).unwrap();
        deliver(&reg, Ready::READABLE);
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut calls = 0;
        let res = reg.poll_io(&mut cx, Direction::Read, || {
            calls += 1;
            if calls == 1 {
                // An event lands between the attempt and the clear.
                deliver(&reg, Ready::READABLE);
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(calls)
            }
        });
        assert!(matches!(res, Poll::Ready(Ok(2))));
        reg.deregister(&mut sock).unwrap();
    }
}
