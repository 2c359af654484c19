//! Runtime basics: block_on, spawn, handles, nested block_on, misuse messages.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use strand::runtime::Handle;
use strand::task::{self, JoinHandle};
use strand::Runtime;

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic>")
    }
}

#[test]
fn block_on_returns_the_output() {
    let rt = Runtime::new().unwrap();
    assert_eq!(rt.block_on(async { 40 + 2 }), 42);
    // The runtime is reusable.
    assert_eq!(rt.block_on(async { "again" }), "again");
}

#[test]
fn spawned_tasks_need_no_send() {
    let v = strand::block_on(async {
        let shared = Rc::new(Cell::new(0));
        let mut handles = Vec::new();
        for i in 0..10 {
            let s = shared.clone();
            handles.push(strand::spawn(async move {
                s.set(s.get() + i);
                i * 2
            }));
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        (sum, shared.get())
    });
    assert_eq!(v, (90, 45));
}

#[test]
fn runtime_spawn_outside_block_on_runs_when_driven() {
    let rt = Runtime::new().unwrap();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let h = rt.spawn(async move {
        r.set(true);
        5
    });
    assert!(
        !ran.get(),
        "a task must not run before the runtime is driven"
    );
    assert_eq!(rt.block_on(h).unwrap(), 5);
    assert!(ran.get());
}

#[test]
fn spawn_outside_runtime_panics_with_a_clear_message() {
    let err = catch_unwind(|| {
        drop(strand::spawn(async {}));
    })
    .unwrap_err();
    let msg = panic_message(&*err);
    assert!(
        msg.contains("`strand::spawn` called outside of a strand runtime"),
        "unexpected message: {msg}"
    );
}

#[test]
fn handle_current_outside_runtime_panics_naming_the_entry_points() {
    assert!(Handle::try_current().is_none());
    let err = catch_unwind(Handle::current).unwrap_err();
    let msg = panic_message(&*err);
    assert!(msg.contains("#[strand::main]"), "unexpected message: {msg}");
    assert!(msg.contains("block_on"), "unexpected message: {msg}");
}

#[test]
fn handle_spawns_send_futures_from_another_thread() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let out = rt.block_on(async move {
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let h: JoinHandle<u32> = handle.spawn(async { 11 });
            // The JoinHandle is Send: this thread awaits it while the runtime runs the task.
            let v = futures_lite::future::block_on(h).unwrap();
            tx.send(v).unwrap();
        });
        let v = loop {
            if let Ok(v) = rx.try_recv() {
                break v;
            }
            strand::time::sleep(Duration::from_millis(1)).await;
        };
        t.join().unwrap();
        v
    });
    assert_eq!(out, 11);
}

#[test]
fn handle_current_inside_spawns() {
    let v = strand::block_on(async {
        let h = Handle::current();
        h.spawn(async { 3 }).await.unwrap()
    });
    assert_eq!(v, 3);
}

#[test]
fn nested_block_on_panics_and_leaves_the_runtime_usable() {
    let rt = Runtime::new().unwrap();
    let out = rt.block_on(async {
        let inner = Runtime::new().unwrap();
        let err = catch_unwind(AssertUnwindSafe(|| inner.block_on(async { 1 }))).unwrap_err();
        let msg = panic_message(&*err);
        assert!(
            msg.contains("within a runtime"),
            "unexpected message: {msg}"
        );

        // The same misuse inside a task is caught by the task.
        let h = strand::spawn(async { strand::block_on(async { 2 }) });
        let e = h.await.unwrap_err();
        assert!(e.is_panic());

        // Everything still works afterwards.
        strand::time::sleep(Duration::from_millis(1)).await;
        strand::spawn(async { 7 }).await.unwrap()
    });
    assert_eq!(out, 7);
    assert_eq!(rt.block_on(async { 8 }), 8);
}

#[test]
fn task_ids_are_unique_and_visible_inside_tasks() {
    assert!(task::try_id().is_none());
    strand::block_on(async {
        let a = strand::spawn(async { task::id() });
        let b = strand::spawn(async { task::id() });
        let (ida, idb) = (a.id(), b.id());
        assert_ne!(ida, idb);
        assert_eq!(a.await.unwrap(), ida);
        assert_eq!(b.await.unwrap(), idb);
        assert_eq!(format!("{ida}"), format!("{}", ida));
    });
}

#[test]
fn yield_now_is_strict_round_robin() {
    let order = strand::block_on(async {
        let log = Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut hs = Vec::new();
        for name in ["a", "b", "c"] {
            let log = log.clone();
            hs.push(strand::spawn(async move {
                for i in 0..3 {
                    log.borrow_mut().push(format!("{name}{i}"));
                    task::yield_now().await;
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        let v = log.borrow().clone();
        v
    });
    assert_eq!(
        order,
        ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    );
}

#[test]
fn builder_setters_chain_on_a_temporary() {
    let rt = Runtime::builder()
        .event_interval(7)
        .max_blocking_threads(2)
        .thread_keep_alive(Duration::from_millis(100))
        .start_paused(false)
        .build()
        .unwrap();
    assert_eq!(rt.block_on(async { 1 }), 1);
}

#[test]
fn join_handle_is_send_when_output_is_send() {
    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send::<JoinHandle<u32>>();
    assert_send_sync::<task::AbortHandle>();
    assert_send_sync::<Handle>();
    assert_send_sync::<task::JoinError>();
}
