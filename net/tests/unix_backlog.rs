//! `UnixStream::connect` waits (instead of failing with `WouldBlock`) while the listener's
//! backlog is full, and completes once the listener accepts.

#![cfg(unix)]

use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};
use strand_net::{UnixListener, UnixStream};

#[test]
fn connect_waits_for_room_in_a_full_backlog() {
    let dir = std::env::temp_dir().join(format!("strand-net-backlog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("l.sock");
    strand::block_on(async {
        // A listener with the smallest backlog, so connects overflow it at once.
        let sock = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        sock.bind(&SockAddr::unix(&path).unwrap()).unwrap();
        sock.listen(0).unwrap();
        let listener = UnixListener::from_std(sock.into()).unwrap();

        const CLIENTS: usize = 8;
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let path = path.clone();
            clients.push(strand::spawn(
                async move { UnixStream::connect(&path).await },
            ));
        }
        // Let the connects hit the full backlog before anyone accepts.
        strand::time::sleep(Duration::from_millis(30)).await;
        let mut accepted = Vec::new();
        for _ in 0..CLIENTS {
            let (s, _) = strand::time::timeout(Duration::from_secs(10), listener.accept())
                .await
                .expect("accept timed out")
                .unwrap();
            accepted.push(s);
        }
        for c in clients {
            strand::time::timeout(Duration::from_secs(10), c)
                .await
                .expect("connect timed out")
                .unwrap()
                .expect("connect must wait for room, not fail");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
