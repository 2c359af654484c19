//! Graceful shutdown on ctrl-c: stop accepting, let the connections finish, exit 0.
//!
//! ```text
//! cargo run --example graceful_shutdown                  # listens on 127.0.0.1:8080
//! nc 127.0.0.1 8080                                      # type lines; each is echoed back
//! ```
//!
//! The service answers every line with `echo: <line>`. On ctrl-c (`SIGINT`) the server
//! - closes its listener at once (new clients get "connection refused");
//! - lets each connection finish the request it is in the middle of: a connection with half a
//!   line buffered waits for the rest and answers it, then closes; an idle one closes now;
//! - exits with status 0 once every connection is done.
//!
//! A second ctrl-c, or the [`GRACE`] period running out, aborts the connections still open, and
//! the process exits with status 1 (the drain was not graceful).
//!
//! The server is in `pub` functions so `tests/signal_graceful.rs` can run this very code (it
//! sends the process a real `SIGINT`).

use std::io;
use std::time::Duration;

use futures_lite::future;
use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpStream};
use strand::sync::watch;
use strand::task::JoinSet;

/// How long connections may take to finish after ctrl-c.
pub const GRACE: Duration = Duration::from_secs(30);

/// `pub` so `tests/signal_graceful.rs` can run it as its child process.
#[strand::main]
pub async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(addr.as_str()).await?;
    let summary = run(listener, GRACE).await?;
    println!(
        "drained {} connection(s), aborted {}",
        summary.finished, summary.aborted
    );
    if summary.aborted > 0 {
        return Err(io::Error::other("connections were aborted"));
    }
    Ok(())
}

/// What [`run`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Connections accepted in all.
    pub accepted: usize,
    /// Connections that ended on their own (the client closed, or the server closed after the
    /// last request once shutting down).
    pub finished: usize,
    /// Connections aborted by a second ctrl-c or the grace period.
    pub aborted: usize,
}

/// Serves `listener` until ctrl-c, then drains. Prints `listening on <addr>` once the ctrl-c
/// handler is in place, and `shutting down ...` once the listener is closed.
pub async fn run(listener: TcpListener, grace: Duration) -> io::Result<Summary> {
    // Registered before anything is announced: a ctrl-c from now on is seen.
    let ctrl_c = strand::signal::ctrl_c();
    println!("listening on {}", listener.local_addr()?);

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut summary = Summary::default();

    enum Event {
        Accepted(io::Result<(TcpStream, std::net::SocketAddr)>),
        CtrlC(io::Result<()>),
    }
    let mut ctrl_c = std::pin::pin!(ctrl_c);
    loop {
        // `accept` is cancel-safe: when ctrl-c wins the race, no connection is lost in it.
        let event = future::or(async { Event::CtrlC(ctrl_c.as_mut().await) }, async {
            Event::Accepted(listener.accept().await)
        })
        .await;
        match event {
            Event::Accepted(Ok((stream, peer))) => {
                summary.accepted += 1;
                let stop = stop_rx.clone();
                connections.spawn(async move {
                    if let Err(e) = serve(stream, stop).await {
                        eprintln!("connection from {peer}: {e}");
                    }
                });
                // Reap the connections that already ended, so the set does not grow forever.
                while let Some(done) = connections.try_join_next() {
                    count(&mut summary, done);
                }
            }
            Event::Accepted(Err(e)) => eprintln!("accept failed: {e}"),
            Event::CtrlC(res) => {
                res?;
                break;
            }
        }
    }

    // Listening for a second ctrl-c starts before the announcement below.
    let force = strand::signal::ctrl_c();
    drop(listener); // stop accepting: new clients are refused from here on
    let _ = stop_tx.send(true); // idle connections close, busy ones finish their request
    println!(
        "shutting down: no longer accepting, waiting for {} connection(s)",
        connections.len()
    );

    let drain = async {
        while let Some(done) = connections.join_next().await {
            count(&mut summary, done);
        }
    };
    let drained = future::or(
        async {
            drain.await;
            true
        },
        async {
            let _ = future::or(force, async {
                strand::time::sleep(grace).await;
                Ok(())
            })
            .await;
            false
        },
    )
    .await;
    if !drained {
        summary.aborted = connections.len();
        connections.shutdown().await;
    }
    Ok(summary)
}

fn count(summary: &mut Summary, done: Result<(), strand::task::JoinError>) {
    match done {
        Ok(()) => summary.finished += 1,
        Err(e) => eprintln!("connection task failed: {e}"),
    }
}

/// The line echo service of one connection. Once `stop` turns true it finishes the line it has
/// started to receive (if any), then closes.
async fn serve(mut stream: TcpStream, mut stop: watch::Receiver<bool>) -> io::Result<()> {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            stream.write_all(b"echo: ").await?;
            stream.write_all(&line).await?;
        }
        let stopping = *stop.borrow_and_update();
        if stopping && pending.is_empty() {
            return Ok(()); // between requests: done
        }
        let n = if stopping {
            // In the middle of a request: wait for the rest of it.
            stream.read(&mut chunk).await?
        } else {
            // `read` is cancel-safe: when `stop` changes first, nothing was consumed.
            let read = async { Some(stream.read(&mut chunk).await) };
            let stopped = async {
                // An error means the sender is gone, which only happens once we are done.
                let _ = stop.changed().await;
                None
            };
            match future::or(read, stopped).await {
                Some(res) => res?,
                None => continue,
            }
        };
        if n == 0 {
            return Ok(()); // the client closed
        }
        pending.extend_from_slice(&chunk[..n]);
    }
}
