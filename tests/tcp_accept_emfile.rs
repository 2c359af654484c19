//! `accept` when the process is out of file descriptors (RLIMIT_NOFILE).
//!
//! One test in its own binary: the limit is process-wide.

mod util;

use std::cell::Cell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use rlimit::Resource;
use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::TcpListener;
use util::{fd_count, run, within};

/// Linux's EMFILE.
const EMFILE: i32 = 24;
const QUEUED: usize = 3;

#[test]
fn accept_survives_emfile_and_takes_queued_connections_once_fds_free_up() {
    let (soft, hard) = Resource::NOFILE.get().unwrap();
    run(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Connections complete in the kernel's backlog without an accept.
        let mut clients = Vec::new();
        for i in 0..QUEUED {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(&[i as u8]).unwrap();
            clients.push(c);
        }

        // Lower the limit and use up every remaining descriptor.
        Resource::NOFILE.set((fd_count() + 8) as u64, hard).unwrap();
        let mut fillers = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => fillers.push(f),
                Err(e) if e.raw_os_error() == Some(EMFILE) => break,
                Err(e) => panic!("unexpected error filling the fd table: {e}"),
            }
        }
        assert!(!fillers.is_empty());

        // accept reports EMFILE, and the listener stays usable.
        let err = within(
            Duration::from_secs(5),
            "accept under EMFILE",
            listener.accept(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(EMFILE), "{err}");

        // A loop that retries at once does not spin: for 300 ms, count the attempts. A
        // spinning listener would make thousands; with a 20 ms backoff it makes about 15.
        let attempts = Rc::new(Cell::new(0u32));
        let a = attempts.clone();
        let listener = Rc::new(listener);
        let l = listener.clone();
        let _ = strand::time::timeout(Duration::from_millis(300), async move {
            loop {
                let err = l.accept().await.unwrap_err();
                assert_eq!(err.raw_os_error(), Some(EMFILE), "{err}");
                a.set(a.get() + 1);
            }
        })
        .await;
        let attempts = attempts.get();
        assert!(attempts >= 1, "no accept attempt in 300 ms");
        assert!(
            attempts <= 40,
            "{attempts} accept attempts in 300 ms: busy spin"
        );

        // Free descriptors a little later, while an accept loop waits; no new client arrives.
        strand::spawn(async move {
            strand::time::sleep(Duration::from_millis(30)).await;
            drop(fillers);
        });
        let mut seen = Vec::new();
        let mut accepted = Vec::new();
        while seen.len() < QUEUED {
            match within(
                Duration::from_secs(10),
                "accept after fds freed",
                listener.accept(),
            )
            .await
            {
                Ok((mut s, _)) => {
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).await.unwrap();
                    seen.push(b[0]);
                    s.write_all(&[b[0] + 100]).await.unwrap();
                    accepted.push(s);
                }
                Err(e) if e.raw_os_error() == Some(EMFILE) => continue,
                Err(e) => panic!("{e}"),
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..QUEUED as u8).collect::<Vec<_>>());
        // Each queued client is connected to the stream that accepted it.
        for (i, c) in clients.iter_mut().enumerate() {
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            assert_eq!(b[0], i as u8 + 100);
        }
        drop(accepted);
    });
    Resource::NOFILE.set(soft, hard).unwrap();
}
