//! The run loop's reactor polling: once per `event_interval` polls while work remains, and
//! always before a task that yielded runs again.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use strand::net::UdpSocket;
use strand::sync::oneshot;
use strand::{task, Runtime};

/// Rounds of the root-future ping-pong below.
const ROUNDS: u64 = 2_000;

#[test]
fn a_busy_loop_polls_the_reactor_once_per_event_interval() {
    let rt = Runtime::builder().event_interval(61).build().unwrap();
    let turns = rt.block_on(async {
        // A registered socket, so that the zero-timeout reactor polls are real ones.
        let _socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let before = strand::runtime::Handle::current().metrics().reactor_turns;
        // The root future and a task hand a token back and forth: every round wakes the root.
        for i in 0..ROUNDS {
            let (tx, rx) = oneshot::channel();
            let (back_tx, back_rx) = oneshot::channel();
            let echo = strand::spawn(async move {
                let v: u64 = rx.await.unwrap();
                back_tx.send(v + 1).unwrap();
            });
            tx.send(i).unwrap();
            assert_eq!(back_rx.await.unwrap(), i + 1);
            echo.await.unwrap();
        }
        strand::runtime::Handle::current().metrics().reactor_turns - before
    });
    // About three polls per round (the root twice, the task once): ~100 turns at one per 61
    // polls, where one turn per wake of the root would be thousands.
    assert!(turns <= ROUNDS * 3 / 61 + 20, "{turns} reactor turns");
    assert!(turns >= ROUNDS / 61, "{turns} reactor turns");
}

#[test]
fn a_yield_lets_ready_io_run_before_the_task_continues() {
    let rt = Runtime::new().unwrap();
    let yields = rt.block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let got = Rc::new(Cell::new(false));
        let flag = got.clone();
        let reader = strand::spawn(async move {
            let mut buf = [0u8; 16];
            let n = socket.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"ping");
            flag.set(true);
        });
        let spinner = strand::spawn(async move {
            // The reader is parked on its socket by now (it was queued first).
            let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            sender.send_to(b"ping", addr).unwrap();
            let mut yields = 0u32;
            while !got.get() {
                task::yield_now().await;
                yields += 1;
                assert!(yields < 10_000, "the datagram never arrived");
            }
            yields
        });
        reader.await.unwrap();
        spinner.await.unwrap()
    });
    // The reactor is polled before the yielded task runs again, so the datagram (already in the
    // socket's queue on loopback) wakes the reader in time for the spinner's next turn. Without
    // that turn the spinner would go on for a whole `event_interval` of polls.
    assert!(yields <= 2, "{yields} yields before the reader ran");
}

#[test]
fn a_yielding_root_future_gets_a_reactor_turn_too() {
    let rt = Runtime::new().unwrap();
    let yields = rt.block_on(async {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let got = Rc::new(Cell::new(false));
        let flag = got.clone();
        let reader = strand::spawn(async move {
            let mut buf = [0u8; 16];
            socket.recv(&mut buf).await.unwrap();
            flag.set(true);
        });
        // Let the reader park on its socket.
        task::yield_now().await;
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"ping", addr).unwrap();
        let mut yields = 0u32;
        while !got.get() {
            task::yield_now().await;
            yields += 1;
            assert!(yields < 10_000, "the datagram never arrived");
        }
        strand::time::timeout(Duration::from_secs(5), reader)
            .await
            .unwrap()
            .unwrap();
        yields
    });
    assert!(yields <= 2, "{yields} yields before the reader ran");
}
