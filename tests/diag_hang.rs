//! Hang detection: reported when the runtime can prove nothing can ever wake it (a lost wakeup,
//! a wait on a channel only the waiting tasks could feed), and never when something can: a
//! timer, a socket, a blocking job, a waker held by another thread, a `Handle`, an
//! `AbortHandle`.

use std::future::Future;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use strand::io::AsyncReadExt;
use strand::runtime::{Deadlock, DeadlockKind};
use strand::sync::{mpsc, oneshot, Notify};

/// A future with the classic lost-wakeup bug: it checks a flag and returns `Pending` without
/// keeping the waker anywhere.
struct LostWakeup(Arc<AtomicBool>);

impl Future for LostWakeup {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A future whose waker a std thread holds and wakes after `after`.
struct WokenByThread {
    done: Arc<AtomicBool>,
    after: Duration,
    started: bool,
}

impl Future for WokenByThread {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        if !self.started {
            self.started = true;
            let (done, waker, after) = (self.done.clone(), cx.waker().clone(), self.after);
            std::thread::spawn(move || {
                std::thread::sleep(after);
                done.store(true, Ordering::SeqCst);
                waker.wake();
            });
        }
        Poll::Pending
    }
}

type Reports = Arc<StdMutex<Vec<Deadlock>>>;

/// Runs `f` on a runtime that records reports and panics on one (as `#[strand::test]` does).
fn run<F: Future>(f: F) -> (Result<F::Output, String>, Vec<Deadlock>) {
    let reports: Reports = Arc::default();
    let sink = reports.clone();
    let rt = strand::Runtime::builder()
        .on_deadlock(move |d| sink.lock().unwrap().push(d.clone()))
        .fail_on_deadlock(true)
        .build()
        .unwrap();
    let out = panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(f))).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| "<non-string panic>".into())
    });
    drop(rt);
    let reports = reports.lock().unwrap().clone();
    (out, reports)
}

fn expect_hang<F: Future>(f: F) -> Deadlock {
    let started = Instant::now();
    let (out, reports) = run(f);
    let msg = out.err().expect("a hang must make block_on panic");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(msg.contains("hang on runtime"), "{msg}");
    assert_eq!(reports.len(), 1, "one report");
    let d = reports.into_iter().next().unwrap();
    assert_eq!(d.kind(), DeadlockKind::Hang);
    d
}

fn expect_silence<F: Future>(f: F) -> F::Output {
    let (out, reports) = run(f);
    assert!(reports.is_empty(), "false report:\n{}", reports[0]);
    out.unwrap_or_else(|msg| panic!("{msg}"))
}

#[test]
fn lost_wakeup_in_a_task_is_reported_with_a_dump() {
    let d = expect_hang(async {
        let stuck = strand::task::Builder::new()
            .name("stuck")
            .spawn(LostWakeup(Arc::default()))
            .unwrap();
        stuck.await.unwrap();
    });
    let dump = d.dump().expect("a hang report carries a dump");
    assert_eq!(dump.tasks().len(), 1);
    assert_eq!(dump.tasks()[0].name.as_deref(), Some("stuck"));
    assert_eq!(d.tasks()[0].name.as_deref(), Some("stuck"));
    let text = d.to_string();
    assert!(text.contains("nothing can ever wake them"), "{text}");
    assert!(text.contains("stuck"), "{text}");
}

#[test]
fn lost_wakeup_in_the_block_on_future_is_reported() {
    let d = expect_hang(LostWakeup(Arc::default()));
    assert!(d.dump().unwrap().tasks().is_empty());
    assert!(d.dump().unwrap().root().is_some());
}

#[test]
fn waiting_on_channels_only_the_waiting_tasks_could_feed_is_reported() {
    // The root waits for a reply whose sender is held by a task waiting for a notification
    // that only it could send.
    expect_hang(async {
        let (tx, rx) = oneshot::channel::<u8>();
        let notify = Rc::new(Notify::new());
        let n = notify.clone();
        strand::spawn(async move {
            n.notified().await;
            let _ = tx.send(1);
        });
        let _ = rx.await;
        drop(notify);
    });
    // The root receives from a channel whose sender it keeps itself.
    let d = expect_hang(async {
        let (tx, mut rx) = mpsc::channel::<u8>(4);
        let _ = rx.recv().await;
        drop(tx);
    });
    let root = d.dump().unwrap().root().unwrap().clone();
    assert!(
        matches!(
            root.waits_on[..],
            [strand::runtime::WaitReason::Channel { .. }]
        ),
        "{root:?}"
    );
}

#[test]
fn a_long_timer_is_not_a_hang() {
    expect_silence(async {
        let t = strand::spawn(strand::time::sleep(Duration::from_millis(150)));
        strand::time::sleep(Duration::from_millis(100)).await;
        t.await.unwrap();
    });
}

#[test]
fn a_socket_is_not_a_hang() {
    let n = expect_silence(async {
        let listener = strand::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            s.write_all(b"late").unwrap();
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let reader = strand::spawn(async move {
            let mut buf = [0u8; 8];
            stream.read(&mut buf).await.unwrap()
        });
        let n = reader.await.unwrap();
        writer.join().unwrap();
        n
    });
    assert_eq!(n, 4);
}

#[test]
fn a_blocking_job_is_not_a_hang() {
    let v = expect_silence(async {
        strand::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(100));
            7
        })
        .await
        .unwrap()
    });
    assert_eq!(v, 7);
}

#[test]
fn a_waker_held_by_a_std_thread_is_not_a_hang() {
    expect_silence(async {
        // In a task the root awaits...
        strand::spawn(WokenByThread {
            done: Arc::default(),
            after: Duration::from_millis(100),
            started: false,
        })
        .await
        .unwrap();
        // ...and in the root itself.
        WokenByThread {
            done: Arc::default(),
            after: Duration::from_millis(100),
            started: false,
        }
        .await;
    });
}

thread_local! {
    static REPLY: std::cell::RefCell<Option<oneshot::Sender<u8>>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn a_handle_held_by_another_thread_is_not_a_hang() {
    let v = expect_silence(async {
        let (tx, rx) = oneshot::channel();
        REPLY.with(|r| *r.borrow_mut() = Some(tx));
        let handle = strand::runtime::Handle::current();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            // A `Send` task that reaches the runtime thread's state when it runs there.
            drop(handle.spawn(async {
                let tx = REPLY.with(|r| r.borrow_mut().take()).unwrap();
                let _ = tx.send(9);
            }));
        });
        let v = rx.await.unwrap();
        t.join().unwrap();
        v
    });
    assert_eq!(v, 9);
}

#[test]
fn an_abort_handle_held_by_another_thread_is_not_a_hang() {
    let cancelled = expect_silence(async {
        let stuck = strand::spawn(LostWakeup(Arc::default()));
        let abort = stuck.abort_handle();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            abort.abort();
        });
        let res = stuck.await;
        t.join().unwrap();
        res.unwrap_err().is_cancelled()
    });
    assert!(cancelled);
}

/// `#[strand::test]` fails a hanging test with the report. Run in a child process (this same
/// test binary) with a deadline, so a regression fails instead of hanging the suite.
#[test]
fn strand_test_fails_on_hang() {
    if std::env::var_os("STRAND_DIAG_HANG_CHILD").is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "hanging_strand_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STRAND_DIAG_HANG_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("the hanging #[strand::test] did not fail within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("hang on runtime"), "{text}");
    assert!(text.contains("hanging_strand_test ... FAILED"), "{text}");
}

/// Only runs for real inside `strand_test_fails_on_hang`'s child process.
#[strand::test]
async fn hanging_strand_test() {
    if std::env::var_os("STRAND_DIAG_HANG_CHILD").is_none() {
        return;
    }
    LostWakeup(Arc::default()).await;
}
