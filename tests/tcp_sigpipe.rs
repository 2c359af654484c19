//! Writing to a reset peer returns an error and never raises SIGPIPE.
//!
//! Rust binaries ignore SIGPIPE, which would hide a `write`/`writev` that raises it. So this
//! test binary (one test: signal dispositions are process-wide) installs a SIGPIPE handler
//! that records the signal; if any strand write raised it, the flag would be set.

mod util;

use std::io::{ErrorKind, IoSlice};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use strand::io::AsyncWriteExt;
use strand::net::{TcpListener, TcpStream, UnixStream};
use util::run;

#[test]
fn writes_to_a_reset_peer_error_without_sigpipe() {
    let raised = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGPIPE, raised.clone()).unwrap();
    run(async {
        // TCP, plain and vectored writes.
        for vectored in [false, true] {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            server.set_linger(Some(Duration::ZERO)).unwrap();
            drop(server);
            client.readable().await.unwrap();
            let chunk = vec![1u8; 32 * 1024];
            let mut err = None;
            for _ in 0..64 {
                let res = if vectored {
                    client
                        .write_vectored(&[IoSlice::new(&chunk), IoSlice::new(&chunk)])
                        .await
                } else {
                    client.write(&chunk).await
                };
                if let Err(e) = res {
                    err = Some(e);
                    break;
                }
            }
            let err = err.expect("writes to a reset TCP peer kept succeeding");
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
                ),
                "{err:?}"
            );
        }
        // Unix stream whose peer is gone: EPIPE on every write.
        for vectored in [false, true] {
            let (mut a, b) = UnixStream::pair().unwrap();
            drop(b);
            let res = if vectored {
                a.write_vectored(&[IoSlice::new(b"x"), IoSlice::new(b"y")])
                    .await
            } else {
                a.write(b"x").await
            };
            assert_eq!(res.unwrap_err().kind(), ErrorKind::BrokenPipe);
            assert_eq!(a.try_write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
        }
    });
    assert!(
        !raised.load(Ordering::SeqCst),
        "a write raised SIGPIPE (MSG_NOSIGNAL missing)"
    );
}
