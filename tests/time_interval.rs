//! interval / interval_at and MissedTickBehavior, on a paused clock so results are exact.

use std::time::Duration;

use strand::time::{advance, interval, interval_at, Instant, MissedTickBehavior};

const P: Duration = Duration::from_millis(10);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[strand::test(start_paused = true)]
async fn first_tick_is_immediate_then_every_period() {
    let start = Instant::now();
    let mut iv = interval(P);
    assert_eq!(iv.tick().await, start);
    assert_eq!(Instant::now(), start);
    for k in 1..=5u32 {
        let t = iv.tick().await;
        assert_eq!(t, start + P * k);
        assert!(Instant::now() >= t, "ticked early");
    }
}

#[strand::test]
async fn never_ticks_early_on_the_real_clock() {
    let start = Instant::now();
    let mut iv = interval_at(start + ms(5), ms(7));
    for k in 0..10u32 {
        let scheduled = iv.tick().await;
        assert_eq!(scheduled, start + ms(5) + ms(7) * k);
        assert!(Instant::now() >= scheduled, "tick {k} early");
    }
}

#[strand::test(start_paused = true)]
async fn burst_fires_missed_ticks_at_once_keeping_the_phase() {
    let start = Instant::now();
    let mut iv = interval(P);
    iv.set_missed_tick_behavior(MissedTickBehavior::Burst);
    iv.tick().await;
    advance(ms(35)).await; // ticks at 10, 20, 30 are missed
    let now = Instant::now();
    assert_eq!(iv.tick().await, start + ms(10));
    assert_eq!(iv.tick().await, start + ms(20));
    assert_eq!(iv.tick().await, start + ms(30));
    assert_eq!(Instant::now(), now, "the burst must not wait");
    assert_eq!(iv.tick().await, start + ms(40));
    assert_eq!(Instant::now(), start + ms(40));
}

#[strand::test(start_paused = true)]
async fn delay_restarts_the_schedule_from_the_late_tick() {
    let start = Instant::now();
    let mut iv = interval(P);
    iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
    iv.tick().await;
    advance(ms(35)).await;
    assert_eq!(iv.tick().await, start + ms(10)); // late tick returned at 35
    assert_eq!(iv.tick().await, start + ms(45));
    assert_eq!(iv.tick().await, start + ms(55));
}

#[strand::test(start_paused = true)]
async fn skip_drops_missed_ticks_and_keeps_the_phase() {
    let start = Instant::now();
    let mut iv = interval(P);
    iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
    iv.tick().await;
    advance(ms(35)).await;
    assert_eq!(iv.tick().await, start + ms(10));
    assert_eq!(iv.tick().await, start + ms(40));
    assert_eq!(iv.tick().await, start + ms(50));
}

#[strand::test(start_paused = true)]
async fn reset_moves_the_next_tick_one_period_from_now() {
    let start = Instant::now();
    let mut iv = interval(P);
    iv.tick().await;
    advance(ms(3)).await;
    iv.reset();
    assert_eq!(iv.tick().await, start + ms(13));
    iv.reset_immediately();
    assert_eq!(iv.tick().await, start + ms(13));
    assert_eq!(iv.tick().await, start + ms(23));
}

#[test]
#[should_panic(expected = "non-zero")]
fn zero_period_panics() {
    let _ = interval(Duration::ZERO);
}

#[strand::test]
async fn no_wakeup_stays_registered_after_a_tick() {
    // If the interval left its timer armed after returning Ready, this task would be woken
    // (and polled) again at the next period although it is now waiting on something else.
    use std::cell::Cell;
    use std::rc::Rc;
    let polls = Rc::new(Cell::new(0u32));
    let p = polls.clone();
    let mut iv = interval(ms(5));
    iv.tick().await;
    iv.tick().await;
    let wait = std::future::poll_fn(move |_| {
        p.set(p.get() + 1);
        std::task::Poll::<()>::Pending
    });
    let _ = strand::time::timeout(ms(30), wait).await;
    // Polled once at start and maybe once by the timeout's own wake; never by the interval.
    assert!(polls.get() <= 2, "polled {} times", polls.get());
}
