//! Panics are caught per task and never reach the executor, other tasks or handle drops.

mod util;

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;

use strand_executor::task;
use util::{block_on, drain, executor};

#[test]
fn a_panicking_task_leaves_the_others_running() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let before = task::spawn(async { 1 });
    let boom = task::spawn(async {
        task::yield_now().await;
        panic!("boom");
    });
    let after = task::spawn(async {
        task::yield_now().await;
        task::yield_now().await;
        2
    });
    drain(&exec);
    assert_eq!(block_on(before).unwrap(), 1);
    assert_eq!(block_on(after).unwrap(), 2);
    let id = boom.id();
    let err = block_on(boom).unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(err.id(), id);
    assert!(err.to_string().contains("boom"), "{err}");
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
    // The executor keeps working.
    let later = task::spawn(async { 3 });
    drain(&exec);
    assert_eq!(block_on(later).unwrap(), 3);
}

#[test]
fn dropping_the_handle_of_a_panicked_task_does_not_panic() {
    let (exec, _) = executor();
    let h = exec.spawn(async { panic!("not re-raised") });
    drain(&exec);
    assert!(h.is_finished());
    drop(h);
    let detached = exec.spawn(async { panic!("detached panic") });
    drop(detached);
    drain(&exec);
    assert_eq!(exec.metrics().tasks_alive, 0);
}

struct PanicOnDrop;
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("output drop panics");
    }
}

#[test]
fn output_drop_panic_is_contained_when_the_handle_is_dropped() {
    let (exec, _) = executor();
    let h = exec.spawn(async { PanicOnDrop });
    drain(&exec);
    drop(h); // must not unwind into the test
}

#[test]
fn output_drop_panic_is_contained_for_detached_tasks() {
    let (exec, _) = executor();
    let h = exec.spawn(async {
        task::yield_now().await;
        PanicOnDrop
    });
    drop(h);
    drain(&exec); // the executor drops the output itself
    let other = exec.spawn(async { 1 });
    drain(&exec);
    assert_eq!(block_on(other).unwrap(), 1);
}

#[test]
fn future_drop_panic_on_abort_becomes_err_panic() {
    let (exec, _) = executor();
    let h = exec.spawn(async {
        let _p = PanicOnDrop;
        pending::<()>().await;
    });
    drain(&exec);
    h.abort();
    drain(&exec);
    let err = block_on(h).unwrap_err();
    assert!(err.is_panic());
}

#[test]
fn future_drop_panic_at_shutdown_is_contained() {
    let (exec, _) = executor();
    let log = Rc::new(Cell::new(0));
    let h1 = exec.spawn(async {
        let _p = PanicOnDrop;
        pending::<()>().await;
    });
    let l = log.clone();
    struct Count(Rc<Cell<u32>>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let h2 = exec.spawn(async move {
        let _c = Count(l);
        pending::<()>().await;
    });
    drain(&exec);
    exec.shutdown();
    assert_eq!(log.get(), 1, "the other task was still dropped");
    assert!(block_on(h1).unwrap_err().is_panic());
    assert!(block_on(h2).unwrap_err().is_cancelled());
}

#[test]
fn panic_in_the_poll_after_ready_drop_panics() {
    // The future completes but panics while being dropped: Err(panic), output discarded.
    struct Fut {
        _guard: PanicOnDrop,
    }
    impl std::future::Future for Fut {
        type Output = u8;
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<u8> {
            std::task::Poll::Ready(1)
        }
    }
    let (exec, _) = executor();
    let h = exec.spawn(Fut {
        _guard: PanicOnDrop,
    });
    drain(&exec);
    assert!(block_on(h).unwrap_err().is_panic());
}

#[test]
fn panic_payload_of_any_type() {
    let (exec, _) = executor();
    let h = exec.spawn(async { std::panic::panic_any(42u64) });
    drain(&exec);
    let err = block_on(h).unwrap_err();
    assert!(format!("{err:?}").starts_with("JoinError::Panic"));
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    let h = exec.spawn(async { std::panic::panic_any(42u64) });
    drain(&exec);
    let payload = block_on(h).unwrap_err().try_into_panic().unwrap();
    assert_eq!(*payload.downcast::<u64>().unwrap(), 42);
}
