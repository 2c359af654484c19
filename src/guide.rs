//! # The strand guide
//!
//! This module has no code: it is the user guide, kept with the API so its examples are
//! compiled and run with the tests. Read it top to bottom once; come back to the
//! [cancellation-safety table](#cancellation-safety) and the [`Send` table](#which-types-are-send)
//! when you need them.
//!
//! 1. [Getting started](#getting-started)
//! 2. [Tasks](#tasks)
//! 3. [I/O and networking](#io-and-networking)
//! 4. [Time](#time)
//! 5. [Synchronization](#synchronization)
//! 6. [Blocking work and other threads](#blocking-work-and-other-threads)
//! 7. [Using strand with hyper](#using-strand-with-hyper)
//! 8. [Signals and graceful shutdown](#signals-and-graceful-shutdown)
//! 9. [Cancellation safety](#cancellation-safety)
//! 10. [Which types are `Send`](#which-types-are-send)
//!
//! ## Getting started
//!
//! ```toml
//! [dependencies]
//! strand = "0.1"
//! # optional: features = ["hyper"] to host hyper, ["tokio-io"] for tokio's I/O traits
//! ```
//!
//! `#[strand::main]` turns an `async fn main` into a program that runs it on a new
//! [`Runtime`](crate::Runtime). Here is a complete TCP echo server:
//!
//! ```no_run
//! use strand::io::{AsyncReadExt, AsyncWriteExt};
//! use strand::net::TcpListener;
//!
//! #[strand::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:8080").await?;
//!     loop {
//!         let (mut stream, peer) = listener.accept().await?;
//!         // One task per connection: a few hundred bytes, not a thread.
//!         strand::spawn(async move {
//!             let mut buf = vec![0u8; 4096];
//!             loop {
//!                 match stream.read(&mut buf).await {
//!                     Ok(0) => break, // the client closed
//!                     Ok(n) => {
//!                         if stream.write_all(&buf[..n]).await.is_err() {
//!                             break;
//!                         }
//!                     }
//!                     Err(e) => {
//!                         eprintln!("{peer}: {e}");
//!                         break;
//!                     }
//!                 }
//!             }
//!         });
//!     }
//! }
//! ```
//!
//! Without the macro, build the runtime yourself; [`block_on`](crate::Runtime::block_on) drives
//! the future you give it and every task spawned meanwhile:
//!
//! ```
//! use std::time::Duration;
//!
//! let rt = strand::Runtime::builder()
//!     .max_blocking_threads(16)
//!     .thread_keep_alive(Duration::from_secs(5))
//!     .build()
//!     .unwrap();
//! let sum = rt.block_on(async {
//!     let a = strand::spawn(async { 40 });
//!     let b = strand::spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(sum, 42);
//! ```
//!
//! Tests use `#[strand::test]`, a `#[test]` on a fresh runtime (`start_paused = true` starts
//! with a [paused clock](#time)):
//!
//! ```no_run
//! #[strand::test]
//! async fn adds() {
//!     assert_eq!(strand::spawn(async { 1 + 1 }).await.unwrap(), 2);
//! }
//! ```
//!
//! **One thread.** A runtime polls all its tasks on the thread that called `block_on`. That is
//! where strand's speed comes from (no atomics, no locks, no work stealing on the hot path),
//! and it has three consequences: spawned futures need not be `Send`; a task that blocks the
//! thread (a long computation, a blocking syscall, `std::thread::sleep`) stalls every other
//! task, so [such work goes elsewhere](#blocking-work-and-other-threads); and to use several
//! cores you run several runtimes, one per thread (for example each accepting on its own
//! `SO_REUSEPORT` listener, see [`TcpSocket`](crate::net::TcpSocket)). strand keeps no
//! process-wide state, so runtimes on different threads share nothing.
//!
//! ## Tasks
//!
//! [`spawn`](crate::spawn) starts a task and returns a [`JoinHandle`](crate::task::JoinHandle),
//! a future of the task's output. There is no `Send` bound, so tasks can share state through
//! `Rc` and `RefCell`:
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//!
//! strand::block_on(async {
//!     let log = Rc::new(RefCell::new(Vec::new()));
//!     let mut handles = Vec::new();
//!     for i in 0..3 {
//!         let log = log.clone();
//!         handles.push(strand::spawn(async move {
//!             log.borrow_mut().push(i);
//!             i * 10
//!         }));
//!     }
//!     let mut outputs = Vec::new();
//!     for h in handles {
//!         outputs.push(h.await.unwrap());
//!     }
//!     assert_eq!(outputs, [0, 10, 20]);
//!     assert_eq!(log.borrow().len(), 3);
//! });
//! ```
//!
//! - **Detach, abort.** Dropping a `JoinHandle` detaches the task (it keeps running).
//!   [`abort`](crate::task::JoinHandle::abort) drops the task's future, and the handle resolves
//!   to a [`JoinError`](crate::task::JoinError) with `is_cancelled()`.
//! - **Panics** are caught per task: the handle resolves to an error with `is_panic()`; the
//!   runtime and the other tasks go on.
//! - **Groups.** [`JoinSet`](crate::task::JoinSet) owns a set of tasks: `join_next().await`
//!   returns results as they finish, and dropping the set aborts them all.
//! - **Fairness.** Every strand resource spends the task's cooperative budget (128 operations
//!   per turn); once it is spent the resource returns `Pending` after waking the task, so a
//!   task whose sockets are always ready still lets timers and other tasks run.
//!   [`yield_now`](crate::task::yield_now) yields explicitly;
//!   [`unconstrained`](crate::task::unconstrained) opts a future out of the budget.
//! - **Names.** [`task::Builder`](crate::task::Builder) names a task (shown in dumps and traces).
//!
//! ```
//! use std::time::Duration;
//! use strand::task::JoinSet;
//!
//! strand::block_on(async {
//!     let mut set = JoinSet::new();
//!     for ms in [30u64, 10, 20] {
//!         set.spawn(async move {
//!             strand::time::sleep(Duration::from_millis(ms)).await;
//!             ms
//!         });
//!     }
//!     let mut order = Vec::new();
//!     while let Some(res) = set.join_next().await {
//!         order.push(res.unwrap());
//!     }
//!     assert_eq!(order, [10, 20, 30]);
//!
//!     let forever = strand::spawn(std::future::pending::<()>());
//!     forever.abort();
//!     assert!(forever.await.unwrap_err().is_cancelled());
//! });
//! ```
//!
//! ## I/O and networking
//!
//! [`strand::net`](crate::net) has [`TcpListener`](crate::net::TcpListener),
//! [`TcpStream`](crate::net::TcpStream), [`TcpSocket`](crate::net::TcpSocket),
//! [`UdpSocket`](crate::net::UdpSocket) and, on unix, [`UnixListener`](crate::net::UnixListener),
//! [`UnixStream`](crate::net::UnixStream) and [`UnixDatagram`](crate::net::UnixDatagram). They
//! register with the reactor of the runtime they are created in and stay on its thread.
//! Streams implement [`AsyncRead`](crate::io::AsyncRead) and [`AsyncWrite`](crate::io::AsyncWrite)
//! (the `futures-io` traits); [`strand::io`](crate::io) re-exports the extension traits and
//! helpers (`read_exact`, `write_all`, `BufReader`, `copy`, ...), so no other dependency is
//! needed:
//!
//! ```
//! use strand::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//! use strand::net::{TcpListener, TcpStream};
//!
//! strand::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     strand::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         // Read with one half, write with the other, at the same time if need be.
//!         let (read, mut write) = stream.into_split();
//!         let mut read = BufReader::new(read);
//!         let mut line = String::new();
//!         while read.read_line(&mut line).await.unwrap() > 0 {
//!             write.write_all(line.to_uppercase().as_bytes()).await.unwrap();
//!             line.clear();
//!         }
//!     });
//!
//!     let mut client = BufReader::new(TcpStream::connect(addr).await.unwrap());
//!     client.get_mut().write_all(b"hello\n").await.unwrap();
//!     let mut answer = String::new();
//!     client.read_line(&mut answer).await.unwrap();
//!     assert_eq!(answer, "HELLO\n");
//! });
//! ```
//!
//! - **Splitting.** `split()` borrows a stream into a read and a write half (for two futures
//!   in one task); `into_split()` gives owned halves (for two tasks). Dropping an owned write
//!   half shuts down the write side. `&TcpStream` also implements both traits.
//! - **Readiness.** `readable().await` / `writable().await` plus `try_read` / `try_write` let
//!   you do the I/O yourself; `try_*` return `WouldBlock` when the socket is not ready.
//! - **Closing.** `AsyncWriteExt::close` (`poll_close`) and `shutdown(Shutdown::Write)` send
//!   FIN; the peer reads end-of-stream (0) afterwards. Writing to a reset peer returns an error;
//!   strand never lets `SIGPIPE` kill the process.
//! - **Names.** `bind`, `connect` and [`lookup_host`](crate::net::lookup_host) take anything
//!   `ToSocketAddrs`; IP literals resolve in place, host names on the blocking pool.
//! - **Other I/O ecosystems.** With the `tokio-io` feature the stream types and halves also
//!   implement `tokio::io::AsyncRead`/`AsyncWrite`, so tokio-based libraries (tokio-util codecs,
//!   tokio-rustls, ...) run on strand sockets; with the `hyper` feature they implement
//!   `hyper::rt::Read`/`Write` ([below](#using-strand-with-hyper)).
//!
//! ```
//! # #[cfg(feature = "tokio-io")]
//! # {
//! // `tokio-io` feature: a tokio-util codec over a strand socket.
//! use futures_util::{SinkExt, StreamExt};
//! use tokio_util::codec::{Framed, LinesCodec};
//!
//! strand::block_on(async {
//!     let listener = strand::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     strand::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let mut lines = Framed::new(stream, LinesCodec::new());
//!         while let Some(Ok(line)) = lines.next().await {
//!             lines.send(format!("you said: {line}")).await.unwrap();
//!         }
//!     });
//!     let stream = strand::net::TcpStream::connect(addr).await.unwrap();
//!     let mut lines = Framed::new(stream, LinesCodec::new());
//!     lines.send("hi").await.unwrap();
//!     assert_eq!(lines.next().await.unwrap().unwrap(), "you said: hi");
//! });
//! # }
//! ```
//!
//! ## Time
//!
//! [`strand::time`](crate::time) has [`sleep`](crate::time::sleep),
//! [`timeout`](crate::time::timeout) and [`interval`](crate::time::interval), driven by the
//! runtime's timer wheel (millisecond resolution; a timer never fires early).
//! [`Instant`](crate::time::Instant) reads the runtime's clock, which tests can
//! [`pause`](crate::time::pause): a paused clock only moves by
//! [`advance`](crate::time::advance), or by itself to the next timer when every task is idle,
//! so an hour of timeouts is tested in microseconds.
//!
//! ```
//! use std::time::Duration;
//! use strand::time::{interval, sleep, timeout, Instant};
//!
//! // In a test: `#[strand::test(start_paused = true)] async fn ...`.
//! let rt = strand::Runtime::builder().start_paused(true).build().unwrap();
//! rt.block_on(async {
//!     let start = Instant::now();
//!     // The slow operation loses the race against the timeout.
//!     let slow = sleep(Duration::from_secs(3600));
//!     assert!(timeout(Duration::from_secs(60), slow).await.is_err());
//!     assert_eq!(start.elapsed(), Duration::from_secs(60));
//!
//!     let mut every_ten = interval(Duration::from_secs(10));
//!     every_ten.tick().await; // the first tick is immediate
//!     every_ten.tick().await;
//!     assert_eq!(start.elapsed(), Duration::from_secs(70));
//! });
//! ```
//!
//! ## Synchronization
//!
//! [`strand::sync`](crate::sync) has the primitives of tokio's `sync` module —
//! [`mpsc`](crate::sync::mpsc), [`oneshot`](crate::sync::oneshot),
//! [`watch`](crate::sync::watch), [`Mutex`](crate::sync::Mutex),
//! [`RwLock`](crate::sync::RwLock), [`Semaphore`](crate::sync::Semaphore),
//! [`Notify`](crate::sync::Notify) — for tasks of **one** runtime. They use no atomics and
//! no OS locks, and they are `!Send`: to talk to another thread, use `std::sync::mpsc` or
//! [`Handle::spawn`](crate::runtime::Handle::spawn). Waits are FIFO, and cancelling one never
//! loses a queued message, a permit or a wakeup (a cancelled `send` drops the value it carried:
//! see the [table](#cancellation-safety)).
//!
//! ```
//! use std::rc::Rc;
//! use strand::sync::{mpsc, oneshot, Mutex};
//!
//! strand::block_on(async {
//!     // A worker that answers requests, each with its own reply channel.
//!     let (requests, mut inbox) = mpsc::channel::<(u32, oneshot::Sender<u32>)>(16);
//!     strand::spawn(async move {
//!         while let Some((n, reply)) = inbox.recv().await {
//!             let _ = reply.send(n * n);
//!         }
//!     });
//!     let (tx, rx) = oneshot::channel();
//!     requests.send((7, tx)).await.unwrap();
//!     assert_eq!(rx.await.unwrap(), 49);
//!
//!     // A lock that may be held across `.await` (a `RefCell` borrow may not).
//!     let total = Rc::new(Mutex::new(0));
//!     let mut tasks = Vec::new();
//!     for i in 1..=4 {
//!         let total = total.clone();
//!         tasks.push(strand::spawn(async move {
//!             let mut guard = total.lock().await;
//!             strand::task::yield_now().await;
//!             *guard += i;
//!         }));
//!     }
//!     for t in tasks {
//!         t.await.unwrap();
//!     }
//!     assert_eq!(*total.lock().await, 10);
//! });
//! ```
//!
//! A plain `RefCell` is often all you need, as long as no borrow is held across an `.await`;
//! the [`Mutex`](crate::sync::Mutex) is for the cases where it must be.
//!
//! ## Blocking work and other threads
//!
//! Never block the runtime thread. Give blocking calls (file system, a blocking library,
//! heavy computation) to [`spawn_blocking`](crate::spawn_blocking), which runs them on a bounded
//! pool of threads (512 by default; idle threads exit after `thread_keep_alive`) and returns a
//! `JoinHandle` for the result:
//!
//! ```
//! strand::block_on(async {
//!     let digest = strand::spawn_blocking(|| {
//!         // Pretend this is expensive.
//!         (1..=1_000u64).map(|n| n * n).sum::<u64>()
//!     })
//!     .await
//!     .unwrap();
//!     assert_eq!(digest, 333_833_500);
//! });
//! ```
//!
//! Other threads reach a runtime through its [`Handle`](crate::runtime::Handle) (`Send + Sync`):
//! `Handle::spawn` takes a `Send` future and works from any thread; the `JoinHandle` it returns
//! can be awaited there (by another runtime) when the output is `Send`:
//!
//! ```
//! strand::block_on(async {
//!     let handle = strand::runtime::Handle::current();
//!     let answer = std::thread::spawn(move || {
//!         // Another thread, with its own runtime to await on.
//!         strand::block_on(handle.spawn(async { 6 * 7 }))
//!     });
//!     // Let the task run here while that thread waits for it.
//!     while !answer.is_finished() {
//!         strand::time::sleep(std::time::Duration::from_millis(1)).await;
//!     }
//!     assert_eq!(answer.join().unwrap().unwrap(), 42);
//! });
//! ```
//!
//! Wakers are `Send + Sync`: a waker woken from any thread schedules its task on the task's own
//! runtime.
//!
//! ## Using strand with hyper
//!
//! hyper 1.x brings no runtime of its own. With the `hyper` feature:
//!
//! - [`TcpStream`](crate::net::TcpStream) and [`UnixStream`](crate::net::UnixStream) (and their
//!   halves) implement `hyper::rt::Read` and `hyper::rt::Write`, so a stream is handed to hyper
//!   as it is;
//! - `strand::hyper::Executor` is hyper's executor, spawning with no `Send` bound: services and
//!   bodies may be `!Send` (hold `Rc`s, strand channels), with HTTP/2 too;
//! - `strand::hyper::Timer` is hyper's timer (strand sleeps, strand's clock), needed for
//!   `header_read_timeout`, HTTP/2 keep-alive and the like.
//!
//! ```no_run
//! # #[cfg(feature = "hyper")]
//! # {
//! use std::convert::Infallible;
//! use std::time::Duration;
//!
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::server::conn::{http1, http2};
//! use hyper::service::service_fn;
//! use hyper::{Request, Response};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("Hello, world!\n"))))
//! }
//!
//! #[strand::main]
//! async fn main() -> std::io::Result<()> {
//!     let http1_listener = strand::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     let h2c_listener = strand::net::TcpListener::bind("127.0.0.1:3001").await?;
//!     strand::spawn(async move {
//!         loop {
//!             let Ok((stream, _)) = h2c_listener.accept().await else { continue };
//!             strand::spawn(
//!                 http2::Builder::new(strand::hyper::Executor)
//!                     .timer(strand::hyper::Timer)
//!                     .serve_connection(stream, service_fn(hello)),
//!             );
//!         }
//!     });
//!     loop {
//!         let (stream, _) = http1_listener.accept().await?;
//!         strand::spawn(
//!             http1::Builder::new()
//!                 .timer(strand::hyper::Timer)
//!                 .header_read_timeout(Duration::from_secs(10))
//!                 .serve_connection(stream, service_fn(hello)),
//!         );
//!     }
//! }
//! # }
//! ```
//!
//! Clients work the same way: `hyper::client::conn::http1::handshake(stream)` (or
//! `http2::Builder::new(strand::hyper::Executor).handshake(stream)`) returns a sender and a
//! connection future to `strand::spawn`. The `hyper_hello` (HTTP/1, keep-alive, a `!Send`
//! service, a header-read timeout) and `hyper_h2c` (HTTP/2 over cleartext, a streaming `!Send`
//! body) examples are complete servers; `tests/hyper_http.rs` drives them with hyper's client
//! and with `curl`.
//!
//! ## Signals and graceful shutdown
//!
//! On unix, [`strand::signal`](crate::signal) has [`ctrl_c`](crate::signal::ctrl_c) and
//! [`unix::signal`](crate::signal::unix::signal) streams, delivered through the reactor (no
//! helper thread). A server shuts down gracefully by racing its accept loop against ctrl-c,
//! then dropping the listener and waiting for its connections:
//!
//! ```no_run
//! use futures_lite::future;
//! use strand::task::JoinSet;
//!
//! #[strand::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = strand::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     let ctrl_c = strand::signal::ctrl_c(); // listening from here on
//!     let mut connections = JoinSet::new();
//!     let accept_loop = async {
//!         loop {
//!             match listener.accept().await {
//!                 Ok((stream, _)) => {
//!                     connections.spawn(async move { drop(stream) /* serve it */ });
//!                 }
//!                 Err(e) => return Err::<(), _>(e),
//!             }
//!         }
//!     };
//!     future::or(ctrl_c, accept_loop).await?;
//!     drop(listener); // new clients are refused
//!     while connections.join_next().await.is_some() {} // the others finish
//!     Ok(())
//! }
//! ```
//!
//! The `graceful_shutdown` example does this completely: idle connections close at once, a
//! request in progress is finished first, and a second ctrl-c aborts what is left.
//!
//! ## Cancellation safety
//!
//! A future is *cancelled* when it is dropped before it completes: the losing branch of a
//! `select`/`future::or`, a [`timeout`](crate::time::timeout) that fires, an aborted task. An
//! operation is **cancel-safe** when cancelling it loses nothing: no data read and thrown away,
//! no message taken off a queue, no permit or connection swallowed. Then it may be retried in a
//! loop, as in `loop { select(conn.read(&mut buf), shutdown.changed()) }`. The table covers
//! every `async fn` and future strand ships.
//!
//! | operation | cancel-safe | what cancelling means |
//! |---|---|---|
//! | **net** | | |
//! | `TcpListener::accept`, `UnixListener::accept`, their `incoming()` streams | yes | a connection is taken from the kernel only in the poll that returns it |
//! | `read` / `poll_read` on streams and read halves (`AsyncRead`) | yes | bytes are consumed only in the poll that returns them |
//! | `write` / `poll_write` / `poll_write_vectored` (`AsyncWrite`) | yes | bytes are sent only in the poll that reports them |
//! | `flush`, `close` (`poll_close`) | yes | flush has nothing to do; close shuts down the write side in one step |
//! | `TcpStream::peek`, `tcp::ReadHalf::peek`, `tcp::OwnedReadHalf::peek` | yes | peeking consumes nothing |
//! | `readable`, `writable` (streams, halves, datagram sockets) | yes | they only wait |
//! | `UdpSocket`/`UnixDatagram` `send`, `send_to` | yes | nothing was sent (a host name given to `send_to` may have been resolved) |
//! | `UdpSocket`/`UnixDatagram` `recv`, `recv_from`; `UdpSocket::peek`, `peek_from` | yes | no datagram was consumed |
//! | `TcpStream::connect`, `TcpSocket::connect`, `UnixStream::connect` | yes | the half-open socket is closed; nothing was sent |
//! | `TcpListener::bind`, `UdpSocket::bind`, `UdpSocket::connect` | yes | nothing was bound or connected (only name resolution may have run) |
//! | `lookup_host` | yes | the result is dropped; a lookup already running on the blocking pool finishes there |
//! | **io helpers** (`strand::io`, from futures-lite) | | |
//! | `AsyncReadExt::read`, `read_vectored`; `AsyncWriteExt::write`, `write_vectored`, `flush`, `close` | yes | as the `poll_*` methods above |
//! | `read_exact`, `read_to_end`, `read_to_string`, `write_all` | **no** | how much was already transferred is lost with the future |
//! | `AsyncBufReadExt::read_line`, `read_until`, `lines()`, `split()` | **no** | a partly read line is lost |
//! | `io::copy` | **no** | bytes read but not yet written are lost |
//! | **time** | | |
//! | `sleep`, `sleep_until` (`Sleep`) | yes | the timer is cancelled |
//! | `timeout`, `timeout_at` (`Timeout<F>`) | as `F` | the inner future is dropped with it |
//! | `Interval::tick` | yes | a cancelled tick is not consumed |
//! | `time::advance` | yes | the clock moved at the first poll; only the final yield is skipped |
//! | **tasks** | | |
//! | awaiting a `JoinHandle` (by value or `&mut`) | yes | dropping the handle detaches the task (it keeps running); awaiting `&mut handle` keeps the result for the next await |
//! | `JoinSet::join_next` | yes | a finished task's result stays in the set |
//! | `JoinSet::shutdown` | yes | every task is already aborted; the rest are reaped by the next call or when the set drops |
//! | `JoinSet::join_all` | **no** | it owns the set: cancelling drops the set, which aborts the unfinished tasks and loses the finished results |
//! | `yield_now`, `task::consume_budget` | yes | nothing to lose |
//! | **sync** | | |
//! | `mpsc::Receiver::recv`, `recv_many` (bounded and unbounded) | yes | a message leaves the queue only in the poll that returns it |
//! | `mpsc::Sender::send` | **partly** | never sends and holds no slot, but the value is dropped with the future: use `reserve` to keep it |
//! | `mpsc::Sender::reserve`, `reserve_owned`; `Sender::closed`, `UnboundedSender::closed` | yes | no slot is held or lost (a slot handed to a cancelled reserve goes to the next waiter); `reserve_owned` drops the sender it consumed |
//! | `oneshot::Receiver` (awaited by `&mut`) | yes | a value sent meanwhile stays for the next poll or `try_recv` |
//! | `oneshot::Sender::closed` | yes | it only waits |
//! | `Mutex::lock`, `lock_owned`; `RwLock::read`, `write` | yes | the place in the queue is given up; a lock already handed over passes to the next waiter |
//! | `Semaphore::acquire`, `acquire_many`, `acquire_owned`, `acquire_many_owned` | yes | no permit is held or lost |
//! | `Notify::notified` (`Notified`) | yes | a `notify_one` that picked it passes to the next waiter (or is stored) |
//! | `watch::Receiver::changed`, `wait_for`; `watch::Sender::closed` | yes | nothing is marked seen: the change is still reported next time |
//! | **signal** | | |
//! | `signal::ctrl_c`, `unix::Signal::recv` (and its `Stream`) | yes | a signal that arrived stays pending for the next receive |
//!
//! ## Which types are `Send`
//!
//! On one thread most things need not cross threads, so most are `!Send` (the compiler tells
//! you when you try). The exceptions are what other threads need to reach a runtime, and
//! plain data:
//!
//! | type | `Send` | `Sync` |
//! |---|---|---|
//! | [`Runtime`](crate::Runtime), `runtime::EnterGuard` | no | no |
//! | [`runtime::Handle`](crate::runtime::Handle) | yes | yes |
//! | `runtime::Builder`, `task::Builder` | yes | yes |
//! | [`JoinHandle<T>`](crate::task::JoinHandle) | when `T: Send` | when `T: Send` |
//! | [`JoinSet<T>`](crate::task::JoinSet) | when `T: Send` | when `T: Send` |
//! | [`AbortHandle`](crate::task::AbortHandle), [`JoinError`](crate::task::JoinError), [`task::Id`](crate::task::Id) | yes | yes |
//! | every socket type, their halves, `Incoming` | no | no |
//! | `net::SocketAddrs` (from `lookup_host`) | yes | yes |
//! | every `strand::sync` type (channels, their ends and permits, `Mutex`, `RwLock`, `Semaphore`, `Notify`, guards) | no | no |
//! | `sync` error types (`SendError<T>` etc.) | when `T: Send` | when `T: Sync` |
//! | [`Sleep`](crate::time::Sleep), [`Instant`](crate::time::Instant), [`Interval`](crate::time::Interval), `time::error::Elapsed` | yes | yes |
//! | [`Timeout<F>`](crate::time::Timeout) | when `F: Send` | when `F: Sync` |
//! | `signal::CtrlC`, `signal::unix::Signal` | no | no |
//! | `signal::unix::SignalKind` | yes | yes |
//! | `hyper::Executor`, `hyper::Timer` (feature `hyper`) | yes | yes |
//! | `Waker`s of strand tasks | yes | yes |
//!
//! The positive entries, checked:
//!
//! ```
//! fn send_sync<T: Send + Sync>() {}
//! send_sync::<strand::runtime::Handle>();
//! send_sync::<strand::runtime::Builder>();
//! send_sync::<strand::task::Builder<'static>>();
//! send_sync::<strand::task::JoinHandle<u32>>();
//! send_sync::<strand::task::AbortHandle>();
//! send_sync::<strand::task::JoinError>();
//! send_sync::<strand::task::Id>();
//! send_sync::<strand::net::SocketAddrs>();
//! send_sync::<strand::time::Sleep>();
//! send_sync::<strand::time::Instant>();
//! send_sync::<strand::time::Interval>();
//! send_sync::<strand::time::error::Elapsed>();
//! send_sync::<strand::time::Timeout<strand::time::Sleep>>();
//! send_sync::<strand::sync::mpsc::error::SendError<u32>>();
//! send_sync::<strand::signal::unix::SignalKind>();
//! send_sync::<strand::task::JoinSet<u32>>();
//! ```
//!
//! and two of the negative ones (each type's own docs check the rest):
//!
//! ```compile_fail
//! fn send<T: Send>() {}
//! send::<strand::net::TcpStream>();
//! ```
//!
//! ```compile_fail
//! fn send<T: Send>() {}
//! send::<strand::sync::Mutex<u32>>();
//! ```
