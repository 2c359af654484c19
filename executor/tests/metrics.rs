//! Executor metrics: counters, poll-time histogram, slow polls.

mod util;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use strand_executor::metrics::{poll_time_bucket, POLL_TIME_BUCKETS};
use strand_executor::task;
use util::{drain, executor, pending_stash};

#[test]
fn counters_follow_the_work() {
    let (exec, _) = executor();
    let stash = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&stash);
    exec.spawn(async move { pending_stash(s).await });
    exec.spawn(async {
        task::yield_now().await;
    });
    let m = exec.metrics();
    assert_eq!(
        (m.tasks_spawned, m.tasks_alive, m.polls, m.ticks),
        (2, 2, 0, 0)
    );
    drain(&exec);
    let m = exec.metrics();
    assert_eq!(m.tasks_alive, 1);
    assert_eq!(m.polls, 3, "pending task once, yielding task twice");
    assert!(m.ticks >= 2);
    assert!(m.local_schedules >= 1, "the yield requeued locally");
    let w = stash.lock().unwrap().pop().unwrap();
    std::thread::spawn(move || w.wake()).join().unwrap();
    drain(&exec);
    let m2 = exec.metrics();
    assert_eq!(m2.remote_schedules, m.remote_schedules + 1);
    assert_eq!(m2.polls, 4);
    assert_eq!(m2.slow_polls, 0);
    assert_eq!(
        m2.poll_time_histogram, [0; POLL_TIME_BUCKETS],
        "timing is off by default"
    );
}

#[test]
fn poll_time_histogram_when_enabled() {
    let (exec, _) = executor();
    exec.set_poll_time_histogram(true);
    for _ in 0..10 {
        exec.spawn(async {});
    }
    exec.spawn(async { std::thread::sleep(Duration::from_millis(3)) });
    drain(&exec);
    let m = exec.metrics();
    assert_eq!(m.poll_time_histogram.iter().sum::<u64>(), 11);
    let slow_bucket = poll_time_bucket(Duration::from_millis(3));
    assert!(m.poll_time_histogram[slow_bucket..].iter().sum::<u64>() >= 1);
    exec.set_poll_time_histogram(false);
    exec.spawn(async {});
    drain(&exec);
    assert_eq!(exec.metrics().poll_time_histogram.iter().sum::<u64>(), 11);
}

#[test]
fn slow_polls_are_counted_over_the_threshold() {
    let (exec, _) = executor();
    exec.set_slow_poll_threshold(Some(Duration::from_millis(100)));
    exec.spawn(async { std::thread::sleep(Duration::from_millis(150)) });
    drain(&exec);
    let m = exec.metrics();
    assert_eq!(m.slow_polls, 1);
    assert_eq!(
        m.poll_time_histogram.iter().sum::<u64>(),
        0,
        "histogram not enabled"
    );
    if !cfg!(miri) {
        // (Miri's virtual clock makes every poll slow.)
        exec.spawn(async {});
        drain(&exec);
        assert_eq!(exec.metrics().slow_polls, 1, "a fast poll is not slow");
    }
    exec.set_slow_poll_threshold(None);
    exec.spawn(async { std::thread::sleep(Duration::from_millis(150)) });
    drain(&exec);
    assert_eq!(exec.metrics().slow_polls, 1, "off again");
}
