//! The short-transfer rule (crate docs, "Short transfers on streams count as drained"): a short
//! TCP read or a short stream write clears the readiness it observed, and nothing is lost by
//! it: data that arrives after the short read, end-of-file that arrived with the data, urgent
//! data, and room that frees up after a short write all get through. Datagram sockets keep
//! their readiness after a short receive.

use std::future::{poll_fn, Future};
use std::io::{Read, Write};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use strand_net::{TcpListener, TcpSocket, TcpStream, UdpSocket};

/// Bound on every wait that must finish.
const WAIT: Duration = Duration::from_secs(10);
/// Time for loopback traffic sent before it to reach the other socket and the reactor.
const SETTLE: Duration = Duration::from_millis(100);

fn run<F: Future>(f: F) -> F::Output {
    strand::block_on(async {
        strand::time::timeout(Duration::from_secs(60), f)
            .await
            .expect("test body timed out")
    })
}

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match strand::time::timeout(WAIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no result within {WAIT:?} (a lost edge?)"),
    }
}

/// One `poll_read` with no reactor turn before it (so no new event can have arrived).
async fn poll_read_once(s: &mut TcpStream, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *s).poll_read(cx, buf))).await
}

async fn poll_write_once(s: &mut TcpStream, buf: &[u8]) -> Poll<std::io::Result<usize>> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *s).poll_write(cx, buf))).await
}

/// A strand stream accepted from a std (blocking) client.
async fn pair_with_std_client() -> (TcpStream, std::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    client.set_nodelay(true).unwrap();
    let (server, _) = within("accept", listener.accept()).await.unwrap();
    (server, client)
}

#[test]
fn data_arriving_after_a_short_read_is_read() {
    run(async {
        let (mut server, mut client) = pair_with_std_client().await;
        let mut buf = [0u8; 64];
        for round in 0..50u8 {
            let msg = [round; 5];
            client.write_all(&msg).unwrap();
            let n = within("read", server.read(&mut buf)).await.unwrap();
            assert_eq!(&buf[..n], &msg[..n]);
            let mut got = n;
            while got < msg.len() {
                got += within("read rest", server.read(&mut buf[got..]))
                    .await
                    .unwrap();
            }
            assert_eq!(&buf[..5], &msg);
            // The short read cleared the read readiness: the next poll parks at once, with no
            // syscall that would only return EAGAIN...
            if got == n {
                assert!(poll_read_once(&mut server, &mut buf).await.is_pending());
            }
            // ...and data arriving now raises a new edge that wakes the next read.
        }
    });
}

#[test]
fn data_and_fin_together_still_read_end_of_file_after_the_short_read() {
    run(async {
        let (mut server, mut client) = pair_with_std_client().await;
        client.write_all(b"abc").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        // Let the data and the FIN reach the socket and the reactor (one event, normally).
        strand::time::sleep(SETTLE).await;
        let mut buf = [0u8; 64];
        let n = within("read data", server.read(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"abc");
        // Read-closed is final and survives the short-read clear: end-of-file comes without
        // any new event (a cleared READ_CLOSED would hang here, since the FIN was already
        // reported).
        let n = within("read end-of-file", server.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0);
        assert_eq!(
            server.read(&mut buf).await.unwrap(),
            0,
            "end-of-file repeats"
        );
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn a_read_that_stops_at_urgent_data_does_not_lose_what_follows() {
    run(async {
        let (mut server, client) = pair_with_std_client().await;
        let sock = socket2::SockRef::from(&client);
        assert_eq!(sock.send(b"abc").unwrap(), 3);
        assert_eq!(sock.send_out_of_band(b"!").unwrap(), 1);
        assert_eq!(sock.send(b"def").unwrap(), 3);
        strand::time::sleep(SETTLE).await;
        // TCP stops a read at the urgent mark with "def" still queued and no edge to come.
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while got.len() < 6 {
            let n = within("read around the urgent byte", server.read(&mut buf))
                .await
                .unwrap();
            assert!(n > 0, "unexpected end-of-file");
            got.extend_from_slice(&buf[..n]);
        }
        // The urgent byte is out of band (not inline) and skipped by plain reads.
        assert_eq!(got, b"abcdef");
        drop(client);
    });
}

#[test]
fn a_short_write_rearms_when_the_peer_reads() {
    const LEN: usize = 4 * 1024 * 1024;
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sock = TcpSocket::new_v4().unwrap();
        sock.set_send_buffer_size(4096).unwrap();
        let mut writer = within("connect", sock.connect(addr)).await.unwrap();
        let (mut reader, _) = within("accept", listener.accept()).await.unwrap();
        let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        within("writable", writer.writable()).await.unwrap();
        // The first write fills the send buffer and the peer's receive queue: short.
        let Poll::Ready(Ok(first)) = poll_write_once(&mut writer, &data).await else {
            panic!("a writable stream must accept some bytes");
        };
        assert!(first > 0 && first < LEN, "wrote {first} of {LEN}");
        // The short write cleared the write readiness: the next poll parks without a syscall.
        assert!(poll_write_once(&mut writer, &data[first..])
            .await
            .is_pending());
        let expected = data.clone();
        let read_all = strand::spawn(async move {
            let mut got = Vec::with_capacity(LEN);
            within("read everything", reader.read_to_end(&mut got))
                .await
                .unwrap();
            assert!(got == expected, "the reader got the bytes in order");
        });
        // As the reader drains, new write edges arrive and the rest goes out.
        within("write the rest", writer.write_all(&data[first..]))
            .await
            .unwrap();
        writer.close().await.unwrap();
        within("reader", read_all).await.unwrap();
    });
}

#[test]
fn a_short_datagram_receive_keeps_the_read_readiness() {
    run(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        client.connect(server.local_addr().unwrap()).unwrap();
        client.send(b"one").unwrap();
        client.send(b"two").unwrap();
        strand::time::sleep(SETTLE).await;
        let mut buf = [0u8; 64];
        let n = within("recv", server.recv(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"one");
        // A short datagram says nothing about the queue: the second one is received by the
        // very next poll, with no new event.
        let polled = poll_fn(|cx| Poll::Ready(server.poll_recv(cx, &mut buf))).await;
        match polled {
            Poll::Ready(Ok(n)) => assert_eq!(&buf[..n], b"two"),
            other => panic!("second datagram not received at once: {other:?}"),
        }
    });
}

#[test]
fn many_short_round_trips_on_many_connections_complete() {
    // An echo over 64 connections with small messages (every read short): any lost edge
    // stalls a connection and trips the bound.
    const CONNS: usize = 64;
    const ROUNDS: usize = 200;
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        strand::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                strand::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        let n = s.read(&mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        s.write_all(&buf[..n]).await.unwrap();
                    }
                });
            }
        });
        let mut clients = Vec::new();
        for c in 0..CONNS {
            clients.push(strand::spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = [0u8; 64];
                for r in 0..ROUNDS {
                    let msg = [(c + r) as u8; 64];
                    s.write_all(&msg).await.unwrap();
                    s.read_exact(&mut buf).await.unwrap();
                    assert_eq!(buf, msg);
                }
            }));
        }
        for c in clients {
            within("client", c).await.unwrap();
        }
    });
}

#[test]
fn blocking_peer_sees_every_byte_of_short_writes() {
    // A std reader on a thread reads slowly; the strand writer's writes are mostly short.
    const LEN: usize = 2 * 1024 * 1024;
    run(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::with_capacity(LEN);
            let mut buf = [0u8; 1000];
            loop {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    return got;
                }
                got.extend_from_slice(&buf[..n]);
                if got.len() % 64_000 < 1000 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        let sock = TcpSocket::new_v4().unwrap();
        sock.set_send_buffer_size(8192).unwrap();
        let mut w = within("connect", sock.connect(addr)).await.unwrap();
        let data: Vec<u8> = (0..LEN).map(|i| (i % 253) as u8).collect();
        within("write_all", w.write_all(&data)).await.unwrap();
        w.close().await.unwrap();
        let got = strand::spawn_blocking(move || reader.join().unwrap())
            .await
            .unwrap();
        assert!(got == data, "every byte, in order");
    });
}
