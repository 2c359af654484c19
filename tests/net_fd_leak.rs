//! No descriptor leaks: build a runtime, use every socket type, drop it; 20 times.
//!
//! One test in its own binary: it counts the whole process's descriptors.

mod util;

use std::time::Duration;

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use util::{fd_count, TempDir};

fn cycle(dir: &TempDir, i: usize) {
    let rt = strand::Runtime::new().unwrap();
    let path = dir.join(&format!("s{i}.sock"));
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut b = [0u8; 4];
        server.read_exact(&mut b).await.unwrap();
        let (_r, _w) = server.into_split();

        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        udp.send_to(b"x", udp.local_addr().unwrap()).await.unwrap();
        udp.recv(&mut b).await.unwrap();

        let ul = UnixListener::bind(&path).unwrap();
        let _uc = UnixStream::connect(&path).await.unwrap();
        let _us = ul.accept().await.unwrap();
        let _pair = UnixStream::pair().unwrap();
        let _dpair = UnixDatagram::pair().unwrap();

        // A refused connect and a cancelled connect/accept leave nothing behind either.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(TcpStream::connect(closed).await.is_err());
        let _ = strand::time::timeout(Duration::from_millis(1), listener.accept()).await;

        // Sockets still open when the runtime drops are closed by the drop: leave one in a
        // spawned task.
        let leftover = TcpStream::connect(addr).await.unwrap();
        strand::spawn(async move {
            let _keep = leftover;
            std::future::pending::<()>().await;
        });
        strand::task::yield_now().await;
    });
    drop(rt);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn fd_count_returns_to_baseline_after_20_runtime_cycles() {
    let dir = TempDir::new("fdleak");
    // One warm-up cycle: the first runtime may set up process-wide things once.
    cycle(&dir, 0);
    let baseline = fd_count();
    for i in 1..=20 {
        cycle(&dir, i);
    }
    let after = fd_count();
    assert_eq!(
        after, baseline,
        "fds before {baseline}, after 20 cycles {after}"
    );
}
