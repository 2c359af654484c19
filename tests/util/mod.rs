//! Helpers shared by the integration tests (`mod util;` at the top of a test file).
//!
//! Everything here is bounded: [`run`] puts a deadline on the whole test body, so a lost
//! wakeup fails the test instead of hanging CI.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpStream};

/// The deadline on a whole test body.
pub const TEST_DEADLINE: Duration = Duration::from_secs(60);

/// Runs `f` on a fresh runtime with [`TEST_DEADLINE`]; panics if it takes longer.
#[track_caller]
pub fn run<F: Future>(f: F) -> F::Output {
    strand::block_on(async {
        match strand::time::timeout(TEST_DEADLINE, f).await {
            Ok(v) => v,
            Err(_) => panic!("test body did not finish within {TEST_DEADLINE:?}"),
        }
    })
}

/// Awaits `f` for at most `d`, panicking with `what` if it does not finish.
pub async fn within<F: Future>(d: Duration, what: &str, f: F) -> F::Output {
    match strand::time::timeout(d, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: did not finish within {d:?}"),
    }
}

/// Deterministic pseudo-random bytes (so a reordering or a duplicated chunk is detected).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut v = vec![0u8; len];
    rng.fill(&mut v);
    v
}

/// Number of open file descriptors of this process (Linux: entries of `/proc/self/fd`).
pub fn fd_count() -> usize {
    // The directory handle used to read the listing is itself one entry.
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
        .saturating_sub(1)
}

/// A unique temporary directory, removed on drop (for Unix socket paths).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("strand-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Binds a TCP echo server on 127.0.0.1:0 and spawns its accept loop (one task per
/// connection, each echoing until end-of-file, then shutting down its write side).
pub async fn spawn_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    strand::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(_) => continue,
            };
            strand::spawn(echo(stream));
        }
    });
    addr
}

/// Echoes everything read from `stream` back to it until end-of-file, then closes writing.
pub async fn echo(stream: TcpStream) -> io::Result<u64> {
    let (mut r, mut w) = stream.into_split();
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n]).await?;
        total += n as u64;
    }
    w.close().await?;
    Ok(total)
}

/// Counts how often the wrapped future is polled (shared through an `Rc` counter).
pub struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Rc<std::cell::Cell<u64>>,
}

impl<F: Future> CountPolls<F> {
    pub fn new(f: F) -> (CountPolls<F>, Rc<std::cell::Cell<u64>>) {
        let polls = Rc::new(std::cell::Cell::new(0));
        (
            CountPolls {
                inner: Box::pin(f),
                polls: polls.clone(),
            },
            polls,
        )
    }
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

/// Spawns the classic lock-order deadlock: one task locks `a` then `b`, the other `b` then
/// `a`, each yielding in between so both hold their first lock before asking for the second.
/// Returns `(left, right)`; neither ever completes unless aborted.
pub fn spawn_opposite_lockers() -> (strand::task::JoinHandle<()>, strand::task::JoinHandle<()>) {
    let a = Rc::new(strand::sync::Mutex::new(()));
    let b = Rc::new(strand::sync::Mutex::new(()));
    let (a1, b1) = (a.clone(), b.clone());
    let left = strand::spawn(async move {
        let _a = a1.lock().await;
        strand::task::yield_now().await;
        let _b = b1.lock().await;
    });
    let right = strand::spawn(async move {
        let _b = b.lock().await;
        strand::task::yield_now().await;
        let _a = a.lock().await;
    });
    (left, right)
}
