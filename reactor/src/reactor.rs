//! The reactor: mio `Poll`, the registration slab, the timers, and the thread-local "current
//! reactor".

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use slab::Slab;

use crate::clock::{self, Clock};
use crate::scheduled_io::ScheduledIo;
use crate::time::Timers;
use crate::token;
use crate::unpark::Unparker;

const EVENTS_CAPACITY: usize = 1024;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// The reactor entered on this thread, if any.
pub(crate) fn current() -> Option<Rc<Inner>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Runs `f` on the current reactor without cloning its `Rc` (the hot path of timers). `f`
/// must not enter or leave a reactor, and must not drop wakers: return them instead.
#[inline(always)]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Inner>) -> R) -> R {
    let mut f = Some(f);
    let res = CURRENT.try_with(|c| (f.take().expect("called once"))(c.borrow().as_deref()));
    match res {
        Ok(r) => r,
        // Thread-local already destroyed (thread exit): no reactor.
        Err(_) => (f.take().expect("not called"))(None),
    }
}

pub(crate) fn gone() -> io::Error {
    io::Error::other("strand reactor gone: the runtime has shut down")
}

/// State shared by the [`Reactor`] and (weakly) by its registrations.
pub(crate) struct Inner {
    /// Process-unique; lets a timer key recognise its reactor.
    pub(crate) id: u64,
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    pub(crate) ios: RefCell<Slab<ScheduledIo>>,
    next_generation: Cell<u32>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) clock: Clock,
    /// Reused between turns so waking allocates nothing in steady state.
    wake_buf: Cell<Vec<Waker>>,
    shutdown: Cell<bool>,
    waker: Arc<mio::Waker>,
}

impl Inner {
    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.get()
    }

    /// Registers `source` in a fresh slot. A failed OS registration frees the slot again.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: mio::Interest,
    ) -> io::Result<(usize, mio::Token)> {
        if self.is_shutdown() {
            return Err(gone());
        }
        let generation = self.next_generation.get();
        self.next_generation.set(token::next_generation(generation));
        let index = {
            let mut ios = self.ios.borrow_mut();
            let index = ios.insert(ScheduledIo::new(generation));
            if index >= token::MAX_INDEX {
                ios.remove(index);
                return Err(io::Error::other("strand reactor: too many registrations"));
            }
            index
        };
        let tok = token::pack(index, generation);
        let res = self
            .poll
            .borrow()
            .registry()
            .register(source, tok, interest);
        match res {
            Ok(()) => Ok((index, tok)),
            Err(e) => {
                let io = self.ios.borrow_mut().try_remove(index);
                drop(io);
                Err(e)
            }
        }
    }

    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        self.poll.borrow().registry().deregister(source)
    }

    fn fire_timers(&self, wake: &mut Vec<Waker>) -> usize {
        let now = self.clock.now();
        self.timers.borrow_mut().process(now, wake)
    }

    /// The poll timeout: the caller's, shortened to the next timer (a paused clock only moves
    /// when told to, so then only an already-due timer shortens it, to zero).
    fn poll_timeout(&self, timeout: Option<Duration>) -> Option<Duration> {
        let Some(at) = self.timers.borrow().next_deadline() else {
            return timeout;
        };
        let until = at.saturating_duration_since(self.clock.now());
        if !until.is_zero() && self.clock.is_paused() {
            return timeout;
        }
        Some(timeout.map_or(until, |t| t.min(until)))
    }
}

/// Per-turn counters returned by [`Reactor::turn`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TurnStats {
    /// I/O events dispatched to live registrations.
    pub events: usize,
    /// Events dropped because their registration is gone (stale generation).
    pub stale_events: usize,
    /// Timers that fired.
    pub timers_fired: usize,
    /// Whether an [`Unparker`] woke this turn.
    pub unparked: bool,
    /// Wakers woken (I/O and timers).
    pub woken: usize,
}

/// The reactor of one runtime: I/O readiness, timers and the clock. `!Send`:
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<strand_reactor::Reactor>();
/// ```
///
/// ```
/// use std::time::Duration;
/// use strand_reactor::{time, Reactor};
///
/// let reactor = Reactor::new().unwrap();
/// let _enter = reactor.enter();
/// reactor.clock().pause();
/// let waker = std::task::Waker::from(std::sync::Arc::new(Flag));
/// let key = time::register(time::now() + Duration::from_millis(5), &waker).unwrap();
/// assert_eq!(reactor.timers(), 1);
/// reactor.clock().advance(Duration::from_millis(5));
/// assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap().timers_fired, 1);
/// time::cancel(key);
/// assert_eq!(reactor.timers(), 0);
///
/// struct Flag;
/// impl std::task::Wake for Flag { fn wake(self: std::sync::Arc<Self>) {} }
/// ```
pub struct Reactor {
    inner: Rc<Inner>,
}

impl Reactor {
    /// Creates a reactor: an epoll/kqueue instance (close-on-exec) and its waker.
    pub fn new() -> io::Result<Reactor> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let poll = Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), token::WAKER)?);
        let clock = Clock::new();
        let origin = clock.origin();
        Ok(Reactor {
            inner: Rc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                poll: RefCell::new(poll),
                events: RefCell::new(Events::with_capacity(EVENTS_CAPACITY)),
                ios: RefCell::new(Slab::new()),
                next_generation: Cell::new(0),
                timers: RefCell::new(Timers::new(origin)),
                clock,
                wake_buf: Cell::new(Vec::new()),
                shutdown: Cell::new(false),
                waker,
            }),
        })
    }

    pub(crate) fn inner(&self) -> &Rc<Inner> {
        &self.inner
    }

    /// Makes this the thread's current reactor until the guard drops ([`Registration::new`],
    /// [`time`](crate::time) use it). Guards nest; dropping one restores what was current
    /// before it.
    ///
    /// [`Registration::new`]: crate::Registration::new
    pub fn enter(&self) -> EnterGuard<'_> {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.inner.clone()));
        clock::set_current_in_step(self.inner.clock.in_step());
        EnterGuard {
            prev,
            _reactor: PhantomData,
        }
    }

    /// A handle that makes a blocked [`turn`](Reactor::turn) return, from any thread.
    pub fn unparker(&self) -> Unparker {
        Unparker::new(self.inner.waker.clone())
    }

    /// Waits for I/O up to `timeout` (`None`: no limit of its own), but never past the next
    /// timer deadline of a running clock; dispatches readiness to registrations; fires the
    /// timers due by the clock; then, after every internal borrow is released, wakes every
    /// collected waker (a waker may re-enter the reactor).
    ///
    /// With a paused clock, timers that are not yet due do not shorten the wait (paused time
    /// only moves through [`Clock::advance`] / [`Clock::set_time`]); timers already due make
    /// the wait zero. `EINTR` returns early with no events.
    pub fn turn(&self, timeout: Option<Duration>) -> io::Result<TurnStats> {
        let inner = &*self.inner;
        let timeout = inner.poll_timeout(timeout);
        let mut stats = TurnStats::default();
        let mut wake = inner.wake_buf.take();
        {
            let mut events = inner.events.borrow_mut();
            match inner.poll.borrow_mut().poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => events.clear(),
                Err(e) => {
                    inner.wake_buf.set(wake);
                    return Err(e);
                }
            }
            let mut ios = inner.ios.borrow_mut();
            for ev in events.iter() {
                let tok = ev.token();
                if tok == token::WAKER {
                    stats.unparked = true;
                    continue;
                }
                let (index, generation) = token::unpack(tok);
                match ios.get_mut(index) {
                    Some(io) if io.generation == generation => {
                        io.on_event(ev, &mut wake);
                        stats.events += 1;
                    }
                    _ => stats.stale_events += 1,
                }
            }
        }
        stats.timers_fired = inner.fire_timers(&mut wake);
        stats.woken = wake.len();
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "strand::reactor",
            events = stats.events,
            stale_events = stats.stale_events,
            timers_fired = stats.timers_fired,
            unparked = stats.unparked,
            "reactor turn"
        );
        // No borrow is held here: a woken waker may register sockets or timers.
        for w in wake.drain(..) {
            w.wake();
        }
        inner.wake_buf.set(wake);
        Ok(stats)
    }

    /// The instant at which the timers next have work, in the reactor clock: never later than
    /// the earliest armed deadline, and at or before [`Clock::now`] when a timer is already
    /// due. It may be a point where far timers move down the wheel without any firing, so an
    /// auto-advancing caller loops: advance to it, turn, repeat while nothing woke. `None`
    /// when no timer is armed.
    pub fn next_timer_deadline(&self) -> Option<Instant> {
        self.inner.timers.borrow().next_deadline()
    }

    /// The reactor's clock (real or paused time).
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Shuts the reactor down: wakes every waker of every registration; from then on
    /// [`Registration::poll_ready`](crate::Registration::poll_ready) (and everything built on
    /// it) returns an error ("strand reactor gone"), and new registrations fail. Timers keep
    /// working. Idempotent.
    pub fn shutdown(&self) {
        let inner = &*self.inner;
        inner.shutdown.set(true);
        let mut wake = Vec::new();
        for (_, io) in inner.ios.borrow_mut().iter_mut() {
            io.take_all_wakers(&mut wake);
        }
        for w in wake {
            w.wake();
        }
    }

    /// Whether [`shutdown`](Reactor::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown()
    }

    /// Live registrations (slots in use).
    #[inline]
    pub fn registrations(&self) -> usize {
        self.inner.ios.borrow().len()
    }

    /// Armed timers (registered, not yet fired, not cancelled).
    #[inline]
    pub fn timers(&self) -> usize {
        self.inner.timers.borrow().armed()
    }

    /// Timer slots in use: armed timers plus fired ones whose key was not yet consumed (by
    /// `poll_timer` returning `Ready`, or `cancel`). For leak checks.
    pub fn timer_slots(&self) -> usize {
        self.inner.timers.borrow().slots()
    }

    /// A process-unique id of this reactor (what [`TimerKey`](crate::time::TimerKey)s carry).
    pub fn id(&self) -> u64 {
        self.inner.id
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("id", &self.inner.id)
            .field("registrations", &self.registrations())
            .field("timers", &self.timers())
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

/// Keeps a reactor current on this thread; restores the previous one on drop. `!Send`.
pub struct EnterGuard<'a> {
    prev: Option<Rc<Inner>>,
    _reactor: PhantomData<&'a Reactor>,
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        let prev = self.prev.take();
        clock::set_current_in_step(prev.as_ref().is_some_and(|p| p.clock.in_step()));
        let replaced = CURRENT.try_with(|c| std::mem::replace(&mut *c.borrow_mut(), prev));
        drop(replaced);
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
