//! Timer benchmarks: strand's timer wheel against tokio's, in the same run.
//!
//! Run: `cargo bench --bench timers`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use futures_lite::future::poll_once;

/// Sleeps created, registered (polled once) and cancelled by `timers::insert_cancel`.
const INSERT_CANCEL: usize = 1_000_000;
/// Sleeps that all fire in `timers::fire_many`.
const FIRE_MANY: usize = 100_000;
/// Longest sleep in `timers::fire_many`, in ms (they spread over 1..=FIRE_SPREAD_MS).
const FIRE_SPREAD_MS: u64 = 50;

fn insert_cancel(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers::insert_cancel");
    g.sample_size(10);
    let rt = strand::Runtime::new().unwrap();
    g.bench_function("strand", |b| {
        b.iter(|| {
            rt.block_on(async {
                for i in 0..INSERT_CANCEL {
                    let mut s = std::pin::pin!(strand::time::sleep(Duration::from_millis(
                        1_000 + (i as u64 % 10_000)
                    )));
                    assert!(poll_once(s.as_mut()).await.is_none());
                }
            })
        })
    });
    let trt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            trt.block_on(async {
                for i in 0..INSERT_CANCEL {
                    let mut s = std::pin::pin!(tokio::time::sleep(Duration::from_millis(
                        1_000 + (i as u64 % 10_000)
                    )));
                    assert!(poll_once(s.as_mut()).await.is_none());
                }
            })
        })
    });
    g.finish();
}

/// CPU time this thread has used, from /proc (ns resolution). `fire_many` is dominated in
/// wall time by its 50 ms sleeps, so it reports the runtime thread's CPU time instead.
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat");
    Duration::from_nanos(s.split_whitespace().next().unwrap().parse().unwrap())
}

fn fire_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("timers::fire_many");
    g.sample_size(10);
    let rt = strand::Runtime::new().unwrap();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            let t0 = thread_cpu();
            for _ in 0..iters {
                rt.block_on(async {
                    let hs: Vec<_> = (0..FIRE_MANY)
                        .map(|i| {
                            strand::spawn(strand::time::sleep(Duration::from_millis(
                                1 + i as u64 % FIRE_SPREAD_MS,
                            )))
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                });
            }
            thread_cpu() - t0
        })
    });
    let trt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            let t0 = thread_cpu();
            for _ in 0..iters {
                trt.block_on(async {
                    let hs: Vec<_> = (0..FIRE_MANY)
                        .map(|i| {
                            tokio::spawn(tokio::time::sleep(Duration::from_millis(
                                1 + i as u64 % FIRE_SPREAD_MS,
                            )))
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                });
            }
            thread_cpu() - t0
        })
    });
    g.finish();
}

criterion_group!(benches, insert_cancel, fire_many);
criterion_main!(benches);
