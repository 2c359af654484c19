//! `Builder::slow_poll_threshold`: slow polls are reported with the task's name and location,
//! and the watchdog reports a poll that blocks the runtime thread while it still blocks.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use strand::runtime::SlowPoll;

type Reports = Arc<StdMutex<Vec<(Instant, SlowPoll)>>>;

/// Tests with a watchdog run one at a time, so that thread counts are exact and a blocked
/// runtime thread does not compete with another test's for the CPU.
static SERIAL: StdMutex<()> = StdMutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn runtime(threshold: Duration) -> (strand::Runtime, Reports) {
    let reports: Reports = Arc::default();
    let sink = reports.clone();
    let rt = strand::Runtime::builder()
        .slow_poll_threshold(threshold)
        .on_slow_poll(move |r| sink.lock().unwrap().push((Instant::now(), r.clone())))
        .build()
        .unwrap();
    (rt, reports)
}

#[test]
fn a_blocking_sleep_is_reported_while_it_sleeps() {
    let _serial = serial();
    let (rt, reports) = runtime(Duration::from_millis(50));
    let line = line!() + 4;
    let (id, started, ended) = rt.block_on(async {
        let h = strand::task::Builder::new()
            .name("blocker")
            .spawn(async {
                let started = Instant::now();
                std::thread::sleep(Duration::from_millis(300));
                (started, Instant::now())
            })
            .unwrap();
        let id = h.id();
        let (s, e) = h.await.unwrap();
        (id, s, e)
    });
    let reports = reports.lock().unwrap();
    let (at, live) = reports
        .iter()
        .find(|(_, r)| r.in_progress)
        .expect("the watchdog reports the poll while it runs");
    assert!(
        *at < ended,
        "the report came {:?} after the sleep ended",
        *at - ended
    );
    assert!(*at >= started + Duration::from_millis(50));
    assert_eq!(live.task, Some(id));
    assert_eq!(live.name.as_deref(), Some("blocker"));
    let loc = live.location.unwrap();
    assert_eq!((loc.file(), loc.line()), (file!(), line));
    assert!(live.elapsed >= Duration::from_millis(50));
    assert_eq!(live.threshold, Duration::from_millis(50));
    let text = live.to_string();
    assert!(
        text.contains("\"blocker\"") && text.contains("blocks the runtime thread"),
        "{text}"
    );

    // Once it returned, the poll is reported again with its full duration.
    let done: Vec<_> = reports.iter().filter(|(_, r)| !r.in_progress).collect();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1.task, Some(id));
    assert!(done[0].1.elapsed >= Duration::from_millis(300));
    // The watchdog reports each stuck poll once.
    assert_eq!(reports.iter().filter(|(_, r)| r.in_progress).count(), 1);
    let m = rt.metrics();
    assert_eq!(m.slow_polls, 1);
    assert_eq!(m.slow_polls_in_progress, 1);
}

#[test]
fn a_blocking_block_on_future_is_reported_too() {
    let _serial = serial();
    let (rt, reports) = runtime(Duration::from_millis(30));
    rt.block_on(async { std::thread::sleep(Duration::from_millis(150)) });
    let reports = reports.lock().unwrap();
    let live = reports.iter().find(|(_, r)| r.in_progress).unwrap();
    assert_eq!(live.1.task, None);
    assert_eq!(live.1.location.unwrap().file(), file!());
    assert!(live.1.to_string().contains("block_on"));
    assert_eq!(rt.metrics().slow_polls, 1);
}

#[test]
fn fast_polls_are_not_reported() {
    let _serial = serial();
    let (rt, reports) = runtime(Duration::from_millis(200));
    rt.block_on(async {
        for _ in 0..100 {
            strand::spawn(async { strand::task::yield_now().await })
                .await
                .unwrap();
        }
        strand::time::sleep(Duration::from_millis(20)).await;
    });
    assert!(reports.lock().unwrap().is_empty());
    assert_eq!(rt.metrics().slow_polls, 0);
}

#[cfg(target_os = "linux")]
fn watchdog_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "strand-watchdog")
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn the_watchdog_thread_exits_with_the_runtime() {
    let _serial = serial();
    assert_eq!(watchdog_threads(), 0);
    let (rt, _reports) = runtime(Duration::from_millis(10));
    rt.block_on(async {});
    // The thread names itself once it runs.
    let started = Instant::now();
    while watchdog_threads() == 0 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(watchdog_threads(), 1);
    drop(rt); // joins it
    assert_eq!(watchdog_threads(), 0);
    // No threshold, no watchdog.
    let rt = strand::Runtime::new().unwrap();
    rt.block_on(async {});
    assert_eq!(watchdog_threads(), 0);
}

#[test]
fn without_a_threshold_nothing_is_timed() {
    let rt = strand::Runtime::new().unwrap();
    rt.block_on(async { std::thread::sleep(Duration::from_millis(20)) });
    let m = rt.metrics();
    assert_eq!((m.slow_polls, m.slow_polls_in_progress), (0, 0));
    assert_eq!(
        m.poll_time_histogram,
        [0; strand::runtime::POLL_TIME_BUCKETS]
    );
}
