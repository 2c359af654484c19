//! Diagnostics hooks: what a task waits on, which of its wakers strand's own resources hold,
//! and what the slow-poll detector reports.
//!
//! The runtime builds its task dumps, hang and deadlock detection and the slow-poll watchdog on
//! these. None of them adds work to the poll, wake or tick path: resources call them on their
//! `Pending` path only.
//!
//! - [`set_wait_reason`]: a resource that returns `Pending` says what the current task (or the
//!   runtime's root future) waits on: a socket and direction, a timer deadline, a lock, a
//!   channel, another task. The record belongs to that poll; the next poll starts afresh.
//! - [`TrackedWaker`]: a waker kept *inside* a strand resource. The executor counts them per
//!   task; when every clone of a task's waker is such a tracked waker, nothing outside strand
//!   (another thread, a foreign library) can wake the task. The runtime's hang and deadlock
//!   detection rests on that proof.
//! - [`SlowPoll`]: a poll that ran longer than the slow-poll threshold, reported after it
//!   returned, or by the watchdog thread while it is still running.
//!
//! ```
//! use std::task::{Context, Poll};
//! use strand_executor::diag::{self, TrackedWaker, WaitReason};
//!
//! /// A one-slot "resource": waits until `ready` is set by another task.
//! struct Flag { ready: bool, waiter: Option<TrackedWaker> }
//!
//! impl Flag {
//!     fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
//!         if self.ready {
//!             return Poll::Ready(());
//!         }
//!         self.waiter = Some(TrackedWaker::new(cx.waker()));
//!         diag::set_wait_reason(WaitReason::Other("a flag"));
//!         Poll::Pending
//!     }
//!     fn set(&mut self) {
//!         self.ready = true;
//!         if let Some(w) = self.waiter.take() {
//!             w.wake();
//!         }
//!     }
//! }
//! # let _ = (Flag::poll_ready, Flag::set);
//! ```

use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::id::Id;
use crate::scheduler;

// ---------------------------------------------------------------------------------------------
// Wait reasons.

/// What a task waits on, as told by the strand resource it is pending on.
///
/// ```
/// use strand_executor::diag::{IoDirection, WaitReason};
/// let r = WaitReason::Io { fd: 7, direction: IoDirection::Read };
/// assert_eq!(r.to_string(), "socket fd 7 (read)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitReason {
    /// A socket (or other descriptor) waiting for readiness.
    Io {
        /// The descriptor (`-1` where the platform has none).
        fd: i64,
        /// Which readiness.
        direction: IoDirection,
    },
    /// A timer (a sleep, a timeout, an interval tick).
    Timer {
        /// When it fires, on the runtime's clock.
        deadline: Instant,
    },
    /// A lock: a mutex, a read-write lock or a semaphore.
    Lock {
        /// Which kind.
        kind: LockKind,
        /// Identifies the lock (its address while it is borrowed, as shown by deadlock reports).
        id: u64,
    },
    /// A channel or a notification.
    Channel {
        /// Which kind of wait.
        kind: ChannelKind,
        /// Identifies the channel (an address).
        id: u64,
    },
    /// Another task's completion (awaiting its `JoinHandle`).
    Task {
        /// The awaited task.
        id: Id,
    },
    /// Anything else.
    Other(&'static str),
}

/// The readiness a socket waits for, in [`WaitReason::Io`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoDirection {
    /// Readable (also accept).
    Read,
    /// Writable (also connect).
    Write,
}

/// The kinds of lock in [`WaitReason::Lock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LockKind {
    /// `Mutex::lock`.
    Mutex,
    /// `RwLock::read`.
    RwLockRead,
    /// `RwLock::write`.
    RwLockWrite,
    /// `Semaphore::acquire`.
    Semaphore,
}

impl LockKind {
    /// A short lower-case name: "mutex", "rwlock (read)", "rwlock (write)", "semaphore".
    pub fn name(self) -> &'static str {
        match self {
            LockKind::Mutex => "mutex",
            LockKind::RwLockRead => "rwlock (read)",
            LockKind::RwLockWrite => "rwlock (write)",
            LockKind::Semaphore => "semaphore",
        }
    }
}

/// The kinds of channel wait in [`WaitReason::Channel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChannelKind {
    /// Receiving from an mpsc channel.
    MpscRecv,
    /// Waiting for room in a bounded mpsc channel.
    MpscSend,
    /// Receiving from a oneshot channel.
    OneshotRecv,
    /// `oneshot::Sender::closed`.
    OneshotClosed,
    /// `Notify::notified` (also `watch` change notifications).
    Notify,
}

impl ChannelKind {
    /// A short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::MpscRecv => "mpsc receive",
            ChannelKind::MpscSend => "mpsc send (full)",
            ChannelKind::OneshotRecv => "oneshot receive",
            ChannelKind::OneshotClosed => "oneshot closed",
            ChannelKind::Notify => "notify",
        }
    }
}

impl WaitReason {
    /// Formats the reason with timer deadlines relative to `now` (the runtime's clock, which
    /// may be paused). `Display` uses `Instant::now()`.
    pub fn display_at(&self, now: Instant) -> impl fmt::Display + '_ {
        DisplayAt { reason: self, now }
    }
}

struct DisplayAt<'a> {
    reason: &'a WaitReason,
    now: Instant,
}

impl fmt::Display for DisplayAt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self.reason {
            WaitReason::Io { fd, direction } => {
                let dir = match direction {
                    IoDirection::Read => "read",
                    IoDirection::Write => "write",
                };
                write!(f, "socket fd {fd} ({dir})")
            }
            WaitReason::Timer { deadline } => {
                if deadline >= self.now {
                    write!(f, "timer, fires in {:.3?}", deadline - self.now)
                } else {
                    write!(f, "timer, due {:.3?} ago", self.now - deadline)
                }
            }
            WaitReason::Lock { kind, id } => write!(f, "{} {id:#x}", kind.name()),
            WaitReason::Channel { kind, id } => write!(f, "{} {id:#x}", kind.name()),
            WaitReason::Task { id } => write!(f, "task {id} (JoinHandle)"),
            WaitReason::Other(what) => f.write_str(what),
        }
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.display_at(Instant::now()).fmt(f)
    }
}

/// Records what the current task (or the runtime's root future) waits on; call it on the
/// `Pending` path of a resource. Up to two distinct reasons are kept per poll (a `timeout`
/// around a read shows both); the next poll of the task starts afresh. Outside a task and
/// outside the root future it does nothing.
///
/// ```
/// use strand_executor::diag::{set_wait_reason, WaitReason};
/// set_wait_reason(WaitReason::Other("nothing: not in a task")); // a no-op here
/// ```
pub fn set_wait_reason(reason: WaitReason) {
    if enabled() {
        scheduler::set_wait_reason(reason);
    }
}

thread_local! {
    /// Whether the executor entered on this thread keeps diagnostics (see [`enabled`]).
    static ENABLED: Cell<bool> = const { Cell::new(false) };
}

/// Whether wait reasons and waker accounting are recorded on this thread right now: the
/// runtime turns them on while it is entered if it was built with diagnostics (the default in
/// debug builds, see `strand::runtime::Builder::diagnostics`). When off, [`set_wait_reason`]
/// does nothing and a [`TrackedWaker`] is a plain waker, so resources pay one thread-local
/// read per wait.
#[inline]
pub fn enabled() -> bool {
    ENABLED.with(Cell::get)
}

/// Turns diagnostics on or off for this thread (see [`enabled`]); returns the previous setting
/// so that the caller can restore it. The runtime calls it when it is entered and left.
///
/// ```
/// use strand_executor::diag;
/// let before = diag::set_enabled(true);
/// assert!(diag::enabled());
/// diag::set_enabled(before);
/// ```
pub fn set_enabled(on: bool) -> bool {
    ENABLED.with(|e| e.replace(on))
}

/// Up to two reasons recorded during poll number `epoch`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Waits {
    epoch: u64,
    items: [Option<WaitReason>; 2],
}

impl Waits {
    pub(crate) fn record(&mut self, epoch: u64, reason: WaitReason) {
        if self.epoch != epoch {
            *self = Waits {
                epoch,
                items: [Some(reason), None],
            };
            return;
        }
        match self.items {
            [None, _] => self.items[0] = Some(reason),
            [Some(a), _] if a == reason => {}
            [_, Some(b)] if b == reason => {}
            [_, _] => self.items[1] = Some(reason),
        }
    }

    /// The reasons recorded during poll `epoch`.
    pub(crate) fn get(&self, epoch: u64) -> Vec<WaitReason> {
        if self.epoch != epoch {
            return Vec::new();
        }
        self.items.iter().flatten().copied().collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Waker accounting.

/// Whose waker a [`TrackedWaker`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Party {
    /// A task of the executor, at this registry key.
    Task { key: usize, id: Id },
    /// The runtime's root future, during the `block_on` call numbered `generation`.
    Root { generation: u64 },
}

/// A party packed in one word (a [`TrackedWaker`] is three): the task id in the high 40 bits
/// (all ones for the root future) and its registry key (or the root's `block_on` generation)
/// in the low 24. Tasks beyond either range are simply not counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tag(std::num::NonZeroU64);

const KEY_BITS: u32 = 24;
const KEY_MASK: u64 = (1 << KEY_BITS) - 1;
const ROOT_ID: u64 = u64::MAX >> KEY_BITS;

impl Tag {
    #[inline]
    pub(crate) fn new(party: Party) -> Option<Tag> {
        let (id, key) = match party {
            Party::Task { key, id } => (id.as_u64(), key as u64),
            Party::Root { generation } => (ROOT_ID, generation & KEY_MASK),
        };
        if id > ROOT_ID || key > KEY_MASK || (id == ROOT_ID && !matches!(party, Party::Root { .. }))
        {
            return None;
        }
        std::num::NonZeroU64::new(id << KEY_BITS | key).map(Tag)
    }

    /// The party. A task's key is checked again against its id, and a root's (truncated)
    /// generation, by whoever uses it.
    #[inline]
    pub(crate) fn party(self) -> Option<Party> {
        let (id, key) = (self.0.get() >> KEY_BITS, self.0.get() & KEY_MASK);
        Some(if id == ROOT_ID {
            Party::Root { generation: key }
        } else {
            Party::Task {
                key: key as usize,
                id: Id::from_u64(id)?,
            }
        })
    }
}

/// Releases a [`TrackedWaker`]'s count when dropped.
struct Counted(Tag);

impl Drop for Counted {
    #[inline(always)]
    fn drop(&mut self) {
        untrack_cold(self.0);
    }
}

#[cold]
#[inline(never)]
fn untrack_cold(tag: Tag) {
    scheduler::untrack_waker(tag);
}

/// A waker stored inside a strand resource, counted for hang and deadlock detection.
///
/// Use it instead of a plain `Waker` wherever a strand resource keeps the waker of a waiting
/// task. When created on a runtime's thread from the waker of the task being polled (or of the
/// runtime's root future), it counts as one of that task's wakers held by strand itself; the
/// count drops again when it is woken, turned back into a plain waker or dropped. A waker of
/// anything else (a foreign executor, a combinator's own waker) is kept but not counted, which
/// only makes the runtime's proofs more cautious, never wrong.
///
/// It costs one thread-local lookup when created and when released; nothing while stored.
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// use strand_executor::diag::TrackedWaker;
///
/// let slot: Option<TrackedWaker> = None;
/// # let _ = slot;
/// fn register(slot: &mut Option<TrackedWaker>, waker: &Waker) {
///     match slot {
///         Some(w) if w.will_wake(waker) => {}
///         _ => *slot = Some(TrackedWaker::new(waker)),
///     }
/// }
/// # let _ = register;
/// ```
pub struct TrackedWaker {
    waker: Waker,
    counted: Option<Counted>,
}

/// The diagnostics half of [`TrackedWaker::new_waiting`], out of line: with diagnostics off
/// (the default) a parking wait is a waker clone and one flag check.
#[cold]
#[inline(never)]
fn track_waiting_cold(waker: &Waker, reason: WaitReason) -> Option<Counted> {
    scheduler::track_waiting(waker, reason).map(Counted)
}

impl TrackedWaker {
    /// Clones `waker` and counts it for the party (task or root future) it belongs to.
    #[inline]
    pub fn new(waker: &Waker) -> TrackedWaker {
        TrackedWaker {
            waker: waker.clone(),
            counted: if enabled() {
                scheduler::track_waker(waker).map(Counted)
            } else {
                None
            },
        }
    }

    /// Like [`new`](Self::new), and records `reason` as what the current task waits on (as
    /// [`set_wait_reason`] does), in one visit of the task's diagnostics: what a resource does
    /// when it parks a new waiter.
    #[inline(always)]
    pub fn new_waiting(waker: &Waker, reason: WaitReason) -> TrackedWaker {
        TrackedWaker {
            waker: waker.clone(),
            counted: if enabled() {
                track_waiting_cold(waker, reason)
            } else {
                None
            },
        }
    }

    /// The stored waker.
    #[inline]
    pub fn waker(&self) -> &Waker {
        &self.waker
    }

    /// Whether waking `other` would wake the same thing (see [`Waker::will_wake`]).
    #[inline]
    pub fn will_wake(&self, other: &Waker) -> bool {
        self.waker().will_wake(other)
    }

    /// Whether this waker is counted as held by strand for a task or root future.
    pub fn is_counted(&self) -> bool {
        self.counted.is_some()
    }

    /// Stops counting it and returns the plain waker.
    #[inline]
    pub fn into_waker(self) -> Waker {
        let TrackedWaker { waker, counted } = self;
        drop(counted);
        waker
    }

    /// Wakes it (consuming it).
    #[inline]
    pub fn wake(self) {
        self.into_waker().wake();
    }

    /// Wakes it, keeping it stored.
    #[inline]
    pub fn wake_by_ref(&self) {
        self.waker().wake_by_ref();
    }
}

impl From<TrackedWaker> for Waker {
    fn from(w: TrackedWaker) -> Waker {
        w.into_waker()
    }
}

impl fmt::Debug for TrackedWaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedWaker")
            .field("counted", &self.counted.is_some())
            .finish_non_exhaustive()
    }
}

/// Who awaits a task's `JoinHandle`, in a [`WakerAccount`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Awaiter {
    /// The `JoinHandle` is gone (the task is detached).
    Detached,
    /// The handle's last poll registered the waker of this task of the same runtime.
    Task(Id),
    /// The handle's last poll registered the waker of the runtime's root future.
    Root,
    /// The handle exists but was never polled on this runtime's thread (it could be anywhere,
    /// even on another thread, able to abort the task).
    Unknown,
}

/// One live task's waker accounting, from [`Executor::waker_accounts`](crate::Executor::waker_accounts).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct WakerAccount {
    /// The task.
    pub id: Id,
    /// Neither running nor scheduled.
    pub idle: bool,
    /// References to the task besides its registry entry: waker clones and `AbortHandle`s
    /// wherever they are (and queue entries, when it is not idle).
    pub outside_refs: usize,
    /// How many of those are [`TrackedWaker`]s (or `JoinHandle` awaiter slots) inside strand.
    pub held_by_strand: u32,
    /// Where its `JoinHandle` is.
    pub awaiter: Awaiter,
}

impl WakerAccount {
    /// Every reference to the task is a waker held by a strand resource and the task is idle:
    /// only strand itself can wake it.
    pub fn only_strand_can_wake(&self) -> bool {
        self.idle && self.outside_refs == self.held_by_strand as usize
    }
}

/// The runtime root future's accounting, from [`Executor::root_account`](crate::Executor::root_account).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RootAccount {
    /// Its wakers held by strand resources.
    pub held_by_strand: u32,
    /// How many times it was polled.
    pub polls: u64,
    /// Being polled right now.
    pub in_poll: bool,
    /// What its last poll waited on.
    pub waits_on: Vec<WaitReason>,
    /// Where `block_on` was called.
    pub location: &'static Location<'static>,
}

// ---------------------------------------------------------------------------------------------
// Slow polls.

/// A poll that ran longer than the slow-poll threshold.
///
/// Reported once when such a poll returns (`in_progress == false`) and, by the watchdog thread,
/// once while it is still running (`in_progress == true`): a blocking call on the runtime
/// thread is reported while it blocks.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SlowPoll {
    /// The task, or `None` for the runtime's root future (`block_on`).
    pub task: Option<Id>,
    /// The task's name, if it has one.
    pub name: Option<Arc<str>>,
    /// Where the task was spawned (for the root future: where `block_on` was called).
    pub location: Option<&'static Location<'static>>,
    /// How long the poll took (or has been running so far).
    pub elapsed: Duration,
    /// The configured threshold.
    pub threshold: Duration,
    /// Still running when reported (by the watchdog).
    pub in_progress: bool,
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.task {
            Some(id) => {
                write!(f, "task {id}")?;
                if let Some(name) = &self.name {
                    write!(f, " {name:?}")?;
                }
            }
            None => f.write_str("the block_on future")?,
        }
        if let Some(loc) = self.location {
            write!(f, " (spawned at {loc})")?;
        }
        if self.in_progress {
            write!(
                f,
                " has been running one poll for {:.1?}, over the slow-poll threshold of {:?}: \
                 something blocks the runtime thread",
                self.elapsed, self.threshold
            )
        } else {
            write!(
                f,
                " took {:.1?} in one poll, over the slow-poll threshold of {:?}",
                self.elapsed, self.threshold
            )
        }
    }
}

/// A slow-poll report hook; called on the runtime thread (polls that returned) and on the
/// watchdog thread (polls still running).
pub type SlowPollHook = Arc<dyn Fn(&SlowPoll) + Send + Sync>;

/// What happens to a slow poll report when no hook is set: a `tracing` warning with the
/// `tracing` feature, else a line on stderr.
pub(crate) fn default_slow_poll_report(report: &SlowPoll) {
    #[cfg(feature = "tracing")]
    {
        let task_id = report.task.map_or(0, |id| id.as_u64());
        let name = report.name.as_deref().unwrap_or("");
        let (file, line, col) = report
            .location
            .map_or(("", 0, 0), |l| (l.file(), l.line(), l.column()));
        tracing::warn!(
            target: "strand::task",
            {
                task.id = task_id,
                task.name = name,
                loc.file = file,
                loc.line = line,
                loc.col = col,
                poll_time = ?report.elapsed,
                in_progress = report.in_progress,
            },
            "slow poll: {report}"
        );
    }
    #[cfg(not(feature = "tracing"))]
    eprintln!("strand: slow poll: {report}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_keep_two_distinct_reasons_per_epoch() {
        let mut w = Waits::default();
        let a = WaitReason::Other("a");
        let b = WaitReason::Other("b");
        let c = WaitReason::Other("c");
        w.record(0, a);
        w.record(0, a);
        w.record(0, b);
        w.record(0, c);
        assert_eq!(w.get(0), [a, c]);
        assert!(w.get(1).is_empty());
        w.record(1, b);
        assert_eq!(w.get(1), [b]);
        assert!(w.get(0).is_empty());
    }

    #[test]
    fn tags_pack_parties_and_refuse_what_does_not_fit() {
        let id = Id::from_u64(77).unwrap();
        let task = Party::Task { key: 5, id };
        assert_eq!(Tag::new(task).unwrap().party(), Some(task));
        let root = Party::Root { generation: 3 };
        assert_eq!(Tag::new(root).unwrap().party(), Some(root));
        let wide = Party::Root {
            generation: (1 << 30) + 3,
        };
        assert_eq!(Tag::new(wide).unwrap().party(), Some(root));
        assert_eq!(Tag::new(Party::Task { key: 1 << 24, id }), None);
        let big = Id::from_u64(ROOT_ID).unwrap();
        assert_eq!(Tag::new(Party::Task { key: 0, id: big }), None);
        assert_eq!(std::mem::size_of::<Option<TrackedWaker>>(), 24);
    }

    #[test]
    fn reasons_display() {
        let now = Instant::now();
        let t = WaitReason::Timer {
            deadline: now + Duration::from_secs(2),
        };
        assert!(t
            .display_at(now)
            .to_string()
            .starts_with("timer, fires in 2"));
        let l = WaitReason::Lock {
            kind: LockKind::Mutex,
            id: 0x10,
        };
        assert_eq!(l.to_string(), "mutex 0x10");
        let w = WaitReason::Io {
            fd: 3,
            direction: IoDirection::Write,
        };
        assert_eq!(w.to_string(), "socket fd 3 (write)");
    }
}
