//! The cooperative budget: a busy task is forced back to the executor.

mod util;

use std::cell::Cell;
use std::rc::Rc;
use std::task::Poll;

use strand_executor::{coop, task};
use util::{block_on, drain, executor};

/// A resource that is always ready but spends budget, like a socket with data buffered.
fn always_ready(counter: Rc<Cell<u64>>) -> impl std::future::Future<Output = ()> {
    std::future::poll_fn(move |cx| loop {
        let guard = std::task::ready!(coop::poll_proceed(cx));
        guard.made_progress();
        counter.set(counter.get() + 1);
        if counter.get() >= 1_000 {
            return Poll::Ready(());
        }
    })
}

#[test]
fn budget_forces_a_yield_of_a_self_feeding_task() {
    let (exec, _) = executor();
    let ops = Rc::new(Cell::new(0));
    let other_ran_at = Rc::new(Cell::new(None));
    exec.spawn(always_ready(ops.clone()));
    let (o, seen) = (ops.clone(), other_ran_at.clone());
    exec.spawn(async move { seen.set(Some(o.get())) });
    // First tick: the busy task runs its budget, then the other task runs.
    assert!(exec.tick(64));
    assert_eq!(ops.get(), u64::from(coop::INITIAL_BUDGET));
    assert_eq!(other_ran_at.get(), Some(u64::from(coop::INITIAL_BUDGET)));
    drain(&exec);
    assert_eq!(ops.get(), 1_000);
    let m = exec.metrics();
    assert_eq!(
        m.budget_forced_yields,
        1_000 / u64::from(coop::INITIAL_BUDGET)
    );
}

#[test]
fn a_forced_yield_waits_for_the_next_tick() {
    let (exec, _) = executor();
    let ops = Rc::new(Cell::new(0));
    exec.spawn(always_ready(ops.clone()));
    assert!(
        exec.tick(1_000),
        "the busy task is deferred to the next tick"
    );
    assert_eq!(exec.metrics().polls, 1);
}

#[test]
fn unconstrained_never_yields() {
    let (exec, _) = executor();
    let ops = Rc::new(Cell::new(0));
    exec.spawn(task::unconstrained(always_ready(ops.clone())));
    assert!(!exec.tick(1));
    assert_eq!(ops.get(), 1_000);
    assert_eq!(exec.metrics().budget_forced_yields, 0);
}

#[test]
fn join_handles_spend_budget() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let children: Vec<_> = (0..300).map(|i| task::spawn(async move { i })).collect();
    let parent = task::spawn(async move {
        let mut sum = 0;
        for h in children {
            sum += h.await.unwrap();
        }
        sum
    });
    drain(&exec);
    assert_eq!(block_on(parent).unwrap(), (0..300).sum::<i32>());
    assert!(
        exec.metrics().budget_forced_yields >= 2,
        "300 joins > 2 budgets"
    );
}

#[test]
fn has_budget_remaining_tracks_the_task_budget() {
    let (exec, _) = executor();
    let h = exec.spawn(async {
        assert!(coop::has_budget_remaining());
        for _ in 0..coop::INITIAL_BUDGET {
            coop::consume_budget().await;
        }
        let spent = !coop::has_budget_remaining();
        coop::consume_budget().await; // yields, then continues with a fresh budget
        (spent, coop::has_budget_remaining())
    });
    drain(&exec);
    assert_eq!(block_on(h).unwrap(), (true, true));
}

#[test]
fn budget_scope_for_root_futures() {
    let waker = util::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    coop::budget(|| {
        for _ in 0..coop::INITIAL_BUDGET {
            match coop::poll_proceed(&mut cx) {
                Poll::Ready(g) => g.made_progress(),
                Poll::Pending => panic!("budget left"),
            }
        }
        assert!(coop::poll_proceed(&mut cx).is_pending());
    });
    assert!(coop::has_budget_remaining());
}

#[test]
fn a_self_waking_task_cannot_starve_the_others() {
    // A task that wakes itself on every poll (no budget involved) goes to the back of the
    // queue each time: the others keep their turn, and every tick ends.
    let (exec, _) = executor();
    let spins = Rc::new(Cell::new(0u64));
    let s = spins.clone();
    exec.spawn(std::future::poll_fn(move |cx| {
        s.set(s.get() + 1);
        cx.waker().wake_by_ref();
        Poll::<()>::Pending
    }));
    let steps = Rc::new(Cell::new(0u64));
    let st = steps.clone();
    let other = exec.spawn(async move {
        for _ in 0..10 {
            st.set(st.get() + 1);
            task::yield_now().await;
        }
    });
    for _ in 0..20 {
        assert!(exec.tick(32), "the spinning task is always ready");
    }
    assert!(other.is_finished());
    assert_eq!(steps.get(), 10);
    assert!(spins.get() >= 20);
}
