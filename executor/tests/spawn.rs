//! Spawning, joining, ordering, ids, names and the executor context.

mod util;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use strand_executor::task::{self, JoinHandle};
use strand_executor::{Executor, ExecutorConfig, Spawner, TaskState};
use util::{block_on, drain, executor, n, poll_once};

#[test]
fn spawn_and_join_outputs() {
    let (exec, _) = executor();
    let a = exec.spawn(async { 1u8 });
    let b = exec.spawn(async { String::from("two") });
    assert!(!a.is_finished());
    drain(&exec);
    assert!(a.is_finished() && b.is_finished());
    assert_eq!(block_on(a).unwrap(), 1);
    assert_eq!(block_on(b).unwrap(), "two");
}

#[test]
fn tasks_spawned_from_tasks_and_awaited() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let depth = n(1000, 50);
    fn chain(left: usize) -> JoinHandle<usize> {
        task::spawn(async move {
            if left == 0 {
                0
            } else {
                chain(left - 1).await.unwrap() + 1
            }
        })
    }
    let root = chain(depth);
    drain(&exec);
    assert_eq!(block_on(root).unwrap(), depth);
    assert_eq!(exec.metrics().tasks_alive, 0);
}

#[test]
fn not_send_futures_and_outputs() {
    let (exec, _) = executor();
    let shared = Rc::new(RefCell::new(0));
    let s = shared.clone();
    let h: JoinHandle<Rc<u32>> = exec.spawn(async move {
        *s.borrow_mut() += 1;
        Rc::new(5)
    });
    drain(&exec);
    assert_eq!(*shared.borrow(), 1);
    assert_eq!(*block_on(h).unwrap(), 5);
}

#[test]
fn ready_tasks_run_in_spawn_order() {
    let (exec, _) = executor();
    let log = Rc::new(RefCell::new(Vec::new()));
    for i in 0..10 {
        let log = log.clone();
        exec.spawn(async move { log.borrow_mut().push(i) });
    }
    drain(&exec);
    assert_eq!(*log.borrow(), (0..10).collect::<Vec<_>>());
}

#[test]
fn yield_now_is_strict_round_robin() {
    let (exec, _) = executor();
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ['a', 'b', 'c'] {
        let log = log.clone();
        exec.spawn(async move {
            for round in 0..3 {
                log.borrow_mut().push((round, name));
                task::yield_now().await;
            }
        });
    }
    drain(&exec);
    let expected: Vec<_> = (0..3)
        .flat_map(|r| ['a', 'b', 'c'].map(|n| (r, n)))
        .collect();
    assert_eq!(*log.borrow(), expected);
}

#[test]
fn a_yielded_task_waits_for_the_next_tick() {
    // The tick boundary is where the runtime turns its reactor: a yielding task must not be
    // polled again within the same tick, however large its poll allowance.
    let (exec, _) = executor();
    let polls = Rc::new(RefCell::new(0));
    let p = polls.clone();
    let h = exec.spawn(async move {
        for _ in 0..3 {
            *p.borrow_mut() += 1;
            task::yield_now().await;
        }
    });
    for expected in 1..=3 {
        assert!(exec.tick(1_000), "work remains after a yield");
        assert_eq!(*polls.borrow(), expected);
    }
    assert!(!exec.tick(1_000));
    assert!(h.is_finished());
}

#[test]
fn yield_from_a_non_task_waker_is_deferred_too() {
    // The runtime's root future is polled with its own waker, not a task waker.
    let (exec, _) = executor();
    let _g = exec.enter();
    let (waker, count) = util::counting_waker();
    let mut fut = Box::pin(task::yield_now());
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert!(exec.has_ready());
    exec.tick(64);
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(fut.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn max_polls_bounds_a_tick() {
    let (exec, _) = executor();
    for _ in 0..10 {
        exec.spawn(async {});
    }
    assert!(exec.tick(4));
    assert_eq!(exec.metrics().polls, 4);
    assert!(exec.tick(4));
    assert!(!exec.tick(4));
    assert_eq!(exec.metrics().polls, 10);
}

#[test]
fn task_ids_are_unique_and_visible_inside() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let handles: Vec<_> = (0..100)
        .map(|_| task::spawn(async { task::id() }))
        .collect();
    let ids: std::collections::HashSet<_> = handles.iter().map(|h| h.id()).collect();
    assert_eq!(ids.len(), 100);
    drain(&exec);
    for h in handles {
        let id = h.id();
        assert_eq!(block_on(h).unwrap(), id);
    }
    assert_eq!(task::try_id(), None, "no task is running here");
    let id = ids.into_iter().next().unwrap();
    assert_eq!(format!("{id}"), id.as_u64().to_string());
    assert_eq!(format!("{id:?}"), format!("Id({})", id.as_u64()));
}

#[test]
#[should_panic(expected = "`strand::spawn` called outside of a strand runtime")]
fn spawn_outside_a_runtime_panics() {
    drop(task::spawn(async {}));
}

#[test]
fn spawn_outside_message_names_the_entry_points() {
    let err = std::panic::catch_unwind(|| drop(task::spawn(async {}))).unwrap_err();
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(
        msg.contains("#[strand::main]") && msg.contains("Runtime::block_on"),
        "{msg}"
    );
}

#[test]
#[should_panic(expected = "called outside of a strand runtime")]
fn spawn_blocking_outside_a_runtime_panics() {
    drop(task::spawn_blocking(|| ()));
}

#[test]
#[should_panic(expected = "outside of a task")]
fn task_id_outside_a_task_panics() {
    let _ = task::id();
}

#[test]
fn enter_guards_nest_and_restore() {
    let (a, _) = executor();
    let (b, _) = executor();
    let ga = a.enter();
    {
        let _gb = b.enter();
        let h = task::spawn(async {});
        drain(&b);
        assert!(h.is_finished(), "spawned on b");
    }
    let h = task::spawn(async {});
    assert_eq!(a.metrics().tasks_alive, 1, "back on a");
    drain(&a);
    assert!(h.is_finished());
    drop(ga);
    assert!(std::panic::catch_unwind(|| drop(task::spawn(async {}))).is_err());
}

#[test]
fn builder_names_tasks_and_records_locations() {
    let (exec, _) = executor();
    let _g = exec.enter();
    let before = line!();
    let named = task::Builder::new()
        .name("worker-1")
        .spawn(std::future::pending::<()>())
        .unwrap();
    let plain_line = line!() + 1;
    let plain = task::spawn(std::future::pending::<()>());
    let snap = exec.snapshot();
    let s = snap.iter().find(|s| s.id == named.id()).unwrap();
    assert_eq!(s.name.as_deref(), Some("worker-1"));
    assert_eq!(s.location.file(), file!());
    assert!((before..plain_line).contains(&s.location.line()));
    assert_eq!(s.state, TaskState::Scheduled);
    assert_eq!(s.polls, 0);
    assert!(s.last_poll.is_none());
    let p = snap.iter().find(|s| s.id == plain.id()).unwrap();
    assert_eq!(p.name, None);
    assert_eq!(p.location.line(), plain_line);
    drain(&exec);
    let snap = exec.snapshot();
    assert!(snap
        .iter()
        .all(|s| s.state == TaskState::Idle && s.polls == 1 && s.last_poll.is_some()));
}

#[test]
fn snapshot_from_inside_a_task_shows_it_running() {
    let exec = Rc::new(Executor::new(ExecutorConfig::default(), Arc::new(|| {})));
    let inner = Rc::clone(&exec);
    let h = exec.spawn(async move {
        let me = task::id();
        let snap = inner.snapshot();
        snap.iter().find(|s| s.id == me).unwrap().state
    });
    drain(&exec);
    assert_eq!(block_on(h).unwrap(), TaskState::Running);
}

#[test]
fn spawner_spawns_from_other_threads() {
    let (exec, parker) = executor();
    let spawner: Spawner = exec.spawner();
    let threads = 4;
    let per = n(250, 5);
    let joins: Vec<_> = (0..threads)
        .map(|t| {
            let spawner = spawner.clone();
            std::thread::spawn(move || {
                (0..per)
                    .map(|i| spawner.spawn(async move { t * 1000 + i }))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let handles: Vec<JoinHandle<usize>> =
        joins.into_iter().flat_map(|j| j.join().unwrap()).collect();
    util::run_until(&exec, &parker, || handles.iter().all(|h| h.is_finished()));
    assert!(parker.calls() >= 1);
    let mut outs: Vec<_> = handles.into_iter().map(|h| block_on(h).unwrap()).collect();
    outs.sort();
    assert_eq!(outs.len(), threads * per);
    assert_eq!(exec.metrics().tasks_spawned as usize, threads * per);
    assert!(exec.metrics().remote_schedules as usize >= threads * per);
}

#[test]
fn spawner_on_the_executor_thread_spawns_locally() {
    let (exec, parker) = executor();
    let _g = exec.enter();
    let h = exec.spawner().spawn(async { 3 });
    assert_eq!(parker.calls(), 0, "no unpark for a local spawn");
    assert_eq!(exec.metrics().tasks_alive, 1);
    drain(&exec);
    assert_eq!(block_on(h).unwrap(), 3);
}

#[test]
fn handles_are_send_when_output_is() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<JoinHandle<u32>>();
    send_sync::<task::AbortHandle>();
    send_sync::<Spawner>();
    send_sync::<task::JoinError>();
    send_sync::<task::Id>();
}

#[test]
fn join_handle_debug_and_poll_after_ready_panics() {
    let (exec, _) = executor();
    let mut h = exec.spawn(async { 1 });
    assert!(format!("{h:?}").contains("JoinHandle"));
    drain(&exec);
    assert!(poll_once(&mut h).is_ready());
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_once(&mut h)));
    assert!(again.is_err(), "a second poll after Ready panics");
}
