//! The paused clock: pause, resume, advance, auto-advance.

use std::time::Duration;

use strand::time::{advance, pause, resume, sleep, Instant};

#[strand::test(start_paused = true)]
async fn a_one_hour_sleep_completes_at_once_in_wall_time() {
    let wall = std::time::Instant::now();
    let start = Instant::now();
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(Instant::now() - start, Duration::from_secs(3600));
    assert!(wall.elapsed() < Duration::from_secs(5));
}

#[strand::test(start_paused = true)]
async fn auto_advance_fires_timers_in_deadline_order() {
    let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut hs = Vec::new();
    for s in [30u64, 10, 20, 86_400] {
        let o = order.clone();
        hs.push(strand::spawn(async move {
            sleep(Duration::from_secs(s)).await;
            o.borrow_mut().push(s);
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(*order.borrow(), [10, 20, 30, 86_400]);
}

#[strand::test]
async fn pause_advance_resume() {
    pause();
    let t0 = Instant::now();
    advance(Duration::from_secs(10)).await;
    assert_eq!(Instant::now() - t0, Duration::from_secs(10));
    // A sleep shorter than an advance completes during it.
    let s = strand::spawn(sleep(Duration::from_secs(2)));
    strand::task::yield_now().await;
    advance(Duration::from_secs(3)).await;
    for _ in 0..3 {
        strand::task::yield_now().await;
    }
    assert!(s.is_finished());
    resume();
    let t1 = Instant::now();
    sleep(Duration::from_millis(5)).await;
    assert!(Instant::now() - t1 >= Duration::from_millis(5));
}

#[strand::test(start_paused = true)]
async fn no_auto_advance_while_a_blocking_job_runs() {
    let start = Instant::now();
    let job = strand::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50)));
    let timer = strand::spawn(async move {
        sleep(Duration::from_secs(3600)).await;
        Instant::now()
    });
    job.await.unwrap();
    // While the job ran, the clock could not jump an hour ahead... (it jumps now).
    assert!(!timer.is_finished() || timer.await.unwrap() - start >= Duration::from_secs(3600));
}

#[test]
#[should_panic(expected = "paused")]
fn advance_needs_a_paused_clock() {
    strand::block_on(advance(Duration::from_secs(1)));
}
