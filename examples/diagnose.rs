//! Three bugs that make an async service go quiet, and what strand says about each:
//!
//! 1. **A lock cycle**: two tasks take two locks in opposite orders. The runtime finds the
//!    cycle in its wait-for graph as soon as the second task blocks and reports both tasks
//!    (names, spawn locations) and both locks (where they were created).
//! 2. **A blocking call on the runtime thread**: a task calls `std::thread::sleep`. With a
//!    slow-poll threshold the watchdog thread reports it *while* it blocks, naming the task.
//! 3. **A lost wakeup**: a hand-written future returns `Pending` without keeping its waker.
//!    The runtime proves that nothing can ever wake it (no I/O, no timer, no blocking job, no
//!    handle, every waker accounted for) and reports a hang with a dump of every task.
//!
//! Run: `cargo run --example diagnose`
//!
//! In tests, `#[strand::test]` turns reports 1 and 3 into test failures instead of hangs.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::time::Duration;

use strand::runtime::Handle;
use strand::sync::Mutex;
use strand::task::{yield_now, Builder};

fn main() {
    lock_cycle();
    blocking_call();
    lost_wakeup();
}

fn lock_cycle() {
    println!("=== 1. a lock cycle ===\n");
    let reported = Arc::new(AtomicBool::new(false));
    let flag = reported.clone();
    let rt = strand::Runtime::builder()
        .on_deadlock(move |report| {
            println!("{report}");
            flag.store(true, Ordering::SeqCst);
        })
        .build()
        .expect("runtime");
    rt.block_on(async {
        let accounts = Rc::new(Mutex::new(vec![100u64, 50]));
        let audit_log = Rc::new(Mutex::new(Vec::<String>::new()));

        let (a, l) = (accounts.clone(), audit_log.clone());
        let transfer = Builder::new()
            .name("transfer")
            .spawn(async move {
                let mut accounts = a.lock().await;
                yield_now().await; // ... some async work while holding the lock ...
                let mut log = l.lock().await;
                accounts[0] -= 10;
                log.push("moved 10".into());
            })
            .expect("spawn");
        let (a, l) = (accounts.clone(), audit_log.clone());
        let audit = Builder::new()
            .name("audit")
            .spawn(async move {
                let log = l.lock().await;
                yield_now().await;
                let accounts = a.lock().await; // opposite order: deadlock
                println!("{} entries, {:?}", log.len(), *accounts);
            })
            .expect("spawn");
        // A real service would hang here. The report comes at once; then stop both tasks.
        while !reported.load(Ordering::SeqCst) {
            strand::time::sleep(Duration::from_millis(5)).await;
        }
        transfer.abort();
        audit.abort();
    });
}

fn blocking_call() {
    println!("=== 2. a blocking call on the runtime thread ===\n");
    let rt = strand::Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(50))
        .on_slow_poll(|report| println!("{report}\n"))
        .build()
        .expect("runtime");
    rt.block_on(async {
        Builder::new()
            .name("config-reload")
            .spawn(async {
                // Should have been `strand::spawn_blocking` (or an async read).
                std::thread::sleep(Duration::from_millis(300));
            })
            .expect("spawn")
            .await
            .expect("task");
    });
    println!("metrics: {:?}\n", rt.metrics());
}

/// Returns `Pending` until the flag is set, but never stores the waker: whoever sets the flag
/// has no way to wake the task.
struct WaitForFlag(Rc<std::cell::Cell<bool>>);

impl Future for WaitForFlag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0.get() {
            Poll::Ready(())
        } else {
            Poll::Pending // bug: `cx.waker()` is dropped on the floor
        }
    }
}

fn lost_wakeup() {
    println!("=== 3. a lost wakeup ===\n");
    let (tx, rx) = mpsc::channel::<String>();
    // The runtime thread will wait forever (that is the bug); the report comes to us.
    std::thread::spawn(move || {
        let rt = strand::Runtime::builder()
            .on_deadlock(move |report| {
                let _ = tx.send(report.to_string());
            })
            .build()
            .expect("runtime");
        rt.block_on(async {
            let flag = Rc::new(std::cell::Cell::new(false));
            let waiter = Builder::new()
                .name("waiter")
                .spawn(WaitForFlag(flag.clone()))
                .expect("spawn");
            let setter = Builder::new()
                .name("setter")
                .spawn(async move {
                    strand::time::sleep(Duration::from_millis(20)).await;
                    flag.set(true); // nobody is woken
                })
                .expect("spawn");
            setter.await.expect("setter");
            println!("(dump while it waits)\n{}", Handle::current().dump());
            waiter.await.expect("waiter");
        });
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(report) => println!("{report}"),
        Err(_) => println!("no report (unexpected)"),
    }
}
