//! timeout / timeout_at.

use std::cell::Cell;
use std::future::{pending, poll_fn};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use strand::time::{error::Elapsed, sleep, timeout, timeout_at, Instant};

#[strand::test]
async fn a_ready_future_wins_at_deadline_zero() {
    assert_eq!(timeout(Duration::ZERO, async { 3 }).await, Ok(3));
    let past = Instant::now() - Duration::from_secs(1);
    assert_eq!(timeout_at(past, async { "x" }).await, Ok("x"));
}

#[strand::test]
async fn the_inner_future_is_polled_before_the_deadline_is_checked() {
    let polled = Rc::new(Cell::new(0));
    let p = polled.clone();
    let r = timeout(
        Duration::ZERO,
        poll_fn(move |_| {
            p.set(p.get() + 1);
            Poll::<()>::Pending
        }),
    )
    .await;
    assert!(matches!(r, Err(Elapsed { .. })));
    assert_eq!(polled.get(), 1);
}

#[strand::test]
async fn elapses_after_the_duration_and_not_before() {
    let start = Instant::now();
    let r = timeout(Duration::from_millis(15), pending::<()>()).await;
    assert!(r.is_err());
    assert!(start.elapsed() >= Duration::from_millis(15));
    let e: std::io::Error = r.unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
}

#[strand::test]
async fn a_future_finishing_first_cancels_the_timer() {
    let r = timeout(Duration::from_secs(60), sleep(Duration::from_millis(2))).await;
    assert_eq!(r, Ok(()));
    let r = timeout(Duration::MAX, async { 1 }).await;
    assert_eq!(r, Ok(1));
}

#[strand::test(start_paused = true)]
async fn an_hour_long_timeout_runs_at_once_when_paused() {
    let wall = std::time::Instant::now();
    let r = timeout(Duration::from_secs(3600), pending::<()>()).await;
    assert!(r.is_err());
    assert!(wall.elapsed() < Duration::from_secs(5));
}
