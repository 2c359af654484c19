//! Abort: destructors before `Err(cancelled)`, from any thread, after completion, detached.

mod util;

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread;

use strand_executor::task;
use util::{block_on, drain, executor, run_until, DropLog, DropProbe};

#[test]
fn abort_runs_destructors_before_err_cancelled() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let log = Rc::new(std::cell::RefCell::new(Vec::new()));
    struct Log(Rc<std::cell::RefCell<Vec<&'static str>>>);
    impl Drop for Log {
        fn drop(&mut self) {
            self.0.borrow_mut().push("victim dropped");
        }
    }
    let probe = Log(log.clone());
    let victim = task::spawn(async move {
        let _probe = probe;
        pending::<()>().await;
    });
    let abort = victim.abort_handle();
    let l = log.clone();
    let waiter = task::spawn(async move {
        let res = victim.await;
        l.borrow_mut().push("handle resolved");
        res.unwrap_err().is_cancelled()
    });
    drain(&exec);
    assert!(log.borrow().is_empty());
    abort.abort();
    assert!(
        log.borrow().is_empty(),
        "abort itself never drops the future"
    );
    drain(&exec);
    assert_eq!(*log.borrow(), ["victim dropped", "handle resolved"]);
    assert!(block_on(waiter).unwrap());
    assert!(abort.is_finished());
}

#[test]
fn abort_from_another_thread_drops_on_the_executor_thread() {
    let (exec, parker) = executor();
    let log = Arc::new(DropLog::default());
    let probe = DropProbe(Arc::clone(&log));
    // A !Send future: it holds an Rc.
    let rc = Rc::new(());
    let handle = exec.spawn(async move {
        let _probe = probe;
        let _rc = rc;
        pending::<()>().await;
    });
    drain(&exec);
    let abort = handle.abort_handle();
    thread::spawn(move || abort.abort()).join().unwrap();
    assert_eq!(log.count(), 0, "not dropped on the aborting thread");
    run_until(&exec, &parker, || handle.is_finished());
    assert_eq!(log.count(), 1);
    assert!(log.all_on(thread::current().id()));
    assert!(block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let (exec, _) = executor();
    let h = exec.spawn(async { 7 });
    drain(&exec);
    h.abort();
    h.abort_handle().abort();
    drain(&exec);
    assert_eq!(block_on(h).unwrap(), 7);
}

#[test]
fn abort_of_a_detached_task_still_drops_its_future() {
    let (exec, _) = executor();
    let log = Arc::new(DropLog::default());
    let probe = DropProbe(Arc::clone(&log));
    let h = exec.spawn(async move {
        let _probe = probe;
        pending::<()>().await;
    });
    let abort = h.abort_handle();
    drop(h);
    drain(&exec);
    assert_eq!(log.count(), 0);
    abort.abort();
    drain(&exec);
    assert_eq!(log.count(), 1);
    assert!(abort.is_finished());
    assert_eq!(exec.metrics().tasks_alive, 0);
}

#[test]
fn abort_before_first_poll_never_polls() {
    let (exec, _) = executor();
    let polled = Rc::new(Cell::new(false));
    let p = polled.clone();
    let h = exec.spawn(async move { p.set(true) });
    h.abort();
    drain(&exec);
    assert!(!polled.get());
    assert!(block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn a_task_aborting_itself_is_cancelled_after_its_poll() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let slot: Rc<Cell<Option<task::AbortHandle>>> = Rc::new(Cell::new(None));
    let s = slot.clone();
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let h = task::spawn(async move {
        p.set(p.get() + 1);
        s.take().unwrap().abort();
        // Still running this poll; pending forever after.
        pending::<()>().await;
    });
    slot.set(Some(h.abort_handle()));
    drain(&exec);
    assert_eq!(polls.get(), 1);
    assert!(block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn task_id_is_set_while_an_aborted_future_is_dropped() {
    let (exec, _) = executor();
    let seen = Rc::new(Cell::new(None));
    struct IdOnDrop(Rc<Cell<Option<task::Id>>>);
    impl Drop for IdOnDrop {
        fn drop(&mut self) {
            self.0.set(task::try_id());
        }
    }
    let probe = IdOnDrop(seen.clone());
    let h = exec.spawn(async move {
        let _probe = probe;
        pending::<()>().await;
    });
    drain(&exec);
    h.abort();
    drain(&exec);
    assert_eq!(seen.get(), Some(h.id()));
}

#[test]
fn abort_while_another_thread_awaits_the_handle() {
    let (exec, parker) = executor();
    let h = exec.spawn(pending::<u32>());
    let abort = h.abort_handle();
    drain(&exec);
    let waiter = thread::spawn(move || block_on(h));
    // Let the waiter register its waker, then abort from a third thread.
    thread::sleep(std::time::Duration::from_millis(10));
    thread::spawn(move || abort.abort()).join().unwrap();
    let done = Arc::new(Mutex::new(None));
    let d = Arc::clone(&done);
    let joiner = thread::spawn(move || *d.lock().unwrap() = Some(waiter.join().unwrap()));
    run_until(&exec, &parker, || joiner.is_finished());
    joiner.join().unwrap();
    assert!(done
        .lock()
        .unwrap()
        .take()
        .unwrap()
        .unwrap_err()
        .is_cancelled());
}

#[test]
fn blocking_jobs_ignore_abort() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let gate = Arc::new(std::sync::Barrier::new(2));
    let g = Arc::clone(&gate);
    let mut h = task::spawn_blocking(move || {
        g.wait();
        5
    });
    h.abort();
    h.abort_handle().abort();
    gate.wait();
    assert_eq!(block_on(&mut h).unwrap(), 5);
}
