//! TCP echo benchmarks: strand against tokio's current-thread runtime, in the same run, over
//! loopback. The server and the clients run on the same runtime thread, so each number is the
//! runtime's whole I/O path (readiness, wakeups, scheduling) plus the syscalls.
//!
//! Run: `cargo bench --bench echo`
//!
//! Every case reports the runtime thread's **CPU time** (user + kernel, from
//! `/proc/thread-self/schedstat`) rather than wall time: client and server both run on that one
//! thread, so its CPU time is the whole cost of the work, and unlike wall time it does not
//! count the time the thread waited for a core on a loaded machine.
//!
//! - `echo::round_trip_64b`: one connection, [`ROUND_TRIPS`] sequential 64-byte ping-pongs.
//! - `echo::concurrent`: [`CLIENTS`] connections at once, [`CONCURRENT_TRIPS`] ping-pongs each.
//! - `echo::bulk`: [`BULK`] bytes streamed through one echo connection (write and read at once).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Sequential round trips per iteration of `echo::round_trip_64b`.
const ROUND_TRIPS: usize = 1_000;
/// Message size for the round-trip cases.
const MSG: usize = 64;
/// Connections in `echo::concurrent`.
const CLIENTS: usize = 50;
/// Round trips per connection per iteration in `echo::concurrent`.
const CONCURRENT_TRIPS: usize = 20;
/// Bytes per iteration of `echo::bulk`.
const BULK: usize = 4 * 1024 * 1024;
/// Read/write buffer size of the echo servers.
const SERVER_BUF: usize = 16 * 1024;

mod strand_side {
    use super::*;
    use std::net::SocketAddr;
    use strand::io::{AsyncReadExt, AsyncWriteExt};
    use strand::net::{TcpListener, TcpStream};

    pub fn server(rt: &strand::Runtime) -> SocketAddr {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            strand::spawn(async move {
                loop {
                    let (mut s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    strand::spawn(async move {
                        let mut buf = vec![0u8; SERVER_BUF];
                        loop {
                            let n = match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            addr
        })
    }

    pub async fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    pub async fn ping_pong(s: &mut TcpStream, trips: usize) {
        let msg = [7u8; MSG];
        let mut back = [0u8; MSG];
        for _ in 0..trips {
            s.write_all(&msg).await.unwrap();
            s.read_exact(&mut back).await.unwrap();
        }
    }

    pub async fn concurrent(conns: Vec<TcpStream>) -> Vec<TcpStream> {
        let handles: Vec<_> = conns
            .into_iter()
            .map(|mut s| {
                strand::spawn(async move {
                    ping_pong(&mut s, CONCURRENT_TRIPS).await;
                    s
                })
            })
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }

    pub async fn bulk(s: TcpStream, data: &[u8]) -> TcpStream {
        let (mut r, mut w) = s.into_split();
        let write = async {
            w.write_all(data).await.unwrap();
        };
        let read = async {
            let mut buf = vec![0u8; SERVER_BUF];
            let mut got = 0;
            while got < data.len() {
                got += r.read(&mut buf).await.unwrap();
            }
        };
        futures_lite::future::zip(write, read).await;
        r.reunite(w).unwrap()
    }
}

mod tokio_side {
    use super::*;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub fn server(rt: &tokio::runtime::Runtime) -> SocketAddr {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                loop {
                    let (mut s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; SERVER_BUF];
                        loop {
                            let n = match s.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
            addr
        })
    }

    pub async fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    pub async fn ping_pong(s: &mut TcpStream, trips: usize) {
        let msg = [7u8; MSG];
        let mut back = [0u8; MSG];
        for _ in 0..trips {
            s.write_all(&msg).await.unwrap();
            s.read_exact(&mut back).await.unwrap();
        }
    }

    pub async fn concurrent(conns: Vec<TcpStream>) -> Vec<TcpStream> {
        let handles: Vec<_> = conns
            .into_iter()
            .map(|mut s| {
                tokio::spawn(async move {
                    ping_pong(&mut s, CONCURRENT_TRIPS).await;
                    s
                })
            })
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }

    pub async fn bulk(s: TcpStream, data: &[u8]) -> TcpStream {
        let (mut r, mut w) = s.into_split();
        let write = async {
            w.write_all(data).await.unwrap();
        };
        let read = async {
            let mut buf = vec![0u8; SERVER_BUF];
            let mut got = 0;
            while got < data.len() {
                got += r.read(&mut buf).await.unwrap();
            }
        };
        tokio::join!(write, read);
        r.reunite(w).unwrap()
    }
}

/// CPU time this thread has used so far (ns resolution).
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat");
    Duration::from_nanos(s.split_whitespace().next().unwrap().parse().unwrap())
}

/// Runs `f` `iters` times and returns the CPU time it took on this thread.
fn cpu_time(iters: u64, mut f: impl FnMut()) -> Duration {
    let t0 = thread_cpu();
    for _ in 0..iters {
        f();
    }
    thread_cpu() - t0
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("echo::round_trip_64b");
    g.throughput(Throughput::Elements(ROUND_TRIPS as u64));

    let rt = strand::Runtime::new().unwrap();
    let addr = strand_side::server(&rt);
    let mut s = rt.block_on(strand_side::connect(addr));
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                rt.block_on(strand_side::ping_pong(&mut s, ROUND_TRIPS))
            })
        })
    });

    let trt = tokio_rt();
    let taddr = tokio_side::server(&trt);
    let mut ts = trt.block_on(tokio_side::connect(taddr));
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                trt.block_on(tokio_side::ping_pong(&mut ts, ROUND_TRIPS))
            })
        })
    });
    g.finish();
}

fn concurrent(c: &mut Criterion) {
    let mut g = c.benchmark_group("echo::concurrent");
    g.throughput(Throughput::Elements((CLIENTS * CONCURRENT_TRIPS) as u64));

    let rt = strand::Runtime::new().unwrap();
    let addr = strand_side::server(&rt);
    let mut conns: Vec<_> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..CLIENTS {
            v.push(strand_side::connect(addr).await);
        }
        v
    });
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                let taken = std::mem::take(&mut conns);
                conns = rt.block_on(strand_side::concurrent(taken));
            })
        })
    });

    let trt = tokio_rt();
    let taddr = tokio_side::server(&trt);
    let mut tconns: Vec<_> = trt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..CLIENTS {
            v.push(tokio_side::connect(taddr).await);
        }
        v
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                let taken = std::mem::take(&mut tconns);
                tconns = trt.block_on(tokio_side::concurrent(taken));
            })
        })
    });
    g.finish();
}

fn bulk(c: &mut Criterion) {
    let mut g = c.benchmark_group("echo::bulk");
    g.throughput(Throughput::Bytes(BULK as u64));
    g.measurement_time(Duration::from_secs(5));
    let data = vec![0x5au8; BULK];

    let rt = strand::Runtime::new().unwrap();
    let addr = strand_side::server(&rt);
    let mut s = Some(rt.block_on(strand_side::connect(addr)));
    g.bench_function("strand", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                let stream = s.take().unwrap();
                s = Some(rt.block_on(strand_side::bulk(stream, &data)));
            })
        })
    });

    let trt = tokio_rt();
    let taddr = tokio_side::server(&trt);
    let mut ts = Some(trt.block_on(tokio_side::connect(taddr)));
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            cpu_time(iters, || {
                let stream = ts.take().unwrap();
                ts = Some(trt.block_on(tokio_side::bulk(stream, &data)));
            })
        })
    });
    g.finish();
}

criterion_group!(benches, round_trip, concurrent, bulk);
criterion_main!(benches);
