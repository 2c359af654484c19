//! UDP: echo, truncation, empty datagrams, refused sends, peeking, draining bursts, options.

mod util;

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use strand::net::UdpSocket;
use util::{run, within};

#[test]
fn send_to_and_recv_from_echo() {
    run(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let saddr = server.local_addr().unwrap();
        let s = server.clone();
        let echo = strand::spawn(async move {
            let mut buf = [0u8; 1500];
            for _ in 0..10 {
                let (n, from) = s.recv_from(&mut buf).await.unwrap();
                s.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for i in 0..10u8 {
            let msg = vec![i; 100 + i as usize];
            assert_eq!(client.send_to(&msg, saddr).await.unwrap(), msg.len());
            let mut buf = [0u8; 1500];
            let (n, from) = within(Duration::from_secs(5), "echo", client.recv_from(&mut buf))
                .await
                .unwrap();
            assert_eq!(from, saddr);
            assert_eq!(&buf[..n], &msg[..]);
        }
        echo.await.unwrap();
    });
}

#[test]
fn connected_send_and_recv() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        a.send(b"to b").await.unwrap();
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to b");
        b.send(b"to a").await.unwrap();
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to a");
        // A connected socket ignores datagrams from other sources.
        let stranger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        stranger
            .send_to(b"noise", a.local_addr().unwrap())
            .await
            .unwrap();
        b.send(b"real").await.unwrap();
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"real");
    });
}

#[test]
fn too_small_buffer_truncates_and_next_recv_gets_next_datagram() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let baddr = b.local_addr().unwrap();
        a.send_to(b"0123456789", baddr).await.unwrap();
        a.send_to(b"second", baddr).await.unwrap();
        let mut small = [0u8; 4];
        let (n, _) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(n, 4);
        assert_eq!(&small, b"0123");
        let mut buf = [0u8; 32];
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            &buf[..n],
            b"second",
            "the rest of the first datagram was discarded"
        );
    });
}

#[test]
fn empty_datagrams_are_datagrams() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let baddr = b.local_addr().unwrap();
        assert_eq!(a.send_to(b"", baddr).await.unwrap(), 0);
        a.send_to(b"after", baddr).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(n, 0);
        assert_eq!(from, a.local_addr().unwrap());
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"after");
        // Connected form, and a zero-length receive buffer consumes one datagram.
        a.connect(baddr).await.unwrap();
        assert_eq!(a.send(&[]).await.unwrap(), 0);
        a.send(b"x").await.unwrap();
        assert_eq!(b.recv(&mut []).await.unwrap(), 0);
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"x");
    });
}

#[test]
fn sends_to_a_closed_port_are_refused_on_a_connected_socket() {
    run(async {
        let closed: SocketAddr = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap()
        };
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(closed).await.unwrap();
        // The first send goes out; the ICMP port-unreachable comes back and fails a later
        // operation with ConnectionRefused (the error wakes the reader too).
        a.send(b"anyone?").await.unwrap();
        let mut buf = [0u8; 16];
        let err = within(Duration::from_secs(5), "refused recv", a.recv(&mut buf))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // Again, through send this time.
        a.send(b"anyone?").await.unwrap();
        let mut refused = false;
        for _ in 0..100 {
            match a.send(b"still?").await {
                Ok(_) => strand::time::sleep(Duration::from_millis(1)).await,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
                    refused = true;
                    break;
                }
            }
        }
        assert!(refused, "sends to a closed port were never refused");
    });
}

#[test]
fn peek_from_leaves_the_datagram_queued() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.send_to(b"peeked", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"peeked"[..], a.local_addr().unwrap()));
        let (n, _) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peeked");
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peeked");
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

#[test]
fn a_burst_is_drained_completely() {
    // Edge-triggered readiness: after one event, every queued datagram must still be read
    // (a UDP read is always "short", so it must never clear readiness by itself).
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        b.set_recv_buffer_size(1 << 20).unwrap();
        let baddr = b.local_addr().unwrap();
        for i in 0..200u32 {
            a.send_to(&i.to_be_bytes(), baddr).await.unwrap();
        }
        let mut buf = [0u8; 8];
        for i in 0..200u32 {
            let (n, _) = within(Duration::from_secs(5), "burst", b.recv_from(&mut buf))
                .await
                .unwrap();
            assert_eq!(&buf[..n], &i.to_be_bytes());
        }
    });
}

#[test]
fn try_variants_and_readiness() {
    run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_recv_from(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.writable().await.unwrap();
        a.try_send_to(b"t", b.local_addr().unwrap()).unwrap();
        loop {
            b.readable().await.unwrap();
            match b.try_recv_from(&mut buf) {
                Ok((n, _)) => {
                    assert_eq!(&buf[..n], b"t");
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        a.try_send(b"u").unwrap();
        loop {
            b.readable().await.unwrap();
            match b.try_recv(&mut buf) {
                Ok(n) => {
                    assert_eq!(&buf[..n], b"u");
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
    });
}

#[test]
fn options_round_trip() {
    run(async {
        let s = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_ttl(33).unwrap();
        assert_eq!(s.ttl().unwrap(), 33);
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!s.multicast_loop_v4().unwrap());
        s.set_multicast_ttl_v4(4).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 4);
        assert_eq!(s.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        assert!(s.take_error().unwrap().is_none());
    });
}

#[test]
fn multicast_on_loopback() {
    run(async {
        let group = Ipv4Addr::new(239, 255, 42, 99);
        let r = UdpSocket::bind("0.0.0.0:0").await.unwrap();
        r.join_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
        let port = r.local_addr().unwrap().port();
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_multicast_loop_v4(true).unwrap();
        s.send_to(b"group hello", (group, port)).unwrap();
        let mut buf = [0u8; 32];
        let (n, _) = within(Duration::from_secs(5), "multicast", r.recv_from(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"group hello");
        r.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
    });
}
