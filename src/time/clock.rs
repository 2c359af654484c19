use std::time::Duration;

use crate::context;

fn with_clock<R>(what: &str, f: impl FnOnce(&strand_reactor::Clock) -> R) -> R {
    context::with_current(|c| match c {
        Some(inner) => f(inner.reactor.clock()),
        None => panic!(
            "`strand::time::{what}` called outside of a strand runtime: call it from code run by \
             `#[strand::test]`, `#[strand::main]` or `Runtime::block_on`"
        ),
    })
}

/// Pauses the runtime's clock.
///
/// While paused, [`Instant::now`](super::Instant::now) stands still except when moved by
/// [`advance`] or by auto-advance: when every task is idle and no blocking job is in flight,
/// the runtime jumps the clock to the next timer.
///
/// ```
/// use std::time::Duration;
/// strand::block_on(async {
///     strand::time::pause();
///     let wall = std::time::Instant::now();
///     strand::time::sleep(Duration::from_secs(3600)).await;
///     assert!(wall.elapsed() < Duration::from_secs(60));
/// });
/// ```
///
/// # Panics
/// Outside a runtime, or if the clock is already paused.
#[track_caller]
pub fn pause() {
    with_clock("pause", |clock| {
        assert!(
            !clock.is_paused(),
            "`strand::time::pause` called while the clock is already paused"
        );
        clock.pause();
    })
}

/// Resumes a paused clock; time then runs on from where it stood.
///
/// # Panics
/// Outside a runtime, or if the clock is not paused.
#[track_caller]
pub fn resume() {
    with_clock("resume", |clock| {
        assert!(
            clock.is_paused(),
            "`strand::time::resume` called while the clock is not paused"
        );
        clock.resume();
    })
}

/// Moves a paused clock forward by `duration`, then yields so the timers that are now due fire
/// before this task continues.
///
/// ```
/// use std::time::Duration;
/// use strand::time::{advance, pause, Instant};
/// strand::block_on(async {
///     pause();
///     let t0 = Instant::now();
///     advance(Duration::from_secs(5)).await;
///     assert_eq!(t0.elapsed(), Duration::from_secs(5));
/// });
/// ```
///
/// # Panics
/// Outside a runtime, or if the clock is not paused.
pub async fn advance(duration: Duration) {
    with_clock("advance", |clock| {
        assert!(
            clock.is_paused(),
            "`strand::time::advance` needs a paused clock: call `strand::time::pause()` first \
             or use `#[strand::test(start_paused = true)]`"
        );
        clock.advance(duration);
    });
    crate::task::yield_now().await;
}
