//! TCP failure behaviour: refused connects, reset peers, shutdown semantics, half-close.

mod util;

use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpSocket, TcpStream};
use util::{run, within};

/// A local port with nothing listening on it (bound, then closed).
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[test]
fn connect_to_a_closed_port_is_refused_promptly() {
    run(async {
        let addr = closed_port();
        let start = Instant::now();
        let err = within(
            Duration::from_secs(5),
            "refused connect",
            TcpStream::connect(addr),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        // Through TcpSocket too.
        let err = TcpSocket::new_v4()
            .unwrap()
            .connect(addr)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        assert!(start.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn connect_tries_every_address_in_order() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let addrs = [closed_port(), good];
        let s = TcpStream::connect(&addrs[..]).await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), good);
        // All refused: the last error comes back.
        let err = TcpStream::connect([closed_port(), closed_port()])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn bind_to_a_used_port_fails_and_names_resolve() {
    run(async {
        let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(a.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        // A host name goes through the resolver (on the blocking pool).
        let b = TcpListener::bind(("localhost", 0)).await.unwrap();
        assert!(b.local_addr().unwrap().ip().is_loopback());
        let err = TcpListener::bind("no port here").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

/// Accepts one connection and aborts it with a RST (SO_LINGER 0).
async fn reset_pair() -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    server.set_linger(Some(Duration::ZERO)).unwrap();
    drop(server);
    client
}

#[test]
fn reading_from_a_reset_peer_errors() {
    run(async {
        let mut client = reset_pair().await;
        let mut buf = [0u8; 16];
        let err = within(
            Duration::from_secs(5),
            "read after reset",
            client.read(&mut buf),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    });
}

#[test]
fn writing_to_a_reset_peer_errors_and_shutdown_stays_sane() {
    run(async {
        let mut client = reset_pair().await;
        // Wait until the RST arrived (it shows as read readiness).
        client.readable().await.unwrap();
        let chunk = vec![7u8; 64 * 1024];
        let mut failed = None;
        for _ in 0..64 {
            match within(
                Duration::from_secs(5),
                "write after reset",
                client.write(&chunk),
            )
            .await
            {
                Ok(_) => strand::time::sleep(Duration::from_millis(1)).await,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let err = failed.expect("writes to a reset peer kept succeeding");
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{err:?}"
        );
        // shutdown after a reset: Ok or a reset error, never a raw ENOTCONN.
        for how in [
            Shutdown::Write,
            Shutdown::Read,
            Shutdown::Both,
            Shutdown::Write,
        ] {
            match client.shutdown(how) {
                Ok(()) => {}
                Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{how:?}: {e:?}"),
            }
        }
        match client.close().await {
            Ok(()) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e:?}"),
        }
    });
}

#[test]
fn repeated_shutdown_is_ok() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (_server, _) = listener.accept().await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        client.close().await.unwrap();
        client.close().await.unwrap();
        client.shutdown(Shutdown::Both).unwrap();
        client.shutdown(Shutdown::Both).unwrap();
    });
}

#[test]
fn half_close_client_to_server_then_server_answers() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = strand::spawn(async move {
            let (mut s, _) = listener.accept().await?;
            let mut req = Vec::new();
            s.read_to_end(&mut req).await?; // ends at the client's FIN
            assert_eq!(req, b"request");
            // Our write side is still open after the peer's half-close.
            s.write_all(b"response after your FIN").await?;
            s.close().await?;
            io::Result::Ok(())
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"request").await.unwrap();
        c.close().await.unwrap(); // FIN; reading still works
        let mut resp = String::new();
        c.read_to_string(&mut resp).await.unwrap();
        assert_eq!(resp, "response after your FIN");
        server.await.unwrap().unwrap();
        // Writing after our own shutdown fails.
        let err = c.write(b"late").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn half_close_server_to_client_then_client_answers() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = strand::spawn(async move {
            let (s, _) = listener.accept().await?;
            let (mut r, mut w) = s.into_split();
            w.write_all(b"greeting").await?;
            drop(w); // dropping the owned write half shuts down writing
            let mut answer = Vec::new();
            r.read_to_end(&mut answer).await?;
            io::Result::Ok(answer)
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        let mut greeting = Vec::new();
        c.read_to_end(&mut greeting).await.unwrap();
        assert_eq!(greeting, b"greeting");
        c.write_all(b"answer after your FIN").await.unwrap();
        c.close().await.unwrap();
        assert_eq!(server.await.unwrap().unwrap(), b"answer after your FIN");
    });
}

#[test]
fn forgotten_write_half_does_not_shut_down() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let (r, w) = c.into_split();
        w.forget();
        // No FIN arrived: the server sees no end-of-file.
        let mut b = [0u8; 1];
        assert!(
            strand::time::timeout(Duration::from_millis(50), s.read(&mut b))
                .await
                .is_err()
        );
        drop(r);
    });
}
