//! Sync primitive benchmarks: strand's task-local primitives against tokio's thread-safe ones on
//! tokio's current-thread runtime, in the same run. Each case runs one `block_on` per iteration
//! on a runtime built once.
//!
//! Run: `cargo bench --bench sync`

use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

/// Task pairs in `sync::ping_pong` and `sync::ping_pong_spawn`: each pair does one round trip
/// over two fresh oneshots.
const PAIRS: usize = 1_000;
/// Messages per run of `sync::mpsc_throughput` (split across the producers).
const MESSAGES: usize = 100_000;
/// Capacity of the bounded channel in `sync::mpsc_throughput`.
const CHANNEL_CAP: usize = 1_024;
/// Lock/unlock rounds in `sync::mutex_uncontended`.
const LOCKS: usize = 100_000;
/// Tasks and rounds per task in `sync::mutex_contended` (each holds the lock across a yield).
const CONTENDERS: usize = 8;
const CONTENDED_ROUNDS: usize = 1_000;

fn strand_rt() -> strand::Runtime {
    strand::Runtime::new().unwrap()
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// `sync::ping_pong`: one task does `PAIRS` round trips, each with another task over two fresh
/// oneshots (ping there, pong back). The partner tasks are spawned and parked before the clock
/// starts, so this measures the channel plus the wake/schedule path, not spawning.
fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync::ping_pong");
    let rt = strand_rt();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let mut pairs = Vec::with_capacity(PAIRS);
                    for _ in 0..PAIRS {
                        let (ping_tx, ping_rx) = strand::sync::oneshot::channel::<usize>();
                        let (pong_tx, pong_rx) = strand::sync::oneshot::channel::<usize>();
                        strand::spawn(async move {
                            let v = ping_rx.await.unwrap();
                            pong_tx.send(v + 1).unwrap();
                        });
                        pairs.push((ping_tx, pong_rx));
                    }
                    let pinger = strand::spawn(async move {
                        strand::task::yield_now().await; // every partner parks on its ping
                        let start = Instant::now();
                        let mut sum = 0;
                        for (i, (ping_tx, pong_rx)) in pairs.into_iter().enumerate() {
                            ping_tx.send(i).unwrap();
                            sum += pong_rx.await.unwrap();
                        }
                        let elapsed = start.elapsed();
                        assert_eq!(sum, PAIRS * (PAIRS + 1) / 2);
                        elapsed
                    });
                    pinger.await.unwrap()
                });
            }
            total
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += trt.block_on(async {
                    let mut pairs = Vec::with_capacity(PAIRS);
                    for _ in 0..PAIRS {
                        let (ping_tx, ping_rx) = tokio::sync::oneshot::channel::<usize>();
                        let (pong_tx, pong_rx) = tokio::sync::oneshot::channel::<usize>();
                        tokio::spawn(async move {
                            let v = ping_rx.await.unwrap();
                            pong_tx.send(v + 1).unwrap();
                        });
                        pairs.push((ping_tx, pong_rx));
                    }
                    let pinger = tokio::spawn(async move {
                        tokio::task::yield_now().await;
                        let start = Instant::now();
                        let mut sum = 0;
                        for (i, (ping_tx, pong_rx)) in pairs.into_iter().enumerate() {
                            ping_tx.send(i).unwrap();
                            sum += pong_rx.await.unwrap();
                        }
                        let elapsed = start.elapsed();
                        assert_eq!(sum, PAIRS * (PAIRS + 1) / 2);
                        elapsed
                    });
                    pinger.await.unwrap()
                });
            }
            total
        })
    });
    g.finish();
}

/// `sync::ping_pong_spawn`: like `ping_pong`, but both sides of every pair are new tasks and
/// spawning them is measured too (the whole "request, reply, done" life of a task pair).
fn ping_pong_spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync::ping_pong_spawn");
    let rt = strand_rt();
    g.bench_function("strand", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut pingers = Vec::with_capacity(PAIRS);
                for i in 0..PAIRS {
                    let (ping_tx, ping_rx) = strand::sync::oneshot::channel::<usize>();
                    let (pong_tx, pong_rx) = strand::sync::oneshot::channel::<usize>();
                    strand::spawn(async move {
                        let v = ping_rx.await.unwrap();
                        pong_tx.send(v + 1).unwrap();
                    });
                    pingers.push(strand::spawn(async move {
                        ping_tx.send(i).unwrap();
                        pong_rx.await.unwrap()
                    }));
                }
                let mut sum = 0;
                for p in pingers {
                    sum += p.await.unwrap();
                }
                assert_eq!(sum, PAIRS * (PAIRS + 1) / 2);
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            trt.block_on(async {
                let mut pingers = Vec::with_capacity(PAIRS);
                for i in 0..PAIRS {
                    let (ping_tx, ping_rx) = tokio::sync::oneshot::channel::<usize>();
                    let (pong_tx, pong_rx) = tokio::sync::oneshot::channel::<usize>();
                    tokio::spawn(async move {
                        let v = ping_rx.await.unwrap();
                        pong_tx.send(v + 1).unwrap();
                    });
                    pingers.push(tokio::spawn(async move {
                        ping_tx.send(i).unwrap();
                        pong_rx.await.unwrap()
                    }));
                }
                let mut sum = 0;
                for p in pingers {
                    sum += p.await.unwrap();
                }
                assert_eq!(sum, PAIRS * (PAIRS + 1) / 2);
            })
        })
    });
    g.finish();
}

fn mpsc_throughput(c: &mut Criterion) {
    for producers in [1usize, 4] {
        let mut g = c.benchmark_group(format!("sync::mpsc_throughput/{producers}"));
        g.throughput(criterion::Throughput::Elements(MESSAGES as u64));
        let per = MESSAGES / producers;
        let rt = strand_rt();
        g.bench_function("strand", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let (tx, mut rx) = strand::sync::mpsc::channel::<usize>(CHANNEL_CAP);
                    for _ in 0..producers {
                        let tx = tx.clone();
                        strand::spawn(async move {
                            for i in 0..per {
                                tx.send(i).await.unwrap();
                            }
                        });
                    }
                    drop(tx);
                    let mut n = 0;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    assert_eq!(n, per * producers);
                })
            })
        });
        let trt = tokio_rt();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                trt.block_on(async {
                    let (tx, mut rx) = tokio::sync::mpsc::channel::<usize>(CHANNEL_CAP);
                    for _ in 0..producers {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for i in 0..per {
                                tx.send(i).await.unwrap();
                            }
                        });
                    }
                    drop(tx);
                    let mut n = 0;
                    while rx.recv().await.is_some() {
                        n += 1;
                    }
                    assert_eq!(n, per * producers);
                })
            })
        });
        g.finish();
    }
}

fn mutex_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync::mutex_uncontended");
    g.throughput(criterion::Throughput::Elements(LOCKS as u64));
    let rt = strand_rt();
    g.bench_function("strand", |b| {
        let m = strand::sync::Mutex::new(0usize);
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..LOCKS {
                    *m.lock().await += 1;
                }
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        let m = tokio::sync::Mutex::new(0usize);
        b.iter(|| {
            trt.block_on(async {
                for _ in 0..LOCKS {
                    *m.lock().await += 1;
                }
            })
        })
    });
    g.finish();
}

fn mutex_contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync::mutex_contended");
    g.throughput(criterion::Throughput::Elements(
        (CONTENDERS * CONTENDED_ROUNDS) as u64,
    ));
    let rt = strand_rt();
    g.bench_function("strand", |b| {
        b.iter(|| {
            rt.block_on(async {
                let m = Rc::new(strand::sync::Mutex::new(0usize));
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let m = m.clone();
                        strand::spawn(async move {
                            for _ in 0..CONTENDED_ROUNDS {
                                let mut g = m.lock().await;
                                strand::task::yield_now().await;
                                *g += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                assert_eq!(*m.lock().await, CONTENDERS * CONTENDED_ROUNDS);
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            trt.block_on(async {
                let m = Arc::new(tokio::sync::Mutex::new(0usize));
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let m = m.clone();
                        tokio::spawn(async move {
                            for _ in 0..CONTENDED_ROUNDS {
                                let mut g = m.lock().await;
                                tokio::task::yield_now().await;
                                *g += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                assert_eq!(*m.lock().await, CONTENDERS * CONTENDED_ROUNDS);
            })
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    ping_pong,
    ping_pong_spawn,
    mpsc_throughput,
    mutex_uncontended,
    mutex_contended
);
criterion_main!(benches);
