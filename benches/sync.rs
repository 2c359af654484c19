//! Sync primitive benchmarks: strand's task-local primitives against tokio's thread-safe ones on
//! tokio's current-thread runtime, in the same run. Each case runs one `block_on` per iteration
//! on a runtime built once, and the same code for both (only the paths differ).
//!
//! Times are the benchmark thread's **CPU time** (`CLOCK_THREAD_CPUTIME_ID`), not wall time:
//! every case runs entirely on that one thread and never blocks, and on a shared 2-core machine
//! wall time mostly measures who else got the CPU.
//!
//! Run: `cargo bench --bench sync`

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Task pairs in `sync::ping_pong` and `sync::ping_pong_spawn`: each pair does one round trip
/// over two fresh oneshots.
const PAIRS: usize = 1_000;
/// Messages per run of `sync::mpsc_throughput` (split across the producers).
const MESSAGES: usize = 100_000;
/// Capacity of the bounded channel in `sync::mpsc_throughput`.
const CHANNEL_CAP: usize = 1_024;
/// Lock/unlock rounds in `sync::mutex_uncontended`.
const LOCKS: usize = 100_000;
/// Tasks in `sync::mutex_contended`; each holds the lock across a yield, so all queue up.
const CONTENDERS: usize = 8;
/// Lock rounds per task in `sync::mutex_contended`.
const CONTENDED_ROUNDS: usize = 1_000;

/// CPU time used by this thread so far.
fn cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `f` `iters` times and returns the CPU time it took.
fn cpu_time(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = cpu_now();
    for _ in 0..iters {
        f();
    }
    cpu_now() - start
}

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
/// starts, so this measures the channels plus the wake/schedule path, not spawning.
fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync::ping_pong");
    g.throughput(Throughput::Elements(PAIRS as u64));
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
                        let start = cpu_now();
                        let mut sum = 0;
                        for (i, (ping_tx, pong_rx)) in pairs.into_iter().enumerate() {
                            ping_tx.send(i).unwrap();
                            sum += pong_rx.await.unwrap();
                        }
                        let spent = cpu_now() - start;
                        assert_eq!(sum, PAIRS * (PAIRS + 1) / 2);
                        spent
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
                        let start = cpu_now();
                        let mut sum = 0;
                        for (i, (ping_tx, pong_rx)) in pairs.into_iter().enumerate() {
                            ping_tx.send(i).unwrap();
                            sum += pong_rx.await.unwrap();
                        }
                        let spent = cpu_now() - start;
                        assert_eq!(sum, PAIRS * (PAIRS + 1) / 2);
                        spent
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
    g.throughput(Throughput::Elements(PAIRS as u64));
    let rt = strand_rt();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
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
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
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
        })
    });
    g.finish();
}

/// `sync::mpsc_throughput/{1,4}`: producers push `MESSAGES` in total through a bounded channel
/// to the root task.
fn mpsc_throughput(c: &mut Criterion) {
    for producers in [1usize, 4] {
        let mut g = c.benchmark_group(format!("sync::mpsc_throughput/{producers}"));
        g.throughput(Throughput::Elements(MESSAGES as u64));
        let per = MESSAGES / producers;
        let rt = strand_rt();
        g.bench_function("strand", |b| {
            b.iter_custom(|iters| {
                cpu_time(iters, || {
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
            })
        });
        let trt = tokio_rt();
        g.bench_function("tokio", |b| {
            b.iter_custom(|iters| {
                cpu_time(iters, || {
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
            })
        });
        g.finish();
    }
}

/// `sync::mutex_uncontended`: `LOCKS` lock/unlock rounds in one task.
fn mutex_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync::mutex_uncontended");
    g.throughput(Throughput::Elements(LOCKS as u64));
    let rt = strand_rt();
    g.bench_function("strand", |b| {
        let m = strand::sync::Mutex::new(0usize);
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                rt.block_on(async {
                    for _ in 0..LOCKS {
                        *m.lock().await += 1;
                    }
                })
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        let m = tokio::sync::Mutex::new(0usize);
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                trt.block_on(async {
                    for _ in 0..LOCKS {
                        *m.lock().await += 1;
                    }
                })
            })
        })
    });
    g.finish();
}

/// `sync::mutex_contended`: `CONTENDERS` tasks each lock `CONTENDED_ROUNDS` times and hold the
/// lock across a `yield_now`, so every lock waits in the queue and every unlock is a hand-over
/// (the yields are part of the measured work, for both runtimes).
fn mutex_contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync::mutex_contended");
    g.throughput(Throughput::Elements((CONTENDERS * CONTENDED_ROUNDS) as u64));
    let rt = strand_rt();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
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
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
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
