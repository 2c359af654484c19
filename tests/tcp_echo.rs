//! TCP data path: many concurrent echo clients, split halves, several acceptors, incoming().

mod util;

use std::cell::Cell;
use std::io::{self, IoSlice};
use std::rc::Rc;
use std::time::Duration;

use futures_lite::StreamExt;
use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpStream};
use util::{pattern, run, spawn_echo_server, within};

const CLIENTS: usize = 200;
const PER_CLIENT: usize = 64 * 1024;

#[test]
fn two_hundred_clients_echo_64k_each_byte_exact() {
    run(async {
        let addr = spawn_echo_server().await;
        let mut handles = Vec::new();
        for i in 0..CLIENTS {
            handles.push(strand::spawn(async move {
                let data = pattern(PER_CLIENT, i as u64);
                let stream = TcpStream::connect(addr).await?;
                let (mut r, mut w) = stream.into_split();
                // Write and read concurrently: a client that wrote everything first could
                // deadlock with the echo server once both socket buffers fill up.
                let to_send = data.clone();
                let writer = strand::spawn(async move {
                    for chunk in to_send.chunks(7 * 1024 + 13) {
                        w.write_all(chunk).await?;
                    }
                    w.close().await?;
                    io::Result::Ok(())
                });
                let mut back = Vec::with_capacity(PER_CLIENT);
                r.read_to_end(&mut back).await?;
                writer.await.unwrap()?;
                assert_eq!(back.len(), PER_CLIENT, "client {i}: length");
                assert!(back == data, "client {i}: bytes differ");
                io::Result::Ok(())
            }));
        }
        for h in handles {
            h.await.unwrap().unwrap();
        }
    });
}

#[test]
fn borrowed_split_reads_and_writes_at_once() {
    run(async {
        let addr = spawn_echo_server().await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let data = pattern(256 * 1024, 7);
        let (mut r, mut w) = stream.split();
        let write = async {
            w.write_all(&data).await?;
            w.close().await
        };
        let read = async {
            let mut back = Vec::new();
            r.read_to_end(&mut back).await?;
            io::Result::Ok(back)
        };
        let (wr, back) = futures_lite::future::zip(write, read).await;
        wr.unwrap();
        assert!(back.unwrap() == data);
    });
}

#[test]
fn shared_reference_implements_read_and_write() {
    run(async {
        let addr = spawn_echo_server().await;
        let stream = Rc::new(TcpStream::connect(addr).await.unwrap());
        let s2 = stream.clone();
        let writer = strand::spawn(async move {
            let mut w: &TcpStream = &s2;
            w.write_all(b"through &TcpStream").await.unwrap();
            w.close().await.unwrap();
        });
        let mut r: &TcpStream = &stream;
        let mut back = String::new();
        r.read_to_string(&mut back).await.unwrap();
        assert_eq!(back, "through &TcpStream");
        writer.await.unwrap();
    });
}

#[test]
fn vectored_writes_send_every_buffer_in_order() {
    run(async {
        let addr = spawn_echo_server().await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let a = pattern(1000, 1);
        let b = pattern(3000, 2);
        let c = pattern(10, 3);
        let mut expected = a.clone();
        expected.extend_from_slice(&b);
        expected.extend_from_slice(&c);
        let bufs = [IoSlice::new(&a), IoSlice::new(&b), IoSlice::new(&c)];
        // One sendmsg; whatever it did not take goes after it with write_all.
        let n = stream.write_vectored(&bufs).await.unwrap();
        assert!(n > 0 && n <= expected.len());
        stream.write_all(&expected[n..]).await.unwrap();
        stream.close().await.unwrap();
        let mut back = Vec::new();
        stream.read_to_end(&mut back).await.unwrap();
        assert!(back == expected);
    });
}

#[test]
fn owned_halves_reunite_and_foreign_halves_do_not() {
    run(async {
        let addr = spawn_echo_server().await;
        let a = TcpStream::connect(addr).await.unwrap();
        let b = TcpStream::connect(addr).await.unwrap();
        let a_local = a.local_addr().unwrap();
        let (ar, aw) = a.into_split();
        let (br, bw) = b.into_split();
        let err = ar.reunite(bw).unwrap_err();
        assert!(err.to_string().contains("not from the same socket"));
        let (ar, bw) = (err.0, err.1);
        let a = ar.reunite(aw).unwrap();
        assert_eq!(a.local_addr().unwrap(), a_local);
        let _b = br.reunite(bw).unwrap();
        // The reunited stream still works: its write side was not shut down.
        let mut a = a;
        a.write_all(b"still open").await.unwrap();
        let mut buf = [0u8; 10];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still open");
    });
}

#[test]
fn several_tasks_accept_on_one_listener() {
    run(async {
        const ACCEPTORS: usize = 4;
        const CONNS: usize = 40;
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let per_task: Rc<Vec<Cell<usize>>> =
            Rc::new((0..ACCEPTORS).map(|_| Cell::new(0)).collect());
        let total = Rc::new(Cell::new(0usize));
        let mut acceptors = Vec::new();
        for i in 0..ACCEPTORS {
            let (l, per_task, total) = (listener.clone(), per_task.clone(), total.clone());
            acceptors.push(strand::spawn(async move {
                while total.get() < CONNS {
                    let (mut s, _) = l.accept().await.unwrap();
                    total.set(total.get() + 1);
                    per_task[i].set(per_task[i].get() + 1);
                    s.write_all(&[i as u8]).await.unwrap();
                }
            }));
        }
        // Let every acceptor park first, so they all wait on the listener at once.
        strand::time::sleep(Duration::from_millis(10)).await;
        for _ in 0..CONNS {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).await.unwrap();
            assert!((b[0] as usize) < ACCEPTORS);
        }
        assert_eq!(total.get(), CONNS);
        // The remaining acceptors are still parked; every one must be wakeable: connect one
        // client per acceptor (a listener that kept only the last waker would strand them).
        let mut extra = Vec::new();
        for _ in 0..ACCEPTORS {
            extra.push(TcpStream::connect(addr).await.unwrap());
        }
        for a in acceptors {
            within(Duration::from_secs(10), "acceptor", a)
                .await
                .unwrap();
        }
    });
}

#[test]
fn every_parked_acceptor_is_woken() {
    run(async {
        const ACCEPTORS: usize = 5;
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = listener.local_addr().unwrap();
        let mut tasks = Vec::new();
        for _ in 0..ACCEPTORS {
            let l = listener.clone();
            tasks.push(strand::spawn(
                async move { l.accept().await.map(|(s, _)| s) },
            ));
        }
        strand::time::sleep(Duration::from_millis(10)).await;
        let mut clients = Vec::new();
        for _ in 0..ACCEPTORS {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        for t in tasks {
            within(Duration::from_secs(10), "parked acceptor", t)
                .await
                .unwrap()
                .unwrap();
        }
    });
}

#[test]
fn cancelled_accept_loses_no_connection() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // An accept that times out (nothing connects) is cancelled.
        assert!(
            strand::time::timeout(Duration::from_millis(20), listener.accept())
                .await
                .is_err()
        );
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut conn, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        conn.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        client.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"x");
    });
}

#[test]
fn incoming_yields_accepted_streams() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = strand::spawn(async move {
            let mut v = Vec::new();
            for _ in 0..3 {
                v.push(TcpStream::connect(addr).await.unwrap());
            }
            v
        });
        let mut incoming = listener.incoming();
        for _ in 0..3 {
            let s = incoming.next().await.unwrap().unwrap();
            assert_eq!(s.local_addr().unwrap(), addr);
        }
        assert_eq!(clients.await.unwrap().len(), 3);
    });
}

#[test]
fn peek_then_read_returns_the_same_bytes() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.write_all(b"peekaboo").await.unwrap();
        let mut got = 0;
        let mut buf = [0u8; 8];
        while got < 8 {
            got = server.peek(&mut buf).await.unwrap();
        }
        assert_eq!(&buf, b"peekaboo");
        let mut again = [0u8; 8];
        (&server).read_exact(&mut again).await.unwrap();
        assert_eq!(&again, b"peekaboo");
    });
}

#[test]
fn readable_then_try_read_and_writable_then_try_write() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();

        let mut buf = [0u8; 64];
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        client.writable().await.unwrap();
        let n = client.try_write(b"hello").unwrap();
        assert_eq!(n, 5);
        let n = client
            .try_write_vectored(&[IoSlice::new(b" "), IoSlice::new(b"world")])
            .unwrap();
        assert_eq!(n, 6);
        let mut got = Vec::new();
        while got.len() < 11 {
            server.readable().await.unwrap();
            match server.try_read(&mut buf) {
                Ok(0) => panic!("unexpected end-of-file"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, b"hello world");
    });
}

#[test]
fn socket_options_round_trip() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.set_ttl(42).unwrap();
        assert_eq!(listener.ttl().unwrap(), 42);
        let s = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        s.set_nodelay(true).unwrap();
        assert!(s.nodelay().unwrap());
        s.set_nodelay(false).unwrap();
        assert!(!s.nodelay().unwrap());
        s.set_ttl(17).unwrap();
        assert_eq!(s.ttl().unwrap(), 17);
        s.set_linger(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(s.linger().unwrap(), Some(Duration::from_secs(3)));
        s.set_linger(None).unwrap();
        assert_eq!(s.linger().unwrap(), None);
        assert!(s.take_error().unwrap().is_none());
    });
}
