//! Sync primitive benchmarks: strand's task-local primitives against tokio's thread-safe ones on
//! tokio's current-thread runtime, in the same run. Each case runs one `block_on` per iteration
//! on a runtime built once, and the same code for both (only the paths differ).
//!
//! Times are the benchmark thread's **CPU time** (`CLOCK_THREAD_CPUTIME_ID`), not wall time:
//! every case runs entirely on that one thread and never blocks, and on a shared 2-core machine
//! wall time mostly measures who else got the CPU.
//!
//! Run: `cargo bench --bench sync`; `SYNC_INTERLEAVED=<rounds> <bench binary>` runs
//! `sync::ping_pong` on both runtimes in alternation instead (see [`interleaved`]), and
//! `SYNC_ONCE=ping_pong/<strand|tokio>` 100 runs of it on one (for callgrind).

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};

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

/// CPU time used by this thread so far. Never inlined, so that
/// `valgrind --tool=callgrind --dump-before=sync::cpu_now` splits a profile at the edges of
/// the measured sections (in `SYNC_ONCE` mode every second dump is one measured section).
#[inline(never)]
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
/// One `sync::ping_pong` run on strand: the CPU time of the `PAIRS` round trips.
fn strand_ping_pong(rt: &strand::Runtime) -> Duration {
    rt.block_on(async {
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
    })
}

/// The same on tokio.
fn tokio_ping_pong(trt: &tokio::runtime::Runtime) -> Duration {
    trt.block_on(async {
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
    })
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("sync::ping_pong");
    g.throughput(Throughput::Elements(PAIRS as u64));
    let rt = strand_rt();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| strand_ping_pong(&rt)).sum())
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| tokio_ping_pong(&trt)).sum())
    });
    g.finish();
}

/// `SYNC_INTERLEAVED=<rounds>`: `sync::ping_pong` on strand and on tokio, alternating run by
/// run (`BATCH` runs each, in turn) so that both see the same machine load, then the minimum
/// and median CPU time per round trip of each and their ratios. On a shared machine a criterion
/// run of one runtime and a later run of the other can see loads far apart; this cannot.
fn interleaved(rounds: usize) {
    const BATCH: usize = 20;
    let (rt, trt) = (strand_rt(), tokio_rt());
    for _ in 0..BATCH {
        strand_ping_pong(&rt);
        tokio_ping_pong(&trt);
    }
    let per_trip = |d: Duration| d / (BATCH * PAIRS) as u32;
    let (mut strand, mut tokio) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        strand.push(per_trip((0..BATCH).map(|_| strand_ping_pong(&rt)).sum()));
        tokio.push(per_trip((0..BATCH).map(|_| tokio_ping_pong(&trt)).sum()));
    }
    strand.sort();
    tokio.sort();
    let (smin, smed) = (strand[0], strand[rounds / 2]);
    let (tmin, tmed) = (tokio[0], tokio[rounds / 2]);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "sync::ping_pong, {rounds} interleaved rounds of {BATCH} runs x {PAIRS} round trips, \
         CPU time per round trip, min (median):\n  strand {smin:.1?} ({smed:.1?})  \
         tokio {tmin:.1?} ({tmed:.1?})  strand/tokio {:.3} ({:.3})",
        ratio(smin, tmin),
        ratio(smed, tmed),
    );
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
fn main() {
    if let Ok(which) = std::env::var("SYNC_ONCE") {
        // 100 runs of `sync::ping_pong` on one runtime, e.g. under
        // `valgrind --tool=callgrind` (instructions / 100,000 = per round trip, setup included);
        // `SYNC_REPEAT=<n>` runs it n times instead (for a sampling profiler).
        let n: usize = std::env::var("SYNC_REPEAT").map_or(100, |n| n.parse().unwrap());
        match which.as_str() {
            "ping_pong/strand" => {
                let rt = strand_rt();
                (0..n).for_each(|_| {
                    strand_ping_pong(&rt);
                });
            }
            "ping_pong/tokio" => {
                let trt = tokio_rt();
                (0..n).for_each(|_| {
                    tokio_ping_pong(&trt);
                });
            }
            other => panic!("SYNC_ONCE: unknown case {other:?}"),
        }
        return;
    }
    if let Ok(rounds) = std::env::var("SYNC_INTERLEAVED") {
        interleaved(rounds.parse().expect("SYNC_INTERLEAVED=<rounds>"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
