//! Wheel tests: a model-based test against a `BTreeMap` reference, boundary deadlines, huge
//! deadlines, long uptime, firing order and memory.

use std::collections::{BTreeSet, HashMap};
use std::task::{Poll, Waker};

use super::*;

const DAY: u64 = 86_400_000;
const YEAR: u64 = 365 * DAY;

struct Noop;
impl std::task::Wake for Noop {
    fn wake(self: std::sync::Arc<Self>) {}
}

fn noop_waker() -> Waker {
    Waker::from(std::sync::Arc::new(Noop))
}

/// Processes up to `now`, returning the fired ids with their deadlines in firing order.
fn run(w: &mut Wheel, now: u64, whens: &HashMap<TimerId, u64>) -> Vec<(u64, TimerId)> {
    let mut out = Vec::new();
    let n = w.process(now, |id, _| out.push((whens[&id], id)));
    assert_eq!(n, out.len());
    out
}

/// The reference: armed timers ordered by (deadline, id).
struct Model {
    wheel: Wheel,
    armed: BTreeSet<(u64, u32, u32)>,
    whens: HashMap<TimerId, u64>,
    /// Fired, not yet consumed.
    fired: Vec<TimerId>,
    live: Vec<TimerId>,
}

impl Model {
    fn new() -> Model {
        Model {
            wheel: Wheel::new(),
            armed: BTreeSet::new(),
            whens: HashMap::new(),
            fired: Vec::new(),
            live: Vec::new(),
        }
    }

    fn key(id: TimerId, when: u64) -> (u64, u32, u32) {
        (when, id.index, id.generation)
    }

    fn insert(&mut self, when: u64) -> TimerId {
        let id = self.wheel.insert(when, None, false);
        let when = when.min(MAX_TICK);
        assert!(!self.whens.contains_key(&id), "id reused while live");
        self.whens.insert(id, when);
        self.armed.insert(Self::key(id, when));
        self.live.push(id);
        self.check_fired_through();
        id
    }

    fn cancel(&mut self, i: usize) {
        let id = self.live.swap_remove(i);
        let when = self.whens.remove(&id).unwrap();
        self.armed.remove(&Self::key(id, when));
        self.fired.retain(|f| *f != id);
        assert!(self.wheel.cancel(id).is_some());
        assert!(
            self.wheel.cancel(id).is_none(),
            "second cancel must be a no-op"
        );
    }

    fn reset(&mut self, i: usize, when: u64) {
        let id = self.live[i];
        let old = self.whens[&id];
        if !self.armed.remove(&Self::key(id, old)) {
            self.fired.retain(|f| *f != id);
        }
        let when = when.min(MAX_TICK);
        self.whens.insert(id, when);
        self.armed.insert(Self::key(id, when));
        assert!(self.wheel.reset(id, when));
    }

    fn consume_fired(&mut self) {
        let waker = noop_waker();
        for id in std::mem::take(&mut self.fired) {
            assert!(self.wheel.is_fired(id));
            assert_eq!(self.wheel.poll_ready(id, &waker), Poll::Ready(()));
            assert!(!self.wheel.is_fired(id));
            self.whens.remove(&id);
            let pos = self.live.iter().position(|l| *l == id).unwrap();
            self.live.swap_remove(pos);
        }
    }

    fn advance(&mut self, now: u64) {
        let before = self.wheel.elapsed();
        let got = run(&mut self.wheel, now, &self.whens);
        let horizon = now.max(before);
        let mut want = Vec::new();
        while let Some(&(when, index, generation)) = self.armed.first() {
            if when > horizon {
                break;
            }
            self.armed.pop_first();
            want.push((when, TimerId { index, generation }));
        }
        let got_ids: BTreeSet<_> = got
            .iter()
            .map(|&(w, id)| (w, id.index, id.generation))
            .collect();
        let want_ids: BTreeSet<_> = want
            .iter()
            .map(|&(w, id)| (w, id.index, id.generation))
            .collect();
        assert_eq!(
            got_ids, want_ids,
            "fired set differs at now={now} (elapsed was {before})"
        );
        assert!(
            got.windows(2).all(|p| p[0].0 <= p[1].0),
            "fired out of deadline order: {got:?}"
        );
        for (when, _) in &got {
            assert!(
                *when <= horizon,
                "fired early: deadline {when} at now {now}"
            );
        }
        self.fired.extend(got.iter().map(|(_, id)| *id));
        assert_eq!(self.wheel.elapsed(), horizon);
        for (when, _) in &got {
            assert!(self.wheel.has_fired_through(*when));
        }
        self.check_next();
        self.check_fired_through();
    }

    /// `has_fired_through` never claims an armed timer's deadline (what `poll_once_timer`
    /// relies on to answer `Ready` without looking at the entry).
    fn check_fired_through(&self) {
        for &(when, index, generation) in &self.armed {
            assert!(
                !self.wheel.has_fired_through(when),
                "timer {index}/{generation} at {when} still armed, elapsed {}",
                self.wheel.elapsed()
            );
        }
    }

    fn check_next(&self) {
        assert_eq!(self.wheel.armed(), self.armed.len());
        match (self.armed.first(), self.wheel.next_expiration()) {
            (None, None) => {}
            (Some(&(min, ..)), Some(next)) => {
                assert!(
                    next <= min.max(self.wheel.elapsed()),
                    "next {next} after earliest {min}"
                );
                assert!(next >= self.wheel.elapsed());
            }
            (a, b) => panic!("armed min {a:?} but next_expiration {b:?}"),
        }
    }
}

fn delta(rng: &mut fastrand::Rng) -> u64 {
    match rng.u8(0..10) {
        0 => rng.u64(0..3),
        1 => rng.u64(1..64),
        2 => {
            let k = rng.u32(1..=6);
            (1u64 << (6 * k)) + rng.u64(0..5) - 2
        }
        3 => rng.u64(1..4096),
        4 => rng.u64(1..1 << 24),
        5 => rng.u64(1..1 << 36),
        6 => (1 << 36) + rng.u64(0..1 << 38),
        7 => rng.u64(YEAR..100 * YEAR),
        8 => rng.u64(1 << 40..u64::MAX),
        _ => rng.u64(1..200),
    }
}

fn model_run(seed: u64, ops: usize, start: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut m = Model::new();
    m.advance(start);
    for _ in 0..ops {
        let elapsed = m.wheel.elapsed();
        match rng.u8(0..100) {
            0..=39 => {
                let when = if rng.u8(0..20) == 0 {
                    elapsed.saturating_sub(rng.u64(0..100))
                } else {
                    elapsed.saturating_add(delta(&mut rng))
                };
                m.insert(when);
            }
            40..=51 if !m.live.is_empty() => {
                let i = rng.usize(0..m.live.len());
                m.cancel(i);
            }
            52..=57 if !m.live.is_empty() => {
                let i = rng.usize(0..m.live.len());
                let when = elapsed.saturating_add(delta(&mut rng));
                m.reset(i, when);
            }
            58..=62 => m.consume_fired(),
            63..=72 => {
                // Step exactly to (or just before) the next expiration, as the reactor does.
                if let Some(next) = m.wheel.next_expiration() {
                    let now = if rng.bool() {
                        next
                    } else {
                        next.saturating_sub(1)
                    };
                    m.advance(now);
                }
            }
            _ => {
                let now = elapsed.saturating_add(delta(&mut rng)).min(MAX_TICK);
                m.advance(now);
            }
        }
    }
    // Drain everything that can ever fire, jumping from expiration to expiration.
    let mut steps = 0;
    while let Some(next) = m.wheel.next_expiration() {
        m.advance(next);
        steps += 1;
        assert!(steps < 100_000, "draining did not terminate");
    }
    assert!(m.armed.is_empty());
    m.consume_fired();
    for i in (0..m.live.len()).rev() {
        m.cancel(i);
    }
    assert_eq!(m.wheel.slots(), 0);
}

#[test]
fn model_random_ops_from_zero() {
    for seed in 1..=6 {
        model_run(seed, 5_000, 0);
    }
}

#[test]
fn model_random_ops_after_long_uptime() {
    // 12 days (where tokio's wheel wrapped), just below and past the wheel span, and years.
    let starts = [
        12 * DAY + 7,
        (1 << 36) - 3,
        (1 << 36) + 5,
        3 * YEAR + 12_345,
        (1 << 42) + 999,
        50 * YEAR,
    ];
    for (i, start) in starts.into_iter().enumerate() {
        model_run(100 + i as u64, 4_000, start);
    }
}

#[test]
fn boundary_deadlines_fire_exactly_on_time_from_any_start() {
    let bases = [
        0,
        1,
        5,
        63,
        64,
        65,
        4095,
        4096,
        4097,
        262_143,
        262_144 + 77,
        12 * DAY,
        (1 << 36) - 1,
        3 * YEAR + 1,
    ];
    for base in bases {
        for d in [1, 63, 64, 65, 4095, 4096, 4097, 262_144, 262_145] {
            let mut w = Wheel::new();
            w.process(base, |_, _| panic!("nothing armed"));
            let id = w.insert(base + d, None, false);
            let whens = HashMap::from([(id, base + d)]);
            assert!(
                run(&mut w, base + d - 1, &whens).is_empty(),
                "early: base {base} d {d}"
            );
            let fired = run(&mut w, base + d, &whens);
            assert_eq!(fired, vec![(base + d, id)], "late: base {base} d {d}");
        }
    }
}

#[test]
fn boundary_deadlines_fire_on_time_when_stepping_by_next_expiration() {
    for base in [0, 10, 63, 4090, 5 * YEAR] {
        let mut w = Wheel::new();
        w.process(base, |_, _| {});
        let mut whens = HashMap::new();
        for d in [63, 64, 65, 4095, 4096, 4097] {
            whens.insert(w.insert(base + d, None, false), base + d);
        }
        let mut fired = Vec::new();
        while let Some(next) = w.next_expiration() {
            for (when, _) in run(&mut w, next, &whens) {
                assert_eq!(when, next, "a timer fired at {next} instead of {when}");
                fired.push(when - base);
            }
        }
        assert_eq!(fired, vec![63, 64, 65, 4095, 4096, 4097]);
    }
}

#[test]
fn past_and_present_deadlines_fire_at_next_process() {
    let mut w = Wheel::new();
    w.process(1_000, |_, _| {});
    let a = w.insert(1_000, None, false);
    let b = w.insert(10, None, false);
    let c = w.insert(0, None, false);
    assert_eq!(w.next_expiration(), Some(1_000));
    let whens = HashMap::from([(a, 1_000), (b, 10), (c, 0)]);
    // Same `now`: they still fire, in deadline order.
    let fired: Vec<_> = run(&mut w, 1_000, &whens)
        .into_iter()
        .map(|f| f.1)
        .collect();
    assert_eq!(fired, vec![c, b, a]);
}

#[test]
fn huge_deadlines_neither_panic_nor_delay_short_timers() {
    let mut w = Wheel::new();
    let max = w.insert(u64::MAX, None, false);
    let century = w.insert(100 * YEAR, None, false);
    let short = w.insert(5, None, false);
    let whens = HashMap::from([(max, MAX_TICK), (century, 100 * YEAR), (short, 5)]);
    assert_eq!(w.next_expiration(), Some(5));
    assert_eq!(run(&mut w, 5, &whens), vec![(5, short)]);
    assert!(run(&mut w, 99 * YEAR, &whens).is_empty());
    assert_eq!(run(&mut w, 100 * YEAR, &whens), vec![(100 * YEAR, century)]);
    assert!(run(&mut w, MAX_TICK - 1, &whens).is_empty());
    assert_eq!(run(&mut w, MAX_TICK, &whens), vec![(MAX_TICK, max)]);
    assert_eq!(w.next_expiration(), None);
}

#[test]
fn fires_in_deadline_order_across_levels() {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut w = Wheel::new();
    let mut whens = HashMap::new();
    for _ in 0..3_000 {
        let when = rng.u64(0..1 << 30);
        whens.insert(w.insert(when, None, false), when);
    }
    let fired = run(&mut w, 1 << 30, &whens);
    assert_eq!(fired.len(), 3_000);
    assert!(fired.windows(2).all(|p| p[0].0 <= p[1].0));
}

#[test]
fn memory_stays_flat_under_insert_cancel() {
    let mut w = Wheel::new();
    let background: Vec<_> = (0..100)
        .map(|i| w.insert(1_000 + i * 997, None, false))
        .collect();
    let cap = w.capacity();
    let mut rng = fastrand::Rng::with_seed(3);
    for i in 0..200_000u64 {
        let id = w.insert(w.elapsed() + rng.u64(1..1 << 40), None, false);
        assert!(w.cancel(id).is_some());
        if i % 1_000 == 0 {
            w.process(w.elapsed() + 1, |_, _| {});
        }
    }
    assert!(
        w.capacity() <= cap.max(128),
        "slab grew to {}",
        w.capacity()
    );
    assert_eq!(w.slots(), background.len());
    assert!(w.scratch.capacity() <= 128);
}

#[test]
fn stale_ids_cannot_see_a_reused_slot() {
    let mut w = Wheel::new();
    let a = w.insert(10, None, false);
    assert!(w.cancel(a).is_some());
    let b = w.insert(20, None, false);
    assert_eq!(a.index, b.index, "the slot is reused");
    assert!(!w.reset(a, 5), "a stale id must not move the new timer");
    assert!(w.cancel(a).is_none());
    assert!(matches!(w.poll(a, &noop_waker()), TimerPoll::Stale));
    let whens = HashMap::from([(b, 20)]);
    assert!(run(&mut w, 19, &whens).is_empty());
    assert_eq!(run(&mut w, 20, &whens), vec![(20, b)]);
}

#[test]
fn reset_after_firing_rearms() {
    let mut w = Wheel::new();
    let a = w.insert(10, None, false);
    let whens = HashMap::from([(a, 10)]);
    assert_eq!(run(&mut w, 10, &whens).len(), 1);
    assert!(w.is_fired(a));
    assert!(w.reset(a, 30));
    assert_eq!(w.armed(), 1);
    assert!(run(&mut w, 29, &whens).is_empty());
    assert_eq!(run(&mut w, 30, &whens).len(), 1);
}

#[test]
fn ephemeral_timers_free_themselves() {
    let mut w = Wheel::new();
    w.insert(5, None, true);
    assert_eq!(w.slots(), 1);
    assert_eq!(w.process(5, |_, _| {}), 1);
    assert_eq!(w.slots(), 0);
}

#[test]
fn ephemeral_timers_keep_their_deadline_and_fired_through_waits_for_the_expired_list() {
    let mut w = Wheel::new();
    let a = w.insert(10, None, true);
    assert!(!w.reset(a, 3), "an ephemeral timer's deadline never moves");
    assert!(!w.has_fired_through(10));
    assert_eq!(w.process(9, |_, _| {}), 0);
    assert!(!w.has_fired_through(10));
    assert!(w.has_fired_through(9));
    // Armed for a tick already processed: in the expired list until the next process.
    let b = w.insert(4, None, true);
    assert!(!w.has_fired_through(4));
    assert!(!w.has_fired_through(0));
    let mut fired = Vec::new();
    assert_eq!(w.process(9, |id, _| fired.push(id)), 1);
    assert_eq!(fired, [b]);
    assert!(w.has_fired_through(4));
    assert!(!w.has_fired_through(10));
    assert_eq!(w.process(10, |id, _| fired.push(id)), 1);
    assert_eq!(fired, [b, a]);
    assert!(w.has_fired_through(10));
    assert_eq!(w.slots(), 0);
    // Stale ids after firing: nothing to cancel, reset or poll.
    assert!(w.cancel(a).is_none());
    assert!(!w.reset(a, 20));
    assert!(matches!(w.poll(a, &noop_waker()), TimerPoll::Stale));
}
