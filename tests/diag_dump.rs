//! `Runtime::dump` / `Handle::dump`: every live task with its state, spawn location, name, polls
//! and what it waits on (a socket read, a sleep, a lock, a channel, another task).

use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use strand::io::AsyncReadExt;
use strand::net::{TcpListener, TcpStream};
use strand::runtime::{ChannelKind, Handle, IoDirection, LockKind, TaskState, WaitReason};
use strand::sync::{mpsc, oneshot, Mutex, Notify, RwLock, Semaphore};
use strand::task::{yield_now, Builder};

mod util;
use util::spawn_opposite_lockers;

fn only_reason(task: &strand::runtime::TaskDump) -> WaitReason {
    match task.waits_on[..] {
        [r] => r,
        _ => panic!(
            "task {} waits on {:?}, expected one reason",
            task.id, task.waits_on
        ),
    }
}

#[strand::test]
async fn dump_lists_every_task_with_state_location_and_wait_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    let server_fd = i64::from(server.as_raw_fd());
    let lock = Rc::new(Mutex::new(()));
    let held = lock.lock().await;

    let reader_line = line!() + 3;
    let reader = Builder::new()
        .name("reader")
        .spawn(async move {
            let mut buf = [0u8; 16];
            server.read(&mut buf).await
        })
        .unwrap();
    let sleeper_line = line!() + 3;
    let sleeper = Builder::new()
        .name("sleeper")
        .spawn(strand::time::sleep(Duration::from_secs(3600)))
        .unwrap();
    let lock2 = lock.clone();
    let locker_line = line!() + 1;
    let locker = strand::spawn(async move {
        let _guard = lock2.lock().await;
    });
    yield_now().await; // each of them runs once and parks
    let fresh_line = line!() + 1;
    let fresh = strand::spawn(async {});

    let before = Instant::now();
    let dump = Handle::current().dump();
    assert_eq!(dump.tasks().len(), 4, "{dump}");

    let r = dump.task(reader.id()).unwrap();
    assert_eq!(r.name.as_deref(), Some("reader"));
    assert_eq!(r.state, TaskState::Idle);
    assert_eq!(
        (r.location.file(), r.location.line()),
        (file!(), reader_line)
    );
    assert_eq!(r.polls, 1);
    assert!(r.since_last_poll.is_some());
    assert_eq!(
        only_reason(r),
        WaitReason::Io {
            fd: server_fd,
            direction: IoDirection::Read
        }
    );

    let s = dump.task(sleeper.id()).unwrap();
    assert_eq!(s.name.as_deref(), Some("sleeper"));
    assert_eq!(s.state, TaskState::Idle);
    assert_eq!(s.location.line(), sleeper_line);
    match only_reason(s) {
        WaitReason::Timer { deadline } => {
            assert!(
                deadline > before + Duration::from_secs(3500),
                "{deadline:?}"
            )
        }
        other => panic!("sleeper waits on {other:?}"),
    }

    let l = dump.task(locker.id()).unwrap();
    assert_eq!(l.name, None);
    assert_eq!(l.state, TaskState::Idle);
    assert_eq!(l.location.line(), locker_line);
    assert!(matches!(
        only_reason(l),
        WaitReason::Lock {
            kind: LockKind::Mutex,
            ..
        }
    ));

    let f = dump.task(fresh.id()).unwrap();
    assert_eq!(f.state, TaskState::Scheduled);
    assert_eq!(f.location.line(), fresh_line);
    assert_eq!((f.polls, f.since_last_poll), (0, None));
    assert!(f.waits_on.is_empty());

    // The dump was taken from the `block_on` future itself.
    let root = dump.root().unwrap();
    assert_eq!(root.state, TaskState::Running);
    assert_eq!(root.location.file(), file!());

    let text = dump.to_string();
    for needle in [
        "reader",
        "sleeper",
        "idle",
        "scheduled",
        "block_on",
        &format!("socket fd {server_fd} (read)"),
        "timer, fires in",
        "mutex 0x",
        &format!("{}:{}", file!(), reader_line),
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
    // One header line, the column titles, the root and four tasks.
    assert_eq!(text.lines().count(), 7, "{text}");

    drop(held);
    locker.await.unwrap();
    fresh.await.unwrap();
    sleeper.abort();
    reader.abort();
    drop(client);
}

#[strand::test]
async fn dump_from_inside_a_task_shows_it_running_and_the_root_waiting_for_it() {
    let (tx, rx) = oneshot::channel::<()>();
    let child = strand::spawn(async move {
        let dump = Handle::current().dump();
        let me = dump.task(strand::task::id()).unwrap().clone();
        let root = dump.root().unwrap().clone();
        drop(tx);
        (me, root)
    });
    let child_id = child.id();
    let (me, root) = child.await.unwrap();
    assert_eq!(me.state, TaskState::Running);
    assert!(me.waits_on.is_empty());
    assert_eq!(root.state, TaskState::Idle);
    assert_eq!(root.waits_on, [WaitReason::Task { id: child_id }]);
    assert!(rx.await.is_err());
}

#[strand::test]
async fn channels_locks_and_join_handles_are_named() {
    let (otx, orx) = oneshot::channel::<u8>();
    let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
    let (mtx, mut mrx) = mpsc::channel::<u8>(1);
    let notify = Rc::new(Notify::new());
    let sem = Rc::new(Semaphore::new(0));
    let rw = Rc::new(RwLock::new(0));
    let read_guard = rw.read().await;
    mtx.send(1).await.unwrap(); // the bounded channel is full now

    let a = strand::spawn(orx);
    let b = strand::spawn(async move { urx.recv().await });
    let n = notify.clone();
    let c = strand::spawn(async move { n.notified().await });
    let s = sem.clone();
    let d = strand::spawn(async move { drop(s.acquire().await) });
    let w = rw.clone();
    let e = strand::spawn(async move { *w.write().await += 1 });
    let f = strand::spawn(async move { mtx.send(2).await.is_ok() });
    let a_id = a.id();
    let g = strand::spawn(async move { a.await.unwrap() });
    yield_now().await;

    let dump = Handle::current().dump();
    let reason = |id| only_reason(dump.task(id).unwrap());
    assert!(matches!(
        reason(g.id()),
        WaitReason::Task { id } if id == a_id
    ));
    let channel = |id| match reason(id) {
        WaitReason::Channel { kind, .. } => kind,
        other => panic!("task {id} waits on {other:?}"),
    };
    let lock = |id| match reason(id) {
        WaitReason::Lock { kind, .. } => kind,
        other => panic!("task {id} waits on {other:?}"),
    };
    assert_eq!(channel(a_id), ChannelKind::OneshotRecv);
    assert_eq!(channel(b.id()), ChannelKind::MpscRecv);
    assert_eq!(channel(c.id()), ChannelKind::Notify);
    assert_eq!(lock(d.id()), LockKind::Semaphore);
    assert_eq!(lock(e.id()), LockKind::RwLockWrite);
    assert_eq!(channel(f.id()), ChannelKind::MpscSend);
    let text = dump.to_string();
    for needle in [
        "oneshot receive",
        "mpsc receive",
        "notify",
        "semaphore",
        "rwlock (write)",
        "mpsc send",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }

    otx.send(7).unwrap();
    assert_eq!(g.await.unwrap(), Ok(7));
    utx.send(3).unwrap();
    assert_eq!(b.await.unwrap(), Some(3));
    notify.notify_one();
    c.await.unwrap();
    sem.add_permits(1);
    d.await.unwrap();
    drop(read_guard);
    e.await.unwrap();
    assert_eq!(mrx.recv().await, Some(1));
    assert!(f.await.unwrap());
}

#[test]
fn runtime_dump_outside_block_on_and_handle_dump_off_thread() {
    let rt = strand::Runtime::new().unwrap();
    let h = rt.spawn(async { 1 });
    let dump = rt.dump();
    assert!(dump.root().is_none());
    assert_eq!(dump.tasks().len(), 1);
    assert_eq!(dump.tasks()[0].state, TaskState::Scheduled);
    assert_eq!(dump.task(h.id()).unwrap().location.file(), file!());

    // On the runtime's thread a Handle works even outside `block_on`...
    let handle = rt.handle();
    assert_eq!(handle.dump().tasks().len(), 1);
    assert_eq!(handle.metrics().tasks_spawned, 1);
    // ...on another thread it panics with a message saying where to call it.
    let err = std::thread::spawn(move || handle.dump())
        .join()
        .expect_err("dump off the runtime thread must panic");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("off the runtime's thread"), "{msg}");
    assert_eq!(rt.block_on(h).unwrap(), 1);
    assert!(rt.dump().tasks().is_empty());
}

#[test]
fn without_diagnostics_there_are_no_wait_reasons_and_no_reports() {
    let reports = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = reports.clone();
    let rt = strand::Runtime::builder()
        .on_deadlock(move |_| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .diagnostics(false)
        .build()
        .unwrap();
    rt.block_on(async {
        let sleeper = strand::spawn(strand::time::sleep(Duration::from_secs(60)));
        let (left, right) = spawn_opposite_lockers();
        strand::time::sleep(Duration::from_millis(30)).await;
        let dump = Handle::current().dump();
        assert_eq!(dump.tasks().len(), 3);
        assert!(dump.tasks().iter().all(|t| t.waits_on.is_empty()));
        for t in [sleeper, left, right] {
            t.abort();
        }
    });
    assert_eq!(reports.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(rt.metrics().deadlocks_detected, 0);
}
