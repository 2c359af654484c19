//! The task state word: flag bits and a reference count in one `AtomicUsize`.
//!
//! Every transition of the task state machine documented in [`crate::raw`] is one method here,
//! a single compare-and-swap loop (or a single `fetch_*`), so it is easy to audit that each one
//! is atomic with respect to the others. This module holds no `unsafe`: it only computes and
//! publishes new state words; what a caller may touch after a transition is the business of
//! `raw.rs`.
//!
//! Layout (low bits first):
//!
//! | bit | name        | meaning |
//! |-----|-------------|---------|
//! | 0   | `SCHEDULED` | the task is (or is about to be) in a run queue, or is running and must run again |
//! | 1   | `RUNNING`   | the executor thread owns the future: polling or dropping it right now, or the task yielded and its entry waits in the deferred list |
//! | 2   | `COMPLETE`  | the future is gone; the stage holds the output (or nothing) |
//! | 3   | `CLOSED`    | cancellation was requested (abort or shutdown); the next run drops the future |
//! | 4   | `HANDLE`    | the `JoinHandle` is alive (it owns the output once `COMPLETE`) |
//! | 5   | `AWAITER`   | the awaiter slot holds a waker to wake on completion |
//! | 6   | `LOCKED`    | the `JoinHandle` is writing the awaiter slot |
//! | 7.. | refcount    | wakers, queue entries, the owned-task registry, abort handles |
//!
//! The `JoinHandle` is not counted in the refcount: the `HANDLE` bit keeps the allocation alive
//! on its own. The allocation is freed by whoever makes the word reach "refcount 0 and no
//! `HANDLE`".

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire};

pub(crate) const SCHEDULED: usize = 1 << 0;
pub(crate) const RUNNING: usize = 1 << 1;
pub(crate) const COMPLETE: usize = 1 << 2;
pub(crate) const CLOSED: usize = 1 << 3;
pub(crate) const HANDLE: usize = 1 << 4;
pub(crate) const AWAITER: usize = 1 << 5;
pub(crate) const LOCKED: usize = 1 << 6;
const REF_SHIFT: u32 = 7;
pub(crate) const REF_ONE: usize = 1 << REF_SHIFT;
/// Refcounts above this abort the process (as `Arc` does) instead of overflowing.
const REF_LIMIT: usize = (usize::MAX >> REF_SHIFT) / 2;

/// A copy of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    #[inline]
    pub(crate) fn refs(self) -> usize {
        self.0 >> REF_SHIFT
    }
    #[inline]
    pub(crate) fn has(self, bits: usize) -> bool {
        self.0 & bits != 0
    }
    /// Refcount 0 and no `JoinHandle`: nobody can reach the task any more.
    #[inline]
    pub(crate) fn is_unreachable(self) -> bool {
        self.refs() == 0 && !self.has(HANDLE)
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("State");
        for (bit, name) in [
            (SCHEDULED, "scheduled"),
            (RUNNING, "running"),
            (COMPLETE, "complete"),
            (CLOSED, "closed"),
            (HANDLE, "handle"),
            (AWAITER, "awaiter"),
            (LOCKED, "locked"),
        ] {
            d.field(name, &self.has(bit));
        }
        d.field("refs", &self.refs()).finish()
    }
}

/// What a wake asks the waker code to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakeAction {
    /// Nothing to schedule (and, for a by-value wake, the waker's reference was released and
    /// the task is still reachable).
    None,
    /// Push one queue entry: it owns the reference added (or transferred) by the transition.
    Schedule,
    /// By-value wake only: the waker held the last reference; free the task.
    Dealloc,
}

/// Result of [`State::transition_to_running`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// Poll the future.
    Poll,
    /// Cancellation was requested: drop the future instead of polling it.
    Cancel,
    /// The task already completed (a stale queue entry): release the entry's reference.
    Stale,
}

/// Result of [`State::transition_to_idle`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// Not woken during the poll: the queue reference was released.
    Idle,
    /// Woken (or yielded) during the poll: the reference goes back into a queue.
    Requeue,
    /// Aborted during the poll: still `RUNNING`, drop the future now.
    Cancel,
}

/// Result of [`State::transition_to_complete`].
#[derive(Debug)]
pub(crate) struct Completion {
    /// Take the awaiter waker and wake it.
    pub(crate) notify: bool,
    /// The `JoinHandle` went away after the output was stored: the executor drops it.
    pub(crate) drop_output: bool,
    /// One reference was kept to do the above; release it with [`State::release_after_complete`].
    pub(crate) kept_ref: bool,
    /// No reference was kept and the task became unreachable: free it.
    pub(crate) dealloc: bool,
}

/// Result of [`State::claim_for_shutdown`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// `RUNNING | CLOSED` set by us: drop the future now.
    Claimed,
    /// The task is being polled further up this thread's stack: `CLOSED` was set, the poll's
    /// epilogue cancels it.
    Running,
    /// Already complete.
    Complete,
}

/// Result of [`State::register_lock`] and [`State::register_unlock`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Register {
    Locked,
    Registered,
    Complete,
}

/// The atomic state word of one task.
pub(crate) struct State(AtomicUsize);

#[inline]
fn abort_on_overflow(refs: usize) {
    if refs > REF_LIMIT {
        // Same policy as `Arc`: a refcount this large means leaked wakers; continuing could
        // wrap the count and free a live task.
        std::process::abort();
    }
}

impl State {
    /// A fresh task: `SCHEDULED | HANDLE` plus `refs` references (queue entry, registry).
    #[inline]
    pub(crate) fn new_scheduled(refs: usize) -> State {
        State(AtomicUsize::new(SCHEDULED | HANDLE | (refs * REF_ONE)))
    }

    /// A task that is complete before it ever ran (spawned into a closed executor).
    #[inline]
    pub(crate) fn new_complete() -> State {
        State(AtomicUsize::new(COMPLETE | HANDLE))
    }

    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    /// Runs `f` in a CAS loop; `f` returns `None` to stop without writing.
    #[inline]
    fn update(&self, mut f: impl FnMut(Snapshot) -> Option<usize>) -> Result<Snapshot, Snapshot> {
        let mut cur = self.0.load(Acquire);
        loop {
            let Some(next) = f(Snapshot(cur)) else {
                return Err(Snapshot(cur));
            };
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(prev) => return Ok(Snapshot(prev)),
                Err(actual) => cur = actual,
            }
        }
    }

    #[inline]
    pub(crate) fn ref_inc(&self) {
        let prev = Snapshot(self.0.fetch_add(REF_ONE, AcqRel));
        abort_on_overflow(prev.refs());
    }

    /// Releases one reference; true when the caller must free the task.
    #[inline]
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.0.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.refs() >= 1, "task refcount underflow: {prev:?}");
        prev.refs() == 1 && !prev.has(HANDLE)
    }

    /// Executor thread, owning a queue entry: `SCHEDULED -> RUNNING`. A task that yielded kept
    /// `RUNNING` while its entry waited (see [`State::keep_running_for_yield`]): it is still
    /// ours, so no transition is needed unless a wake (`SCHEDULED`) or an abort (`CLOSED`)
    /// arrived meanwhile.
    #[inline]
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        let mut cur = self.0.load(Acquire);
        loop {
            let s = Snapshot(cur);
            if s.has(COMPLETE) {
                return ToRunning::Stale;
            }
            if s.has(RUNNING) {
                // Kept across a yield: no transition, unless a wake or an abort came in.
                if s.has(CLOSED) {
                    return ToRunning::Cancel;
                }
                if s.has(SCHEDULED) {
                    self.0.fetch_and(!SCHEDULED, AcqRel);
                }
                return ToRunning::Poll;
            }
            match self
                .0
                .compare_exchange_weak(cur, (cur & !SCHEDULED) | RUNNING, AcqRel, Acquire)
            {
                Ok(_) if s.has(CLOSED) => return ToRunning::Cancel,
                Ok(_) => return ToRunning::Poll,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Executor thread, after a `Pending` poll that did not yield (a yield keeps `RUNNING`:
    /// see [`State::keep_running_for_yield`]).
    #[inline]
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        match self.update(|s| {
            debug_assert!(s.has(RUNNING) && !s.has(COMPLETE), "{s:?}");
            if s.has(CLOSED) {
                None
            } else if s.has(SCHEDULED) {
                Some(s.0 & !RUNNING)
            } else {
                debug_assert!(s.refs() >= 2, "registry reference missing: {s:?}");
                Some((s.0 & !RUNNING) - REF_ONE)
            }
        }) {
            Err(_) => ToIdle::Cancel,
            Ok(prev) if prev.has(SCHEDULED) => ToIdle::Requeue,
            Ok(_) => ToIdle::Idle,
        }
    }

    /// Executor thread, after a `Pending` poll that yielded (`yield_now`, a spent budget): the
    /// task keeps `RUNNING` (and its queue reference) while its entry waits in the executor's
    /// deferred list, which saves two atomic transitions per yield. False when cancellation
    /// was requested meanwhile: drop the future now instead.
    #[inline]
    pub(crate) fn keep_running_for_yield(&self) -> bool {
        let now = self.load();
        debug_assert!(now.has(RUNNING) && !now.has(COMPLETE), "{now:?}");
        !now.has(CLOSED)
    }

    /// True when the task is `RUNNING` without being complete: polled right now, or parked in
    /// the deferred list after a yield.
    #[inline]
    pub(crate) fn is_running(&self) -> bool {
        let now = self.load();
        now.has(RUNNING) && !now.has(COMPLETE)
    }

    /// Executor thread (or blocking worker), the future already dropped: sets `COMPLETE`,
    /// clears `RUNNING | SCHEDULED` and releases `refs` references, keeping one when there is
    /// still work that needs the allocation (waking the awaiter, dropping an output whose
    /// handle went away meanwhile). `stored_output`: the output was written to the stage.
    #[inline]
    pub(crate) fn transition_to_complete(&self, refs: usize, stored_output: bool) -> Completion {
        let mut completion = Completion {
            notify: false,
            drop_output: false,
            kept_ref: false,
            dealloc: false,
        };
        let prev = self
            .update(|s| {
                debug_assert!(s.refs() >= refs && !s.has(COMPLETE), "{s:?}");
                let notify = s.has(AWAITER) && !s.has(LOCKED);
                let drop_output = stored_output && !s.has(HANDLE);
                let keep = usize::from(notify || drop_output);
                completion.notify = notify;
                completion.drop_output = drop_output;
                completion.kept_ref = keep == 1;
                Some(((s.0 & !(RUNNING | SCHEDULED)) | COMPLETE) - (refs - keep) * REF_ONE)
            })
            .unwrap_or_else(|s| s);
        let next = Snapshot(((prev.0 & !(RUNNING | SCHEDULED)) | COMPLETE) - refs * REF_ONE);
        completion.dealloc = !completion.kept_ref && next.is_unreachable();
        completion
    }

    /// Releases the reference kept by [`State::transition_to_complete`], clearing `AWAITER`
    /// when the waker was taken. True when the caller must free the task.
    #[inline]
    pub(crate) fn release_after_complete(&self, took_awaiter: bool) -> bool {
        let clear = if took_awaiter { AWAITER } else { 0 };
        let prev = self
            .update(|s| Some((s.0 & !clear) - REF_ONE))
            .unwrap_or_else(|s| s);
        let next = Snapshot((prev.0 & !clear) - REF_ONE);
        next.is_unreachable()
    }

    /// Any thread, waker borrowed (the caller holds a reference).
    #[inline]
    pub(crate) fn wake_by_ref(&self) -> WakeAction {
        match self.update(|s| {
            if s.has(COMPLETE | CLOSED | SCHEDULED) {
                None
            } else if s.has(RUNNING) {
                Some(s.0 | SCHEDULED)
            } else {
                abort_on_overflow(s.refs());
                Some((s.0 | SCHEDULED) + REF_ONE)
            }
        }) {
            Ok(prev) if !prev.has(RUNNING) => WakeAction::Schedule,
            _ => WakeAction::None,
        }
    }

    /// Any thread, waker consumed: its reference becomes the queue entry's, or is released.
    #[inline]
    pub(crate) fn wake_by_val(&self) -> WakeAction {
        let prev = self
            .update(|s| {
                if s.has(COMPLETE | CLOSED | SCHEDULED) {
                    Some(s.0 - REF_ONE)
                } else if s.has(RUNNING) {
                    Some((s.0 | SCHEDULED) - REF_ONE)
                } else {
                    Some(s.0 | SCHEDULED)
                }
            })
            .unwrap_or_else(|s| s);
        if !prev.has(COMPLETE | CLOSED | SCHEDULED | RUNNING) {
            WakeAction::Schedule
        } else if prev.refs() == 1 && !prev.has(HANDLE) {
            WakeAction::Dealloc
        } else {
            WakeAction::None
        }
    }

    /// Any thread, holding a reference: request cancellation. `Schedule` means a queue entry
    /// (with a fresh reference) must be pushed so the executor thread drops the future.
    #[inline]
    pub(crate) fn abort(&self) -> WakeAction {
        match self.update(|s| {
            if s.has(COMPLETE | CLOSED) {
                None
            } else if s.has(RUNNING) {
                Some(s.0 | CLOSED | SCHEDULED)
            } else if s.has(SCHEDULED) {
                Some(s.0 | CLOSED)
            } else {
                abort_on_overflow(s.refs());
                Some((s.0 | CLOSED | SCHEDULED) + REF_ONE)
            }
        }) {
            Ok(prev) if !prev.has(RUNNING | SCHEDULED) => WakeAction::Schedule,
            _ => WakeAction::None,
        }
    }

    /// Executor thread at shutdown, holding the registry reference.
    #[inline]
    pub(crate) fn claim_for_shutdown(&self) -> Claim {
        match self.update(|s| {
            if s.has(COMPLETE) {
                None
            } else {
                Some(s.0 | RUNNING | CLOSED)
            }
        }) {
            Err(_) => Claim::Complete,
            Ok(prev) if prev.has(RUNNING) => Claim::Running,
            Ok(_) => Claim::Claimed,
        }
    }

    /// Blocking worker at pool shutdown, owning the queue entry of a job that never started.
    #[inline]
    pub(crate) fn claim_unstarted(&self) -> bool {
        self.update(|s| {
            if s.has(COMPLETE | RUNNING) {
                None
            } else {
                Some((s.0 & !SCHEDULED) | RUNNING | CLOSED)
            }
        })
        .is_ok()
    }

    /// `JoinHandle`, before writing the awaiter slot: take `LOCKED` unless already complete.
    #[inline]
    pub(crate) fn register_lock(&self) -> Register {
        match self.update(|s| {
            if s.has(COMPLETE) {
                None
            } else {
                debug_assert!(!s.has(LOCKED), "{s:?}");
                Some(s.0 | LOCKED)
            }
        }) {
            Ok(_) => Register::Locked,
            Err(_) => Register::Complete,
        }
    }

    /// `JoinHandle`, after writing the slot: publish `AWAITER` and drop `LOCKED`, unless the
    /// task completed meanwhile (then the completion skipped the slot: the handle still holds
    /// `LOCKED`, must empty the slot itself and call [`State::unlock_after_complete`]).
    #[inline]
    pub(crate) fn register_unlock(&self) -> Register {
        match self.update(|s| {
            debug_assert!(s.has(LOCKED), "{s:?}");
            if s.has(COMPLETE) {
                None
            } else {
                Some((s.0 & !LOCKED) | AWAITER)
            }
        }) {
            Ok(_) => Register::Registered,
            Err(_) => Register::Complete,
        }
    }

    /// `JoinHandle` holding `LOCKED` after completion: clear `LOCKED | AWAITER`.
    #[inline]
    pub(crate) fn unlock_after_complete(&self) {
        self.0.fetch_and(!(LOCKED | AWAITER), AcqRel);
    }

    /// `JoinHandle` drop before completion, without an awaiter to clean up: clear `HANDLE`.
    /// `Err(current)` when the state changed (completed or an awaiter appeared).
    #[inline]
    pub(crate) fn drop_handle_if_idle(&self, expected: Snapshot) -> Result<(), Snapshot> {
        debug_assert!(!expected.has(COMPLETE | AWAITER | LOCKED));
        self.0
            .compare_exchange(expected.0, expected.0 & !HANDLE, AcqRel, Acquire)
            .map(|_| ())
            .map_err(Snapshot)
    }

    /// `JoinHandle` drop, the awaiter slot emptied while holding `LOCKED` and the task not
    /// complete: clear `HANDLE | LOCKED | AWAITER`. `Err` when it completed meanwhile.
    #[inline]
    pub(crate) fn drop_handle_unlock(&self) -> Result<(), ()> {
        self.update(|s| {
            if s.has(COMPLETE) {
                None
            } else {
                Some(s.0 & !(HANDLE | LOCKED | AWAITER))
            }
        })
        .map(|_| ())
        .map_err(|_| ())
    }

    /// `JoinHandle` drop after completion (output already dropped): clear `HANDLE` (and a
    /// `LOCKED`/`AWAITER` the handle itself held). True when the caller must free the task.
    #[inline]
    pub(crate) fn drop_handle_complete(&self, held_lock: bool) -> bool {
        let clear = if held_lock {
            HANDLE | LOCKED | AWAITER
        } else {
            HANDLE
        };
        let prev = Snapshot(self.0.fetch_and(!clear, AcqRel));
        debug_assert!(prev.has(COMPLETE | HANDLE));
        prev.refs() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_run_idle_wake_complete() {
        let s = State::new_scheduled(2);
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert!(s.load().has(RUNNING) && !s.load().has(SCHEDULED));
        // Woken while running: no new reference, requeued after the poll.
        assert_eq!(s.wake_by_ref(), WakeAction::None);
        assert_eq!(s.transition_to_idle(), ToIdle::Requeue);
        assert_eq!(s.load().refs(), 2);
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert_eq!(s.transition_to_idle(), ToIdle::Idle);
        assert_eq!(s.load().refs(), 1);
        // Idle wake adds the queue entry's reference.
        assert_eq!(s.wake_by_ref(), WakeAction::Schedule);
        assert_eq!(s.load().refs(), 2);
        assert_eq!(s.wake_by_ref(), WakeAction::None, "already scheduled");
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        let c = s.transition_to_complete(2, true);
        assert!(!c.notify && !c.drop_output && !c.kept_ref && !c.dealloc);
        let now = s.load();
        assert!(now.has(COMPLETE | HANDLE) && now.refs() == 0);
        assert_eq!(
            s.wake_by_ref(),
            WakeAction::None,
            "a finished task is never rescheduled"
        );
        assert!(s.drop_handle_complete(false));
    }

    #[test]
    fn yielded_task_keeps_running_and_its_reference_until_aborted() {
        let s = State::new_scheduled(2);
        s.transition_to_running();
        assert!(s.keep_running_for_yield());
        assert!(s.is_running());
        assert_eq!(s.load().refs(), 2, "the queue entry keeps its reference");
        // A wake meanwhile only marks it; the next run clears the mark and polls.
        assert_eq!(s.wake_by_ref(), WakeAction::None);
        assert_eq!(s.transition_to_running(), ToRunning::Poll);
        assert!(!s.load().has(SCHEDULED));
        assert!(s.keep_running_for_yield());
        assert_eq!(s.abort(), WakeAction::None);
        assert!(
            !s.keep_running_for_yield(),
            "aborted: cancel instead of parking it"
        );
    }

    #[test]
    fn abort_idle_running_and_complete() {
        let s = State::new_scheduled(2);
        s.transition_to_running();
        assert_eq!(s.abort(), WakeAction::None);
        assert_eq!(s.transition_to_idle(), ToIdle::Cancel);
        let s = State::new_scheduled(2);
        s.transition_to_running();
        s.transition_to_idle();
        assert_eq!(s.abort(), WakeAction::Schedule);
        assert_eq!(s.abort(), WakeAction::None, "second abort is a no-op");
        assert_eq!(s.transition_to_running(), ToRunning::Cancel);
        s.transition_to_complete(2, true);
        assert_eq!(s.abort(), WakeAction::None, "abort after completion");
    }

    #[test]
    fn wake_by_val_transfers_or_releases() {
        let s = State::new_scheduled(2);
        s.transition_to_running();
        s.transition_to_idle();
        s.ref_inc(); // a waker
        assert_eq!(s.wake_by_val(), WakeAction::Schedule);
        assert_eq!(s.load().refs(), 2);
        s.ref_inc();
        assert_eq!(s.wake_by_val(), WakeAction::None);
        assert_eq!(s.load().refs(), 2);
    }

    #[test]
    fn last_waker_after_detach_deallocates() {
        let s = State::new_scheduled(2);
        s.transition_to_running();
        s.ref_inc(); // a waker kept by someone
        s.transition_to_complete(2, false);
        assert!(!s.drop_handle_complete(false));
        assert_eq!(s.wake_by_val(), WakeAction::Dealloc);
    }

    #[test]
    fn completion_keeps_a_reference_to_notify() {
        let s = State::new_scheduled(2);
        assert_eq!(s.register_lock(), Register::Locked);
        assert_eq!(s.register_unlock(), Register::Registered);
        s.transition_to_running();
        let c = s.transition_to_complete(2, true);
        assert!(c.notify && c.kept_ref && !c.dealloc);
        assert_eq!(s.load().refs(), 1);
        assert!(!s.release_after_complete(true), "the handle is still alive");
        assert!(!s.load().has(AWAITER));
        assert!(s.drop_handle_complete(false));
    }

    #[test]
    fn completion_while_registering_leaves_the_slot_to_the_handle() {
        let s = State::new_scheduled(2);
        assert_eq!(s.register_lock(), Register::Locked);
        s.transition_to_running();
        let c = s.transition_to_complete(2, true);
        assert!(!c.notify);
        assert_eq!(s.register_unlock(), Register::Complete);
        s.unlock_after_complete();
        assert_eq!(s.register_lock(), Register::Complete);
    }

    #[test]
    fn handle_dropped_before_completion() {
        let s = State::new_scheduled(2);
        assert!(s.drop_handle_if_idle(s.load()).is_ok());
        s.transition_to_running();
        let c = s.transition_to_complete(2, false);
        assert!(c.dealloc);
    }

    #[test]
    fn handle_dropped_between_store_and_complete() {
        let s = State::new_scheduled(2);
        s.transition_to_running();
        // The executor saw HANDLE and stored the output; then the handle goes away.
        assert!(s.drop_handle_if_idle(s.load()).is_ok());
        let c = s.transition_to_complete(2, true);
        assert!(c.drop_output && c.kept_ref && !c.dealloc);
        assert!(s.release_after_complete(false));
    }

    #[test]
    fn shutdown_claims() {
        let s = State::new_scheduled(2);
        assert_eq!(s.claim_for_shutdown(), Claim::Claimed);
        let s = State::new_scheduled(2);
        s.transition_to_running();
        assert_eq!(s.claim_for_shutdown(), Claim::Running);
        assert_eq!(s.transition_to_idle(), ToIdle::Cancel);
    }
}
