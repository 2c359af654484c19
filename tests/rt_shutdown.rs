//! Dropping a runtime: every future dropped exactly once, on the runtime thread, inside the
//! runtime context; handles outside resolve cancelled; wakers outliving it are no-ops.

use std::cell::{Cell, RefCell};
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use strand::task::JoinHandle;
use strand::Runtime;

/// Counts its drops and checks where they happen.
struct DropProbe {
    drops: Rc<Cell<usize>>,
    thread: ThreadId,
    wrong_thread: Rc<Cell<bool>>,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        if thread::current().id() != self.thread {
            self.wrong_thread.set(true);
        }
    }
}

#[test]
fn ten_thousand_live_tasks_are_dropped_once_on_the_runtime_thread() {
    const TASKS: usize = 10_000;
    let drops = Rc::new(Cell::new(0));
    let wrong_thread = Rc::new(Cell::new(false));
    let rt = Runtime::new().unwrap();
    let mut handles = Vec::with_capacity(TASKS);
    rt.block_on(async {
        for _ in 0..TASKS {
            let probe = DropProbe {
                drops: drops.clone(),
                thread: thread::current().id(),
                wrong_thread: wrong_thread.clone(),
            };
            handles.push(strand::spawn(async move {
                let _probe = probe;
                pending::<()>().await;
            }));
        }
        // Let the first batch of tasks start and park; the rest are dropped unpolled.
        strand::task::yield_now().await;
    });
    assert_eq!(
        drops.get(),
        0,
        "no task may be dropped while the runtime lives"
    );
    let started = Instant::now();
    drop(rt);
    let took = started.elapsed();
    assert_eq!(drops.get(), TASKS, "each future dropped exactly once");
    assert!(
        !wrong_thread.get(),
        "futures must be dropped on the runtime thread"
    );
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    // Every handle outside resolves to a cancelled error.
    for h in handles {
        let e = futures_lite::future::block_on(h).unwrap_err();
        assert!(e.is_cancelled());
    }
}

#[test]
fn pending_handle_outside_resolves_cancelled_after_drop() {
    let rt = Runtime::new().unwrap();
    let h = rt.spawn(pending::<u8>());
    rt.block_on(strand::task::yield_now());
    drop(rt);
    let e = futures_lite::future::block_on(h).unwrap_err();
    assert!(e.is_cancelled(), "{e:?}");
    // A task that never got polled resolves cancelled too.
    let rt = Runtime::new().unwrap();
    let h = rt.spawn(async { 1 });
    drop(rt);
    assert!(futures_lite::future::block_on(h)
        .unwrap_err()
        .is_cancelled());
}

/// A Drop that spawns, makes timers and sockets while the runtime shuts down.
struct SpawnsOnDrop {
    spawned: Rc<RefCell<Option<JoinHandle<()>>>>,
    ran: Rc<Cell<bool>>,
}

impl Drop for SpawnsOnDrop {
    fn drop(&mut self) {
        // None of this may panic: the runtime context is still entered.
        let h = strand::spawn(async {});
        *self.spawned.borrow_mut() = Some(h);
        let _sleep = strand::time::sleep(Duration::from_secs(1));
        let _ = strand::runtime::Handle::current();
        self.ran.set(true);
    }
}

#[test]
fn drops_during_shutdown_run_inside_the_context_and_late_spawns_are_cancelled() {
    let spawned = Rc::new(RefCell::new(None));
    let ran = Rc::new(Cell::new(false));
    let rt = Runtime::new().unwrap();
    let guard = SpawnsOnDrop {
        spawned: spawned.clone(),
        ran: ran.clone(),
    };
    rt.spawn(async move {
        let _g = guard;
        pending::<()>().await;
    });
    rt.block_on(strand::task::yield_now());
    drop(rt);
    assert!(ran.get());
    let h = spawned
        .borrow_mut()
        .take()
        .expect("the drop spawned a task");
    let e = futures_lite::future::block_on(h).unwrap_err();
    assert!(e.is_cancelled());
}

/// A future that parks and hands its waker out.
struct Parks(Arc<Mutex<Option<Waker>>>);

impl Future for Parks {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_waker_outliving_the_runtime_is_a_harmless_no_op() {
    let slot = Arc::new(Mutex::new(None));
    let rt = Runtime::new().unwrap();
    rt.spawn(Parks(slot.clone()));
    rt.block_on(strand::task::yield_now());
    drop(rt);
    let waker = slot.lock().unwrap().take().expect("the task parked");
    waker.wake_by_ref();
    let w2 = waker.clone();
    thread::spawn(move || w2.wake()).join().unwrap();
    waker.wake();
}

#[test]
fn shutdown_timeout_waits_for_blocking_jobs_and_drop_does_not() {
    let done = Arc::new(Mutex::new(false));
    let rt = Runtime::new().unwrap();
    let d = done.clone();
    rt.block_on(async move {
        strand::spawn_blocking(move || {
            thread::sleep(Duration::from_millis(100));
            *d.lock().unwrap() = true;
        });
        // Make sure the job started.
        strand::time::sleep(Duration::from_millis(10)).await;
    });
    rt.shutdown_timeout(Duration::from_secs(10));
    assert!(
        *done.lock().unwrap(),
        "shutdown_timeout waits for running jobs"
    );

    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        strand::spawn_blocking(|| thread::sleep(Duration::from_millis(500)));
        strand::time::sleep(Duration::from_millis(10)).await;
    });
    let t = Instant::now();
    drop(rt);
    assert!(
        t.elapsed() < Duration::from_millis(400),
        "drop must not wait for a running blocking job"
    );
}
