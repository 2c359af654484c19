//! Readiness, wakers, generations, unparking and shutdown, on real sockets on 127.0.0.1.

mod util;

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use strand_reactor::{Direction, Interest, Reactor, ReadyEvent, Registration};
use util::{block_on, counter, tcp_pair, turn_until, LIMIT};

fn both() -> Interest {
    Interest::READABLE | Interest::WRITABLE
}

fn poll_dir(reg: &Registration, waker: &Waker, dir: Direction) -> Poll<io::Result<ReadyEvent>> {
    reg.poll_ready(&mut Context::from_waker(waker), dir)
}

fn drain(mut s: &mio::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

#[test]
fn readiness_is_delivered_and_wakes_the_reader() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (mut client, mut server) = tcp_pair();
    let reg = Registration::new(&mut server, both()).unwrap();
    let (count, waker) = counter();
    assert!(poll_dir(&reg, &waker, Direction::Read).is_pending());

    client.write_all(b"hello").unwrap();
    turn_until(&reactor, || count.get() > 0);
    assert_eq!(count.get(), 1);
    let ev = match poll_dir(&reg, &waker, Direction::Read) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("expected readiness, got {other:?}"),
    };
    assert!(ev.ready().is_readable());
    assert_eq!(ev.direction(), Direction::Read);
    assert_eq!(drain(&server), b"hello");

    // poll_io drains to WouldBlock and then parks with the waker.
    let mut calls = 0;
    let res = reg.poll_io(&mut Context::from_waker(&waker), Direction::Read, || {
        calls += 1;
        (&server).read(&mut [0; 16])
    });
    assert!(res.is_pending());
    assert_eq!(calls, 1);
    assert!(!reg.ready(Direction::Read).is_readable());
    reg.deregister(&mut server).unwrap();
}

#[test]
fn only_the_last_waker_is_woken() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (mut client, mut server) = tcp_pair();
    let reg = Registration::new(&mut server, both()).unwrap();
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    assert!(poll_dir(&reg, &w1, Direction::Read).is_pending());
    assert!(poll_dir(&reg, &w2, Direction::Read).is_pending());
    client.write_all(b"x").unwrap();
    turn_until(&reactor, || c2.get() > 0);
    // Give a second chance for a wrong wake to show up.
    reactor.turn(Some(Duration::from_millis(10))).unwrap();
    assert_eq!(c1.get(), 0, "the replaced waker must not be woken");
    assert_eq!(c2.get(), 1);
    reg.deregister(&mut server).unwrap();
}

#[test]
fn a_stale_clear_keeps_fresh_readiness() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (mut client, mut server) = tcp_pair();
    let reg = Registration::new(&mut server, both()).unwrap();
    let (_, waker) = counter();
    client.write_all(b"one").unwrap();
    turn_until(&reactor, || reg.ready(Direction::Read).is_readable());
    let seen = match poll_dir(&reg, &waker, Direction::Read) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("{other:?}"),
    };
    assert_eq!(drain(&server), b"one");
    // Before the task clears, new data arrives and the reactor records it.
    client.write_all(b"two").unwrap();
    turn_until(&reactor, || match poll_dir(&reg, &waker, Direction::Read) {
        Poll::Ready(Ok(ev)) => ev.tick() > seen.tick(),
        _ => false,
    });
    reg.clear_readiness(seen);
    assert!(
        reg.ready(Direction::Read).is_readable(),
        "the stale clear wiped fresh readiness"
    );
    assert!(poll_dir(&reg, &waker, Direction::Read).is_ready());
    assert_eq!(drain(&server), b"two");
    reg.deregister(&mut server).unwrap();
}

/// tokio#8054: with one tick for both directions, write events make every read-side clear
/// fail, and "ready" / WouldBlock alternate forever.
#[test]
fn write_events_do_not_block_read_side_clears() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (mut client, mut server) = tcp_pair();
    let reg = Registration::new(&mut server, both()).unwrap();
    let (_, waker) = counter();
    client.write_all(b"ping").unwrap();
    turn_until(&reactor, || reg.ready(Direction::Read).is_readable());
    let read_ev = match poll_dir(&reg, &waker, Direction::Read) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("{other:?}"),
    };
    assert_eq!(drain(&server), b"ping");

    // Several write-only edges: fill the send buffer, let the peer drain it.
    let chunk = vec![7u8; 64 * 1024];
    for _ in 0..3 {
        let write_ev = match poll_dir(&reg, &waker, Direction::Write) {
            Poll::Ready(Ok(ev)) => ev,
            other => panic!("socket should be writable: {other:?}"),
        };
        let mut sent = 0;
        loop {
            match (&server).write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        reg.clear_readiness(write_ev);
        assert!(!reg.ready(Direction::Write).is_writable());
        let mut buf = vec![0; sent];
        client.read_exact(&mut buf).unwrap();
        turn_until(&reactor, || reg.ready(Direction::Write).is_writable());
    }

    reg.clear_readiness(read_ev);
    assert!(
        !reg.ready(Direction::Read).is_readable(),
        "a write event blocked the read-side clear"
    );
    let mut calls = 0;
    let res = reg.poll_io(&mut Context::from_waker(&waker), Direction::Read, || {
        calls += 1;
        (&server).read(&mut [0; 8])
    });
    assert!(res.is_pending());
    assert_eq!(
        calls, 0,
        "no readiness left, so the operation is not even tried"
    );
    reg.deregister(&mut server).unwrap();
}

#[test]
fn generation_drops_events_for_a_reused_slot() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (mut c1, mut s1) = tcp_pair();
    let reg1 = Registration::new(&mut s1, Interest::READABLE).unwrap();
    let old_token = reg1.token();
    c1.write_all(b"for the old owner").unwrap();
    // Freed without deregistering, fd still open: its event is still queued in the poller.
    drop(reg1);
    let (mut c2, mut s2) = tcp_pair();
    let reg2 = Registration::new(&mut s2, Interest::READABLE).unwrap();
    assert_ne!(reg2.token(), old_token);
    #[cfg(target_pointer_width = "64")]
    assert_eq!(reg2.token().0 as u32, old_token.0 as u32, "slot reused");
    let (count, waker) = counter();
    assert!(poll_dir(&reg2, &waker, Direction::Read).is_pending());

    let mut stale = 0;
    let start = Instant::now();
    while stale == 0 {
        assert!(start.elapsed() < LIMIT);
        stale += reactor
            .turn(Some(Duration::from_millis(50)))
            .unwrap()
            .stale_events;
    }
    assert_eq!(count.get(), 0, "a stale event reached the new registration");
    assert!(reg2.ready(Direction::Read).is_empty());

    c2.write_all(b"new").unwrap();
    turn_until(&reactor, || count.get() == 1);
    assert_eq!(drain(&s2), b"new");
    reg2.deregister(&mut s2).unwrap();
    drop(s1);
}

#[test]
fn unparker_from_another_thread_wakes_a_blocked_turn() {
    let reactor = Reactor::new().unwrap();
    let unparker = reactor.unparker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        unparker.unpark();
    });
    let start = Instant::now();
    loop {
        // Without the unpark this would block for the whole limit.
        let stats = reactor.turn(Some(LIMIT * 3)).unwrap();
        if stats.unparked {
            break;
        }
        assert!(start.elapsed() < LIMIT, "unpark did not wake the turn");
    }
    assert!(start.elapsed() < LIMIT * 2);
    t.join().unwrap();

    // An unpark that comes before the turn is not lost either.
    reactor.unparker().unpark();
    let stats = reactor.turn(Some(LIMIT * 3)).unwrap();
    assert!(stats.unparked);
}

#[test]
fn shutdown_wakes_everything_and_later_io_errors() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (_client, mut server) = tcp_pair();
    let reg = Registration::new(&mut server, both()).unwrap();
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    assert!(poll_dir(&reg, &w1, Direction::Read).is_pending());
    let mut readiness = Box::pin(reg.readiness(Direction::Read));
    assert!(readiness
        .as_mut()
        .poll(&mut Context::from_waker(&w2))
        .is_pending());

    reactor.shutdown();
    assert!(reactor.is_shutdown());
    assert_eq!(c1.get(), 1);
    assert_eq!(c2.get(), 1);
    match poll_dir(&reg, &w1, Direction::Read) {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("reactor gone"), "{e}"),
        other => panic!("expected an error after shutdown, got {other:?}"),
    }
    assert!(matches!(
        readiness.as_mut().poll(&mut Context::from_waker(&w2)),
        Poll::Ready(Err(_))
    ));
    let err = reg.try_io(Direction::Write, || Ok(())).unwrap_err();
    assert_ne!(err.kind(), io::ErrorKind::WouldBlock);
    let mut other = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    assert!(Registration::new(&mut other, Interest::READABLE).is_err());
    assert_eq!(reactor.registrations(), 1);
    drop(readiness);
    reg.deregister(&mut server).unwrap();
    drop(reg);
    assert_eq!(reactor.registrations(), 0);
}

/// A source whose OS registration always fails.
struct Failing;

impl mio::event::Source for Failing {
    fn register(&mut self, _: &mio::Registry, _: mio::Token, _: Interest) -> io::Result<()> {
        Err(io::Error::other("refused"))
    }
    fn reregister(&mut self, _: &mio::Registry, _: mio::Token, _: Interest) -> io::Result<()> {
        Err(io::Error::other("refused"))
    }
    fn deregister(&mut self, _: &mio::Registry) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn registration_count_returns_to_zero_and_failures_do_not_leak() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let mut sockets = Vec::new();
    for _ in 0..64 {
        let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let reg = Registration::new(&mut s, both()).unwrap();
        sockets.push((reg, s));
    }
    assert_eq!(reactor.registrations(), 64);
    for _ in 0..100 {
        let err = Registration::new(&mut Failing, Interest::READABLE).unwrap_err();
        assert_eq!(err.to_string(), "refused");
    }
    assert_eq!(
        reactor.registrations(),
        64,
        "a failed registration leaked its slot"
    );
    for (reg, mut s) in sockets.drain(..) {
        reg.deregister(&mut s).unwrap();
    }
    assert_eq!(reactor.registrations(), 0);

    // The same descriptor twice: the OS refuses (epoll: EEXIST); still no leak.
    #[cfg(target_os = "linux")]
    {
        let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let reg = Registration::new(&mut s, Interest::READABLE).unwrap();
        assert!(Registration::new(&mut s, Interest::READABLE).is_err());
        assert_eq!(reactor.registrations(), 1);
        reg.deregister(&mut s).unwrap();
        drop(reg);
        assert_eq!(reactor.registrations(), 0);
    }
}

thread_local! {
    static REENTERED: RefCell<Vec<(Registration, mio::net::UdpSocket)>> =
        const { RefCell::new(Vec::new()) };
}

fn register_one_more() {
    let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let reg = Registration::new(&mut s, Interest::READABLE).unwrap();
    REENTERED.with(|r| r.borrow_mut().push((reg, s)));
}

/// Registers a socket on the current reactor when woken and when dropped.
struct Reentrant;

impl Wake for Reentrant {
    fn wake(self: Arc<Self>) {
        register_one_more();
    }
}

impl Drop for Reentrant {
    fn drop(&mut self) {
        register_one_more();
    }
}

#[test]
fn wakers_may_reenter_the_reactor_on_wake_and_on_drop() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (mut client, mut server) = tcp_pair();
    let reg = Registration::new(&mut server, both()).unwrap();
    let reentrant = Waker::from(Arc::new(Reentrant));
    assert!(poll_dir(&reg, &reentrant, Direction::Read).is_pending());
    drop(reentrant);
    // Replacing the waker drops the old one: its Drop registers (no borrow may be held).
    let (count, plain) = counter();
    assert!(poll_dir(&reg, &plain, Direction::Read).is_pending());
    assert_eq!(REENTERED.with(|r| r.borrow().len()), 1);

    // A waker that registers from inside `wake` during a turn.
    let reentrant = Waker::from(Arc::new(Reentrant));
    assert!(poll_dir(&reg, &reentrant, Direction::Read).is_pending());
    drop(reentrant);
    assert_eq!(REENTERED.with(|r| r.borrow().len()), 1);
    client.write_all(b"wake").unwrap();
    // wake() registers one, and dropping the consumed waker registers another.
    turn_until(&reactor, || REENTERED.with(|r| r.borrow().len()) == 3);
    assert_eq!(count.get(), 0);
    assert_eq!(reactor.registrations(), 4);
    REENTERED.with(|r| {
        for (reg, mut s) in r.borrow_mut().drain(..) {
            reg.deregister(&mut s).unwrap();
        }
    });
    reg.deregister(&mut server).unwrap();
    drop(reg);
    assert_eq!(reactor.registrations(), 0);
}

#[test]
fn read_closed_is_reported_final_and_reads_end() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (client, mut server) = tcp_pair();
    let reg = Registration::new(&mut server, both()).unwrap();
    assert!(!reg.is_read_closed());
    reactor.turn(Some(Duration::ZERO)).unwrap();
    assert!(!reg.is_read_closed(), "closed must never be reported early");
    client.shutdown(std::net::Shutdown::Write).unwrap();
    turn_until(&reactor, || reg.is_read_closed());
    let (_, waker) = counter();
    let mut cx = Context::from_waker(&waker);
    match reg.poll_io(&mut cx, Direction::Read, || (&server).read(&mut [0; 8])) {
        Poll::Ready(Ok(0)) => {}
        other => panic!("expected end of stream, got {other:?}"),
    }
    let ev = match reg.poll_ready(&mut cx, Direction::Read) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("{other:?}"),
    };
    assert!(ev.is_closed());
    reg.clear_readiness(ev);
    assert!(reg.is_read_closed(), "closed hints are final");
    assert!(!reg.is_write_closed());
    reg.deregister(&mut server).unwrap();
}

#[test]
fn several_waiters_on_one_direction_are_all_woken() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let reg = Registration::new(&mut listener, Interest::READABLE).unwrap();
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    let mut a = Box::pin(reg.readiness(Direction::Read));
    let mut b = Box::pin(reg.readiness(Direction::Read));
    assert!(a.as_mut().poll(&mut Context::from_waker(&w1)).is_pending());
    assert!(b.as_mut().poll(&mut Context::from_waker(&w2)).is_pending());
    let _conn = std::net::TcpStream::connect(addr).unwrap();
    turn_until(&reactor, || c1.get() > 0 && c2.get() > 0);
    assert!(a.as_mut().poll(&mut Context::from_waker(&w1)).is_ready());
    drop(b);
    drop(a);

    // async_io accepts (and keeps accepting once drained).
    let (stream, _) = block_on(
        &reactor,
        reg.async_io(Direction::Read, || listener.accept()),
    )
    .expect("accept");
    drop(stream);
    let _conn2 = std::net::TcpStream::connect(addr).unwrap();
    let (stream, _) = block_on(
        &reactor,
        reg.async_io(Direction::Read, || listener.accept()),
    )
    .expect("second accept");
    drop(stream);
    reg.deregister(&mut listener).unwrap();
}

#[test]
fn try_io_without_readiness_does_not_call_the_operation() {
    let reactor = Reactor::new().unwrap();
    let _e = reactor.enter();
    let (_client, mut server) = tcp_pair();
    let reg = Registration::new(&mut server, both()).unwrap();
    let mut called = false;
    let err = reg
        .try_io(Direction::Read, || {
            called = true;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert!(!called);
    reg.deregister(&mut server).unwrap();
}

#[test]
#[should_panic(expected = "no strand reactor is running")]
fn registration_outside_a_runtime_panics_with_a_clear_message() {
    let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let _ = Registration::new(&mut s, Interest::READABLE);
}

#[test]
fn enter_guards_nest_and_restore() {
    let r1 = Reactor::new().unwrap();
    let r2 = Reactor::new().unwrap();
    let mut s = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let g1 = r1.enter();
    {
        let _g2 = r2.enter();
        let reg = Registration::new(&mut s, Interest::READABLE).unwrap();
        assert_eq!((r1.registrations(), r2.registrations()), (0, 1));
        reg.deregister(&mut s).unwrap();
    }
    let reg = Registration::new(&mut s, Interest::READABLE).unwrap();
    assert_eq!((r1.registrations(), r2.registrations()), (1, 0));
    reg.deregister(&mut s).unwrap();
    drop(reg);
    drop(g1);
    assert!(std::panic::catch_unwind(move || {
        let _ = Registration::new(&mut s, Interest::READABLE);
    })
    .is_err());
}

#[test]
fn registrations_outliving_the_reactor_are_harmless() {
    let reactor = Reactor::new().unwrap();
    let (_client, mut server) = tcp_pair();
    let reg = Registration::new_on(&reactor, &mut server, both()).unwrap();
    drop(reactor);
    let (_, waker) = counter();
    assert!(matches!(
        poll_dir(&reg, &waker, Direction::Read),
        Poll::Ready(Err(_))
    ));
    assert!(reg.deregister(&mut server).is_ok());
    drop(reg);
}
