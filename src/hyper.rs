//! Running [hyper](https://docs.rs/hyper/1) on strand (feature `hyper`).
//!
//! hyper 1.x is runtime-agnostic: it reads and writes through `hyper::rt::Read`/`Write`,
//! spawns background work (HTTP/2 streams and connection tasks) through a
//! `hyper::rt::Executor`, and sets timeouts through a `hyper::rt::Timer`. With the `hyper`
//! feature strand provides all three:
//!
//! - [`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream), their
//!   shared references and their split halves implement `hyper::rt::Read` and
//!   `hyper::rt::Write` directly, so they are handed to hyper as they are;
//! - [`Executor`] spawns onto the current strand runtime with [`spawn`](crate::spawn): no
//!   `Send` bound, so services, bodies and futures that hold `Rc`s or strand's
//!   [`sync`](crate::sync) types work with HTTP/2 too;
//! - [`Timer`] implements hyper's timers with [`time::Sleep`] on the
//!   runtime's timer wheel, and reads the time from strand's clock (so a
//!   [paused](crate::time::pause) clock drives hyper's timeouts as well).
//!
//! An HTTP/1 server whose service is `!Send` (it counts requests in an `Rc<Cell<_>>`), with a
//! header-read timeout:
//!
//! ```no_run
//! use std::cell::Cell;
//! use std::convert::Infallible;
//! use std::rc::Rc;
//! use std::time::Duration;
//!
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//!
//! #[strand::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = strand::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         let served = Rc::new(Cell::new(0u64));
//!         let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
//!             let served = served.clone();
//!             async move {
//!                 served.set(served.get() + 1);
//!                 let body = format!("request {} on this connection\n", served.get());
//!                 Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
//!             }
//!         });
//!         strand::spawn(async move {
//!             let conn = hyper::server::conn::http1::Builder::new()
//!                 .timer(strand::hyper::Timer)
//!                 .header_read_timeout(Duration::from_secs(10))
//!                 .serve_connection(stream, service);
//!             if let Err(e) = conn.await {
//!                 eprintln!("connection error: {e}");
//!             }
//!         });
//!     }
//! }
//! ```
//!
//! For HTTP/2 hand the executor to the builder:
//! `hyper::server::conn::http2::Builder::new(strand::hyper::Executor).timer(strand::hyper::Timer)`.
//! The `hyper_hello` and `hyper_h2c` examples are complete servers.
//!
//! Both types must be used on a thread that runs a strand runtime: [`Executor`] spawns onto
//! the current runtime (and panics outside one, as [`spawn`](crate::spawn) does), and the
//! sleeps [`Timer`] creates register with the timer wheel of the runtime that polls them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::time::{self, Instant, Sleep};

/// A `hyper::rt::Executor` that spawns onto the current strand runtime.
///
/// Unlike executors for work-stealing runtimes it needs no `Send` bound: every future hyper
/// hands it runs on the runtime's own thread, so `!Send` services and bodies are fine.
///
/// ```
/// use hyper::rt::Executor as _;
///
/// strand::block_on(async {
///     let (tx, rx) = strand::sync::oneshot::channel();
///     // The future holds an `Rc`: it is not `Send`, and that is fine.
///     let shared = std::rc::Rc::new(7);
///     strand::hyper::Executor.execute(async move {
///         tx.send(*shared * 6).unwrap();
///     });
///     assert_eq!(rx.await.unwrap(), 42);
/// });
/// ```
///
/// # Panics
/// `execute` panics when called outside a strand runtime.
#[derive(Clone, Copy, Default, Debug)]
pub struct Executor;

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + 'static,
{
    #[track_caller]
    fn execute(&self, future: F) {
        // Detached: hyper tracks completion itself (through the futures it spawns).
        drop(crate::spawn(future));
    }
}

/// A `hyper::rt::Timer` backed by strand's timer wheel.
///
/// Its sleeps are [`time::Sleep`]s, and [`reset`](hyper::rt::Timer::reset) moves a strand
/// sleep that hyper hands back in place instead of allocating a new one. [`now`](hyper::rt::Timer::now)
/// is strand's clock ([`time::Instant::now`]), so deadlines hyper computes follow a paused
/// clock.
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer as _;
///
/// strand::block_on(async {
///     let timer = strand::hyper::Timer;
///     let start = timer.now();
///     let mut sleep = timer.sleep(Duration::from_secs(3600));
///     // Pull the deadline in: the same sleep is reused.
///     timer.reset(&mut sleep, start + Duration::from_millis(5));
///     sleep.await;
///     assert!(timer.now() >= start + Duration::from_millis(5));
/// });
/// ```
#[derive(Clone, Copy, Default, Debug)]
pub struct Timer;

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(time::sleep(duration))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(time::sleep_until(Instant::from(deadline)))
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(ours) => ours.reset(Instant::from(new_deadline)),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

impl hyper::rt::Sleep for Sleep {}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer as _;

    fn assert_send_sync_copy<T: Send + Sync + Copy + Default + std::fmt::Debug + 'static>() {}

    #[test]
    fn unit_structs_are_send_sync_copy() {
        assert_send_sync_copy::<Executor>();
        assert_send_sync_copy::<Timer>();
    }

    #[test]
    fn reset_reuses_a_strand_sleep() {
        crate::block_on(async {
            let timer = Timer;
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            let before: *const dyn hyper::rt::Sleep = &*sleep;
            let deadline = timer.now() + Duration::from_millis(2);
            timer.reset(&mut sleep, deadline);
            let after: *const dyn hyper::rt::Sleep = &*sleep;
            assert!(
                std::ptr::addr_eq(before, after),
                "reset allocated a new sleep"
            );
            let ours = sleep.as_mut().downcast_mut_pin::<Sleep>().unwrap();
            assert_eq!(ours.deadline().into_std(), deadline);
            sleep.await;
            assert!(timer.now() >= deadline);
        });
    }

    /// A sleep that is not strand's is replaced by one that is.
    #[test]
    fn reset_replaces_a_foreign_sleep() {
        struct Foreign;
        impl Future for Foreign {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
                std::task::Poll::Pending
            }
        }
        impl hyper::rt::Sleep for Foreign {}

        crate::block_on(async {
            let timer = Timer;
            let mut sleep: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
            let deadline = timer.now() + Duration::from_millis(1);
            timer.reset(&mut sleep, deadline);
            assert!(sleep.is::<Sleep>());
            sleep.await;
            assert!(timer.now() >= deadline);
        });
    }

    #[test]
    fn now_follows_the_paused_clock() {
        crate::block_on(async {
            crate::time::pause();
            let timer = Timer;
            let start = timer.now();
            crate::time::advance(Duration::from_secs(3600)).await;
            assert!(timer.now() >= start + Duration::from_secs(3600));
            // A one-hour hyper sleep completes at once on the paused clock (auto-advance).
            timer.sleep(Duration::from_secs(3600)).await;
            assert!(timer.now() >= start + Duration::from_secs(7200));
        });
    }
}
