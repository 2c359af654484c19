//! The `chat` and `proxy` examples, run on `127.0.0.1:0` (included with `#[path]`, so this is
//! the code `cargo run --example` runs) and driven by real clients.

use std::net::SocketAddr;
use std::time::Duration;

use strand::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use strand::net::{TcpListener, TcpSocket, TcpStream};

#[allow(dead_code)]
#[path = "../examples/chat.rs"]
mod chat;

#[allow(dead_code)]
#[path = "../examples/proxy.rs"]
mod proxy;

mod util;
use util::{pattern, run, within};

const STEP: Duration = Duration::from_secs(20);

/// A chat client: a line reader on the stream.
struct Client {
    lines: BufReader<TcpStream>,
}

impl Client {
    async fn join(addr: SocketAddr, name: &str, others: usize) -> Client {
        Client::join_on(TcpStream::connect(addr).await.unwrap(), name, others).await
    }

    async fn join_on(stream: TcpStream, name: &str, others: usize) -> Client {
        let mut client = Client {
            lines: BufReader::new(stream),
        };
        client.expect("welcome! what is your name?").await;
        client.say(name).await;
        client
            .expect(&format!("hello {name}, {others} other(s) here"))
            .await;
        client
    }

    async fn say(&mut self, line: &str) {
        let stream = self.lines.get_mut();
        stream.write_all(line.as_bytes()).await.unwrap();
        stream.write_all(b"\n").await.unwrap();
    }

    /// The next line, `None` at the end of the stream.
    async fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = within(STEP, "a chat line", self.lines.read_line(&mut line))
            .await
            .unwrap();
        (n > 0).then(|| line.trim_end_matches('\n').to_string())
    }

    async fn expect(&mut self, want: &str) {
        assert_eq!(self.line().await.as_deref(), Some(want));
    }
}

async fn start_chat() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    strand::spawn(chat::serve(listener));
    addr
}

#[test]
fn chat_broadcasts_to_every_other_client() {
    run(async {
        let addr = start_chat().await;
        let mut alice = Client::join(addr, "alice", 0).await;
        let mut bob = Client::join(addr, "bob", 1).await;
        alice.expect("* bob joined").await;
        let mut carol = Client::join(addr, "carol", 2).await;
        alice.expect("* carol joined").await;
        bob.expect("* carol joined").await;

        alice.say("hi all").await;
        bob.expect("alice: hi all").await;
        carol.expect("alice: hi all").await;
        // Alice does not get her own message back: her next line is bob's.
        bob.say("hey alice").await;
        alice.expect("bob: hey alice").await;
        carol.expect("bob: hey alice").await;

        // Many messages: every one reaches everybody else, in order.
        for i in 0..200 {
            carol.say(&format!("message {i}")).await;
        }
        for i in 0..200 {
            alice.expect(&format!("carol: message {i}")).await;
            bob.expect(&format!("carol: message {i}")).await;
        }

        drop(carol);
        alice.expect("* carol left").await;
        bob.expect("* carol left").await;
    });
}

/// A client that stops reading is dropped from the room once its outbox is full, and the
/// others keep getting every message.
#[test]
fn chat_disconnects_a_client_too_slow_to_keep_up() {
    // Enough to overflow what the kernel buffers for dave (the server's send buffer grows to
    // `tcp_wmem`'s maximum, 4 MiB by default) plus his outbox (`chat::OUTBOX` lines).
    const LINES: usize = 1_500;
    const LINE: usize = 7_900;
    const BATCH: usize = 50;
    run(async {
        let addr = start_chat().await;
        let mut alice = Client::join(addr, "alice", 0).await;
        // Dave never reads after joining; a small receive buffer makes his backlog show up in
        // his outbox soon.
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let dave_stream = socket.connect(addr).await.unwrap();
        let mut dave = Client::join_on(dave_stream, "dave", 1).await;
        alice.expect("* dave joined").await;
        let mut bob = Client::join(addr, "bob", 2).await;
        alice.expect("* bob joined").await;

        let filler = "x".repeat(LINE);
        let mut dave_left = false;
        for batch in 0..LINES / BATCH {
            for i in batch * BATCH..(batch + 1) * BATCH {
                bob.say(&format!("{i} {filler}")).await;
            }
            // Alice keeps up: she gets the whole batch (and, once, dave's departure).
            let mut i = batch * BATCH;
            while i < (batch + 1) * BATCH {
                let line = alice.line().await.expect("alice was disconnected");
                if line == "* dave left" {
                    assert!(!dave_left, "dave left twice");
                    dave_left = true;
                    continue;
                }
                assert!(
                    line == format!("bob: {i} {filler}"),
                    "alice's line {i} is wrong"
                );
                i += 1;
            }
        }
        if !dave_left {
            alice.expect("* dave left").await;
        }

        // Dave gets what was queued for him, then the end of the stream: not every message.
        dave.expect("* bob joined").await;
        let mut got = 0;
        while let Some(line) = dave.line().await {
            let want = format!("bob: {got} {filler}");
            // (Not `assert_eq!`: a failure would print the 8 kB lines.)
            if line != want {
                // The server cut him off in the middle of a message: that is the last thing.
                assert!(want.starts_with(&line), "dave's line {got} is wrong");
                assert_eq!(dave.line().await, None, "more after a truncated line");
                break;
            }
            got += 1;
        }
        assert!(
            got < LINES,
            "dave got all {got} messages: he was never dropped"
        );
    });
}

/// An upstream echo server: echoes until the end of the stream, then closes its write side.
async fn start_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    strand::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            strand::spawn(async move {
                let (r, mut w) = stream.into_split();
                strand::io::copy(r, &mut w).await.unwrap();
                w.close().await.unwrap();
            });
        }
    });
    addr
}

async fn start_proxy(upstream: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    strand::spawn(proxy::serve(listener, upstream));
    addr
}

/// Sends `data` through the proxy while reading the echo; the client's half-close must reach
/// the upstream (or its echo loop would never end) and the upstream's close must come back.
async fn echo_through(proxy: SocketAddr, data: Vec<u8>) {
    let (mut r, mut w) = TcpStream::connect(proxy).await.unwrap().into_split();
    let len = data.len();
    let writer = strand::spawn(async move {
        w.write_all(&data).await.unwrap();
        w.close().await.unwrap(); // half-close
        data
    });
    let mut back = Vec::with_capacity(len);
    within(STEP, "echo through the proxy", r.read_to_end(&mut back))
        .await
        .unwrap();
    let sent = writer.await.unwrap();
    assert_eq!(back.len(), sent.len());
    assert!(back == sent, "the echo differs from what was sent");
}

#[test]
fn proxy_relays_both_ways_with_half_close() {
    run(async {
        let proxy = start_proxy(start_echo().await).await;
        echo_through(proxy, pattern(4 << 20, 1)).await;
        echo_through(proxy, Vec::new()).await;
    });
}

#[test]
fn proxy_serves_many_clients_at_once() {
    const CLIENTS: u64 = 16;
    run(async {
        let proxy = start_proxy(start_echo().await).await;
        let mut clients = strand::task::JoinSet::new();
        for seed in 0..CLIENTS {
            clients.spawn(echo_through(proxy, pattern(256 << 10, seed)));
        }
        while let Some(done) = within(STEP, "clients", clients.join_next()).await {
            done.unwrap();
        }
    });
}

#[test]
fn proxy_closes_the_client_when_the_upstream_is_down() {
    run(async {
        // A port with nothing listening on it any more.
        let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = gone.local_addr().unwrap();
        drop(gone);
        let proxy = start_proxy(upstream).await;
        let mut client = TcpStream::connect(proxy).await.unwrap();
        let mut rest = Vec::new();
        match within(STEP, "proxy closing", client.read_to_end(&mut rest)).await {
            Ok(n) => assert_eq!(n, 0),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    });
}
