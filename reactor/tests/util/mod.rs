//! Shared helpers for the reactor's integration tests: counting wakers, socket pairs on
//! 127.0.0.1, and bounded loops that turn the reactor.
#![allow(dead_code)]

use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use strand_reactor::Reactor;

/// Upper bound for anything that waits on the OS in these tests.
pub const LIMIT: Duration = Duration::from_secs(10);

pub struct Count(AtomicUsize);

impl Count {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that counts its wakes.
pub fn counter() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

/// A connected pair: a blocking std client and a non-blocking mio server side.
pub fn tcp_pair() -> (TcpStream, mio::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    client.set_read_timeout(Some(LIMIT)).unwrap();
    client.set_write_timeout(Some(LIMIT)).unwrap();
    (client, mio::net::TcpStream::from_std(server))
}

/// Turns the reactor until `done()` holds; panics after [`LIMIT`].
pub fn turn_until(reactor: &Reactor, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < LIMIT,
            "condition not reached within {LIMIT:?}"
        );
        reactor.turn(Some(Duration::from_millis(50))).unwrap();
    }
}

/// A minimal single-future executor: polls `fut` whenever its waker was woken, turning the
/// reactor in between. Panics after [`LIMIT`].
pub fn block_on<F: Future>(reactor: &Reactor, fut: F) -> F::Output {
    let (count, waker) = counter();
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let start = Instant::now();
    let mut seen = usize::MAX;
    loop {
        if count.get() != seen {
            seen = count.get();
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
        }
        assert!(start.elapsed() < LIMIT, "future not ready within {LIMIT:?}");
        reactor.turn(Some(Duration::from_millis(50))).unwrap();
    }
}
