//! `#[strand::test]` run for real: every supported shape, and what each generated test does
//! (a fresh runtime per call, dropped at the end; `Err` and panics reach the harness).
//!
//! A few cases declare a `#[strand::test]` inside an ordinary `#[test]` and call the generated
//! function directly, to check what it returns or how it panics; the harness never collects
//! such nested tests (hence `allow(unnameable_test_items)` on the outer test).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use strand::runtime::Handle;

#[strand::test]
async fn the_body_runs_inside_a_runtime() {
    assert!(Handle::try_current().is_some());
    let task = strand::spawn(async { 6 * 7 });
    assert_eq!(task.await.unwrap(), 42);
}

#[strand::test]
async fn a_test_may_return_ok() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = "21".parse()?;
    let doubled = strand::spawn(async move { n * 2 }).await?;
    assert_eq!(doubled, 42);
    Ok(())
}

#[strand::test]
#[should_panic(expected = "boom from a strand test")]
async fn should_panic_sees_the_panic_of_the_body() {
    strand::task::yield_now().await;
    panic!("boom from a strand test");
}

#[strand::test(start_paused = true)]
async fn start_paused_starts_the_clock_paused() {
    let start = strand::time::Instant::now();
    let wall = std::time::Instant::now();
    strand::time::sleep(Duration::from_secs(3600)).await;
    assert!(start.elapsed() >= Duration::from_secs(3600));
    // Not a speed check: an unpaused clock would have taken the full hour.
    assert!(wall.elapsed() < Duration::from_secs(1800));
}

#[strand::test(start_paused = false)]
async fn start_paused_false_keeps_the_real_clock() {
    let wall = std::time::Instant::now();
    strand::time::sleep(Duration::from_millis(20)).await;
    assert!(wall.elapsed() >= Duration::from_millis(20));
}

#[strand::test]
async fn the_clock_is_real_by_default() {
    let wall = std::time::Instant::now();
    strand::time::sleep(Duration::from_millis(20)).await;
    assert!(wall.elapsed() >= Duration::from_millis(20));
}

mod reexport {
    pub use ::strand as rt;
}
use strand as strand_alias;

#[strand::test(crate = "reexport::rt")]
async fn crate_path_through_a_reexport() {
    assert!(reexport::rt::runtime::Handle::try_current().is_some());
}

#[strand::test(crate = "strand_alias", start_paused = true)]
async fn crate_path_through_an_alias_with_other_options() {
    let start = strand_alias::time::Instant::now();
    strand_alias::time::sleep(Duration::from_secs(60)).await;
    assert!(start.elapsed() >= Duration::from_secs(60));
}

#[strand::test(crate = "::strand")]
async fn crate_path_with_leading_colons() {
    strand::task::yield_now().await;
}

#[strand::test]
#[allow(unused_variables)] // kept on the generated fn: clippy -D warnings would fail otherwise
async fn other_attributes_are_kept() {
    let unused = 1;
}

#[strand::test]
async fn inner_attributes_stay_at_the_top() {
    #![allow(unused_variables)]
    let unused = 1;
}

// Compiles only because `#[cfg]` stays on the generated test: the body names nothing real.
#[strand::test]
#[cfg(any())]
async fn configured_out() {
    this_function_does_not_exist().await;
}

mod nested {
    #[strand::test]
    pub(crate) async fn in_a_module() {
        strand::task::yield_now().await;
    }
}

#[test]
#[allow(unnameable_test_items)]
fn a_test_returning_err_returns_it_to_the_harness() {
    #[strand::test]
    async fn fails() -> Result<(), String> {
        strand::task::yield_now().await;
        Err(String::from("expected failure"))
    }
    assert_eq!(fails(), Err(String::from("expected failure")));
}

thread_local! {
    static DROPPED: Cell<usize> = const { Cell::new(0) };
}

struct CountDrop;

impl Drop for CountDrop {
    fn drop(&mut self) {
        DROPPED.with(|d| d.set(d.get() + 1));
    }
}

#[test]
#[allow(unnameable_test_items)]
fn each_call_gets_a_fresh_runtime_that_is_dropped_at_the_end() {
    #[strand::test]
    async fn leaves_a_task_pending() {
        strand::spawn(async {
            let _guard = CountDrop;
            std::future::pending::<()>().await;
        });
        // Let the task start, so its future really is pending when the test returns.
        strand::task::yield_now().await;
    }

    assert!(Handle::try_current().is_none());
    leaves_a_task_pending();
    assert_eq!(DROPPED.with(Cell::get), 1);
    assert!(Handle::try_current().is_none());
    leaves_a_task_pending();
    assert_eq!(DROPPED.with(Cell::get), 2);
}

#[test]
#[allow(unnameable_test_items)]
fn a_panicking_test_leaves_no_runtime_behind() {
    #[strand::test]
    #[should_panic]
    async fn panics() {
        strand::spawn(async {
            let _guard = CountDrop;
            std::future::pending::<()>().await;
        });
        strand::task::yield_now().await;
        panic!("panicked inside the body");
    }

    #[strand::test]
    async fn fine() {
        assert_eq!(strand::spawn(async { 7 }).await.unwrap(), 7);
    }

    let before = DROPPED.with(Cell::get);
    let payload = catch_unwind(AssertUnwindSafe(panics)).expect_err("the body panicked");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"panicked inside the body")
    );
    assert_eq!(DROPPED.with(Cell::get), before + 1);
    assert!(Handle::try_current().is_none());
    // The thread is usable for another runtime (no runtime context left entered).
    fine();
}
