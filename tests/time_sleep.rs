//! sleep / sleep_until: never early, zero deadlines at once, far deadlines clamp, reset.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use strand::time::{sleep, sleep_until, Instant, Sleep};

#[strand::test]
async fn two_thousand_random_sleeps_never_complete_early() {
    let early = Rc::new(RefCell::new(Vec::new()));
    let mut set = strand::task::JoinSet::new();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..2_000 {
        let ms = rng.u64(0..=500);
        let early = early.clone();
        set.spawn(async move {
            let created = Instant::now();
            let d = Duration::from_millis(ms);
            sleep(d).await;
            let took = created.elapsed();
            if took < d {
                early.borrow_mut().push((d, took));
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    assert!(
        early.borrow().is_empty(),
        "early wakeups: {:?}",
        early.borrow()
    );
}

#[strand::test]
async fn boundary_deadlines_fire_on_time_also_after_the_wheel_advanced() {
    for warmup in [0u64, 1, 37, 70, 5000] {
        // Advance the wheel's notion of "now" first.
        if warmup > 0 {
            sleep(Duration::from_millis(warmup)).await;
        }
        for ms in [63u64, 64, 65] {
            let start = Instant::now();
            sleep(Duration::from_millis(ms)).await;
            let took = start.elapsed();
            assert!(
                took >= Duration::from_millis(ms),
                "{ms} ms sleep woke after {took:?}"
            );
            assert!(
                took < Duration::from_millis(ms + 1000),
                "{ms} ms sleep woke after {took:?}"
            );
        }
    }
}

#[strand::test(start_paused = true)]
async fn boundary_deadlines_fire_exactly_with_a_paused_clock() {
    for warmup in [0u64, 1, 63, 64, 4095, 4096, 300_000] {
        if warmup > 0 {
            sleep(Duration::from_millis(warmup)).await;
        }
        for ms in [63u64, 64, 65, 4095, 4096, 4097] {
            let start = Instant::now();
            let deadline = start + Duration::from_millis(ms);
            sleep_until(deadline).await;
            let now = Instant::now();
            assert!(now >= deadline, "{ms} ms: woke {:?} early", deadline - now);
            assert!(
                now - deadline <= Duration::from_millis(1),
                "{ms} ms (after {warmup} ms): woke {:?} late",
                now - deadline
            );
        }
    }
}

#[strand::test]
async fn zero_and_past_deadlines_complete_at_the_first_poll() {
    let start = std::time::Instant::now();
    for _ in 0..1_000 {
        sleep(Duration::ZERO).await;
    }
    let past = Instant::now() - Duration::from_millis(5);
    sleep_until(past).await;
    // Well under a millisecond each: never waiting for a timer tick.
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "1,000 sleep(0) took {took:?}"
    );
    assert!(sleep(Duration::ZERO).is_elapsed());
}

#[strand::test]
async fn a_deadline_that_passes_before_the_first_poll_completes_at_that_poll() {
    use futures_lite::future::poll_once;
    for d in [1, 5, 20] {
        let mut s = std::pin::pin!(sleep(Duration::from_millis(d)));
        let created = std::time::Instant::now();
        // The task is busy past the deadline before it first polls the sleep.
        std::thread::sleep(Duration::from_millis(d + 10));
        assert!(
            poll_once(s.as_mut()).await.is_some(),
            "sleep({d} ms) polled late"
        );
        assert!(created.elapsed() >= Duration::from_millis(d));
        // And the same with a deadline given as an instant.
        let at = Instant::now() + Duration::from_millis(d);
        std::thread::sleep(Duration::from_millis(d + 10));
        assert!(poll_once(sleep_until(at)).await.is_some());
    }
}

#[strand::test]
async fn huge_deadlines_neither_panic_nor_delay_a_short_timer() {
    let mut forever = Box::pin(sleep(Duration::MAX));
    let mut century = Box::pin(sleep_until(
        Instant::now()
            .checked_add(Duration::from_secs(100 * 365 * 86_400))
            .unwrap(),
    ));
    assert!(!forever.is_elapsed());
    // Register both.
    let polled = futures_lite::future::poll_once(forever.as_mut()).await;
    assert!(polled.is_none());
    assert!(futures_lite::future::poll_once(century.as_mut())
        .await
        .is_none());
    let start = Instant::now();
    sleep(Duration::from_millis(5)).await;
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(5));
    assert!(
        took < Duration::from_secs(2),
        "short timer delayed: {took:?}"
    );
    assert!(strand::time::timeout(Duration::from_millis(2), forever)
        .await
        .is_err());
}

#[strand::test]
async fn reset_earlier_later_after_firing_and_into_the_past() {
    // Earlier.
    let mut s: Pin<Box<Sleep>> = Box::pin(sleep(Duration::from_secs(60)));
    assert!(futures_lite::future::poll_once(s.as_mut()).await.is_none());
    let start = Instant::now();
    s.as_mut().reset(start + Duration::from_millis(10));
    s.as_mut().await;
    assert!(start.elapsed() >= Duration::from_millis(10));
    assert!(start.elapsed() < Duration::from_secs(30));

    // After firing, later.
    let start = Instant::now();
    s.as_mut().reset(start + Duration::from_millis(20));
    assert!(!s.is_elapsed());
    s.as_mut().await;
    assert!(start.elapsed() >= Duration::from_millis(20));

    // Later while pending: must not fire at the old deadline.
    let mut s = Box::pin(sleep(Duration::from_millis(5)));
    assert!(futures_lite::future::poll_once(s.as_mut()).await.is_none());
    let start = Instant::now();
    s.as_mut().reset(start + Duration::from_millis(40));
    s.as_mut().await;
    assert!(start.elapsed() >= Duration::from_millis(40));

    // Into the past: completes at the next poll.
    let mut s = Box::pin(sleep(Duration::from_secs(60)));
    assert!(futures_lite::future::poll_once(s.as_mut()).await.is_none());
    s.as_mut().reset(Instant::now() - Duration::from_secs(1));
    assert!(futures_lite::future::poll_once(s.as_mut()).await.is_some());
}

/// A future that polls its sleep once, then moves the deadline and returns `Pending` without
/// polling the sleep again: it relies on the waker of that first poll being kept (as a tokio
/// `Sleep` keeps it) and completes when woken.
struct ResetThenWait {
    sleep: Pin<Box<Sleep>>,
    to: Instant,
    polled: bool,
}

impl std::future::Future for ResetThenWait {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if std::mem::replace(&mut self.polled, true) {
            return self.sleep.as_mut().poll(cx);
        }
        assert!(self.sleep.as_mut().poll(cx).is_pending());
        let to = self.to;
        self.sleep.as_mut().reset(to);
        std::task::Poll::Pending
    }
}

#[strand::test]
async fn a_reset_waiting_sleep_wakes_its_task_without_another_poll() {
    // Earlier: woken at the new deadline (the old one is a minute away).
    let start = Instant::now();
    let earlier = ResetThenWait {
        sleep: Box::pin(sleep(Duration::from_secs(60))),
        to: start + Duration::from_millis(10),
        polled: false,
    };
    strand::time::timeout(Duration::from_secs(20), earlier)
        .await
        .expect("completes");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(10), "{took:?}");
    // (Without the kept waker only the timeout's wake, 20 s on, would poll it again.)
    assert!(
        took < Duration::from_secs(10),
        "woken by the new deadline: {took:?}"
    );

    // Into the past: woken at once.
    let start = Instant::now();
    let past = ResetThenWait {
        sleep: Box::pin(sleep(Duration::from_secs(60))),
        to: start - Duration::from_secs(1),
        polled: false,
    };
    strand::time::timeout(Duration::from_secs(20), past)
        .await
        .expect("completes");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(10), "woken right away: {took:?}");
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

#[strand::test]
async fn two_hundred_thousand_sleeps_created_and_dropped_leave_memory_flat() {
    // Warm up the wheel's storage, then measure.
    for round in 0..2 {
        let before = rss_kib();
        for i in 0..200_000u64 {
            let mut s = Box::pin(sleep(Duration::from_millis(1 + i % 10_000)));
            assert!(futures_lite::future::poll_once(s.as_mut()).await.is_none());
        }
        let grown = rss_kib().saturating_sub(before);
        if round == 1 {
            assert!(
                grown < 4 * 1024,
                "RSS grew by {grown} KiB over 200,000 sleeps"
            );
        }
    }
}

#[test]
fn sleep_is_send_sync_and_unpin() {
    fn check<T: Send + Sync + Unpin>() {}
    check::<Sleep>();
    check::<strand::time::Interval>();
}
