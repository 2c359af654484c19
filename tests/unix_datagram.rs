//! Unix-domain datagrams: echo between bound sockets, pairs, truncation, empty datagrams.

mod util;

use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use strand::net::UnixDatagram;
use util::{run, within, TempDir};

#[test]
fn echo_between_bound_sockets() {
    let dir = TempDir::new("unix-dgram");
    let spath = dir.join("server.sock");
    let cpath = dir.join("client.sock");
    run(async move {
        let server = Rc::new(UnixDatagram::bind(&spath).unwrap());
        let s = server.clone();
        let echo = strand::spawn(async move {
            let mut buf = [0u8; 2048];
            for _ in 0..50 {
                let (n, from) = s.recv_from(&mut buf).await.unwrap();
                let to = from.as_pathname().unwrap().to_path_buf();
                s.send_to(&buf[..n], &to).await.unwrap();
            }
        });
        let client = UnixDatagram::bind(&cpath).unwrap();
        for i in 0..50usize {
            let msg = vec![i as u8; i * 20];
            client.send_to(&msg, &spath).await.unwrap();
            let mut buf = [0u8; 2048];
            let (n, from) = within(Duration::from_secs(5), "echo", client.recv_from(&mut buf))
                .await
                .unwrap();
            assert_eq!(from.as_pathname(), Some(spath.as_path()));
            assert_eq!(&buf[..n], &msg[..]);
        }
        echo.await.unwrap();
    });
}

#[test]
fn pair_truncation_and_empty_datagrams() {
    run(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"0123456789").await.unwrap();
        a.send(b"").await.unwrap();
        a.send(b"last").await.unwrap();
        let mut small = [0u8; 3];
        assert_eq!(b.recv(&mut small).await.unwrap(), 3);
        assert_eq!(&small, b"012");
        let mut buf = [0u8; 16];
        assert_eq!(b.recv(&mut buf).await.unwrap(), 0, "the empty datagram");
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"last");
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

#[test]
fn connected_unbound_socket_and_send_errors() {
    let dir = TempDir::new("unix-dgram-conn");
    let spath = dir.join("s.sock");
    run(async move {
        let server = UnixDatagram::bind(&spath).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.connect(&spath).unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(spath.as_path())
        );
        client.send(b"hi").await.unwrap();
        let mut buf = [0u8; 8];
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hi");
        // The peer is gone: sends fail instead of hanging.
        drop(server);
        let err = client.send(b"anyone?").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    });
}
