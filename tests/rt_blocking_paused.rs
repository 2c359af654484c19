//! A paused clock with `spawn_blocking` jobs in flight: the loop blocks in the reactor until the
//! pool's last job is done (no polling while it runs), then auto-advances at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use strand::time::{sleep, Instant};
use strand::Runtime;

const JOB: Duration = Duration::from_millis(200);
const HOUR: Duration = Duration::from_secs(3600);
/// A loop that re-polled the reactor every millisecond while the job ran would turn it ~200
/// times; blocking until the job is done takes a handful of turns.
const MAX_TURNS: u64 = 20;

/// Runs `body` on a paused runtime on its own thread; fails instead of hanging. Returns the
/// reactor turns the run took.
fn on_paused_runtime(body: impl FnOnce(&Runtime) -> bool + Send + 'static) -> u64 {
    let (tx, rx) = mpsc::channel();
    let runner = thread::spawn(move || {
        let rt = Runtime::builder().start_paused(true).build().unwrap();
        let ok = body(&rt);
        let _ = tx.send((ok, rt.metrics().reactor_turns));
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok((ok, turns)) => {
            runner.join().unwrap();
            assert!(ok);
            turns
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(runner.join().unwrap_err())
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the paused runtime hung while a blocking job was in flight")
        }
    }
}

/// A job sleeps `JOB` in real time and then sets a flag; the task sleeps an hour of paused
/// time, which may only pass once the job is done, and then right away.
fn hour_after_job(rt: &Runtime, detach: bool) -> bool {
    let done = Arc::new(AtomicBool::new(false));
    rt.block_on(async move {
        let start = Instant::now();
        let wall = std::time::Instant::now();
        let flag = done.clone();
        let job = strand::spawn_blocking(move || {
            thread::sleep(JOB);
            flag.store(true, Ordering::SeqCst);
        });
        let awaiter = (!detach).then(|| strand::spawn(job));
        sleep(HOUR).await;
        assert!(
            done.load(Ordering::SeqCst),
            "the clock auto-advanced while the job ran"
        );
        assert_eq!(Instant::now() - start, HOUR);
        let waited = wall.elapsed();
        assert!(waited >= JOB, "{waited:?}");
        assert!(waited < JOB + Duration::from_secs(10), "{waited:?}");
        if let Some(h) = awaiter {
            h.await.unwrap().unwrap();
        }
        true
    })
}

/// [`hour_after_job`] on a paused runtime, in at most `MAX_TURNS` reactor turns.
fn job_keeps_the_paused_clock_without_the_loop_spinning(detach: bool) {
    let turns = on_paused_runtime(move |rt| hour_after_job(rt, detach));
    assert!(
        turns <= MAX_TURNS,
        "{turns} reactor turns while one job ran"
    );
}

#[test]
fn a_detached_job_keeps_the_paused_clock_without_the_loop_spinning() {
    job_keeps_the_paused_clock_without_the_loop_spinning(true);
}

#[test]
fn an_awaited_job_keeps_the_paused_clock_without_the_loop_spinning() {
    job_keeps_the_paused_clock_without_the_loop_spinning(false);
}

/// The last job's completion wakes the root before the in-flight count drops: the loop must
/// still learn when it does (and then let the hour pass), not block for good.
#[test]
fn many_short_jobs_then_the_clock_advances() {
    on_paused_runtime(|rt| {
        rt.block_on(async {
            let start = Instant::now();
            let jobs: Vec<_> = (0..50u64)
                .map(|i| {
                    strand::spawn_blocking(move || {
                        thread::sleep(Duration::from_millis(i % 5));
                        i
                    })
                })
                .collect();
            let timer = strand::spawn(sleep(HOUR));
            let mut sum = 0;
            for j in jobs {
                sum += j.await.unwrap();
            }
            timer.await.unwrap();
            assert_eq!(Instant::now() - start, HOUR);
            sum == (0..50).sum::<u64>()
        })
    });
}
