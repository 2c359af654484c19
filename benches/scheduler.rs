//! Scheduler micro-benchmarks: strand against tokio's current-thread runtime (plain `spawn`
//! and `LocalSet::spawn_local`) and smol's `LocalExecutor`, in the same run.
//!
//! Times are the bench thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, through `iter_custom`):
//! every runtime here runs its tasks on the calling thread and never blocks, and on a shared
//! machine wall time mostly measures who else had the CPU.
//!
//! Run: `cargo bench --bench scheduler`

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

/// Tasks spawned and awaited by `scheduler::spawn_many`.
const SPAWN_MANY: usize = 10_000;
/// Tasks in `scheduler::yield_many`.
const YIELD_TASKS: usize = 8;
/// Yields per task in `scheduler::yield_many`.
const YIELDS: usize = 1_000;
/// Depth of `scheduler::chained_spawn`.
const CHAIN_DEPTH: usize = 1_000;
/// Pairs in `scheduler::ping_pong`.
const PING_PONG_PAIRS: usize = 1_000;

/// CPU time used by this thread so far.
fn cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Runs `f` `iters` times and returns the CPU time it took.
fn cpu_time<R>(iters: u64, mut f: impl FnMut() -> R) -> Duration {
    let start = cpu_now();
    for _ in 0..iters {
        std::hint::black_box(f());
    }
    cpu_now() - start
}

/// A yield that any executor understands: wake self, return Pending once.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn spawn_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler::spawn_many");
    let rt = strand::Runtime::new().unwrap();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                rt.block_on(async {
                    let hs: Vec<_> = (0..SPAWN_MANY)
                        .map(|i| strand::spawn(async move { i }))
                        .collect();
                    for h in hs {
                        std::hint::black_box(h.await.unwrap());
                    }
                })
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                trt.block_on(async {
                    let hs: Vec<_> = (0..SPAWN_MANY)
                        .map(|i| tokio::spawn(async move { i }))
                        .collect();
                    for h in hs {
                        std::hint::black_box(h.await.unwrap());
                    }
                })
            })
        })
    });
    g.bench_function("tokio_local", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                let local = tokio::task::LocalSet::new();
                local.block_on(&trt, async {
                    let hs: Vec<_> = (0..SPAWN_MANY)
                        .map(|i| tokio::task::spawn_local(async move { i }))
                        .collect();
                    for h in hs {
                        std::hint::black_box(h.await.unwrap());
                    }
                })
            })
        })
    });
    let ex = smol::LocalExecutor::new();
    g.bench_function("smol", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                futures_lite::future::block_on(ex.run(async {
                    let hs: Vec<_> = (0..SPAWN_MANY)
                        .map(|i| ex.spawn(async move { i }))
                        .collect();
                    for h in hs {
                        std::hint::black_box(h.await);
                    }
                }))
            })
        })
    });
    g.finish();
}

fn yield_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler::yield_many");
    let rt = strand::Runtime::new().unwrap();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                rt.block_on(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            strand::spawn(async {
                                for _ in 0..YIELDS {
                                    strand::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                trt.block_on(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            tokio::spawn(async {
                                for _ in 0..YIELDS {
                                    tokio::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
            })
        })
    });
    g.bench_function("tokio_local", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                let local = tokio::task::LocalSet::new();
                local.block_on(&trt, async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            tokio::task::spawn_local(async {
                                for _ in 0..YIELDS {
                                    tokio::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
            })
        })
    });
    let ex = smol::LocalExecutor::new();
    g.bench_function("smol", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                futures_lite::future::block_on(ex.run(async {
                    let hs: Vec<_> = (0..YIELD_TASKS)
                        .map(|_| {
                            ex.spawn(async {
                                for _ in 0..YIELDS {
                                    YieldOnce(false).await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await;
                    }
                }))
            })
        })
    });
    g.finish();
}

fn strand_chain(n: usize) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        if n > 0 {
            strand::spawn(strand_chain(n - 1)).await.unwrap();
        }
    })
}

fn tokio_chain(n: usize) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        if n > 0 {
            tokio::spawn(tokio_chain(n - 1)).await.unwrap();
        }
    })
}

fn tokio_local_chain(n: usize) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        if n > 0 {
            tokio::task::spawn_local(tokio_local_chain(n - 1))
                .await
                .unwrap();
        }
    })
}

fn smol_chain(
    ex: &'static smol::LocalExecutor<'static>,
    n: usize,
) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        if n > 0 {
            ex.spawn(smol_chain(ex, n - 1)).await;
        }
    })
}

fn chained_spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler::chained_spawn");
    let rt = strand::Runtime::new().unwrap();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| cpu_time(iters, || rt.block_on(strand_chain(CHAIN_DEPTH))))
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| cpu_time(iters, || trt.block_on(tokio_chain(CHAIN_DEPTH))))
    });
    g.bench_function("tokio_local", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                let local = tokio::task::LocalSet::new();
                local.block_on(&trt, tokio_local_chain(CHAIN_DEPTH))
            })
        })
    });
    let ex: &'static smol::LocalExecutor<'static> = Box::leak(Box::new(smol::LocalExecutor::new()));
    g.bench_function("smol", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                futures_lite::future::block_on(ex.run(smol_chain(ex, CHAIN_DEPTH)))
            })
        })
    });
    g.finish();
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler::ping_pong");
    let rt = strand::Runtime::new().unwrap();
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                rt.block_on(async {
                    let (done_tx, done_rx) = strand::sync::oneshot::channel::<()>();
                    let remaining = std::rc::Rc::new(std::cell::Cell::new(PING_PONG_PAIRS));
                    let done_tx = std::rc::Rc::new(std::cell::RefCell::new(Some(done_tx)));
                    for _ in 0..PING_PONG_PAIRS {
                        let remaining = remaining.clone();
                        let done_tx = done_tx.clone();
                        strand::spawn(async move {
                            let (tx1, rx1) = strand::sync::oneshot::channel::<()>();
                            let (tx2, rx2) = strand::sync::oneshot::channel::<()>();
                            strand::spawn(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            });
                            tx1.send(()).unwrap();
                            rx2.await.unwrap();
                            remaining.set(remaining.get() - 1);
                            if remaining.get() == 0 {
                                let _ = done_tx.borrow_mut().take().unwrap().send(());
                            }
                        });
                    }
                    done_rx.await.unwrap();
                })
            })
        })
    });
    let trt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                trt.block_on(async {
                    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
                    let remaining =
                        std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(PING_PONG_PAIRS));
                    let done_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(done_tx)));
                    for _ in 0..PING_PONG_PAIRS {
                        let remaining = remaining.clone();
                        let done_tx = done_tx.clone();
                        tokio::spawn(async move {
                            let (tx1, rx1) = tokio::sync::oneshot::channel::<()>();
                            let (tx2, rx2) = tokio::sync::oneshot::channel::<()>();
                            tokio::spawn(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            });
                            tx1.send(()).unwrap();
                            rx2.await.unwrap();
                            if remaining.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) == 1 {
                                let _ = done_tx.lock().unwrap().take().unwrap().send(());
                            }
                        });
                    }
                    done_rx.await.unwrap();
                })
            })
        })
    });
    g.finish();
}

criterion_group!(benches, spawn_many, yield_many, chained_spawn, ping_pong);
criterion_main!(benches);
