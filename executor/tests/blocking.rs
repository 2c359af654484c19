//! The blocking pool: cap, keep-alive, panics, races, shutdown.

mod util;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use strand_executor::{task, ExecutorConfig};
use util::{block_on, drain, executor, executor_with, n, run_until, TIMEOUT};

fn config(max: usize, keep_alive: Duration) -> ExecutorConfig {
    ExecutorConfig {
        max_blocking_threads: max,
        thread_keep_alive: keep_alive,
    }
}

#[test]
fn cap_holds_under_many_jobs_and_the_runtime_stays_responsive() {
    let cap = 8;
    let jobs = n(2_000, 40);
    let (exec, parker) = executor_with(config(cap, Duration::from_secs(10)));
    let _g = exec.enter();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..jobs)
        .map(|i| {
            let (running, peak) = (Arc::clone(&running), Arc::clone(&peak));
            task::spawn_blocking(move || {
                let now = running.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                thread::sleep(Duration::from_micros(200));
                running.fetch_sub(1, SeqCst);
                i
            })
        })
        .collect();
    assert!(exec.metrics().blocking_threads <= cap);
    // While the pool is saturated, tasks on the runtime thread keep running.
    let quick = task::spawn(async { 1 });
    drain(&exec);
    assert!(quick.is_finished());
    let joined = task::spawn(async move {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    run_until(&exec, &parker, || joined.is_finished());
    assert_eq!(block_on(joined).unwrap(), jobs * (jobs - 1) / 2);
    let peak = peak.load(SeqCst);
    assert!(peak <= cap, "{peak} threads ran at once, cap is {cap}");
    assert!(exec.metrics().blocking_threads <= cap);
    // The count drops right after each job's completion was delivered.
    wait_in_flight_zero(&exec);
}

fn wait_in_flight_zero(exec: &strand_executor::Executor) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while exec.blocking_in_flight() != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "in-flight count stuck"
        );
        thread::yield_now();
    }
}

#[test]
fn results_wake_the_waiting_task() {
    let (exec, parker) = executor();
    let _g = exec.enter();
    let h = task::spawn(async {
        let a = task::spawn_blocking(|| 20).await.unwrap();
        let b = task::spawn_blocking(move || a + 22).await.unwrap();
        b
    });
    run_until(&exec, &parker, || h.is_finished());
    assert_eq!(block_on(h).unwrap(), 42);
    assert!(
        parker.calls() >= 1,
        "completion on a pool thread unparks the runtime"
    );
}

#[test]
fn a_panicking_job_gives_err_panic() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let h = task::spawn_blocking(|| -> u8 { panic!("blocking boom") });
    let err = block_on(h).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        *err.into_panic().downcast::<&str>().unwrap(),
        "blocking boom"
    );
    // The pool still works.
    assert_eq!(block_on(task::spawn_blocking(|| 3)).unwrap(), 3);
}

#[test]
fn spawn_blocking_from_a_blocking_thread() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let h = task::spawn_blocking(|| block_on(task::spawn_blocking(|| 7)).unwrap() * 6);
    assert_eq!(block_on(h).unwrap(), 42);
}

#[test]
fn abort_has_no_effect_on_a_running_job() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let started = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let (s, r) = (Arc::clone(&started), Arc::clone(&release));
    let h = task::spawn_blocking(move || {
        s.wait();
        r.wait();
        "finished"
    });
    started.wait();
    h.abort();
    release.wait();
    assert_eq!(block_on(h).unwrap(), "finished");
}

#[test]
fn shutdown_cancels_queued_jobs_and_does_not_wait_for_running_ones() {
    let (exec, _) = executor_with(config(1, Duration::from_secs(10)));
    let _g = exec.enter();
    let (tx, rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let running = task::spawn_blocking(move || {
        started_tx.send(()).unwrap();
        rx.recv().unwrap();
        "ran to completion"
    });
    let ran_queued = Arc::new(AtomicUsize::new(0));
    let rq = Arc::clone(&ran_queued);
    let queued = task::spawn_blocking(move || {
        rq.fetch_add(1, SeqCst);
    });
    started_rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(exec.blocking_in_flight(), 2);
    assert_eq!(exec.metrics().blocking_queue_depth, 1);
    // Would deadlock if it waited for the running job, which waits for us.
    assert!(!exec.shutdown_blocking(None));
    assert!(block_on(queued).unwrap_err().is_cancelled());
    assert_eq!(ran_queued.load(SeqCst), 0);
    tx.send(()).unwrap();
    assert_eq!(block_on(running).unwrap(), "ran to completion");
    assert!(
        exec.shutdown_blocking(Some(TIMEOUT)),
        "the worker exits after its job"
    );
    assert_eq!(exec.metrics().blocking_threads, 0);
}

#[test]
fn shutdown_blocking_waits_up_to_the_timeout() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let done = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&done);
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let _h = task::spawn_blocking(move || {
        started_tx.send(()).unwrap();
        thread::sleep(Duration::from_millis(20));
        d.store(1, SeqCst);
    });
    started_rx.recv_timeout(TIMEOUT).unwrap();
    assert!(exec.shutdown_blocking(Some(TIMEOUT)));
    assert_eq!(done.load(SeqCst), 1);
}

#[test]
fn idle_threads_exit_at_shutdown() {
    let (exec, _) = executor_with(config(4, Duration::from_secs(3600)));
    let _g = exec.enter();
    let barrier = Arc::new(Barrier::new(4));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let b = Arc::clone(&barrier);
            task::spawn_blocking(move || {
                b.wait();
            })
        })
        .collect();
    hs.into_iter().for_each(|h| block_on(h).unwrap());
    assert_eq!(exec.metrics().blocking_threads, 4);
    // Keep-alive is an hour: only shutdown makes them go.
    assert!(exec.shutdown_blocking(Some(TIMEOUT)));
    assert_eq!(exec.metrics().blocking_threads, 0);
}

#[cfg(not(miri))] // waits for real keep-alive timeouts; Miri's clock makes that very slow
#[test]
fn idle_threads_exit_after_keep_alive() {
    let (exec, _) = executor_with(config(4, Duration::from_millis(50)));
    let _g = exec.enter();
    let barrier = Arc::new(Barrier::new(4));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let b = Arc::clone(&barrier);
            task::spawn_blocking(move || {
                b.wait();
            })
        })
        .collect();
    hs.into_iter().for_each(|h| block_on(h).unwrap());
    assert_eq!(exec.metrics().blocking_threads, 4);
    let deadline = std::time::Instant::now() + TIMEOUT;
    while exec.metrics().blocking_threads > 0 {
        assert!(std::time::Instant::now() < deadline, "pool never shrank");
        thread::sleep(Duration::from_millis(10));
    }
    // And it grows again on demand.
    assert_eq!(block_on(task::spawn_blocking(|| 1)).unwrap(), 1);
}

#[test]
fn no_job_is_stranded_when_workers_come_and_go() {
    // Tiny keep-alive and cap: workers constantly time out while jobs arrive from several
    // threads; every job must still run (the lost-spawn race).
    let (exec, _) = executor_with(config(2, Duration::from_micros(50)));
    let spawner = exec.spawner();
    let threads = 3;
    let per = n(700, 6);
    let ran = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..threads)
        .map(|t| {
            let spawner = spawner.clone();
            let ran = Arc::clone(&ran);
            thread::spawn(move || {
                for i in 0..per {
                    let (tx, rx) = mpsc::channel();
                    let r = Arc::clone(&ran);
                    let h = spawner.spawn_blocking(move || {
                        r.fetch_add(1, SeqCst);
                        tx.send(i).unwrap();
                    });
                    assert_eq!(
                        rx.recv_timeout(TIMEOUT),
                        Ok(i),
                        "job {i} of thread {t} stranded"
                    );
                    block_on(h).unwrap();
                    if i % 7 == 0 {
                        thread::sleep(Duration::from_micros(60));
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(ran.load(SeqCst), threads * per);
    assert!(exec.metrics().blocking_threads <= 2);
    drain(&exec);
}

#[test]
fn in_flight_counts_queued_and_running_jobs() {
    let (exec, _) = executor_with(config(1, Duration::from_secs(10)));
    let _g = exec.enter();
    assert_eq!(exec.blocking_in_flight(), 0);
    let gate = Arc::new(Barrier::new(2));
    let g = Arc::clone(&gate);
    let a = task::spawn_blocking(move || {
        g.wait();
        g.wait();
    });
    let b = task::spawn_blocking(|| ());
    gate.wait(); // a is running, b queued
    assert_eq!(exec.blocking_in_flight(), 2);
    let m = exec.metrics();
    assert_eq!(
        (
            m.blocking_in_flight,
            m.blocking_queue_depth,
            m.blocking_threads
        ),
        (2, 1, 1)
    );
    gate.wait();
    block_on(a).unwrap();
    block_on(b).unwrap();
    wait_in_flight_zero(&exec);
}

#[test]
fn builder_spawn_blocking_and_executor_spawn_blocking() {
    let (exec, _) = executor();
    let h = exec.spawn_blocking(|| 1);
    assert_eq!(block_on(h).unwrap(), 1);
    let _g = exec.enter();
    let h = task::Builder::new()
        .name("io")
        .spawn_blocking(|| 2)
        .unwrap();
    assert_eq!(block_on(h).unwrap(), 2);
}
