//! Timers through the public API: paused and real clocks, boundaries, huge deadlines, keys on
//! other reactors, wakers.

mod util;

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use strand_reactor::time::{self, TimerKey};
use strand_reactor::Reactor;
use util::{counter, LIMIT};

const YEAR: Duration = Duration::from_secs(365 * 86_400);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn poll(key: TimerKey, waker: &Waker) -> Poll<()> {
    time::poll_timer(key, &mut Context::from_waker(waker))
}

/// Records the reactor clock at the moment it is woken.
struct Stamp {
    id: usize,
    log: Arc<Mutex<Vec<(usize, Instant)>>>,
}

impl Wake for Stamp {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push((self.id, time::now()));
    }
}

/// What the facade does when idle with a paused clock: jump to the next timer and turn.
fn auto_advance_once(reactor: &Reactor) -> bool {
    match reactor.next_timer_deadline() {
        Some(at) => {
            reactor.clock().set_time(at);
            reactor.turn(Some(Duration::ZERO)).unwrap();
            true
        }
        None => false,
    }
}

#[test]
fn boundary_deadlines_fire_exactly_on_time_with_a_paused_clock() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let clock = reactor.clock();
    clock.pause();
    for head_start in [
        ms(0),
        ms(1),
        ms(37),
        ms(64),
        ms(4096),
        ms(86_400_000),
        YEAR * 3,
    ] {
        clock.advance(head_start);
        reactor.turn(Some(Duration::ZERO)).unwrap();
        for d in [63, 64, 65, 4095, 4096, 4097] {
            let start = clock.now();
            let (count, waker) = counter();
            let key = time::register(start + ms(d), &waker).unwrap();
            clock.set_time(start + ms(d - 1));
            assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap().timers_fired, 0);
            assert_eq!(count.get(), 0, "{d} ms fired early");
            assert!(poll(key, &waker).is_pending());
            clock.set_time(start + ms(d));
            assert_eq!(reactor.turn(Some(Duration::ZERO)).unwrap().timers_fired, 1);
            assert_eq!(count.get(), 1, "{d} ms did not fire on time");
            assert!(poll(key, &waker).is_ready());
        }
    }
    assert_eq!(reactor.timer_slots(), 0);
}

#[test]
fn auto_advance_reaches_each_deadline_exactly() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    reactor.clock().pause();
    let start = time::now();
    let log = Arc::new(Mutex::new(Vec::new()));
    // Duration::MAX is clamped to about 30 years, so it stays last.
    let deadlines = [ms(1), ms(64), ms(3_600_000), YEAR * 2, YEAR * 25];
    let keys: Vec<_> = deadlines
        .iter()
        .enumerate()
        .map(|(id, d)| {
            let waker = Waker::from(Arc::new(Stamp {
                id,
                log: log.clone(),
            }));
            time::register(start + *d, &waker).unwrap()
        })
        .collect();
    let forever = time::register(
        time::saturating_add(start, Duration::MAX),
        &Waker::from(Arc::new(Stamp {
            id: 99,
            log: log.clone(),
        })),
    )
    .unwrap();
    let mut steps = 0;
    while log.lock().unwrap().len() < deadlines.len() {
        assert!(auto_advance_once(&reactor));
        steps += 1;
        assert!(steps < 1_000);
    }
    let log = log.lock().unwrap();
    for (i, (id, at)) in log.iter().enumerate() {
        assert_eq!(*id, i, "fired out of order");
        assert_eq!(
            *at,
            start + deadlines[i],
            "timer {i} fired at the wrong time"
        );
    }
    assert_eq!(reactor.timers(), 1, "only the Duration::MAX timer is left");
    time::cancel(forever);
    for k in keys {
        time::cancel(k);
    }
    assert_eq!(reactor.timers(), 0);
    assert_eq!(reactor.timer_slots(), 0);
}

#[test]
fn two_thousand_random_timers_never_fire_early_paused() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    reactor.clock().pause();
    let mut rng = fastrand::Rng::with_seed(42);
    let log = Arc::new(Mutex::new(Vec::new()));
    let start = time::now();
    let mut deadlines = Vec::new();
    let mut keys = Vec::new();
    for id in 0..2_000 {
        // Sub-millisecond deadlines too: they round up, never down.
        let d = Duration::from_micros(rng.u64(0..500_000));
        deadlines.push(start + d);
        let waker = Waker::from(Arc::new(Stamp {
            id,
            log: log.clone(),
        }));
        keys.push(time::register(start + d, &waker).unwrap());
    }
    while auto_advance_once(&reactor) {}
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2_000);
    // In deadline order at the wheel's resolution: timers within one millisecond are equal.
    let tick = |id: usize| (deadlines[id] - start).as_nanos().div_ceil(1_000_000);
    for w in log.windows(2) {
        assert!(tick(w[0].0) <= tick(w[1].0), "fired out of deadline order");
    }
    for &(id, at) in log.iter() {
        assert!(at >= deadlines[id], "timer {id} fired early");
        assert!(at - deadlines[id] < ms(1), "timer {id} fired a tick late");
    }
    let (_, waker) = counter();
    for k in keys {
        assert!(poll(k, &waker).is_ready());
    }
    assert_eq!(reactor.timer_slots(), 0);
}

#[test]
fn real_clock_timers_never_fire_early_and_bound_the_poll() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let mut rng = fastrand::Rng::with_seed(9);
    let log = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut deadlines = Vec::new();
    for id in 0..200 {
        let at = start + Duration::from_micros(rng.u64(0..40_000));
        deadlines.push(at);
        let waker = Waker::from(Arc::new(Stamp {
            id,
            log: log.clone(),
        }));
        time::register(at, &waker).unwrap();
    }
    while log.lock().unwrap().len() < deadlines.len() {
        assert!(start.elapsed() < LIMIT);
        // No I/O at all: only the timers can end these waits.
        reactor.turn(None).unwrap();
    }
    for &(id, at) in log.lock().unwrap().iter() {
        assert!(at >= deadlines[id], "timer {id} fired early");
    }
    assert_eq!(reactor.timers(), 0);
}

#[test]
fn huge_deadlines_do_not_delay_a_short_timer() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let now = time::now();
    let (far_count, far) = counter();
    let k1 = time::register(time::saturating_add(now, Duration::MAX), &far).unwrap();
    let k2 = time::register(time::saturating_add(now, YEAR * 100), &far).unwrap();
    let (count, waker) = counter();
    let short = time::register(now + ms(5), &waker).unwrap();
    let start = Instant::now();
    while count.get() == 0 {
        assert!(start.elapsed() < LIMIT);
        reactor.turn(None).unwrap();
    }
    assert!(time::now() >= now + ms(5));
    assert!(poll(short, &waker).is_ready());
    assert_eq!(far_count.get(), 0);
    assert_eq!(reactor.timers(), 2);
    time::cancel(k1);
    time::cancel(k2);
    assert_eq!(reactor.timers(), 0);
}

#[test]
fn zero_and_past_deadlines_fire_at_the_next_turn() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (count, waker) = counter();
    let now = time::now();
    let a = time::register(now, &waker).unwrap();
    let b = time::register(now - ms(10), &waker).unwrap();
    assert!(reactor.next_timer_deadline().unwrap() <= time::now());
    // The past deadline fires at the next turn, which does not wait (turn(None) with nothing
    // else to do would block forever otherwise).
    let stats = reactor.turn(None).unwrap();
    assert!(stats.timers_fired >= 1);
    // The deadline at `now` fires once its millisecond is over (never before it).
    let start = Instant::now();
    while count.get() < 2 {
        assert!(start.elapsed() < LIMIT);
        reactor.turn(None).unwrap();
    }
    assert!(time::now() >= now);
    assert!(poll(a, &waker).is_ready());
    assert!(poll(b, &waker).is_ready());
}

#[test]
fn start_completes_passed_deadlines_at_once_and_never_early() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (count, waker) = counter();
    // A deadline at or before a clock reading, or a millisecond past: passed, no timer armed.
    let now = time::now();
    assert_eq!(time::start(now, &waker), Some(time::Start::Elapsed));
    assert_eq!(
        time::start(now - ms(10), &waker),
        Some(time::Start::Elapsed)
    );
    std::thread::sleep(ms(2));
    assert_eq!(time::start(now + ms(1), &waker), Some(time::Start::Elapsed));
    assert_eq!(reactor.timer_slots(), 0);
    // Not yet due: armed, and it fires no earlier than its deadline.
    for d in [1, 2, 5, 100] {
        let deadline = time::now() + ms(d);
        // (On a loaded machine the thread may lose the CPU for longer than `d` right here.)
        match time::start(deadline, &waker).unwrap() {
            time::Start::Elapsed => assert!(Instant::now() >= deadline, "elapsed early"),
            time::Start::Armed(key) => {
                let start = Instant::now();
                while poll(key, &waker).is_pending() {
                    assert!(start.elapsed() < LIMIT);
                    reactor.turn(None).unwrap();
                }
                assert!(Instant::now() >= deadline, "fired early");
            }
        }
    }
    assert!(count.get() >= 1);
    // A deadline that passed while the thread was busy without reading the clock is seen
    // as passed at once (API.md: a past deadline completes at the first poll).
    for d in [150, 600] {
        let deadline = time::now() + ms(d);
        std::thread::sleep(ms(d + 10));
        assert_eq!(
            time::start(deadline, &waker),
            Some(time::Start::Elapsed),
            "a deadline {d} ms out that passed during a blocking call was armed"
        );
    }
    assert_eq!(reactor.timer_slots(), 0);
}

#[test]
fn start_with_a_paused_clock_is_exact() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (_count, waker) = counter();
    reactor.clock().pause();
    let t0 = time::now();
    reactor.clock().advance(ms(50));
    // Passed by the paused clock although nobody read it since the jump.
    assert_eq!(time::start(t0 + ms(50), &waker), Some(time::Start::Elapsed));
    let Some(time::Start::Armed(key)) = time::start(t0 + ms(51), &waker) else {
        panic!("a deadline past the paused clock is not due");
    };
    time::cancel(key);
    assert_eq!(reactor.timer_slots(), 0);
}

#[test]
fn now_follows_the_current_clock_across_enters_pauses_and_advances() {
    let real = Reactor::new().unwrap();
    let other = Reactor::new().unwrap();
    other.clock().pause();
    other.clock().advance(YEAR);
    let _outer = real.enter();
    let before = Instant::now();
    assert!(time::now() >= before && time::now() < before + YEAR);
    {
        let _inner = other.enter();
        assert_eq!(time::now(), other.clock().now());
        assert!(time::now() > Instant::now() + YEAR / 2);
    }
    assert!(
        time::now() < Instant::now() + YEAR / 2,
        "back on the real clock"
    );
    // Pausing or advancing the current clock is seen at once.
    real.clock().pause();
    let frozen = time::now();
    std::thread::sleep(ms(2));
    assert_eq!(time::now(), frozen);
    real.clock().advance(ms(5));
    assert_eq!(time::now(), frozen + ms(5));
    real.clock().resume();
    assert!(time::now() >= frozen + ms(5));
}

#[test]
fn only_the_last_timer_waker_is_woken() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    reactor.clock().pause();
    let (c0, w0) = counter();
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    let key = time::register(time::now() + ms(3), &w0).unwrap();
    assert!(poll(key, &w1).is_pending());
    assert!(poll(key, &w2).is_pending());
    reactor.clock().advance(ms(3));
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!((c0.get(), c1.get(), c2.get()), (0, 0, 1));
}

#[test]
fn reset_earlier_later_after_firing_and_into_the_past() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let clock = reactor.clock();
    clock.pause();
    let t0 = clock.now();
    let (count, waker) = counter();
    let key = time::register(t0 + ms(100), &waker).unwrap();
    time::reset(key, t0 + ms(10)); // earlier
    clock.set_time(t0 + ms(9));
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(count.get(), 0);
    time::reset(key, t0 + ms(50)); // later
    clock.set_time(t0 + ms(49));
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(count.get(), 0);
    clock.set_time(t0 + ms(50));
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(count.get(), 1);
    // After firing (not yet consumed): re-armed.
    time::reset(key, t0 + ms(70));
    assert_eq!(reactor.timers(), 1);
    assert!(poll(key, &waker).is_pending());
    // Into the past: fires at the next turn.
    time::reset(key, t0);
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(count.get(), 2);
    assert!(poll(key, &waker).is_ready());
    // Consumed: stale now, reset and cancel do nothing, poll stays Ready.
    time::reset(key, t0 + ms(500));
    assert_eq!(reactor.timers(), 0);
    time::cancel(key);
    assert!(poll(key, &waker).is_ready());
}

#[test]
fn a_stale_key_cannot_touch_the_timer_that_reuses_its_slot() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    reactor.clock().pause();
    let (_, waker) = counter();
    let old = time::register(time::now() + ms(5), &waker).unwrap();
    time::cancel(old);
    let (count, w2) = counter();
    let new = time::register(time::now() + ms(20), &w2).unwrap();
    time::cancel(old);
    time::reset(old, time::now());
    assert_eq!(reactor.timers(), 1);
    reactor.clock().advance(ms(19));
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(count.get(), 0);
    reactor.clock().advance(ms(1));
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert_eq!(count.get(), 1);
    assert!(poll(new, &w2).is_ready());
}

#[test]
fn keys_used_on_another_reactor() {
    let r1 = Reactor::new().unwrap();
    let r2 = Reactor::new().unwrap();
    let (_, waker) = counter();
    let key = {
        let _e = r1.enter();
        time::register(time::now() + ms(30), &waker).unwrap()
    };
    assert!(!key.is_current());
    assert_eq!(key.reactor_id(), r1.id());
    {
        let _e = r2.enter();
        assert!(!key.is_current());
        time::cancel(key); // no-op: not this reactor's timer
        time::reset(key, time::now()); // no-op
        assert_eq!(r1.timers(), 1);
        // Polled here, it waits on r2 for the same deadline: never early.
        let (count, w2) = counter();
        assert!(poll(key, &w2).is_pending());
        assert_eq!(r2.timers(), 1);
        let start = Instant::now();
        while count.get() == 0 {
            assert!(start.elapsed() < LIMIT);
            r2.turn(None).unwrap();
        }
        assert!(poll(key, &w2).is_ready());
        assert_eq!(r2.timer_slots(), 0, "the one-shot timer freed itself");
    }
    let _e = r1.enter();
    assert!(key.is_current());
    time::cancel(key);
    assert_eq!(r1.timers(), 0);
}

#[test]
fn outside_a_runtime() {
    assert!(time::register(Instant::now(), &counter().1).is_none());
    let before = Instant::now();
    assert!(time::now() >= before);
    let reactor = Reactor::new().unwrap();
    reactor.clock().pause();
    let frozen = reactor.clock().now();
    {
        let _e = reactor.enter();
        std::thread::sleep(ms(2));
        assert_eq!(time::now(), frozen);
    }
    assert!(time::now() >= before);
}

#[test]
fn timers_and_slots_stay_flat_over_many_register_cancel() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (_, waker) = counter();
    for i in 0..200_000u64 {
        let key = time::register(time::now() + ms(1 + i % 10_000), &waker).unwrap();
        time::cancel(key);
    }
    assert_eq!(reactor.timers(), 0);
    assert_eq!(reactor.timer_slots(), 0);
}

#[test]
fn keys_and_unparkers_are_plain_thread_safe_data() {
    fn assert_copy_send_sync<T: Copy + Send + Sync + 'static>() {}
    fn assert_clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    assert_copy_send_sync::<TimerKey>();
    assert_clone_send_sync::<strand_reactor::Unparker>();
    // A key crosses threads and is recognised (or ignored) by value.
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let key = time::register(time::now() + YEAR, &counter().1).unwrap();
    let moved = std::thread::spawn(move || {
        assert!(!key.is_current());
        time::cancel(key); // no reactor on that thread: no-op
        key
    })
    .join()
    .unwrap();
    assert_eq!(moved, key);
    assert_eq!(reactor.timers(), 1);
    time::cancel(moved);
    assert_eq!(reactor.timers(), 0);
}
