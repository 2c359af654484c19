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
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let fired = Arc::new(AtomicBool::new(false));
    let f = fired.clone();
    let timer = strand::spawn(async move {
        sleep(Duration::from_secs(3600)).await;
        f.store(true, Ordering::SeqCst);
    });
    strand::task::yield_now().await;
    let f = fired.clone();
    // The job looks at the flag after 50 ms of real time: had the clock jumped an hour while
    // it ran, the timer would have fired by then.
    let fired_during_job = strand::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(50));
        f.load(Ordering::SeqCst)
    })
    .await
    .unwrap();
    assert!(
        !fired_during_job,
        "the clock auto-advanced while a blocking job was in flight"
    );
    timer.await.unwrap();
    assert!(fired.load(Ordering::SeqCst));
}

#[test]
#[should_panic(expected = "paused")]
fn advance_needs_a_paused_clock() {
    strand::block_on(advance(Duration::from_secs(1)));
}
