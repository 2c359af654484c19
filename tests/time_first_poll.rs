//! The first poll of a `Sleep` is exact: a deadline that has passed by then completes at that
//! poll (API.md, Time: "a zero or past deadline completes at the first poll without waiting
//! for a timer tick"), however long the thread went without reading the clock, and a deadline
//! still ahead stays pending.

use std::pin::pin;
use std::time::Duration;

use futures_lite::future::poll_once;
use strand::time::{sleep, sleep_until, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Keeps the thread busy, without sleeping and without strand's clock, until `d` has passed.
fn spin_for(d: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[strand::test]
async fn a_sleep_whose_deadline_passed_before_its_first_poll_is_ready_at_that_poll() {
    let mut s = pin!(sleep(ms(500)));
    std::thread::sleep(ms(600));
    assert!(poll_once(s.as_mut()).await.is_some());
}

#[strand::test]
async fn a_sleep_until_whose_deadline_passed_before_its_first_poll_is_ready_at_that_poll() {
    let mut s = pin!(sleep_until(Instant::now() + ms(500)));
    std::thread::sleep(ms(600));
    assert!(poll_once(s.as_mut()).await.is_some());
}

#[strand::test]
async fn passed_deadlines_of_every_size_are_ready_at_the_first_poll() {
    // Near and far deadlines, passed while sleeping or while busy (no clock read by strand).
    for d in [1u64, 4, 9, 20, 45, 150] {
        let deadline = Instant::now() + ms(d);
        let mut a = pin!(sleep(ms(d)));
        let mut b = pin!(sleep_until(deadline));
        if d % 2 == 0 {
            std::thread::sleep(ms(d + 1));
        } else {
            spin_for(ms(d + 1));
        }
        assert!(poll_once(a.as_mut()).await.is_some(), "sleep({d} ms)");
        assert!(
            poll_once(b.as_mut()).await.is_some(),
            "sleep_until(now + {d} ms)"
        );
    }
}

#[strand::test]
async fn a_deadline_still_ahead_is_pending_at_the_first_poll_and_never_early() {
    for d in [2u64, 30, 1_000, 3_600_000] {
        let deadline = Instant::now() + ms(d);
        let mut s = pin!(sleep_until(deadline));
        if poll_once(s.as_mut()).await.is_some() {
            // Only possible if the thread lost the CPU for `d` right here.
            assert!(Instant::now() >= deadline, "{d} ms sleep ready early");
        } else if d <= 30 {
            s.as_mut().await;
            assert!(Instant::now() >= deadline, "{d} ms sleep fired early");
        }
    }
}
