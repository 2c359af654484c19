//! `strand::signal` inside one process: delivery, coalescing, cancel safety, several
//! listeners and runtimes, errors.
//!
//! Tests in this binary run in parallel threads and signals are process-wide, so each test uses
//! a signal of its own: a `raise` in one test must never be counted by another. `raise` runs
//! the handler before it returns, so a listener created earlier always sees it.

use std::io;
use std::time::Duration;

use signal_hook::consts as sig;
use signal_hook::low_level::raise;
use strand::signal::unix::{signal, Signal, SignalKind};
use strand::time::timeout;

mod util;
use util::{run, within};

const STEP: Duration = Duration::from_secs(20);
/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(50);

async fn nothing_more(s: &mut Signal) {
    assert!(
        timeout(QUIET, s.recv()).await.is_err(),
        "a {:?} arrived that nobody sent",
        s.kind()
    );
}

#[test]
fn recv_completes_once_per_burst() {
    run(async {
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        assert_eq!(usr1.kind(), SignalKind::user_defined1());
        nothing_more(&mut usr1).await;

        raise(sig::SIGUSR1).unwrap();
        assert_eq!(within(STEP, "first", usr1.recv()).await, Some(()));
        nothing_more(&mut usr1).await;

        // Three before anyone receives: coalesced into one.
        for _ in 0..3 {
            raise(sig::SIGUSR1).unwrap();
        }
        assert_eq!(within(STEP, "burst", usr1.recv()).await, Some(()));
        nothing_more(&mut usr1).await;

        // And it keeps working.
        for _ in 0..5 {
            raise(sig::SIGUSR1).unwrap();
            assert_eq!(within(STEP, "again", usr1.recv()).await, Some(()));
        }
    });
}

/// A signal delivered while a task is parked in `recv` wakes it (through the reactor, not a
/// busy poll): here the signal comes from another thread while the runtime sleeps in epoll.
#[test]
fn a_parked_receiver_is_woken() {
    run(async {
        let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
        let sender = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            // Process-directed, so any thread may take it: the handler writes the pipe.
            // The shell's `kill`: a builtin, so no procps needed.
            let status = std::process::Command::new("sh")
                .args(["-c", &format!("kill -USR2 {}", std::process::id())])
                .status()
                .unwrap();
            assert!(status.success());
        });
        assert_eq!(within(STEP, "woken", usr2.recv()).await, Some(()));
        sender.join().unwrap();
    });
}

/// A cancelled `recv` loses nothing: the signal that arrives after it is seen by the next one.
#[test]
fn recv_is_cancel_safe() {
    run(async {
        let mut hup = signal(SignalKind::hangup()).unwrap();
        for _ in 0..3 {
            assert!(timeout(Duration::from_millis(5), hup.recv()).await.is_err());
        }
        // Polled (parked), then the signal arrives and wakes it, then it is dropped before it
        // is polled again.
        {
            let mut parked = std::pin::pin!(hup.recv());
            assert!(futures_lite::future::poll_once(parked.as_mut())
                .await
                .is_none());
            raise(sig::SIGHUP).unwrap();
        }
        assert_eq!(within(STEP, "after cancel", hup.recv()).await, Some(()));
    });
}

/// Every listener of a kind gets every signal, on one runtime and across runtimes.
#[test]
fn every_listener_and_every_runtime_is_told() {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        run(async move {
            let mut winch = signal(SignalKind::window_change()).unwrap();
            ready_tx.send(()).unwrap();
            assert_eq!(within(STEP, "other runtime", winch.recv()).await, Some(()));
            drop(go_rx);
        })
    });
    run(async move {
        let mut a = signal(SignalKind::window_change()).unwrap();
        let mut b = signal(SignalKind::from_raw(sig::SIGWINCH)).unwrap();
        strand::spawn_blocking(move || ready_rx.recv().unwrap())
            .await
            .unwrap();
        raise(sig::SIGWINCH).unwrap();
        assert_eq!(within(STEP, "listener a", a.recv()).await, Some(()));
        assert_eq!(within(STEP, "listener b", b.recv()).await, Some(()));
        drop(go_tx);
    });
    other.join().unwrap();
}

/// A dropped listener is no longer told, and the others still are.
#[test]
fn dropping_a_listener_leaves_the_others() {
    run(async {
        let first = signal(SignalKind::alarm()).unwrap();
        let mut second = signal(SignalKind::alarm()).unwrap();
        drop(first);
        raise(sig::SIGALRM).unwrap();
        assert_eq!(within(STEP, "second", second.recv()).await, Some(()));
        nothing_more(&mut second).await;
    });
}

/// `Signal` is a `Stream` too.
#[test]
fn signal_is_a_stream() {
    use futures_lite::StreamExt;
    run(async {
        let mut urg = signal(SignalKind::from_raw(sig::SIGURG)).unwrap();
        raise(sig::SIGURG).unwrap();
        assert_eq!(within(STEP, "next", urg.next()).await, Some(()));
    });
}

/// Both `ctrl_c` cases share `SIGINT`, so they run in one test, one after the other.
#[test]
fn ctrl_c_registers_when_called_or_at_first_poll() {
    // Made inside a runtime: registered by the call. Raised before the first poll: not lost.
    run(async {
        let ctrl_c = strand::signal::ctrl_c();
        raise(sig::SIGINT).unwrap();
        within(STEP, "ctrl_c", ctrl_c).await.unwrap();
    });

    // Made outside a runtime: registered at its first poll.
    let ctrl_c = strand::signal::ctrl_c();
    assert!(format!("{ctrl_c:?}").contains("not registered yet"));
    run(async {
        let mut ctrl_c = std::pin::pin!(ctrl_c);
        assert!(futures_lite::future::poll_once(ctrl_c.as_mut())
            .await
            .is_none());
        assert!(format!("{ctrl_c:?}").contains("listening"));
        raise(sig::SIGINT).unwrap();
        within(STEP, "ctrl_c", ctrl_c).await.unwrap();
    });
}

#[test]
fn forbidden_and_invalid_signals_are_errors() {
    run(async {
        for signum in [
            sig::SIGKILL,
            sig::SIGSTOP,
            sig::SIGSEGV,
            sig::SIGILL,
            sig::SIGFPE,
            0,
            -1,
            1000,
        ] {
            let err = signal(SignalKind::from_raw(signum)).expect_err("registered");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{signum}: {err}");
        }
    });
}

/// A listener whose runtime is gone reports the end (`None`) instead of hanging.
#[test]
fn recv_after_the_runtime_is_gone_returns_none() {
    let rt = strand::Runtime::new().unwrap();
    let mut prof = rt
        .block_on(async { signal(SignalKind::from_raw(sig::SIGPROF)) })
        .unwrap();
    drop(rt);
    run(async move {
        assert_eq!(within(STEP, "recv", prof.recv()).await, None);
    });
}

#[test]
fn kinds_have_the_usual_numbers_and_names() {
    let kinds = [
        (SignalKind::alarm(), sig::SIGALRM, "SIGALRM"),
        (SignalKind::child(), sig::SIGCHLD, "SIGCHLD"),
        (SignalKind::hangup(), sig::SIGHUP, "SIGHUP"),
        (SignalKind::interrupt(), sig::SIGINT, "SIGINT"),
        (SignalKind::io(), sig::SIGIO, "SIGIO"),
        (SignalKind::pipe(), sig::SIGPIPE, "SIGPIPE"),
        (SignalKind::quit(), sig::SIGQUIT, "SIGQUIT"),
        (SignalKind::terminate(), sig::SIGTERM, "SIGTERM"),
        (SignalKind::user_defined1(), sig::SIGUSR1, "SIGUSR1"),
        (SignalKind::user_defined2(), sig::SIGUSR2, "SIGUSR2"),
        (SignalKind::window_change(), sig::SIGWINCH, "SIGWINCH"),
    ];
    for (kind, num, name) in kinds {
        assert_eq!(kind.as_raw_value(), num);
        assert_eq!(i32::from(kind), num);
        assert_eq!(SignalKind::from(num), kind);
        assert_eq!(format!("{kind:?}"), name);
    }
    assert_eq!(format!("{:?}", SignalKind::from_raw(40)), "SignalKind(40)");
}
