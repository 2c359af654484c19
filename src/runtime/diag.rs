//! Deadlock and hang detection.
//!
//! # The wait-for graph
//! strand's `Mutex`, `RwLock` and `Semaphore` record who holds them (by task id, the `block_on`
//! future counting as one more party) and, once contended, who waits for them, in a
//! [`LockNode`] registered with the runtime. When the loop is about to block (no task is
//! ready) and that graph changed since the last look, the runtime checks it: a set of parties
//! that each wait only for locks whose every holder is in the set can never proceed. The
//! "only" is proved, not guessed: the executor counts every clone of a party's waker, and the
//! party counts as blocked on its locks only when all of them sit in those locks' wait queues
//! (no timer, socket, channel, other thread or foreign future holds one). A cycle found that way
//! is reported once through [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock).
//!
//! Guards are attributed to the party that acquired them. Owned guards (`lock_owned`,
//! `acquire_owned`, ...) are meant to move between tasks, so they count as held by an unknown
//! party and keep their lock out of any report; a borrowed guard released by another party than
//! the one that took it marks its lock as unreliable for good. (A guard of a `static` lock moved
//! into another task before it is ever released is the one case attributed wrongly.)
//!
//! # Hangs
//! When the loop is about to block with no I/O source registered, no timer armed, no blocking
//! job in flight and no [`Handle`](crate::runtime::Handle) alive, and every party (each task
//! and the `block_on` future) is idle with every clone of its waker held by a strand resource,
//! and every `JoinHandle` that is not detached was last polled here, nothing can ever wake the
//! runtime: it is reported as a hang, with a [`Dump`]. Anything the runtime cannot account for
//! (a waker held by another thread or a foreign library, an `AbortHandle`, a `JoinHandle` never
//! polled here) keeps it silent.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use strand_executor::diag::Awaiter;

use super::dump::Dump;
use super::{Inner, RootWaker};
use crate::task::Id;

/// "Who" for a holder or waiter that is not known (an owned guard).
pub(crate) const WHO_UNKNOWN: u64 = 0;
/// "Who" for the `block_on` future (and code outside any task).
pub(crate) const WHO_ROOT: u64 = u64::MAX;

/// "Who" when the runtime keeps no diagnostics: nothing is recorded for it.
pub(crate) const WHO_NONE: u64 = u64::MAX - 1;

/// The party running now: the current task's id, else [`WHO_ROOT`]; [`WHO_NONE`] while
/// diagnostics are off (then locks record nothing: one thread-local read per lock).
#[inline]
pub(crate) fn current_who() -> u64 {
    if !strand_executor::diag::enabled() {
        return WHO_NONE;
    }
    crate::task::try_id().map_or(WHO_ROOT, |id| id.as_u64())
}

/// A deadlock or hang report, passed to [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock).
///
/// `Display` prints a readable report: the parties, where they were spawned, and the locks they
/// hold and wait for (or, for a hang, a [`Dump`] of every task).
#[derive(Clone, Debug)]
pub struct Deadlock {
    pub(crate) kind: DeadlockKind,
    pub(crate) runtime: u64,
    pub(crate) tasks: Vec<BlockedTask>,
    pub(crate) locks: Vec<LockInfo>,
    pub(crate) dump: Option<Dump>,
}

/// What a [`Deadlock`] report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadlockKind {
    /// Tasks wait for locks held by each other in a cycle.
    LockCycle,
    /// The `block_on` future and every task wait, and nothing can ever wake them.
    Hang,
}

/// A party of a [`Deadlock`]: a task, or the future driven by `block_on`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BlockedTask {
    /// The task, or `None` for the `block_on` future.
    pub id: Option<Id>,
    /// The task's name.
    pub name: Option<String>,
    /// Where it was spawned (for the `block_on` future: where `block_on` was called).
    pub location: &'static Location<'static>,
    /// The locks (indices into [`Deadlock::locks`]) it holds, among those of the cycle.
    pub holds: Vec<usize>,
    /// The locks (indices into [`Deadlock::locks`]) it waits for.
    pub waits_for: Vec<usize>,
}

/// A lock of a [`Deadlock`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LockInfo {
    /// "mutex", "rwlock" or "semaphore".
    pub kind: &'static str,
    /// Identifies the lock (its address when it first had to queue a waiter).
    pub id: u64,
    /// Where it was created.
    pub created: &'static Location<'static>,
}

impl Deadlock {
    /// A lock cycle or a hang.
    pub fn kind(&self) -> DeadlockKind {
        self.kind
    }

    /// The parties: the tasks of the cycle in wait order (each waits for a lock held by the
    /// next, the last for one held by the first), or, for a hang, every waiting task.
    pub fn tasks(&self) -> &[BlockedTask] {
        &self.tasks
    }

    /// The locks of the cycle (empty for a hang).
    pub fn locks(&self) -> &[LockInfo] {
        &self.locks
    }

    /// For a hang: every task, as [`Runtime::dump`](crate::Runtime::dump) shows them.
    pub fn dump(&self) -> Option<&Dump> {
        self.dump.as_ref()
    }

    /// The id of the runtime it happened on.
    pub fn runtime_id(&self) -> u64 {
        self.runtime
    }
}

fn party(f: &mut fmt::Formatter<'_>, t: &BlockedTask) -> fmt::Result {
    match t.id {
        Some(id) => write!(f, "task {id}")?,
        None => f.write_str("the block_on future")?,
    }
    if let Some(name) = &t.name {
        write!(f, " {name:?}")?;
    }
    Ok(())
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:#x} (created at {})",
            self.kind, self.id, self.created
        )
    }
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DeadlockKind::LockCycle => {
                writeln!(
                    f,
                    "strand: deadlock on runtime {}: {} wait for locks held by each other, in a \
                     cycle; none of them can ever proceed:",
                    self.runtime,
                    if self.tasks.len() == 1 {
                        "a task waits for a lock it holds itself".to_string()
                    } else {
                        format!("{} parties", self.tasks.len())
                    }
                )?;
                for (i, t) in self.tasks.iter().enumerate() {
                    let next = &self.tasks[(i + 1) % self.tasks.len()];
                    f.write_str("  ")?;
                    party(f, t)?;
                    write!(f, " (spawned at {})", t.location)?;
                    for &l in &t.waits_for {
                        write!(f, "\n      waits for {}", self.locks[l])?;
                        f.write_str(", held by ")?;
                        party(f, next)?;
                    }
                    for &l in &t.holds {
                        let lock = &self.locks[l];
                        write!(f, "\n      holds {} {:#x}", lock.kind, lock.id)?;
                    }
                    f.write_str("\n")?;
                }
                Ok(())
            }
            DeadlockKind::Hang => {
                writeln!(
                    f,
                    "strand: hang on runtime {}: the block_on future and every task are waiting, \
                     and nothing can ever wake them: no I/O source is registered, no timer is \
                     armed, no blocking job is in flight, no Handle exists, and no waker of theirs \
                     exists outside strand resources that only these waiting tasks could use (a \
                     lost wakeup, or a wait for something that can no longer come).",
                    self.runtime
                )?;
                if let Some(dump) = &self.dump {
                    write!(f, "{dump}")?;
                }
                Ok(())
            }
        }
    }
}

/// The default report: a `tracing` error with the `tracing` feature, else stderr.
pub(crate) fn default_report(report: &Deadlock) {
    #[cfg(feature = "tracing")]
    tracing::error!(target: "strand::runtime", "{report}");
    #[cfg(not(feature = "tracing"))]
    eprintln!("{report}");
}

// ---------------------------------------------------------------------------------------------
// The lock registry.

/// Who holds a lock's permits: `(who, permits)` pairs, the first one inline.
#[derive(Debug, Default)]
pub(crate) struct Holders {
    first: (u64, usize),
    rest: Vec<(u64, usize)>,
}

impl Holders {
    pub(crate) const fn new() -> Holders {
        Holders {
            first: (WHO_UNKNOWN, 0),
            rest: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, who: u64, n: usize) {
        if who == WHO_NONE {
            return;
        }
        if self.first.1 == 0 {
            self.first = (who, n);
        } else if self.first.0 == who {
            self.first.1 += n;
        } else if let Some(e) = self.rest.iter_mut().find(|e| e.0 == who) {
            e.1 += n;
        } else {
            self.rest.push((who, n));
        }
    }

    /// Takes back `n` permits of `who`; false when `who` did not hold them.
    #[inline]
    pub(crate) fn remove(&mut self, who: u64, n: usize) -> bool {
        if who == WHO_NONE {
            return true;
        }
        if self.first.1 != 0 && self.first.0 == who {
            self.first.1 = self.first.1.saturating_sub(n);
            if self.first.1 == 0 {
                if let Some(next) = self.rest.pop() {
                    self.first = next;
                }
            }
            return true;
        }
        match self.rest.iter().position(|e| e.0 == who) {
            Some(i) => {
                let e = &mut self.rest[i];
                e.1 = e.1.saturating_sub(n);
                if e.1 == 0 {
                    self.rest.swap_remove(i);
                }
                true
            }
            None => false,
        }
    }

    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        std::iter::once(self.first)
            .filter(|e| e.1 != 0)
            .chain(self.rest.iter().copied())
            .map(|e| e.0)
    }
}

/// The part of the registry a lock node keeps a reference to.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    /// The graph changed since the last check.
    dirty: Cell<bool>,
}

/// A lock that had to queue a waiter at least once: what deadlock detection sees of it.
#[derive(Debug)]
pub(crate) struct LockNode {
    kind: &'static str,
    id: u64,
    created: &'static Location<'static>,
    holders: RefCell<Holders>,
    waiters: RefCell<Vec<u64>>,
    /// A guard was released by another party than its acquirer: attribution is unreliable.
    unreliable: Cell<bool>,
    /// The runtime this node is registered with, and its flags.
    registry: RefCell<Option<(u64, Rc<Flags>)>>,
}

impl LockNode {
    pub(crate) fn new(
        kind: &'static str,
        id: u64,
        created: &'static Location<'static>,
        holders: Holders,
    ) -> Rc<LockNode> {
        Rc::new(LockNode {
            kind,
            id,
            created,
            holders: RefCell::new(holders),
            waiters: RefCell::new(Vec::new()),
            unreliable: Cell::new(false),
            registry: RefCell::new(None),
        })
    }

    fn mark_dirty(&self) {
        if let Some((_, flags)) = self.registry.borrow().as_ref() {
            flags.dirty.set(true);
        }
    }

    /// `who` holds `n` more permits.
    pub(crate) fn add_holder(&self, who: u64, n: usize) {
        self.holders.borrow_mut().add(who, n);
        if !self.waiters.borrow().is_empty() {
            self.mark_dirty();
        }
    }

    /// `who` gives back `n` permits, released by the party running now.
    pub(crate) fn remove_holder(&self, who: u64, n: usize) {
        if who == WHO_NONE {
            return;
        }
        let found = self.holders.borrow_mut().remove(who, n);
        // Released by another party than the acquirer: evidence that a borrowed guard moved.
        // (With diagnostics off now the releasing party is unknown: no evidence either way.)
        let now = current_who();
        if !found || (who != WHO_UNKNOWN && now != WHO_NONE && who != now) {
            self.unreliable.set(true);
        }
        if !self.waiters.borrow().is_empty() {
            self.mark_dirty();
        }
    }

    /// `n` permits of `from` now belong to `to`.
    pub(crate) fn transfer(&self, from: u64, to: u64, n: usize) {
        let mut h = self.holders.borrow_mut();
        if h.remove(from, n) {
            h.add(to, n);
        } else {
            self.unreliable.set(true);
        }
        drop(h);
        if !self.waiters.borrow().is_empty() {
            self.mark_dirty();
        }
    }

    /// `who` starts waiting (registers the node with the current runtime if needed).
    pub(crate) fn add_waiter(self: &Rc<Self>, who: u64) {
        if who == WHO_NONE {
            return;
        }
        self.waiters.borrow_mut().push(who);
        let registered = self.registry.borrow().as_ref().map(|(id, _)| *id);
        crate::context::with_current(|inner| {
            if let Some(inner) = inner {
                if registered != Some(inner.shared.id) {
                    inner.locks.nodes.borrow_mut().push(Rc::downgrade(self));
                    *self.registry.borrow_mut() =
                        Some((inner.shared.id, Rc::clone(&inner.locks.flags)));
                }
            }
        });
        self.mark_dirty();
    }

    /// `who` stops waiting.
    pub(crate) fn remove_waiter(&self, who: u64) {
        if who == WHO_NONE {
            return;
        }
        let mut w = self.waiters.borrow_mut();
        if let Some(i) = w.iter().position(|&x| x == who) {
            w.swap_remove(i);
        }
        drop(w);
        self.mark_dirty();
    }
}

/// A runtime's registry of contended locks.
#[derive(Debug, Default)]
pub(crate) struct LockRegistry {
    flags: Rc<Flags>,
    nodes: RefCell<Vec<Weak<LockNode>>>,
    /// Cycles already reported (sorted party and lock ids).
    reported: RefCell<HashSet<Vec<u64>>>,
}

impl LockRegistry {
    #[inline]
    pub(crate) fn take_dirty(&self) -> bool {
        self.flags.dirty.replace(false)
    }
}

// ---------------------------------------------------------------------------------------------
// The checks.

/// What the idle check knows about one party.
struct PartyState {
    /// Idle, and every reference to it is a waker held by strand.
    only_strand: bool,
    held: u32,
}

impl Inner {
    /// The loop is about to block: look for lock cycles (when the graph changed) and for a
    /// hang (when nothing outside the tasks could wake the runtime). Cheap when neither can be.
    /// True when the loop must not block after all: a report hook made work (spawned a task,
    /// woke one).
    #[inline]
    pub(crate) fn before_block(&self, root: &Arc<RootWaker>) -> bool {
        if !self.diagnostics {
            return false;
        }
        let locks_dirty = self.locks.take_dirty();
        if !locks_dirty && !self.may_hang() {
            return false;
        }
        self.idle_checks(root, locks_dirty);
        self.executor.has_ready() || root.woken.load(Ordering::SeqCst)
    }

    /// Nothing outside the tasks could wake the runtime (the cheap part of the hang proof).
    #[inline]
    fn may_hang(&self) -> bool {
        // Order matters: a blocking job's (or a `Handle::spawn`'s) work is queued before its
        // count drops, so read the counts before the run queues. The last test is the costly
        // one, reached only when the runtime is really idle.
        self.reactor.registrations() == 0
            && self.reactor.timers() == 0
            && self.shared.handles.load(Ordering::SeqCst) == 0
            && self.executor.blocking_in_flight() == 0
            && !self.executor.has_ready()
            && self.hang_reported_at.get() != Some(self.executor_polls())
    }

    fn executor_polls(&self) -> u64 {
        self.executor.polls()
    }

    #[cold]
    fn idle_checks(&self, root: &Arc<RootWaker>, locks_dirty: bool) {
        let root_state = || {
            let acct = self.executor.root_account()?;
            // The root's waker clones besides `run`'s two and the executor's.
            let root_out = Arc::strong_count(root).saturating_sub(3);
            Some(PartyState {
                only_strand: !root.woken.load(Ordering::SeqCst)
                    && !acct.in_poll
                    && root_out == acct.held_by_strand as usize,
                held: acct.held_by_strand,
            })
        };
        let mut found_cycle = false;
        if locks_dirty {
            // The accounts (a walk over every task) are only fetched when the lock graph
            // alone already shows parties that wait for each other.
            let parties = || {
                let mut parties: HashMap<u64, PartyState> = self
                    .executor
                    .waker_accounts()
                    .iter()
                    .map(|a| {
                        (
                            a.id.as_u64(),
                            PartyState {
                                only_strand: a.only_strand_can_wake(),
                                held: a.held_by_strand,
                            },
                        )
                    })
                    .collect();
                if let Some(r) = root_state() {
                    parties.insert(WHO_ROOT, r);
                }
                parties
            };
            for report in self.lock_cycles(parties) {
                found_cycle = true;
                self.report(report);
            }
        }
        if found_cycle {
            // The hang (if any) is this deadlock; do not report it twice.
            self.hang_reported_at.set(Some(self.executor_polls()));
            return;
        }
        if !self.may_hang() {
            return;
        }
        let accounts = self.executor.waker_accounts();
        let live: HashSet<u64> = accounts.iter().map(|a| a.id.as_u64()).collect();
        let tasks_stuck = accounts.iter().all(|a| {
            a.only_strand_can_wake()
                && match a.awaiter {
                    Awaiter::Detached | Awaiter::Root => true,
                    Awaiter::Task(id) => live.contains(&id.as_u64()),
                    _ => false,
                }
        });
        let root_stuck = root_state().is_some_and(|r| r.only_strand);
        // Re-check what other threads could have changed while we looked.
        if !(tasks_stuck && root_stuck && self.may_hang() && !root.woken.load(Ordering::SeqCst)) {
            return;
        }
        self.hang_reported_at.set(Some(self.executor_polls()));
        let dump = self.dump();
        let tasks = dump
            .tasks()
            .iter()
            .map(|t| BlockedTask {
                id: Some(t.id),
                name: t.name.clone(),
                location: t.location,
                holds: Vec::new(),
                waits_for: Vec::new(),
            })
            .collect();
        self.report(Deadlock {
            kind: DeadlockKind::Hang,
            runtime: self.shared.id,
            tasks,
            locks: Vec::new(),
            dump: Some(dump),
        });
    }

    /// Lock cycles among parties blocked on locks only, not reported before.
    fn lock_cycles(&self, parties: impl FnOnce() -> HashMap<u64, PartyState>) -> Vec<Deadlock> {
        let nodes: Vec<Rc<LockNode>> = {
            let mut reg = self.locks.nodes.borrow_mut();
            reg.retain(|w| w.strong_count() > 0);
            reg.iter().filter_map(Weak::upgrade).collect()
        };
        // Who waits for which nodes.
        let mut waits: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            for &who in node.waiters.borrow().iter() {
                waits.entry(who).or_default().push(i);
            }
        }
        // Keep the parties whose every awaited lock is held only by kept parties: first on
        // the graph alone (cheap, and usually empty), then among those whose every waker sits
        // in a lock queue.
        let keep = |blocked: &mut HashSet<u64>| loop {
            let before = blocked.len();
            let snapshot = blocked.clone();
            blocked.retain(|who| {
                waits[who].iter().all(|&i| {
                    let node = &nodes[i];
                    let holders = node.holders.borrow();
                    !node.unreliable.get()
                        && holders.iter().next().is_some()
                        && holders.iter().all(|h| snapshot.contains(&h))
                })
            });
            if blocked.len() == before {
                break;
            }
        };
        let mut blocked: HashSet<u64> = waits.keys().copied().collect();
        keep(&mut blocked);
        if blocked.is_empty() {
            return Vec::new();
        }
        let parties = parties();
        blocked.retain(|who| {
            parties
                .get(who)
                .is_some_and(|p| p.only_strand && p.held as usize == waits[who].len())
        });
        keep(&mut blocked);
        if blocked.is_empty() {
            return Vec::new();
        }
        // Walk from each blocked party along "waits for a lock held by" to a cycle.
        let mut starts: Vec<u64> = blocked.iter().copied().collect();
        starts.sort_unstable();
        let mut out = Vec::new();
        for start in starts {
            let mut path: Vec<(u64, usize)> = Vec::new();
            let mut cur = start;
            let cycle = loop {
                if let Some(pos) = path.iter().position(|&(w, _)| w == cur) {
                    break path.split_off(pos);
                }
                let node = waits[&cur][0];
                let next = nodes[node]
                    .holders
                    .borrow()
                    .iter()
                    .find(|h| blocked.contains(h))
                    .expect("a kept party's lock has a kept holder");
                path.push((cur, node));
                cur = next;
            };
            let mut key: Vec<u64> = cycle
                .iter()
                .flat_map(|&(who, node)| [who, nodes[node].id])
                .collect();
            key.sort_unstable();
            if !self.locks.reported.borrow_mut().insert(key) {
                continue;
            }
            out.push(self.cycle_report(&cycle, &nodes));
        }
        out
    }

    fn cycle_report(&self, cycle: &[(u64, usize)], nodes: &[Rc<LockNode>]) -> Deadlock {
        let snapshot = self.executor.snapshot();
        let root_location = self.executor.root_account().map(|a| a.location);
        let locks: Vec<LockInfo> = cycle
            .iter()
            .map(|&(_, n)| LockInfo {
                kind: nodes[n].kind,
                id: nodes[n].id,
                created: nodes[n].created,
            })
            .collect();
        let tasks = cycle
            .iter()
            .enumerate()
            .map(|(i, &(who, _))| {
                let (id, name, location) = if who == WHO_ROOT {
                    (None, None, root_location.unwrap_or(Location::caller()))
                } else {
                    match snapshot.iter().find(|s| s.id.as_u64() == who) {
                        Some(s) => (Some(s.id), s.name.clone(), s.location),
                        None => (None, None, Location::caller()),
                    }
                };
                let holds = cycle
                    .iter()
                    .enumerate()
                    .filter(|&(_, &(_, n))| nodes[n].holders.borrow().iter().any(|h| h == who))
                    .map(|(j, _)| j)
                    .collect();
                BlockedTask {
                    id,
                    name,
                    location,
                    holds,
                    waits_for: vec![i],
                }
            })
            .collect();
        Deadlock {
            kind: DeadlockKind::LockCycle,
            runtime: self.shared.id,
            tasks,
            locks,
            dump: None,
        }
    }

    fn report(&self, report: Deadlock) {
        let counter = match report.kind {
            DeadlockKind::LockCycle => &self.counters.deadlocks,
            DeadlockKind::Hang => &self.counters.hangs,
        };
        counter.set(counter.get() + 1);
        match &self.on_deadlock {
            Some(hook) => hook(&report),
            None if !self.fail_on_deadlock => default_report(&report),
            None => {}
        }
        if self.fail_on_deadlock {
            panic!("{report}");
        }
    }
}
