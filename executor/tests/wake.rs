//! Wakers: any thread, cloned and dropped anywhere, after completion, after the executor.

mod util;

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;

use util::{block_on, drain, executor, n, pending_stash, run_until, Signal};

#[test]
fn wakes_from_four_threads_are_never_lost() {
    let (exec, parker) = executor();
    let per_thread = n(500, 8);
    let signals: Vec<Vec<Arc<Signal>>> = (0..4)
        .map(|_| (0..per_thread).map(|_| Signal::new()).collect())
        .collect();
    let done = Arc::new(AtomicUsize::new(0));
    for s in signals.iter().flatten() {
        let wait = s.wait();
        let done = Arc::clone(&done);
        exec.spawn(async move {
            wait.await;
            done.fetch_add(1, SeqCst);
        });
    }
    drain(&exec);
    assert_eq!(done.load(SeqCst), 0);
    let threads: Vec<_> = signals
        .into_iter()
        .map(|list| {
            thread::spawn(move || {
                for s in list {
                    s.set();
                }
            })
        })
        .collect();
    // The executor thread sleeps on the unpark hook when idle, as the runtime does in epoll.
    run_until(&exec, &parker, || done.load(SeqCst) == 4 * per_thread);
    for t in threads {
        t.join().unwrap();
    }
    assert!(parker.calls() >= 1);
    assert!(exec.metrics().remote_schedules >= 1);
    assert_eq!(exec.metrics().tasks_alive, 0);
}

#[test]
fn local_wakes_use_the_local_queue() {
    let (exec, parker) = executor();
    let stash = Arc::new(Mutex::new(Vec::new()));
    let h = exec.spawn(pending_stash(Arc::clone(&stash)));
    drain(&exec);
    let w = stash.lock().unwrap().pop().unwrap();
    {
        let _g = exec.enter();
        w.wake_by_ref();
    }
    assert_eq!(parker.calls(), 0);
    assert!(exec.has_ready());
    assert!(exec.metrics().local_schedules >= 1);
    // Not entered: the same thread takes the remote path.
    drain(&exec);
    w.wake_by_ref();
    assert_eq!(parker.calls(), 1);
    drain(&exec);
    assert_eq!(exec.snapshot()[0].polls, 3);
    drop(h);
}

#[test]
fn a_task_woken_while_running_is_polled_again_after_the_poll() {
    let (exec, _) = executor();
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    exec.spawn(std::future::poll_fn(move |cx| {
        p.set(p.get() + 1);
        if p.get() < 3 {
            // Several wakes during one poll schedule it once.
            cx.waker().wake_by_ref();
            let by_value = cx.waker().clone();
            by_value.wake();
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }));
    drain(&exec);
    assert_eq!(polls.get(), 3);
}

#[test]
fn waking_a_finished_task_never_polls_it_again() {
    let (exec, _) = executor();
    let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
    let s = Arc::clone(&stash);
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let h = exec.spawn(std::future::poll_fn(move |cx| {
        p.set(p.get() + 1);
        *s.lock().unwrap() = Some(cx.waker().clone());
        Poll::Ready(())
    }));
    drain(&exec);
    assert_eq!(polls.get(), 1);
    let w = stash.lock().unwrap().take().unwrap();
    {
        let _g = exec.enter();
        w.wake_by_ref();
        let by_value = w.clone();
        by_value.wake();
    }
    drain(&exec);
    assert_eq!(polls.get(), 1);
    assert!(!exec.has_ready());
    drop(h);
    // The last reference is a waker: waking it by value frees the task (Miri checks this).
    w.wake();
}

#[test]
fn wakers_are_cloned_woken_and_dropped_on_other_threads() {
    let (exec, parker) = executor();
    let stash = Arc::new(Mutex::new(Vec::new()));
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let s = Arc::clone(&stash);
    let rounds = n(200, 10);
    let h = exec.spawn(std::future::poll_fn(move |cx| {
        c.set(c.get() + 1);
        if c.get() > rounds {
            return Poll::Ready(());
        }
        s.lock().unwrap().push(cx.waker().clone());
        Poll::Pending
    }));
    let handle_thread = {
        let stash = Arc::clone(&stash);
        thread::spawn(move || {
            let mut woken = 0;
            while woken < rounds {
                let w = stash.lock().unwrap().pop();
                match w {
                    Some(w) => {
                        let extra = w.clone();
                        let t = thread::spawn(move || drop(extra));
                        if woken % 2 == 0 {
                            w.wake();
                        } else {
                            w.wake_by_ref();
                        }
                        t.join().unwrap();
                        woken += 1;
                    }
                    None => thread::yield_now(),
                }
            }
        })
    };
    run_until(&exec, &parker, || h.is_finished());
    handle_thread.join().unwrap();
    assert_eq!(count.get(), rounds + 1);
}

#[test]
fn a_waker_outliving_the_executor_is_a_no_op() {
    let stash = Arc::new(Mutex::new(Vec::new()));
    let waker = {
        let (exec, _) = executor();
        let h = exec.spawn(pending_stash(Arc::clone(&stash)));
        drain(&exec);
        let w = stash.lock().unwrap().pop().unwrap();
        drop(h);
        w
    }; // executor dropped here
    waker.wake_by_ref();
    let c = waker.clone();
    thread::spawn(move || {
        c.wake_by_ref();
        c.wake();
    })
    .join()
    .unwrap();
    waker.wake();
}

#[test]
fn a_waker_outliving_a_shut_down_executor_with_live_handle() {
    let stash = Arc::new(Mutex::new(Vec::new()));
    let (exec, _) = executor();
    let h = exec.spawn(pending_stash(Arc::clone(&stash)));
    drain(&exec);
    let w = stash.lock().unwrap().pop().unwrap();
    drop(exec);
    thread::spawn(move || w.wake()).join().unwrap();
    assert!(block_on(h).unwrap_err().is_cancelled());
}

/// Task blocks freed everywhere — inside a task, on other threads while the executor runs,
/// racing with its drop, and after it — all keep the executor's shared state alive exactly as
/// long as they need it (Miri checks both directions: no use after free, no leak).
#[test]
fn task_blocks_freed_anywhere_keep_the_executor_state_alive() {
    let k = n(16, 4);
    let stash = Arc::new(Mutex::new(Vec::new()));
    let (exec, _) = executor();
    // Tasks that finish at once but leave a waker behind.
    for _ in 0..k {
        let s = Arc::clone(&stash);
        exec.spawn(std::future::poll_fn(move |cx| {
            s.lock().unwrap().push(cx.waker().clone());
            Poll::Ready(())
        }));
    }
    drain(&exec);
    let finished: Vec<Waker> = stash.lock().unwrap().drain(..).collect();
    // Tasks that stay pending; their wakers outlive the executor.
    let handles: Vec<_> = (0..k)
        .map(|_| exec.spawn(pending_stash(Arc::clone(&stash))))
        .collect();
    drain(&exec);
    let mut pending: Vec<Waker> = stash.lock().unwrap().drain(..).collect();
    assert_eq!((finished.len(), pending.len()), (k, k));
    // Freed on another thread while the executor lives.
    let (here, there) = finished.split_at(k / 2);
    let there = there.to_vec();
    thread::spawn(move || drop(there)).join().unwrap();
    // Freed inside a task (the executor entered on its own thread).
    let here = here.to_vec();
    exec.spawn(async move { drop(here) });
    drain(&exec);
    // Freed by another thread racing with the executor's drop, and after it on this thread.
    let racing = pending.split_off(k / 2);
    let go = Signal::new();
    let wait = go.wait();
    let racer = thread::spawn(move || {
        block_on(wait);
        for w in racing {
            w.wake();
        }
    });
    go.set();
    drop(handles);
    drop(exec);
    racer.join().unwrap();
    for w in pending {
        w.wake_by_ref();
    }
}

#[test]
fn join_handle_awaited_from_another_thread() {
    let (exec, parker) = executor();
    let go = Signal::new();
    let wait = go.wait();
    let h = exec.spawn(async move {
        wait.await;
        String::from("done")
    });
    drain(&exec);
    let joiner = thread::spawn(move || block_on(h));
    // Give the other thread time to register its waker (correct either way).
    thread::sleep(std::time::Duration::from_millis(5));
    go.set();
    run_until(&exec, &parker, || joiner.is_finished());
    assert_eq!(joiner.join().unwrap().unwrap(), "done");
}

#[test]
fn join_handle_wakes_only_the_last_waker() {
    let (exec, _) = executor();
    let stash = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&stash);
    let mut h = exec.spawn(async move {
        pending_stash(s).await;
    });
    drain(&exec);
    let (w1, c1) = util::counting_waker();
    let (w2, c2) = util::counting_waker();
    assert!(std::pin::Pin::new(&mut h)
        .poll(&mut std::task::Context::from_waker(&w1))
        .is_pending());
    assert!(std::pin::Pin::new(&mut h)
        .poll(&mut std::task::Context::from_waker(&w2))
        .is_pending());
    h.abort();
    drain(&exec);
    assert_eq!(c1.0.load(SeqCst), 0);
    assert_eq!(c2.0.load(SeqCst), 1);
    assert!(h.is_finished());
}

#[test]
fn join_handles_race_completion_across_threads() {
    // Many handles registered from other threads while the executor completes their tasks.
    let (exec, parker) = executor();
    let count = n(200, 6);
    let gates: Vec<_> = (0..count).map(|_| Signal::new()).collect();
    let handles: Vec<_> = gates
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let w = g.wait();
            exec.spawn(async move {
                w.await;
                i
            })
        })
        .collect();
    drain(&exec);
    let waiter = thread::spawn(move || {
        handles
            .into_iter()
            .map(block_on)
            .map(Result::unwrap)
            .sum::<usize>()
    });
    let setter = thread::spawn(move || gates.iter().for_each(|g| g.set()));
    run_until(&exec, &parker, || waiter.is_finished());
    setter.join().unwrap();
    assert_eq!(waiter.join().unwrap(), count * (count - 1) / 2);
}

#[test]
fn join_handle_dropped_on_another_thread_while_running() {
    let (exec, parker) = executor();
    let log = Arc::new(util::DropLog::default());
    let go = Signal::new();
    let wait = go.wait();
    let probe_log = Arc::clone(&log);
    let h = exec.spawn(async move {
        wait.await;
        util::DropProbe(probe_log)
    });
    drain(&exec);
    let t = thread::spawn(move || {
        let (w, _) = util::counting_waker();
        let mut h = h;
        let _ = std::pin::Pin::new(&mut h).poll(&mut std::task::Context::from_waker(&w));
        drop(h);
    });
    t.join().unwrap();
    go.set();
    run_until(&exec, &parker, || log.count() == 1);
    assert!(
        log.all_on(thread::current().id()),
        "a detached output is dropped by the executor"
    );
}

#[test]
fn a_task_woken_while_another_executor_of_the_thread_polls_goes_to_its_own_executor() {
    // Executor `a` polls a task that wakes a task of executor `b` (same thread, `b` not
    // entered): the wake must reach `b` (its remote queue and unpark), never `a`'s run queue,
    // and `b`'s task then runs on `b`.
    let (a, _) = executor();
    let (b, b_parker) = executor();
    let stash = Arc::new(Mutex::new(Vec::new()));
    let ran = Rc::new(Cell::new(false));
    let ran2 = Rc::clone(&ran);
    let stash1 = Arc::clone(&stash);
    let mut polled = false;
    // Pending once (its waker stashed), ready when polled again.
    let waiting = std::future::poll_fn(move |cx| {
        if std::mem::replace(&mut polled, true) {
            return Poll::Ready(());
        }
        stash1.lock().unwrap().push(cx.waker().clone());
        Poll::Pending
    });
    let b_task = b.spawn(async move {
        waiting.await;
        ran2.set(true);
    });
    drain(&b);
    assert_eq!(
        stash.lock().unwrap().len(),
        1,
        "b's task parked with its waker stashed"
    );
    let calls_before = b_parker.calls();
    let stash2 = Arc::clone(&stash);
    a.spawn(async move {
        for w in stash2.lock().unwrap().drain(..) {
            w.wake();
        }
    });
    drain(&a);
    assert_eq!(a.metrics().polls, 1, "a ran only its own task");
    assert!(!ran.get(), "b's task does not run on a");
    assert!(b_parker.calls() > calls_before, "b was unparked");
    drain(&b);
    assert!(ran.get());
    assert!(block_on(b_task).is_ok());
}
