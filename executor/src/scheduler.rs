//! The executor: run queues, the owned-task registry, ticks, shutdown and the thread-local
//! "current executor" context.
//!
//! Everything here is per executor; the only thread-locals are the pointer to the executor
//! entered on this thread (plus the coop budget and the id block, elsewhere).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem;
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Release};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::blocking::Pool;
use crate::coop::{self, Budget};
use crate::diag::{
    self, Awaiter, Party, SlowPoll, SlowPollHook, Tag, WaitReason, Waits, WakerAccount,
};
use crate::header::Header;
use crate::id::Id;
use crate::join_handle::JoinHandle;
use crate::metrics::{bump, poll_time_bucket, Counters, ExecutorMetrics, TaskSnapshot, TaskState};
use crate::raw::{self, OwnedTask, RemoteSpawn, RunOutcome, TaskRef};
use crate::registry::Registry;
use crate::state::{HANDLE, RUNNING, SCHEDULED};
use crate::watchdog::{self, TaskMeta, Watch};

/// Configuration of an [`Executor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// Most threads the blocking pool runs at once (default 512; at least 1).
    pub max_blocking_threads: usize,
    /// How long an idle blocking thread waits for work before it exits (default 10 s).
    pub thread_keep_alive: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> ExecutorConfig {
        ExecutorConfig {
            max_blocking_threads: 512,
            thread_keep_alive: Duration::from_secs(10),
        }
    }
}

/// Polls between two clock reads for the `last_poll` stamps while the executor stays busy.
const STAMP_EVERY: u64 = 64;

/// The hook called when a task becomes ready from another thread.
pub type Unpark = Arc<dyn Fn() + Send + Sync>;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
    /// The task being polled on this thread (its header; null: none) and whether it asked to
    /// be requeued behind the others (`yield_now`, a spent budget). A plain `Cell` without a
    /// destructor, so reaching it is cheap on the yield path.
    static POLLED: Cell<(*const Header, bool)> = const { Cell::new((ptr::null(), false)) };
}

/// The executor entered on this thread, if any.
#[inline]
pub(crate) fn current_local() -> Option<Rc<Local>> {
    CURRENT
        .try_with(|c| c.try_borrow().ok().and_then(|c| c.clone()))
        .ok()
        .flatten()
}

#[inline]
fn with_current<R>(f: impl FnOnce(&Local) -> R) -> Option<R> {
    CURRENT
        .try_with(|c| match c.try_borrow() {
            Ok(cur) => cur.as_deref().map(f),
            Err(_) => None,
        })
        .ok()
        .flatten()
}

pub(crate) fn current_task_id() -> Option<Id> {
    with_current(|local| local.current.get().map(|c| c.id)).flatten()
}

/// Counts `waker` as held by strand for the current task or root future it belongs to.
#[inline]
pub(crate) fn track_waker(waker: &Waker) -> Option<Tag> {
    with_current(|local| {
        let party = local.identify(waker)?;
        let tag = Tag::new(party)?;
        local.adjust_held(party, true);
        Some(tag)
    })
    .flatten()
}

/// [`track_waker`] and [`set_wait_reason`] in one visit of the task's diagnostics: what a
/// resource does when it parks a new waiter.
#[inline]
pub(crate) fn track_waiting(waker: &Waker, reason: WaitReason) -> Option<Tag> {
    with_current(|local| {
        let party = local.identify(waker);
        let tag = party.and_then(Tag::new);
        match party {
            Some(Party::Task { key, id }) if tag.is_some() => {
                let epoch = local.poll_epoch(key)?;
                local.with_diag(key, id, |d| {
                    d.held = d.held.saturating_add(1);
                    d.waits.record(epoch, reason);
                })?;
            }
            Some(root @ Party::Root { .. }) if tag.is_some() => {
                local.adjust_held(root, true);
                local.set_wait_reason(reason);
            }
            _ => {
                local.set_wait_reason(reason);
                return None;
            }
        }
        tag
    })
    .flatten()
}

/// Undoes [`track_waker`]; a no-op off the executor's thread (the count then stays too high,
/// which only makes the runtime's proofs fail, never pass wrongly). On another executor of
/// this thread a task's tag matches no task (ids are unique), and a root's tag can only lower
/// that root's count (again: proofs fail, never pass wrongly).
#[inline]
pub(crate) fn untrack_waker(tag: Tag) {
    with_current(|local| {
        if let Some(party) = tag.party() {
            local.adjust_held(party, false);
        }
    });
}

/// See [`diag::set_wait_reason`].
pub(crate) fn set_wait_reason(reason: WaitReason) {
    with_current(|local| local.set_wait_reason(reason));
}

/// A `JoinHandle` of the task `(executor address, registry key, id)` returned `Pending` after
/// registering `waker`: record the wait and who sits in the task's awaiter slot.
pub(crate) fn note_join_pending(target: (usize, usize, Id), waker: &Waker) -> bool {
    let (exec, key, id) = target;
    with_current(|local| {
        local.set_wait_reason(WaitReason::Task { id });
        if exec != local.exec_addr() {
            return false;
        }
        let party = local.identify(waker);
        let old = match local.with_diag(key, id, |d| {
            (d.awaiter != party).then(|| mem::replace(&mut d.awaiter, party))
        }) {
            None => return false,
            Some(None) => return party.is_some(),
            Some(Some(old)) => old,
        };
        if let Some(old) = old {
            local.adjust_held(old, false);
        }
        if let Some(new) = party {
            local.adjust_held(new, true);
        }
        party.is_some()
    })
    .unwrap_or(false)
}

/// Queues a task: on its executor's local queue when that executor is entered on this thread,
/// else through its remote queue (plus `unpark`). Refused (the entry dropped) once the
/// executor is closed.
#[inline]
pub(crate) fn schedule(task: TaskRef) {
    let target = task.scheduler_ptr();
    let mut slot = Some(task);
    let _ = CURRENT.try_with(|c| {
        if let Ok(cur) = c.try_borrow() {
            if let Some(local) = cur.as_deref() {
                if ptr::eq(Arc::as_ptr(&local.shared), target) {
                    // Refused once closed: then it goes to the remote queue, which refuses it
                    // too and drops it outside this borrow.
                    slot = slot.take().and_then(|task| local.try_push_local(task));
                }
            }
        }
    });
    if let Some(task) = slot {
        schedule_remote(task);
    }
}

/// [`schedule`] from another thread (or while the task's executor is not entered here, or
/// once it is closed: the remote queue then refuses the entry, which is dropped outside every
/// borrow, as freeing a task may drop a foreign waker).
#[cold]
#[inline(never)]
fn schedule_remote(task: TaskRef) {
    if let Some(shared) = task.scheduler_arc() {
        let _ = shared.push_remote(Remote::Wake(task));
    }
}

/// `yield_now`: wake `waker` at the next tick of the current executor (after the reactor had
/// a turn). Outside an executor the waker is woken at once.
#[inline]
pub(crate) fn defer(waker: &Waker) {
    // The common case, the polled task yielding under its own waker: just mark it, its poll
    // epilogue sends it to the deferred list.
    let polled = POLLED.try_with(Cell::get).unwrap_or((ptr::null(), false));
    if let Some(task) = NonNull::new(polled.0.cast_mut()) {
        if crate::waker::is_task_waker(waker, task) {
            let _ = POLLED.try_with(|p| p.set((polled.0, true)));
            return;
        }
    }
    defer_waker(waker);
}

#[cold]
fn defer_waker(waker: &Waker) {
    if with_current(|local| local.defer(waker)) != Some(true) {
        waker.wake_by_ref();
    }
}

/// A coop budget ran out: count it and defer the wake like a yield.
pub(crate) fn defer_forced_yield(waker: &Waker) {
    with_current(|local| bump(&local.counters.forced_yields));
    defer(waker);
}

// ---------------------------------------------------------------------------------------------

/// The part of an executor other threads reach: the remote queue and the unpark hook.
pub(crate) struct Shared {
    remote: Mutex<RemoteQueue>,
    /// `!remote.entries.is_empty()`, readable without the lock.
    pending: AtomicBool,
    closed: AtomicBool,
    pub(crate) pool: Arc<Pool>,
}

struct RemoteQueue {
    entries: VecDeque<Remote>,
    closed: bool,
    unpark: Option<Unpark>,
}

pub(crate) enum Remote {
    Wake(TaskRef),
    Spawn(RemoteSpawn, Meta),
}

pub(crate) struct Meta {
    name: Option<Arc<str>>,
    location: &'static Location<'static>,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl Meta {
    #[inline]
    fn new(id: Id, name: Option<&str>, location: &'static Location<'static>) -> Meta {
        #[cfg(not(feature = "tracing"))]
        let _ = id;
        Meta {
            name: name.map(Into::into),
            location,
            #[cfg(feature = "tracing")]
            span: {
                let span = tracing::trace_span!(
                    target: "tokio::task",
                    "runtime.spawn",
                    kind = "task",
                    task.name = name.unwrap_or(""),
                    task.id = id.as_u64(),
                    loc.file = location.file(),
                    loc.line = location.line(),
                    loc.col = location.column(),
                );
                let task_id = id.as_u64();
                tracing::trace!(target: "strand::task", parent: &span, { task.id = task_id }, "spawn");
                span
            },
        }
    }
}

impl Shared {
    fn lock_remote(&self) -> MutexGuard<'_, RemoteQueue> {
        // No user code runs under this lock.
        self.remote.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes to the remote queue and calls `unpark` on the empty -> non-empty edge (the
    /// executor drains the whole queue after each wake-up, so later pushes ride along).
    /// `Err` returns the entry when the executor is closed.
    fn push_remote(&self, entry: Remote) -> Result<(), Remote> {
        let unpark = {
            let mut q = self.lock_remote();
            if q.closed {
                return Err(entry);
            }
            q.entries.push_back(entry);
            if self.pending.swap(true, Release) {
                None
            } else {
                q.unpark.clone()
            }
        };
        if let Some(unpark) = unpark {
            unpark();
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Current {
    ptr: NonNull<Header>,
    id: Id,
    /// Registry key (`usize::MAX` while shutdown drops a future: the entry is gone).
    key: usize,
}

/// A registry entry: kept small (it is written at every spawn); what only some tasks need
/// lives in the [`TaskDiag`] slot of the same key, and poll counts in the task itself.
struct OwnedEntry {
    task: OwnedTask,
    location: &'static Location<'static>,
    /// The [`TaskDiag`] slot of this key belongs to this task (counted in `diag_entries`).
    diag: bool,
    /// How often the task's 32-bit poll count (in its header) wrapped.
    polls_high: u32,
}

/// What [`Local::take_diag`] takes out of a slot (dropped outside the borrow).
struct DiagLeftovers {
    awaiter: Option<Party>,
    _name: Option<Arc<str>>,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

// Not derived: `tracing::Span` has no `Default`.
#[allow(clippy::derivable_impls)]
impl Default for TaskDiag {
    fn default() -> TaskDiag {
        TaskDiag {
            id: None,
            name: None,
            held: 0,
            awaiter: None,
            waits: Waits::default(),
            #[cfg(feature = "tracing")]
            span: tracing::Span::none(),
        }
    }
}

impl OwnedEntry {
    #[inline]
    fn new(task: OwnedTask, location: &'static Location<'static>) -> OwnedEntry {
        OwnedEntry {
            task,
            location,
            diag: false,
            polls_high: 0,
        }
    }

    /// The task's count of polls that returned `Pending`.
    #[inline]
    fn polls(&self) -> u64 {
        (u64::from(self.polls_high) << 32) | u64::from(self.task.stats().polls_low)
    }
}

/// The diagnostics of one live task that most tasks never need: kept beside the registry, at
/// the same key, claimed on first use. Valid only while `id` is the id of the task at that key.
struct TaskDiag {
    id: Option<Id>,
    name: Option<Arc<str>>,
    /// This task's wakers held by strand resources ([`diag::TrackedWaker`]s and awaiter slots
    /// of `JoinHandle`s polled here).
    held: u32,
    /// Whose waker sits in this task's `JoinHandle` awaiter slot (counted in its `held`).
    awaiter: Option<Party>,
    /// What the task waits on, recorded during its last poll.
    waits: Waits,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// The runtime's root future (`block_on`), as far as diagnostics go.
struct Root {
    waker: Waker,
    generation: u64,
    location: &'static Location<'static>,
    polls: Cell<u64>,
    in_poll: Cell<bool>,
    held: Cell<u32>,
    waits: Cell<Waits>,
}

/// Clears the root's "being polled" mark, also when its poll panics.
struct RootPollGuard<'a> {
    local: &'a Local,
    ticket: Option<(Instant, u64)>,
}

impl Drop for RootPollGuard<'_> {
    fn drop(&mut self) {
        if let Some(root) = self.local.root.borrow().as_ref() {
            root.in_poll.set(false);
        }
        if let Some((start, ticket)) = self.ticket {
            self.local.record_poll_time(None, start.elapsed(), ticket);
        }
    }
}

/// The executor-thread state (`!Send`; reached through `Executor` or the thread-local).
pub(crate) struct Local {
    pub(crate) shared: Arc<Shared>,
    queue: RefCell<VecDeque<TaskRef>>,
    /// Tasks that yielded (or spent their budget) during this tick: they run after the next
    /// reactor turn.
    deferred: RefCell<VecDeque<TaskRef>>,
    /// Wakers deferred the same way (`yield_now` under a waker that is not the polled task's):
    /// woken at the next tick, after the deferred tasks were queued.
    deferred_wakers: RefCell<Vec<Waker>>,
    spare_wakers: RefCell<Vec<Waker>>,
    spare_remote: RefCell<VecDeque<Remote>>,
    owned: RefCell<Registry<OwnedEntry>>,
    /// Registry entries whose `diag` is set (while 0, a completion needs no look at its entry).
    diag_entries: Cell<usize>,
    /// Per registry key: the diagnostics of the task there, for the tasks that have any.
    diag: RefCell<Vec<TaskDiag>>,
    closed: Cell<bool>,
    current: Cell<Option<Current>>,
    counters: Counters,
    /// Origin of the `last_poll` stamps.
    epoch: Instant,
    /// When the current busy stretch of ticks was last stamped (see `tick`): nanoseconds since
    /// `epoch`, plus one (0: not yet).
    stamp: Cell<u64>,
    /// `counters.polls` at that stamp.
    stamp_polls: Cell<u64>,
    /// The last tick left nothing ready (the runtime may have slept since): stamp anew.
    stamp_stale: Cell<bool>,
    timing: Cell<bool>,
    histogram_on: Cell<bool>,
    slow_poll: Cell<Option<Duration>>,
    slow_hook: RefCell<Option<SlowPollHook>>,
    /// The watchdog, while a slow-poll threshold is set.
    watch: RefCell<Option<Watchdog>>,
    watch_on: Cell<bool>,
    root: RefCell<Option<Root>>,
    root_generation: Cell<u64>,
}

/// The watchdog state and its thread.
type Watchdog = (Arc<Watch>, Option<std::thread::JoinHandle<()>>);

/// The running-task context (current task, polled task and yield mark, coop budget) from
/// before a batch of polls: each poll of the batch overwrites it, and it is restored once, when
/// the batch ends, even when a waker woken by a completion panics through it.
struct TurnGuard<'a> {
    local: &'a Local,
    prev: Option<Current>,
    prev_polled: (*const Header, bool),
    budget: Budget,
}

impl<'a> TurnGuard<'a> {
    #[inline]
    fn save(local: &'a Local) -> TurnGuard<'a> {
        TurnGuard {
            local,
            prev: local.current.get(),
            prev_polled: POLLED.try_with(Cell::get).unwrap_or((ptr::null(), false)),
            budget: coop::set(Budget::INITIAL),
        }
    }

    #[inline]
    fn restore(&self) {
        coop::set(self.budget);
        let _ = POLLED.try_with(|p| p.set(self.prev_polled));
        self.local.current.set(self.prev);
    }
}

impl Drop for TurnGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.restore();
    }
}

impl Local {
    /// This executor's identity in waker tags (the address of its shared state).
    #[inline]
    fn exec_addr(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Whose waker `waker` is: the task being polled, or the root future.
    #[inline]
    fn identify(&self, waker: &Waker) -> Option<Party> {
        if let Some(cur) = self.current.get() {
            if cur.key != usize::MAX && crate::waker::is_task_waker(waker, cur.ptr) {
                return Some(Party::Task {
                    key: cur.key,
                    id: cur.id,
                });
            }
        }
        let root = self.root.try_borrow().ok()?;
        let root = root.as_ref()?;
        root.waker.will_wake(waker).then_some(Party::Root {
            generation: root.generation,
        })
    }

    /// One more (`up`) or one fewer waker of `party` held by strand.
    #[inline]
    fn adjust_held(&self, party: Party, up: bool) {
        let step = |n: u32| {
            if up {
                n.saturating_add(1)
            } else {
                n.saturating_sub(1)
            }
        };
        match party {
            Party::Task { key, id } => {
                self.with_diag(key, id, |d| d.held = step(d.held));
            }
            Party::Root { generation } => {
                if let Ok(root) = self.root.try_borrow() {
                    // Tags keep the low 32 bits of the generation.
                    let same = |r: &&Root| r.generation as u32 == generation as u32;
                    if let Some(root) = root.as_ref().filter(same) {
                        root.held.set(step(root.held.get()));
                    }
                }
            }
        }
    }

    /// The number of the poll of the task at `key` that is running now (the entry counts the
    /// task's polls once each returns).
    #[inline]
    fn poll_epoch(&self, key: usize) -> Option<u64> {
        self.owned
            .try_borrow()
            .ok()
            .and_then(|o| Some(o.get(key)?.polls()))
    }

    fn set_wait_reason(&self, reason: WaitReason) {
        if let Some(cur) = self.current.get() {
            if let Some(epoch) = self.poll_epoch(cur.key) {
                self.with_diag(cur.key, cur.id, |d| d.waits.record(epoch, reason));
            }
            return;
        }
        if let Ok(root) = self.root.try_borrow() {
            if let Some(root) = root.as_ref().filter(|r| r.in_poll.get()) {
                let mut waits = root.waits.get();
                waits.record(root.polls.get(), reason);
                root.waits.set(waits);
            }
        }
    }

    fn watch(&self) -> Option<Arc<Watch>> {
        self.watch.borrow().as_ref().map(|(w, _)| Arc::clone(w))
    }

    #[cold]
    fn watch_spawned(&self, id: Id, name: Option<&Arc<str>>, location: &'static Location<'static>) {
        if let Some(w) = self.watch() {
            w.insert_meta(
                id.as_u64(),
                TaskMeta {
                    name: name.cloned(),
                    location,
                },
            );
        }
    }

    /// Runs `f` on the diagnostics slot of the registered task `id` at `key`, claiming the slot
    /// (marking the entry, resetting what an earlier task left there) on first use. `None` when
    /// no such task is registered, or while the registry or the slots are borrowed.
    #[inline]
    fn with_diag<R>(&self, key: usize, id: Id, f: impl FnOnce(&mut TaskDiag) -> R) -> Option<R> {
        let mut diag = self.diag.try_borrow_mut().ok()?;
        match diag.get_mut(key) {
            // Slots are emptied when their task leaves the registry: this one is registered.
            Some(slot) if slot.id == Some(id) => Some(f(slot)),
            _ => self.claim_diag(&mut diag, key, id).map(f),
        }
    }

    /// Claims the diagnostics slot at `key` for the registered task `id`.
    #[cold]
    fn claim_diag<'a>(
        &self,
        diag: &'a mut Vec<TaskDiag>,
        key: usize,
        id: Id,
    ) -> Option<&'a mut TaskDiag> {
        let mut owned = self.owned.try_borrow_mut().ok()?;
        let entry = owned.get_mut(key).filter(|e| e.task.id() == id)?;
        if !entry.diag {
            entry.diag = true;
            self.diag_entries.set(self.diag_entries.get() + 1);
        }
        drop(owned);
        if diag.len() <= key {
            diag.resize_with(key + 1, TaskDiag::default);
        }
        let slot = &mut diag[key];
        if slot.id != Some(id) {
            // The task that had it left the registry and `take_diag` emptied it (the name and
            // span are gone): only the plain fields need a reset.
            debug_assert!(slot.name.is_none());
            slot.id = Some(id);
            slot.held = 0;
            slot.awaiter = None;
            slot.waits = Waits::default();
        }
        Some(slot)
    }

    /// Empties the diagnostics slot of the task `id` that left the registry at `key`,
    /// returning what needs releasing.
    fn take_diag(&self, key: usize, id: Id) -> Option<DiagLeftovers> {
        let mut diag = self.diag.try_borrow_mut().ok()?;
        let slot = diag.get_mut(key).filter(|d| d.id == Some(id))?;
        slot.id = None;
        Some(DiagLeftovers {
            awaiter: slot.awaiter.take(),
            _name: slot.name.take(),
            #[cfg(feature = "tracing")]
            span: mem::replace(&mut slot.span, tracing::Span::none()),
        })
    }

    /// The name of the registered task `id` at `key`.
    fn task_name(&self, key: usize, id: Id) -> Option<Arc<str>> {
        let diag = self.diag.try_borrow().ok()?;
        diag.get(key).filter(|d| d.id == Some(id))?.name.clone()
    }

    /// A task left the registry: release what its entry counted.
    #[cold]
    /// `id` is passed in: the task may already be freed, so its header must not be read.
    fn entry_removed(&self, entry: OwnedEntry, key: usize, id: Id) {
        let diag = if entry.diag {
            self.diag_entries.set(self.diag_entries.get() - 1);
            self.take_diag(key, id)
        } else {
            None
        };
        if let Some(party) = diag.as_ref().and_then(|d| d.awaiter) {
            self.adjust_held(party, false);
        }
        drop(diag);
        if self.watch_on.get() {
            if let Some(w) = self.watch() {
                w.remove_meta(id.as_u64());
            }
        }
    }

    /// Called by the raw poll epilogue: did the task ask to be requeued behind the others?
    #[inline]
    pub(crate) fn take_yield_request(&self) -> bool {
        // No need to clear the mark: the poll's `TurnGuard` restores the slot right after.
        POLLED.try_with(|p| p.get().1).unwrap_or(false)
    }

    #[inline]
    fn push_local(&self, task: TaskRef) {
        drop(self.try_push_local(task));
    }

    /// Queues `task`, or hands it back when the executor is closed.
    #[inline]
    pub(crate) fn try_push_local(&self, task: TaskRef) -> Option<TaskRef> {
        if self.closed.get() {
            return Some(task);
        }
        self.queue.borrow_mut().push_back(task);
        bump(&self.counters.local_schedules);
        None
    }

    fn defer(&self, waker: &Waker) -> bool {
        if self.closed.get() {
            return false;
        }
        let waker = waker.clone();
        self.deferred_wakers.borrow_mut().push(waker);
        true
    }

    fn spawn<F>(
        &self,
        future: F,
        meta: Option<&str>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let id = Id::next();
        if self.closed.get() {
            return JoinHandle::new(raw::new_cancelled(future, id));
        }
        let meta = Meta::new(id, meta, location);
        if self.watch_on.get() {
            self.watch_spawned(id, meta.name.as_ref(), location);
        }
        let mut owned = self.owned.borrow_mut();
        let key = owned.next_key();
        let (task, owned_task, join) = raw::new_task(future, id, &self.shared, key);
        let inserted = owned.insert(OwnedEntry::new(owned_task, meta.location));
        debug_assert_eq!(inserted, key);
        drop(owned);
        self.attach_meta(key, id, meta);
        self.queue.borrow_mut().push_back(task);
        bump(&self.counters.spawned);
        JoinHandle::new(join)
    }

    /// Keeps what of `meta` the registry entry does not hold (a name, a span) in the task's
    /// diagnostics slot.
    #[inline]
    fn attach_meta(&self, key: usize, id: Id, meta: Meta) {
        #[cfg(not(feature = "tracing"))]
        if let Some(name) = meta.name {
            self.with_diag(key, id, |d| d.name = Some(name));
        }
        #[cfg(feature = "tracing")]
        self.with_diag(key, id, |d| {
            d.name = meta.name;
            d.span = meta.span;
        });
    }

    fn adopt(&self, spawn: RemoteSpawn, meta: Meta) {
        if self.watch_on.get() {
            self.watch_spawned(spawn.id(), meta.name.as_ref(), meta.location);
        }
        let id = spawn.id();
        let mut owned = self.owned.borrow_mut();
        let key = owned.next_key();
        let (task, owned_task) = spawn.adopt(key);
        let inserted = owned.insert(OwnedEntry::new(owned_task, meta.location));
        debug_assert_eq!(inserted, key);
        drop(owned);
        self.attach_meta(key, id, meta);
        self.queue.borrow_mut().push_back(task);
        bump(&self.counters.spawned);
    }

    fn drain_remote(&self) {
        if !self.shared.pending.load(Acquire) {
            return;
        }
        let mut batch = mem::take(&mut *self.spare_remote.borrow_mut());
        {
            let mut q = self.shared.lock_remote();
            self.shared.pending.store(false, Release);
            mem::swap(&mut q.entries, &mut batch);
        }
        for entry in batch.drain(..) {
            bump(&self.counters.remote_schedules);
            match entry {
                Remote::Wake(task) => self.queue.borrow_mut().push_back(task),
                Remote::Spawn(spawn, meta) => self.adopt(spawn, meta),
            }
        }
        *self.spare_remote.borrow_mut() = batch;
    }

    /// Queues last tick's deferred tasks behind the ready ones (in the order they yielded),
    /// then wakes the deferred wakers.
    #[inline]
    fn flush_deferred(&self) {
        {
            let mut deferred = self.deferred.borrow_mut();
            if !deferred.is_empty() {
                let counter = &self.counters.local_schedules;
                counter.set(counter.get().wrapping_add(deferred.len() as u64));
                let mut queue = self.queue.borrow_mut();
                if queue.is_empty() {
                    mem::swap(&mut *queue, &mut *deferred);
                } else {
                    queue.append(&mut deferred);
                }
            }
        }
        if !self.deferred_wakers.borrow().is_empty() {
            self.wake_deferred_wakers();
        }
    }

    #[cold]
    fn wake_deferred_wakers(&self) {
        let mut batch = mem::take(&mut *self.spare_wakers.borrow_mut());
        mem::swap(&mut *self.deferred_wakers.borrow_mut(), &mut batch);
        for waker in batch.drain(..) {
            waker.wake();
        }
        *self.spare_wakers.borrow_mut() = batch;
    }

    /// True when tasks or wakers wait for the next tick (after a reactor turn).
    #[inline]
    fn has_deferred(&self) -> bool {
        !self.deferred.borrow().is_empty() || !self.deferred_wakers.borrow().is_empty()
    }

    #[inline]
    fn has_ready(&self) -> bool {
        !self.queue.borrow().is_empty() || self.has_deferred() || self.shared.pending.load(Acquire)
    }

    fn tick(&self, max_polls: u32) -> bool {
        if self.closed.get() {
            return false;
        }
        bump(&self.counters.ticks);
        // The clock is read for `last_poll` stamps only at the first tick after the runtime
        // may have slept, and then once per `STAMP_EVERY` polls: a stamp is at most that many
        // (busy, back-to-back) polls early, and a tick of a few yields costs no clock read.
        let polls = self.counters.polls.get();
        if self.stamp_stale.get() || polls.wrapping_sub(self.stamp_polls.get()) >= STAMP_EVERY {
            let since = Instant::now().saturating_duration_since(self.epoch);
            self.stamp
                .set(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX - 1) + 1);
            self.stamp_polls.set(polls);
            self.stamp_stale.set(false);
        }
        self.drain_remote();
        self.flush_deferred();
        let turn = TurnGuard::save(self);
        // While the batch runs, a wake of one of our tasks (the common case: from another of
        // our tasks) finds this executor through `raw`'s published pointer, without the
        // `CURRENT` borrow.
        raw::while_polling(self, || {
            for _ in 0..max_polls {
                let next = {
                    let mut queue = self.queue.borrow_mut();
                    let task = queue.pop_front();
                    if let Some(next) = queue.front() {
                        raw::prefetch(next.ptr());
                    }
                    task
                };
                let Some(task) = next else {
                    break;
                };
                self.run_task(task, &turn);
            }
        });
        drop(turn);
        let more = self.has_ready();
        if !more {
            self.stamp_stale.set(true);
        }
        more
    }

    /// Polls one task. `turn` holds the context from before the batch: the task's context is
    /// set here and left in place after the poll (the next poll or the end of the batch
    /// overwrites it; what runs in between never reads it).
    #[inline]
    fn run_task(&self, task: TaskRef, turn: &TurnGuard<'_>) {
        let key = task.owned_key();
        self.current.set(Some(Current {
            ptr: task.ptr(),
            id: task.id(),
            key,
        }));
        let _ = POLLED.try_with(|p| p.set((task.ptr().as_ptr().cast_const(), false)));
        coop::set(Budget::INITIAL);
        #[cfg(feature = "tracing")]
        let span = self
            .diag
            .borrow()
            .get(key)
            .filter(|d| d.id == Some(task.id()))
            .map(|d| d.span.clone());
        #[cfg(feature = "tracing")]
        let _enter = span.as_ref().map(|s| s.enter());
        #[cfg(feature = "tracing")]
        {
            let task_id = task.id().as_u64();
            tracing::trace!(target: "strand::task", { task.id = task_id }, "poll");
        }
        let id = task.id();
        let start = self.timing.get().then(|| self.poll_started(id.as_u64()));
        let outcome = task.run(self);
        if let Some((start, ticket)) = start {
            // The slow-poll hook is user code: it runs outside the task's context.
            turn.restore();
            self.record_poll_time(Some((key, id)), start.elapsed(), ticket);
        }
        match outcome {
            RunOutcome::Idle => bump(&self.counters.polls),
            RunOutcome::Requeue { task, yielded } => {
                bump(&self.counters.polls);
                if yielded {
                    if self.closed.get() {
                        self.discard(task, key);
                    } else {
                        self.deferred.borrow_mut().push_back(task);
                    }
                } else {
                    self.push_local(task);
                }
            }
            RunOutcome::Completed => {
                bump(&self.counters.polls);
                self.unregister(key, id);
            }
            RunOutcome::Stale => {}
        }
    }

    /// The task `id` at registry `key` completed (its completion released the registry's
    /// reference: the block may be freed already). Usually a store into its slot; with
    /// diagnostics to release, or once shutdown has taken the registry, the general way.
    #[inline]
    fn unregister(&self, key: usize, id: Id) {
        if self.diag_entries.get() == 0 && !self.watch_on.get() && !self.closed.get() {
            self.owned.borrow_mut().release(key);
        } else {
            self.unregister_slow(key, id);
        }
    }

    #[cold]
    fn unregister_slow(&self, key: usize, id: Id) {
        let removed = self.owned.borrow_mut().remove(key);
        if let Some(entry) = removed {
            if entry.diag || self.watch_on.get() {
                self.entry_removed(entry, key, id);
            }
        }
    }

    /// The stamp of the polls running now (`last_poll` in a task's header).
    #[inline]
    pub(crate) fn poll_stamp(&self) -> u64 {
        self.stamp.get()
    }

    /// The time a stamp stands for.
    fn stamp_instant(&self, stamp: u64) -> Option<Instant> {
        let nanos = stamp.checked_sub(1)?;
        self.epoch.checked_add(Duration::from_nanos(nanos))
    }

    /// The 32-bit poll count in the header of the task at `key` wrapped (once per 4 billion
    /// polls): count it in the registry entry.
    #[cold]
    pub(crate) fn polls_wrapped(&self, key: usize) {
        if let Ok(mut owned) = self.owned.try_borrow_mut() {
            if let Some(entry) = owned.get_mut(key) {
                entry.polls_high = entry.polls_high.wrapping_add(1);
            }
        }
    }

    /// Poll timing is on: the poll starts now (published to the watchdog when it runs).
    #[cold]
    fn poll_started(&self, task: u64) -> (Instant, u64) {
        let start = Instant::now();
        let mut ticket = 0;
        if self.watch_on.get() {
            if let Some((w, _)) = self.watch.borrow().as_ref() {
                ticket = w.begin(task, start);
            }
        }
        (start, ticket)
    }

    /// A timed poll of the task at registry `key` (`None`: the root future) took `took`.
    #[cold]
    fn record_poll_time(&self, key: Option<(usize, Id)>, took: Duration, ticket: u64) {
        if ticket != 0 {
            if let Some((w, _)) = self.watch.borrow().as_ref() {
                w.end(ticket);
            }
        }
        if self.histogram_on.get() {
            bump(&self.counters.histogram[poll_time_bucket(took)]);
        }
        let Some(threshold) = self.slow_poll.get() else {
            return;
        };
        if took <= threshold {
            return;
        }
        bump(&self.counters.slow_polls);
        let (task, name, location) = match key {
            // The task may have completed (and been freed) during this poll: its id comes from
            // before the poll, never from the task's memory.
            Some((key, id)) => {
                let Some(location) = self.owned.borrow().get(key).map(|e| e.location) else {
                    return;
                };
                (Some(id), self.task_name(key, id), Some(location))
            }
            None => (None, None, self.root.borrow().as_ref().map(|r| r.location)),
        };
        let report = SlowPoll {
            task,
            name,
            location,
            elapsed: took,
            threshold,
            in_progress: false,
        };
        let hook = self.slow_hook.borrow().clone();
        match hook {
            Some(hook) => hook(&report),
            None => diag::default_slow_poll_report(&report),
        }
    }

    fn shutdown(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.shared.closed.store(true, Release);
        let (remote, unpark) = {
            let mut q = self.shared.lock_remote();
            q.closed = true;
            self.shared.pending.store(false, Release);
            (mem::take(&mut q.entries), q.unpark.take())
        };
        drop(unpark);
        self.stop_watchdog();
        // First, so that a `spawn_blocking` from a dropped future is refused too.
        self.shared.pool.shutdown();
        // Queue entries hold references, except those of tasks that yielded, which also hold
        // the task's RUNNING: those are cancelled here. Unadopted remote spawns are cancelled
        // too (their futures are `Send`).
        self.discard_queued();
        drop(mem::take(&mut *self.deferred_wakers.borrow_mut()));
        drop(remote);
        loop {
            let batch = self.owned.borrow_mut().take_all();
            if batch.is_empty() {
                break;
            }
            for (_key, entry) in batch {
                let id = entry.task.id();
                #[cfg(feature = "tracing")]
                let diag = if entry.diag {
                    self.take_diag(_key, id)
                } else {
                    None
                };
                #[cfg(feature = "tracing")]
                let _enter = diag.as_ref().map(|d| d.span.enter());
                let prev = self.current.replace(Some(Current {
                    ptr: entry.task.ptr(),
                    id,
                    key: usize::MAX,
                }));
                entry.task.shutdown(self);
                self.current.set(prev);
            }
        }
        self.discard_queued();
        drop(mem::take(&mut *self.deferred_wakers.borrow_mut()));
        drop(mem::take(&mut *self.diag.borrow_mut()));
    }

    /// Empties the run queue and the deferred list (at shutdown), cancelling the tasks whose
    /// entries kept them `RUNNING` across a yield, with the task as the current one.
    fn discard_queued(&self) {
        loop {
            let mut batch = mem::take(&mut *self.queue.borrow_mut());
            batch.append(&mut self.deferred.borrow_mut());
            if batch.is_empty() {
                return;
            }
            for task in batch {
                let key = task.owned_key();
                let prev = self.current.replace(Some(Current {
                    ptr: task.ptr(),
                    id: task.id(),
                    key: usize::MAX,
                }));
                self.discard(task, key);
                self.current.set(prev);
            }
        }
    }

    /// Gives up the queue entry `task` (registry key `key`) at shutdown. When that cancelled
    /// the task (an entry kept `RUNNING` across a yield), its completion released the
    /// registry's reference as well: the registry entry goes now, before anything walks the
    /// registry, since the task's block may be freed (or cached for reuse) already.
    fn discard(&self, task: TaskRef, key: usize) {
        let id = task.id();
        if task.discard(self) {
            self.unregister_slow(key, id);
        }
    }

    /// Stops the watchdog thread, if any, and waits for it to exit.
    fn stop_watchdog(&self) {
        self.watch_on.set(false);
        let taken = self.watch.borrow_mut().take();
        if let Some((watch, thread)) = taken {
            watch.stop();
            if let Some(thread) = thread {
                let _ = thread.join();
            }
            let c = &self.counters.watchdog_reports;
            c.set(c.get() + watch.reports());
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// A single-threaded task executor: the task half of a strand runtime.
///
/// It owns the tasks spawned on it and polls them on its thread when the runtime calls
/// [`tick`](Executor::tick); it knows nothing about I/O or time. `!Send`: create it on the
/// thread that will run it.
///
/// ```
/// use strand_executor::{task, Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| { /* wake the reactor */ }));
/// let _guard = exec.enter();
/// let handle = task::spawn(async { 1 + 1 });
/// while exec.tick(64) {}
/// assert!(handle.is_finished());
/// ```
///
/// # Contract for the runtime loop
/// - Keep the executor entered ([`enter`](Executor::enter)) while polling the root future and
///   while turning the reactor, so wakes on this thread take the local (lock-free) path.
/// - `tick(n)` first moves remotely woken/spawned tasks and the tasks deferred by `yield_now`
///   (or by a spent coop budget) during the previous tick into the run queue, then polls at
///   most `n` tasks. It returns true when work remains: the loop then ticks again, turning the
///   reactor *without blocking* in between at least once per `event_interval` polls, and
///   always when [`has_deferred`](Executor::has_deferred) is true: that turn is what lets a
///   yielding task give way to I/O.
/// - Block in the reactor only when `has_ready()` is false; a wake from another thread calls
///   the `unpark` hook after queueing, so a wake that races with going to sleep is not lost.
/// - Paused clock: read [`blocking_in_flight`](Executor::blocking_in_flight) *before*
///   [`has_ready`](Executor::has_ready); a blocking job's completion is queued before the
///   in-flight count drops, and the drop to zero calls `unpark`, so the loop may block while
///   jobs are in flight.
/// - Drop (or [`shutdown`](Executor::shutdown)) it on its thread; every live task's future is
///   dropped there, exactly once, with the executor entered.
///
/// An executor never leaves its thread:
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// let exec = strand_executor::Executor::new(Default::default(), std::sync::Arc::new(|| {}));
/// assert_send(exec);
/// ```
pub struct Executor {
    local: Rc<Local>,
}

/// Keeps an executor entered on this thread; see [`Executor::enter`].
pub struct EnterGuard<'a> {
    prev: Option<Rc<Local>>,
    _executor: PhantomData<&'a Executor>,
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let replaced = CURRENT.try_with(|c| mem::replace(&mut *c.borrow_mut(), prev));
        drop(replaced);
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

impl Executor {
    /// Creates an executor. `unpark` is called (from any thread) when a task becomes ready
    /// from another thread while the runtime may be blocked in its reactor, and when the
    /// blocking pool's in-flight count drops to zero.
    pub fn new(config: ExecutorConfig, unpark: Unpark) -> Executor {
        let shared = Arc::new(Shared {
            remote: Mutex::new(RemoteQueue {
                entries: VecDeque::new(),
                closed: false,
                unpark: Some(Arc::clone(&unpark)),
            }),
            pending: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            pool: Arc::new(Pool::new(
                config.max_blocking_threads,
                config.thread_keep_alive,
            )),
        });
        shared.pool.set_unpark(unpark);
        Executor {
            local: Rc::new(Local {
                shared,
                queue: RefCell::new(VecDeque::with_capacity(64)),
                deferred: RefCell::new(VecDeque::new()),
                deferred_wakers: RefCell::new(Vec::new()),
                spare_wakers: RefCell::new(Vec::new()),
                spare_remote: RefCell::new(VecDeque::new()),
                owned: RefCell::new(Registry::with_capacity(64)),
                diag_entries: Cell::new(0),
                diag: RefCell::new(Vec::new()),
                closed: Cell::new(false),
                current: Cell::new(None),
                counters: Counters::default(),
                epoch: Instant::now(),
                stamp: Cell::new(0),
                stamp_polls: Cell::new(0),
                stamp_stale: Cell::new(true),
                timing: Cell::new(false),
                histogram_on: Cell::new(false),
                slow_poll: Cell::new(None),
                slow_hook: RefCell::new(None),
                watch: RefCell::new(None),
                watch_on: Cell::new(false),
                root: RefCell::new(None),
                root_generation: Cell::new(0),
            }),
        }
    }

    /// Makes this the thread's current executor until the guard is dropped: `task::spawn`,
    /// `spawn_blocking`, `task::id` and local wakes use it. Guards nest (the previous one is
    /// restored on drop).
    pub fn enter(&self) -> EnterGuard<'_> {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(Rc::clone(&self.local)));
        EnterGuard {
            prev,
            _executor: PhantomData,
        }
    }

    fn is_current(&self) -> bool {
        CURRENT
            .try_with(|c| {
                c.try_borrow()
                    .is_ok_and(|c| c.as_ref().is_some_and(|l| Rc::ptr_eq(l, &self.local)))
            })
            .unwrap_or(false)
    }

    /// Spawns a task (no `Send` bound) and returns its handle. Into a shut-down executor the
    /// future is dropped at once and the handle resolves to `Err(cancelled)`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        self.local.spawn(future, None, Location::caller())
    }

    #[track_caller]
    pub(crate) fn spawn_named<F>(&self, future: F, name: Option<&str>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        self.local.spawn(future, name, Location::caller())
    }

    /// Runs `f` on this executor's blocking pool; see [`task::spawn_blocking`](crate::task::spawn_blocking).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.local.shared.pool.spawn(f, None)
    }

    /// A `Send + Sync + Clone` handle that spawns `Send` futures from any thread.
    pub fn spawner(&self) -> Spawner {
        Spawner {
            shared: Arc::clone(&self.local.shared),
        }
    }

    /// Moves remotely woken/spawned tasks and last tick's deferred tasks into the run queue,
    /// then polls at most `max_polls` tasks. Returns true when tasks are still ready (see the
    /// type's docs for what the runtime loop does then). Enters the executor for the duration
    /// if it is not entered already.
    pub fn tick(&self, max_polls: u32) -> bool {
        let _enter = (!self.is_current()).then(|| self.enter());
        self.local.tick(max_polls)
    }

    /// Task polls so far (what `metrics().polls` reports), cheap enough to read around every
    /// [`tick`](Executor::tick): the runtime counts the polls between two reactor turns with it.
    #[inline]
    pub fn polls(&self) -> u64 {
        self.local.counters.polls.get()
    }

    /// True when tasks (or wakers) were deferred to the next tick by `yield_now` or a spent
    /// coop budget. The runtime must turn its reactor (without blocking) before the next
    /// [`tick`](Executor::tick): that turn is what a yield promises to let run.
    pub fn has_deferred(&self) -> bool {
        self.local.has_deferred()
    }

    /// True when a task is queued (locally, remotely, or deferred to the next tick).
    pub fn has_ready(&self) -> bool {
        self.local.has_ready()
    }

    /// Blocking jobs queued or running.
    pub fn blocking_in_flight(&self) -> usize {
        self.local.shared.pool.in_flight()
    }

    /// Closes the executor: every live task's future is dropped, exactly once, here on this
    /// thread (with the executor entered, so a `Drop` may spawn, which then returns a handle
    /// resolving to `Err(cancelled)`); their `JoinHandle`s resolve to `Err(cancelled)`; later
    /// wakes are no-ops; queued blocking jobs are cancelled and idle blocking threads exit
    /// (running ones finish detached). Idempotent; also done by `Drop`.
    pub fn shutdown(&self) {
        let _enter = (!self.is_current()).then(|| self.enter());
        self.local.shutdown();
    }

    /// [`shutdown`](Executor::shutdown), then waits up to `timeout` for running blocking jobs
    /// to finish (`None`: do not wait). Returns true when no blocking thread is left.
    pub fn shutdown_blocking(&self, timeout: Option<Duration>) -> bool {
        self.shutdown();
        match timeout {
            Some(t) => self.local.shared.pool.wait_idle(t),
            None => self.local.shared.pool.stats().threads == 0,
        }
    }

    /// True once [`shutdown`](Executor::shutdown) ran.
    pub fn is_closed(&self) -> bool {
        self.local.closed.get()
    }

    /// Reports polls slower than `threshold` (`None`: off): counted in
    /// `ExecutorMetrics::slow_polls` and reported (see [`set_slow_poll_hook`]) with the task's
    /// id, name and spawn location. A watchdog thread (`strand-watchdog`) also reports a poll
    /// that is *still running* past the threshold, while it runs (`SlowPoll::in_progress`): a
    /// blocking call on the runtime thread shows up while it blocks. The thread exits when the
    /// threshold is cleared or the executor shuts down.
    ///
    /// Costs, only while set: one clock read and a few atomic stores per poll, and a side table
    /// of task names updated at spawn and completion.
    ///
    /// [`set_slow_poll_hook`]: Executor::set_slow_poll_hook
    pub fn set_slow_poll_threshold(&self, threshold: Option<Duration>) {
        let l = &self.local;
        l.slow_poll.set(threshold);
        match threshold {
            Some(t) if !l.closed.get() => {
                if let Some(w) = l.watch() {
                    w.set_threshold(t);
                } else {
                    let watch = Arc::new(Watch::new(t, l.slow_hook.borrow().clone()));
                    for (key, e) in l.owned.borrow().iter() {
                        let id = e.task.id();
                        watch.insert_meta(
                            id.as_u64(),
                            TaskMeta {
                                name: l.task_name(key, id),
                                location: e.location,
                            },
                        );
                    }
                    if let Some(root) = l.root.borrow().as_ref() {
                        watch.insert_meta(
                            watchdog::ROOT,
                            TaskMeta {
                                name: None,
                                location: root.location,
                            },
                        );
                    }
                    let thread = watchdog::spawn(Arc::clone(&watch));
                    *l.watch.borrow_mut() = Some((watch, thread));
                    l.watch_on.set(true);
                }
            }
            _ => l.stop_watchdog(),
        }
        self.update_timing();
    }

    /// Where slow-poll reports go (`None`: the default, a `tracing` warning with the `tracing`
    /// feature, else a line on stderr). The hook runs on the executor thread for polls that
    /// returned and on the watchdog thread for polls still running.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use strand_executor::{task, Executor, ExecutorConfig};
    ///
    /// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = seen.clone();
    /// exec.set_slow_poll_hook(Some(Arc::new(move |r| sink.lock().unwrap().push(r.clone()))));
    /// exec.set_slow_poll_threshold(Some(Duration::from_millis(5)));
    /// let _h = task::Builder::new()
    ///     .name("sleepy")
    ///     .spawn_on(async { std::thread::sleep(Duration::from_millis(50)) }, &exec)
    ///     .unwrap();
    /// while exec.tick(64) {}
    /// let seen = seen.lock().unwrap();
    /// let done = seen.iter().find(|r| !r.in_progress).unwrap();
    /// assert_eq!(done.name.as_deref(), Some("sleepy"));
    /// assert!(done.elapsed >= Duration::from_millis(50));
    /// ```
    pub fn set_slow_poll_hook(&self, hook: Option<SlowPollHook>) {
        if let Some(w) = self.local.watch() {
            w.set_hook(hook.clone());
        }
        *self.local.slow_hook.borrow_mut() = hook;
    }

    /// Records every poll's duration in `ExecutorMetrics::poll_time_histogram` (one clock read
    /// per poll; off by default).
    pub fn set_poll_time_histogram(&self, enabled: bool) {
        self.local.histogram_on.set(enabled);
        self.update_timing();
    }

    /// Starts the diagnostics of a runtime's root future (the future `block_on` drives, woken
    /// by `waker`, called at `location`): wakers of it stored in strand resources are counted
    /// ([`root_account`](Executor::root_account)), its wait reasons recorded and its polls timed
    /// like a task's when poll timing is on (see [`poll_root`](Executor::poll_root)).
    pub fn begin_root(&self, waker: &Waker, location: &'static Location<'static>) {
        let l = &self.local;
        let generation = l.root_generation.get() + 1;
        l.root_generation.set(generation);
        let old = l.root.borrow_mut().replace(Root {
            waker: waker.clone(),
            generation,
            location,
            polls: Cell::new(0),
            in_poll: Cell::new(false),
            held: Cell::new(0),
            waits: Cell::new(Waits::default()),
        });
        drop(old);
        if let Some(w) = l.watch() {
            w.insert_meta(
                watchdog::ROOT,
                TaskMeta {
                    name: None,
                    location,
                },
            );
        }
    }

    /// Ends what [`begin_root`](Executor::begin_root) started.
    pub fn end_root(&self) {
        let old = self.local.root.borrow_mut().take();
        drop(old);
    }

    /// Polls the root future: runs `f` (which polls it) as the root's poll, timed like a task's
    /// poll when poll timing is on (slow-poll reports and the watchdog name it "the block_on
    /// future").
    #[inline]
    pub fn poll_root<R>(&self, f: impl FnOnce() -> R) -> R {
        let l = &self.local;
        if let Some(root) = l.root.borrow().as_ref() {
            root.polls.set(root.polls.get() + 1);
            root.in_poll.set(true);
        }
        let ticket = l.timing.get().then(|| l.poll_started(watchdog::ROOT));
        let _guard = RootPollGuard { local: l, ticket };
        f()
    }

    /// The root future's accounting (between [`begin_root`](Executor::begin_root) and
    /// [`end_root`](Executor::end_root)).
    pub fn root_account(&self) -> Option<diag::RootAccount> {
        let root = self.local.root.borrow();
        let root = root.as_ref()?;
        let polls = root.polls.get();
        Some(diag::RootAccount {
            held_by_strand: root.held.get(),
            polls,
            in_poll: root.in_poll.get(),
            waits_on: if root.in_poll.get() {
                Vec::new()
            } else {
                root.waits.get().get(polls)
            },
            location: root.location,
        })
    }

    /// Per live task: how many references to it exist besides its registry entry, how many of
    /// them are wakers held by strand resources, and where its `JoinHandle` is. See
    /// [`WakerAccount::only_strand_can_wake`].
    pub fn waker_accounts(&self) -> Vec<WakerAccount> {
        let generation = self.local.root.borrow().as_ref().map(|r| r.generation);
        let diag = self.local.diag.borrow();
        self.local
            .owned
            .borrow()
            .iter()
            .map(|(key, e)| {
                let st = e.task.state();
                let id = e.task.id();
                let d = diag.get(key).filter(|d| e.diag && d.id == Some(id));
                WakerAccount {
                    id,
                    idle: !st.has(SCHEDULED | RUNNING),
                    outside_refs: st.refs().saturating_sub(1),
                    held_by_strand: d.map_or(0, |d| d.held),
                    awaiter: if !st.has(HANDLE) {
                        Awaiter::Detached
                    } else {
                        match d.and_then(|d| d.awaiter) {
                            Some(Party::Task { id, .. }) => Awaiter::Task(id),
                            Some(Party::Root { generation: g }) if Some(g) == generation => {
                                Awaiter::Root
                            }
                            _ => Awaiter::Unknown,
                        }
                    },
                }
            })
            .collect()
    }

    fn update_timing(&self) {
        let l = &self.local;
        l.timing
            .set(l.histogram_on.get() || l.slow_poll.get().is_some());
    }

    /// The executor's counters.
    ///
    /// ```
    /// # use strand_executor::{Executor, ExecutorConfig};
    /// # let exec = Executor::new(ExecutorConfig::default(), std::sync::Arc::new(|| {}));
    /// exec.spawn(async {});
    /// assert_eq!(exec.metrics().tasks_alive, 1);
    /// while exec.tick(64) {}
    /// let m = exec.metrics();
    /// assert_eq!((m.tasks_spawned, m.tasks_alive, m.polls), (1, 0, 1));
    /// ```
    pub fn metrics(&self) -> ExecutorMetrics {
        let mut m = ExecutorMetrics::default();
        self.local.counters.fill(&mut m);
        m.tasks_alive = self.local.owned.borrow().len();
        let pool = self.local.shared.pool.stats();
        m.blocking_threads = pool.threads;
        m.blocking_idle_threads = pool.idle;
        m.blocking_queue_depth = pool.queued;
        m.blocking_in_flight = pool.in_flight;
        m.slow_polls_in_progress = self.local.counters.watchdog_reports.get()
            + self.local.watch().map_or(0, |w| w.reports());
        m
    }

    /// One entry per live task: id, name, spawn location, state, polls, last poll.
    ///
    /// ```
    /// # use strand_executor::{task, Executor, ExecutorConfig, metrics::TaskState};
    /// # let exec = Executor::new(ExecutorConfig::default(), std::sync::Arc::new(|| {}));
    /// let handle = task::Builder::new().name("worker").spawn_on(std::future::pending::<()>(), &exec).unwrap();
    /// while exec.tick(64) {}
    /// let tasks = exec.snapshot();
    /// assert_eq!(tasks.len(), 1);
    /// assert_eq!(tasks[0].id, handle.id());
    /// assert_eq!(tasks[0].name.as_deref(), Some("worker"));
    /// assert_eq!(tasks[0].state, TaskState::Idle);
    /// assert_eq!(tasks[0].polls, 1);
    /// assert_eq!(tasks[0].location.file(), file!());
    /// ```
    pub fn snapshot(&self) -> Vec<TaskSnapshot> {
        let owned = self.local.owned.borrow();
        let diag = self.local.diag.borrow();
        let current = self.local.current.get();
        owned
            .iter()
            .map(|(key, e)| {
                let state = e.task.state();
                let polls = e.polls();
                let id = e.task.id();
                let d = diag.get(key).filter(|d| e.diag && d.id == Some(id));
                // A task that yielded keeps RUNNING while it waits: only the one being polled
                // right now is running.
                let polled = current.is_some_and(|c| c.ptr == e.task.ptr());
                TaskSnapshot {
                    id,
                    name: d.and_then(|d| d.name.as_deref()).map(str::to_owned),
                    location: e.location,
                    state: if state.has(RUNNING) && polled {
                        TaskState::Running
                    } else if state.has(SCHEDULED | RUNNING) {
                        TaskState::Scheduled
                    } else {
                        TaskState::Idle
                    },
                    polls,
                    last_poll: self.local.stamp_instant(e.task.stats().last_poll),
                    waits_on: match d {
                        Some(d) if !state.has(RUNNING | SCHEDULED) && polls > 0 => {
                            d.waits.get(polls - 1)
                        }
                        _ => Vec::new(),
                    },
                }
            })
            .collect()
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.shutdown();
        // Hand the thread's cached task blocks back to the allocator.
        raw::release_cached_blocks();
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("tasks_alive", &self.local.owned.borrow().len())
            .field("closed", &self.local.closed.get())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------

/// Spawns `Send` futures onto an executor from any thread.
///
/// ```
/// use strand_executor::{Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let spawner = exec.spawner();
/// let handle = std::thread::spawn(move || spawner.spawn(async { 7 })).join().unwrap();
/// while exec.tick(64) {}
/// assert_eq!(futures_lite::future::block_on(handle).unwrap(), 7);
/// ```
#[derive(Clone)]
pub struct Spawner {
    shared: Arc<Shared>,
}

impl Spawner {
    /// Spawns `future` on the executor. From the executor's own thread (entered) this is a
    /// plain local spawn; from elsewhere it goes through the remote queue and wakes the
    /// runtime. Once the executor is closed the future is dropped here and the handle
    /// resolves to `Err(cancelled)`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        if let Some(local) = current_local() {
            if Arc::ptr_eq(&local.shared, &self.shared) {
                return local.spawn(future, None, location);
            }
        }
        let id = Id::next();
        if self.shared.closed.load(Acquire) {
            return JoinHandle::new(raw::new_cancelled(future, id));
        }
        let (spawn, join) = raw::new_remote_task(future, id, &self.shared);
        let meta = Meta::new(spawn.id(), None, location);
        // Refused when closed meanwhile: dropping the entry cancels the task right here.
        drop(self.shared.push_remote(Remote::Spawn(spawn, meta)));
        JoinHandle::new(join)
    }

    /// Runs `f` on the executor's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared.pool.spawn(f, None)
    }

    /// True once the executor shut down (spawns then resolve to `Err(cancelled)`).
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Acquire)
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Spawns on the current executor (for `task::spawn` and friends).
#[track_caller]
pub(crate) fn spawn_current<F>(future: F, name: Option<&str>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    match current_local() {
        Some(local) => local.spawn(future, name, Location::caller()),
        None => panic!(
            "`strand::spawn` called outside of a strand runtime: spawn from code that runs on \
             a runtime, i.e. inside `#[strand::main]`, `#[strand::test]` or `Runtime::block_on`"
        ),
    }
}

/// The blocking pool of the current executor, or of the blocking thread we are on.
pub(crate) fn current_pool() -> Option<Arc<Pool>> {
    with_current(|local| Arc::clone(&local.shared.pool)).or_else(Pool::current_worker_pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_count_past_32_bits_carries_into_the_registry_entry() {
        let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
        let _guard = exec.enter();
        let _task = exec.spawn(async {
            loop {
                crate::task::yield_now().await;
            }
        });
        // A yield runs again at the next tick: one poll per tick.
        exec.tick(64);
        let snap = exec.snapshot();
        assert_eq!(snap[0].polls, 1);
        let first = snap[0].last_poll.expect("stamped");
        let key = snap.len() - 1;
        exec.local
            .owned
            .borrow()
            .get(key)
            .unwrap()
            .task
            .set_polls_low(u32::MAX);
        exec.tick(64);
        assert_eq!(exec.snapshot()[0].polls, 1 << 32, "the low half wrapped");
        exec.tick(64);
        let snap = exec.snapshot();
        assert_eq!(snap[0].polls, (1 << 32) + 1);
        assert!(snap[0].last_poll.expect("stamped") >= first);
    }
}
