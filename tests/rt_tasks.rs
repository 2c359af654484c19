//! Tasks: abort, panics, JoinSet, the cooperative budget, remote wakes, the blocking pool.

use std::cell::Cell;
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use strand::task::{self, JoinSet};
use strand::Runtime;

struct SetOnDrop(Rc<Cell<bool>>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn abort_drops_the_future_before_the_handle_resolves_cancelled() {
    strand::block_on(async {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        let h = strand::spawn(async move {
            let _g = SetOnDrop(d);
            pending::<()>().await;
        });
        task::yield_now().await;
        assert!(!h.is_finished());
        h.abort();
        let flag = dropped.clone();
        // Observe the flag at the moment the handle resolves.
        let (res, dropped_when_resolved) = async {
            let r = h.await;
            (r, flag.get())
        }
        .await;
        assert!(res.unwrap_err().is_cancelled());
        assert!(
            dropped_when_resolved,
            "destructor must run before the JoinHandle resolves"
        );
    });
}

#[test]
fn abort_after_completion_keeps_the_output() {
    strand::block_on(async {
        let h = strand::spawn(async { 9 });
        while !h.is_finished() {
            task::yield_now().await;
        }
        h.abort();
        assert_eq!(h.await.unwrap(), 9);
    });
}

#[test]
fn abort_handle_works_from_another_thread_and_with_a_dropped_join_handle() {
    strand::block_on(async {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        let h = strand::spawn(async move {
            let _g = SetOnDrop(d);
            pending::<()>().await;
        });
        let abort = h.abort_handle();
        let id = h.id();
        drop(h); // detached
        task::yield_now().await;
        assert_eq!(abort.id(), id);
        thread::spawn(move || abort.abort()).join().unwrap();
        for _ in 0..100 {
            if dropped.get() {
                break;
            }
            strand::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            dropped.get(),
            "abort of a detached task must still drop its future"
        );
    });
}

#[test]
fn a_panicking_task_does_not_stop_others_and_is_not_reraised_on_drop() {
    strand::block_on(async {
        let other = strand::spawn(async {
            for _ in 0..10 {
                task::yield_now().await;
            }
            "fine"
        });
        let boom = strand::spawn(async {
            task::yield_now().await;
            panic!("boom {}", 42);
        });
        let silent = strand::spawn(async { panic!("nobody listens") });
        drop(silent);
        let err = boom.await.unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        let payload = err.into_panic();
        // Literal format arguments may be inlined, making the payload a &str.
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
        assert_eq!(text.as_deref(), Some("boom 42"));
        assert_eq!(other.await.unwrap(), "fine");
    });
}

#[test]
fn join_error_converts_to_io_error() {
    strand::block_on(async {
        let e = strand::spawn(async { panic!("x") }).await.unwrap_err();
        let text = e.to_string();
        assert!(!text.is_empty());
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::Other);
    });
}

#[test]
fn join_set_collects_aborts_and_shuts_down() {
    strand::block_on(async {
        let mut set = JoinSet::new();
        for i in 0..10u32 {
            set.spawn(async move {
                strand::time::sleep(Duration::from_millis(u64::from(10 - i))).await;
                i
            });
        }
        assert_eq!(set.len(), 10);
        let mut got = Vec::new();
        while let Some(r) = set.join_next().await {
            got.push(r.unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert!(set.is_empty());

        let dropped = Rc::new(Cell::new(0));
        struct Count(Rc<Cell<i32>>);
        impl Drop for Count {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        for _ in 0..5 {
            // Captured by the future, so it drops with the future even if never polled.
            let c = Count(dropped.clone());
            set.spawn(async move {
                let _c = c;
                pending::<u32>().await
            });
        }
        set.abort_all();
        let mut cancelled = 0;
        while let Some(r) = set.join_next().await {
            assert!(r.unwrap_err().is_cancelled());
            cancelled += 1;
        }
        assert_eq!(cancelled, 5);
        assert_eq!(dropped.get(), 5);

        set.spawn(pending());
        set.shutdown().await;
        assert!(set.is_empty());

        // Dropping the set aborts its tasks.
        let flag = Rc::new(Cell::new(false));
        let f = flag.clone();
        let mut set2 = JoinSet::new();
        set2.spawn(async move {
            let _g = SetOnDrop(f);
            pending::<()>().await
        });
        task::yield_now().await;
        drop(set2);
        for _ in 0..10 {
            task::yield_now().await;
        }
        assert!(flag.get());
    });
}

#[test]
fn a_self_waking_loop_cannot_starve_timers_or_other_tasks() {
    strand::block_on(async {
        let stop = Rc::new(Cell::new(false));
        let s = stop.clone();
        // Without the budget this loop would never return Pending: sleep(0) is ready at once.
        let spinner = strand::spawn(async move {
            let mut n = 0u64;
            while !s.get() {
                strand::time::sleep(Duration::ZERO).await;
                n += 1;
            }
            n
        });
        let other = strand::spawn(async { 5 });
        assert_eq!(other.await.unwrap(), 5);
        strand::time::sleep(Duration::from_millis(20)).await;
        stop.set(true);
        assert!(spinner.await.unwrap() > 0);
    });
}

/// Counts how often the wrapped future is polled.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Rc<Cell<u32>>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.inner.as_mut().poll(cx)
    }
}

#[test]
fn unconstrained_opts_out_of_the_budget() {
    strand::block_on(async {
        let ready_sleeps = || async {
            for _ in 0..1000 {
                strand::time::sleep(Duration::ZERO).await;
            }
        };
        // Constrained: the budget (128) forces the task back to the scheduler several times.
        let polls = Rc::new(Cell::new(0u32));
        strand::spawn(CountPolls {
            inner: Box::pin(ready_sleeps()),
            polls: polls.clone(),
        })
        .await
        .unwrap();
        assert!(
            polls.get() >= 1000 / 128,
            "budget did not force yields: {} polls",
            polls.get()
        );
        // Unconstrained: one poll does it all.
        let polls = Rc::new(Cell::new(0u32));
        strand::spawn(CountPolls {
            inner: Box::pin(task::unconstrained(ready_sleeps())),
            polls: polls.clone(),
        })
        .await
        .unwrap();
        assert_eq!(polls.get(), 1);
    });
}

/// A Send flag future that threads can complete.
#[derive(Clone, Default)]
struct Flag(Arc<Mutex<(bool, Option<Waker>)>>);

impl Flag {
    fn set(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl Future for Flag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.0.lock().unwrap();
        if g.0 {
            Poll::Ready(())
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn wakes_from_four_threads_are_never_lost() {
    const PER_THREAD: usize = 500;
    let rt = Runtime::new().unwrap();
    let flags: Vec<Flag> = (0..4 * PER_THREAD).map(|_| Flag::default()).collect();
    let done = Rc::new(Cell::new(0usize));
    for f in &flags {
        let f = f.clone();
        let d = done.clone();
        rt.spawn(async move {
            f.await;
            d.set(d.get() + 1);
        });
    }
    // Let every task park first, so each wake comes from a thread into an idle runtime.
    rt.block_on(async {
        for _ in 0..100 {
            task::yield_now().await;
        }
    });
    let mut threads = Vec::new();
    for chunk in flags.chunks(PER_THREAD) {
        let chunk = chunk.to_vec();
        threads.push(thread::spawn(move || {
            for f in chunk {
                f.set();
                if fastrand::u8(..) == 0 {
                    thread::sleep(Duration::from_micros(200));
                }
            }
        }));
    }
    let d = done.clone();
    let finished = rt.block_on(strand::time::timeout(Duration::from_secs(30), async move {
        while d.get() < 4 * PER_THREAD {
            strand::time::sleep(Duration::from_millis(1)).await;
        }
    }));
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        finished.is_ok(),
        "only {} of {} wakes arrived",
        done.get(),
        4 * PER_THREAD
    );
}

/// CPU time (user + system) of the calling thread, from /proc.
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[test]
fn an_idle_runtime_blocks_instead_of_spinning() {
    let rt = Runtime::new().unwrap();
    let flag = Flag::default();
    let f2 = flag.clone();
    let waker_thread = thread::spawn(move || {
        thread::sleep(Duration::from_millis(500));
        f2.set();
    });
    let cpu0 = thread_cpu_time();
    let wall = Instant::now();
    rt.block_on(flag);
    let cpu = thread_cpu_time() - cpu0;
    waker_thread.join().unwrap();
    assert!(wall.elapsed() >= Duration::from_millis(500));
    assert!(
        cpu < Duration::from_millis(150),
        "an idle wait burned {cpu:?} of CPU"
    );
}

#[test]
fn blocking_pool_cap_holds_and_the_runtime_stays_responsive() {
    const JOBS: usize = 2_000;
    const CAP: usize = 8;
    let rt = Runtime::builder()
        .max_blocking_threads(CAP)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let ticker = strand::spawn(async move {
            loop {
                strand::time::sleep(Duration::from_millis(1)).await;
                t.set(t.get() + 1);
            }
        });
        let mut hs = Vec::with_capacity(JOBS);
        for i in 0..JOBS {
            let running = running.clone();
            let peak = peak.clone();
            hs.push(strand::spawn_blocking(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                thread::sleep(Duration::from_micros(100));
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }));
        }
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.await.unwrap(), i * 2);
        }
        assert!(
            ticks.get() > 0,
            "the timer task must run while the pool works"
        );
        ticker.abort();
    });
    let p = peak.load(Ordering::SeqCst);
    assert!(p <= CAP, "peak concurrency {p} exceeded the cap {CAP}");
    assert!(p >= 2, "jobs should run in parallel (peak {p})");
}

#[test]
fn spawn_blocking_panic_is_an_error_and_abort_does_not_stop_a_running_job() {
    strand::block_on(async {
        let e = strand::spawn_blocking(|| -> u8 { panic!("blocking boom") })
            .await
            .unwrap_err();
        assert!(e.is_panic());

        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let h = strand::spawn_blocking(move || {
            rx.recv().unwrap();
            77
        });
        strand::time::sleep(Duration::from_millis(10)).await;
        h.abort();
        tx.send(()).unwrap();
        assert_eq!(h.await.unwrap(), 77);
    });
}
