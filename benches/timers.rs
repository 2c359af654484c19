//! Timer benchmarks: strand's timer wheel against tokio's, in the same run.
//!
//! Run: `cargo bench --bench timers` (criterion).
//!
//! Two extra modes, chosen by environment variable, for a shared noisy machine:
//!
//! - `TIMERS_ONCE=<case>/<rt>` (`insert_cancel` or `fire_many`, `strand` or `tokio`) runs one
//!   iteration of one case and exits, e.g. under
//!   `valgrind --tool=callgrind <bench binary>` to count instructions per sleep (for
//!   `fire_many` under valgrind, add `TIMERS_FIRE_OFFSET_MS=5000`, or every sleep is already
//!   due at its first poll).
//! - `TIMERS_INTERLEAVED=<rounds>` runs both cases `rounds` times, strand and tokio
//!   alternating, so both see the same load, and prints minimums and medians of wall time and
//!   of the thread's CPU time, and the strand / tokio ratios; then, measured in the same
//!   rounds, the floor of `insert_cancel` (a fine clock read, a coarse clock read and the
//!   bench loop around a no-op future, 1,000,000 of each) as fractions of tokio's time.
//!   (`TIMERS_ONCE=floor/<fine_clock|coarse_clock|loop>` runs one of those alone.)

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use futures_lite::future::poll_once;

/// Sleeps created, registered (polled once) and cancelled by `timers::insert_cancel`.
const INSERT_CANCEL: usize = 1_000_000;
/// Sleeps that all fire in `timers::fire_many`.
const FIRE_MANY: usize = 100_000;
/// Longest sleep in `timers::fire_many`, in ms (they spread over 1..=FIRE_SPREAD_MS).
const FIRE_SPREAD_MS: u64 = 50;

/// Extra ms added to every `fire_many` sleep: `TIMERS_FIRE_OFFSET_MS` (default 0). Under
/// valgrind, spawning 100,000 tasks takes seconds, so without an offset every sleep is already
/// due at its first poll and no timer is ever armed; 5000 keeps them all armed there.
fn fire_offset_ms() -> u64 {
    std::env::var("TIMERS_FIRE_OFFSET_MS").map_or(0, |v| v.parse().expect("a number of ms"))
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn strand_insert_cancel(rt: &strand::Runtime) {
    rt.block_on(async {
        for i in 0..INSERT_CANCEL {
            let mut s = std::pin::pin!(strand::time::sleep(Duration::from_millis(
                1_000 + (i as u64 % 10_000)
            )));
            assert!(poll_once(s.as_mut()).await.is_none());
        }
    })
}

fn tokio_insert_cancel(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        for i in 0..INSERT_CANCEL {
            let mut s = std::pin::pin!(tokio::time::sleep(Duration::from_millis(
                1_000 + (i as u64 % 10_000)
            )));
            assert!(poll_once(s.as_mut()).await.is_none());
        }
    })
}

fn strand_fire_many(rt: &strand::Runtime) {
    let offset = fire_offset_ms();
    rt.block_on(async move {
        let hs: Vec<_> = (0..FIRE_MANY)
            .map(|i| {
                strand::spawn(strand::time::sleep(Duration::from_millis(
                    offset + 1 + i as u64 % FIRE_SPREAD_MS,
                )))
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    })
}

fn tokio_fire_many(rt: &tokio::runtime::Runtime) {
    let offset = fire_offset_ms();
    rt.block_on(async move {
        let hs: Vec<_> = (0..FIRE_MANY)
            .map(|i| {
                tokio::spawn(tokio::time::sleep(Duration::from_millis(
                    offset + 1 + i as u64 % FIRE_SPREAD_MS,
                )))
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    })
}

fn insert_cancel(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers::insert_cancel");
    g.sample_size(10);
    let rt = strand::Runtime::new().unwrap();
    g.bench_function("strand", |b| b.iter(|| strand_insert_cancel(&rt)));
    let trt = tokio_rt();
    g.bench_function("tokio", |b| b.iter(|| tokio_insert_cancel(&trt)));
    g.finish();
}

/// CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`, ns resolution; the
/// `/proc/thread-self/schedstat` figure used before moves in 4 ms steps on some kernels).
/// `fire_many` is dominated in wall time by its 50 ms sleeps, so it reports the runtime
/// thread's CPU time instead.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn fire_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers::fire_many");
    g.sample_size(10);
    let rt = strand::Runtime::new().unwrap();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            let t0 = thread_cpu();
            for _ in 0..iters {
                strand_fire_many(&rt);
            }
            thread_cpu() - t0
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            let t0 = thread_cpu();
            for _ in 0..iters {
                tokio_fire_many(&trt);
            }
            thread_cpu() - t0
        })
    });
    g.finish();
}

/// Wall and thread CPU time of one run of `f`.
fn measure(f: impl FnOnce()) -> (Duration, Duration) {
    let (w0, c0) = (Instant::now(), thread_cpu());
    f();
    (w0.elapsed(), thread_cpu() - c0)
}

/// Minimum and median of `v`: on a shared machine interference only adds time, so the minimum
/// is the steadier figure; the median shows the spread.
fn min_median(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2])
}

fn interleaved(rounds: usize) {
    let rt = strand::Runtime::new().unwrap();
    let trt = tokio_rt();
    // Warm-up: the wheel's entries and the executor's caches reach their steady size.
    strand_insert_cancel(&rt);
    tokio_insert_cancel(&trt);
    strand_fire_many(&rt);
    tokio_fire_many(&trt);
    let mut runs: [Vec<(Duration, Duration)>; 7] = Default::default();
    for _ in 0..rounds {
        runs[0].push(measure(|| strand_insert_cancel(&rt)));
        runs[1].push(measure(|| tokio_insert_cancel(&trt)));
        runs[2].push(measure(|| strand_fire_many(&rt)));
        runs[3].push(measure(|| tokio_fire_many(&trt)));
        runs[4].push(measure(|| floor_fine_clock(&rt)));
        runs[5].push(measure(floor_coarse_clock));
        runs[6].push(measure(|| floor_loop(&rt)));
    }
    // (min, median) of wall time and of thread CPU time.
    let stats = |i: usize| {
        (
            min_median(runs[i].iter().map(|r| r.0).collect()),
            min_median(runs[i].iter().map(|r| r.1).collect()),
        )
    };
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("{rounds} interleaved rounds; min (median) per iteration:");
    for (case, s, t, what) in [
        ("insert_cancel", 0, 1, "wall"),
        ("insert_cancel", 0, 1, "cpu"),
        ("fire_many", 2, 3, "cpu"),
    ] {
        let (sw, sc) = stats(s);
        let (tw, tc) = stats(t);
        let (sm, tm) = if what == "wall" { (sw, tw) } else { (sc, tc) };
        println!(
            "{case:>14} {what:>4}: strand {:>9.2?} ({:>9.2?})  tokio {:>9.2?} ({:>9.2?})  \
             strand/tokio {:.2} ({:.2})",
            sm.0,
            sm.1,
            tm.0,
            tm.1,
            ratio(sm.0, tm.0),
            ratio(sm.1, tm.1),
        );
    }
    // The floor of insert_cancel: what any sleep that is exact at its first poll costs at
    // least. Its deadline is creation time + duration, so one fine clock read, as in tokio;
    // strand's exact first poll adds one coarse read (the "not yet due" proof); and the bench
    // loop itself (pin, poll_once, block_on). Each as a fraction of tokio's whole
    // insert_cancel (minimums of the thread's CPU time, which a loaded machine's preemptions
    // do not inflate as they do wall time).
    let (_, (tokio_ic, _)) = stats(1);
    let (_, (strand_ic, _)) = stats(0);
    let mut floor = Duration::ZERO;
    for (i, what) in [
        (4, "fine clock (strand::time::Instant::now in a runtime)"),
        (5, "coarse clock (CLOCK_MONOTONIC_COARSE)"),
        (6, "loop with a no-op future"),
    ] {
        let (_, (t, tm)) = stats(i);
        floor += t;
        println!(
            "{:>19}: {INSERT_CANCEL} x {what:<52} cpu {t:>9.2?} ({tm:>9.2?}) = {:.2} x tokio",
            "floor",
            ratio(t, tokio_ic)
        );
    }
    println!(
        "{:>19}: sum cpu {floor:>9.2?} = {:.2} x tokio's insert_cancel; strand above it: \
         {:.1} ns per sleep (tokio: {:.1} ns)",
        "floor",
        ratio(floor, tokio_ic),
        strand_ic.saturating_sub(floor).as_nanos() as f64 / INSERT_CANCEL as f64,
        tokio_ic.saturating_sub(floor).as_nanos() as f64 / INSERT_CANCEL as f64,
    );
}

/// `INSERT_CANCEL` fine clock reads inside a strand runtime, as `sleep` does them: the clock
/// floor of `insert_cancel` for any runtime whose sleeps start at their creation.
fn floor_fine_clock(rt: &strand::Runtime) {
    rt.block_on(async {
        for _ in 0..INSERT_CANCEL {
            std::hint::black_box(strand::time::Instant::now());
        }
    })
}

/// `INSERT_CANCEL` reads of `CLOCK_MONOTONIC_COARSE` (the read strand's first poll uses to
/// prove a deadline is still ahead; other systems have none, so nothing is measured).
fn floor_coarse_clock() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    for _ in 0..INSERT_CANCEL {
        std::hint::black_box(rustix::time::clock_gettime(
            rustix::time::ClockId::MonotonicCoarse,
        ));
    }
}

/// A future that is never ready and does nothing: the stand-in for a sleep in [`floor_loop`].
struct NoopSleep(#[allow(dead_code)] Duration);

impl std::future::Future for NoopSleep {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Pending
    }
}

/// `insert_cancel`'s loop with a no-op future in place of the sleep (same durations, pin,
/// `poll_once`, drop): the loop's own share of the measurement.
fn floor_loop(rt: &strand::Runtime) {
    rt.block_on(async {
        for i in 0..INSERT_CANCEL {
            let d = std::hint::black_box(Duration::from_millis(1_000 + (i as u64 % 10_000)));
            let mut s = std::pin::pin!(NoopSleep(d));
            assert!(poll_once(s.as_mut()).await.is_none());
        }
    })
}

criterion_group!(benches, insert_cancel, fire_many);

fn main() {
    if let Ok(which) = std::env::var("TIMERS_ONCE") {
        // TIMERS_REPEAT=<n> runs it n times (for a sampling profiler).
        let n: usize = std::env::var("TIMERS_REPEAT").map_or(1, |n| n.parse().unwrap());
        let (rt, trt) = (strand::Runtime::new().unwrap(), tokio_rt());
        for _ in 0..n {
            match which.as_str() {
                "insert_cancel/strand" => strand_insert_cancel(&rt),
                "insert_cancel/tokio" => tokio_insert_cancel(&trt),
                "fire_many/strand" => strand_fire_many(&rt),
                "fire_many/tokio" => tokio_fire_many(&trt),
                "floor/fine_clock" => floor_fine_clock(&rt),
                "floor/coarse_clock" => floor_coarse_clock(),
                "floor/loop" => floor_loop(&rt),
                other => panic!("TIMERS_ONCE: unknown case {other:?}"),
            }
        }
        return;
    }
    if let Ok(rounds) = std::env::var("TIMERS_INTERLEAVED") {
        interleaved(rounds.parse().expect("TIMERS_INTERLEAVED=<rounds>"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
