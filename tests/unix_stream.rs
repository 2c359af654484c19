//! Unix-domain streams: echo through a listener, pairs, halves, half-close, errors.

mod util;

use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{UnixListener, UnixStream};
use util::{pattern, run, within, TempDir};

async fn unix_echo(stream: UnixStream) -> io::Result<()> {
    let (mut r, mut w) = stream.into_split();
    let mut buf = vec![0u8; 8192];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n]).await?;
    }
    w.close().await
}

#[test]
fn echo_through_a_listener() {
    let dir = TempDir::new("unix-echo");
    let path = dir.join("echo.sock");
    run(async move {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        strand::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                strand::spawn(unix_echo(s));
            }
        });
        let mut clients = Vec::new();
        for i in 0..20u64 {
            let path = path.clone();
            clients.push(strand::spawn(async move {
                let data = pattern(100 * 1024, i);
                let s = UnixStream::connect(&path).await?;
                assert_eq!(s.peer_addr()?.as_pathname(), Some(path.as_path()));
                let (mut r, mut w) = s.into_split();
                let to_send = data.clone();
                let writer = strand::spawn(async move {
                    w.write_all(&to_send).await?;
                    w.close().await
                });
                let mut back = Vec::new();
                r.read_to_end(&mut back).await?;
                writer.await.unwrap()?;
                assert!(back == data, "client {i}: bytes differ");
                io::Result::Ok(())
            }));
        }
        for c in clients {
            c.await.unwrap().unwrap();
        }
    });
}

#[test]
fn pair_half_close_both_directions() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"from a").await.unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"from a");
        b.write_all(b"from b after a's shutdown").await.unwrap();
        b.close().await.unwrap();
        let mut got = Vec::new();
        a.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"from b after a's shutdown");
        // Repeated shutdowns are fine.
        a.shutdown(Shutdown::Write).unwrap();
        a.shutdown(Shutdown::Both).unwrap();
    });
}

#[test]
fn borrowed_split_and_shared_reference_io() {
    run(async {
        let (mut a, b) = UnixStream::pair().unwrap();
        let b = Rc::new(b);
        let b2 = b.clone();
        let echo = strand::spawn(async move {
            let mut r: &UnixStream = &b2;
            let mut buf = [0u8; 5];
            r.read_exact(&mut buf).await.unwrap();
            let mut w: &UnixStream = &b2;
            w.write_all(&buf).await.unwrap();
        });
        let (mut r, mut w) = a.split();
        w.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        echo.await.unwrap();
        drop(b);
    });
}

#[test]
fn try_read_and_readiness() {
    run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            b.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.writable().await.unwrap();
        assert_eq!(a.try_write(b"abc").unwrap(), 3);
        loop {
            b.readable().await.unwrap();
            match b.try_read(&mut buf) {
                Ok(n) => {
                    assert_eq!(&buf[..n], b"abc");
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
    });
}

#[test]
fn connect_errors() {
    let dir = TempDir::new("unix-err");
    run(async move {
        let missing = dir.join("missing.sock");
        let err = UnixStream::connect(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        // A socket file whose listener is gone: refused.
        let stale = dir.join("stale.sock");
        drop(UnixListener::bind(&stale).unwrap());
        let err = within(
            Duration::from_secs(5),
            "stale connect",
            UnixStream::connect(&stale),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        // Binding an existing path fails.
        let err = UnixListener::bind(&stale).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn from_std_and_into_std() {
    run(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut a = UnixStream::from_std(a).unwrap();
        let b = UnixStream::from_std(b).unwrap();
        a.write_all(b"std").await.unwrap();
        let mut b = b.into_std().unwrap();
        b.set_nonblocking(false).unwrap();
        let mut buf = [0u8; 3];
        std::io::Read::read_exact(&mut b, &mut buf).unwrap();
        assert_eq!(&buf, b"std");
    });
}
