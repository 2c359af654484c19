//! Flow control and readiness: a large write through tiny socket buffers to a slow reader,
//! a large read through a tiny buffer from a silent peer, and the cooperative budget on an
//! always-ready socket.

mod util;

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpSocket, TcpStream};
use util::{pattern, run, CountPolls};

const BIG: usize = 16 * 1024 * 1024;
const SMALL_BUF: u32 = 4 * 1024;

#[test]
fn write_16mib_through_4k_buffers_to_slow_reader_without_spinning() {
    let data = pattern(BIG, 16);
    let expected = data.clone();
    run(async move {
        // A std listener with a small receive buffer (set before listen, so it applies to the
        // accepted socket), read by a slow blocking thread.
        let ls = TcpSocket::new_v4().unwrap();
        ls.set_recv_buffer_size(SMALL_BUF).unwrap();
        ls.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = ls.listen(16).unwrap();
        let addr = listener.local_addr().unwrap();
        let std_listener = listener.into_std().unwrap();
        std_listener.set_nonblocking(false).unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = std_listener.accept().unwrap();
            let mut buf = vec![0u8; 4096];
            let mut got = 0usize;
            let mut since_nap = 0usize;
            loop {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                assert!(
                    buf[..n] == expected[got..got + n],
                    "bytes differ at offset {got}"
                );
                got += n;
                since_nap += n;
                if since_nap >= 256 * 1024 {
                    since_nap = 0;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            done_tx.send(got).unwrap();
        });

        let sock = TcpSocket::new_v4().unwrap();
        sock.set_send_buffer_size(SMALL_BUF).unwrap();
        let mut stream = sock.connect(addr).await.unwrap();
        let writes = Rc::new(Cell::new(0u64));
        let w = writes.clone();
        let (writer, polls) = CountPolls::new(async move {
            let mut off = 0;
            while off < data.len() {
                let n = stream.write(&data[off..]).await.unwrap();
                assert!(n > 0);
                off += n;
                w.set(w.get() + 1);
            }
            stream.close().await.unwrap();
        });
        strand::spawn(writer).await.unwrap();

        let got = strand::spawn_blocking(move || done_rx.recv().unwrap())
            .await
            .unwrap();
        reader.join().unwrap();
        assert_eq!(got, BIG, "the reader got every byte");
        let (polls, writes) = (polls.get(), writes.get());
        // The buffers hold a few KiB, so the writer blocked many times...
        assert!(
            writes > 100,
            "only {writes} writes: the buffers were not small"
        );
        // ...and each time it waited for a wakeup instead of polling in a loop: every poll
        // after the first is a return from a wait, and every wait ends in at least one write
        // (plus a budget yield every 128 operations).
        assert!(
            polls <= writes + writes / 64 + 16,
            "writer polled {polls} times for {writes} writes: it spins while blocked"
        );
    });
}

#[test]
fn one_mib_through_a_100_byte_buffer_from_a_silent_peer() {
    const LEN: usize = 1024 * 1024;
    let data = pattern(LEN, 1);
    let expected = data.clone();
    run(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (finished_tx, finished_rx) = mpsc::channel::<()>();
        // The peer writes 1 MiB, then stays silent (no more data, no close) until we are done.
        let peer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(&data).unwrap();
            finished_rx.recv().unwrap();
        });
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut got = Vec::with_capacity(LEN);
        let mut buf = [0u8; 100];
        let mut reads = 0u64;
        while got.len() < LEN {
            // Each read is a separate poll of a fresh future; short reads must not clear the
            // readiness, or the rest would wait for an edge that never comes.
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "unexpected end-of-file at {}", got.len());
            got.extend_from_slice(&buf[..n]);
            reads += 1;
        }
        assert!(got == expected, "bytes differ");
        assert!(reads >= (LEN / 100) as u64);
        // Nothing more is pending: the peer is silent.
        assert_eq!(
            stream.try_read(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
        finished_tx.send(()).unwrap();
        strand::spawn_blocking(move || peer.join().unwrap())
            .await
            .unwrap();
    });
}

#[test]
fn an_always_ready_socket_spends_the_budget_and_yields() {
    const LEN: usize = 64 * 1024;
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(&pattern(LEN, 3)).await.unwrap();
        // Wait until every byte is queued on the server side.
        let mut probe = vec![0u8; LEN];
        loop {
            let n = server.peek(&mut probe).await.unwrap();
            if n == LEN {
                break;
            }
            strand::time::sleep(Duration::from_millis(1)).await;
        }

        let ticks = Rc::new(Cell::new(0u64));
        let stop = Rc::new(Cell::new(false));
        let (t, s) = (ticks.clone(), stop.clone());
        let ticker = strand::spawn(async move {
            while !s.get() {
                t.set(t.get() + 1);
                strand::task::yield_now().await;
            }
        });
        // The reads run in a spawned task (the budget applies per task turn).
        let t2 = ticks.clone();
        let reader = strand::spawn(async move {
            strand::task::yield_now().await;
            let start = t2.get();
            // 65536 one-byte reads that never block: without a budget this loop would never
            // return to the scheduler and the ticker would not move.
            let mut b = [0u8; 1];
            for _ in 0..LEN {
                assert_eq!(server.read(&mut b).await.unwrap(), 1);
            }
            t2.get() - start
        });
        let during = reader.await.unwrap();
        stop.set(true);
        ticker.await.unwrap();
        assert!(
            during >= (LEN / 128 / 2) as u64,
            "the ticker ran only {during} times during {LEN} always-ready reads"
        );
    });
}
