//! hyper on strand: the `hyper_hello` (HTTP/1) and `hyper_h2c` examples, run on `127.0.0.1:0`
//! and checked with hyper's client running on strand, and with `curl` when it is installed.
//!
//! The examples' servers are `pub` functions, included here with `#[path]`, so this is the
//! code `cargo run --example` runs.

use std::io;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::{http1 as client_http1, http2 as client_http2};
use hyper::{Request, StatusCode, Version};
use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpStream};
use strand::time::Instant;

#[allow(dead_code)]
#[path = "../examples/hyper_hello.rs"]
mod hyper_hello;

#[allow(dead_code)]
#[path = "../examples/hyper_h2c.rs"]
mod hyper_h2c;

mod util;
use util::{run, within};

const STEP: Duration = Duration::from_secs(20);

/// Binds `127.0.0.1:0` and spawns `serve` on it; returns the address.
async fn start<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: std::future::Future<Output = io::Result<()>> + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    strand::spawn(serve(listener));
    addr
}

fn get(addr: SocketAddr, path: &str) -> Request<Empty<Bytes>> {
    Request::get(format!("http://{addr}{path}"))
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::new())
        .unwrap()
}

async fn body_text(body: hyper::body::Incoming) -> String {
    let bytes = body.collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Waits for the server to give up on `client`'s incomplete request head: the client sees EOF
/// (or a reset) and never a response byte, no earlier than `timeout` after `start`, and the
/// server's connection future ends with hyper's timeout error.
async fn expect_header_timeout(
    mut client: TcpStream,
    start: Instant,
    timeout: Duration,
    server: strand::task::JoinHandle<hyper::Result<()>>,
) {
    let mut got = Vec::new();
    let read = within(STEP, "server closing", client.read_to_end(&mut got)).await;
    let waited = start.elapsed();
    match read {
        Ok(0) => {}
        Ok(n) => panic!("expected no response, got {n} bytes: {got:?}"),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
    assert!(
        waited >= timeout,
        "closed after {waited:?}, before the timeout"
    );
    let err = within(STEP, "server result", server)
        .await
        .unwrap()
        .expect_err("the connection must end with the timeout");
    assert!(err.is_timeout(), "not a timeout: {err:?}");
}

#[test]
fn http1_keep_alive_two_requests_on_one_connection() {
    run(async {
        let addr = start(|l| hyper_hello::serve(l, hyper_hello::HEADER_READ_TIMEOUT)).await;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = client_http1::handshake(stream).await.unwrap();
        let conn = strand::spawn(conn);

        for (n, path) in [(1, "/first"), (2, "/second")] {
            within(STEP, "sender ready", sender.ready()).await.unwrap();
            let resp = within(STEP, "response", sender.send_request(get(addr, path)))
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(resp.version(), Version::HTTP_11);
            assert_eq!(
                resp.headers()[hyper::header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
            let text = within(STEP, "body", body_text(resp.into_body())).await;
            // The per-connection counter proves both requests used the same connection.
            assert_eq!(
                text,
                format!("Hello, world! You asked for {path} (request {n} on this connection)\n")
            );
        }
        drop(sender);
        // With the sender gone the client closes the connection cleanly.
        within(STEP, "client connection", conn)
            .await
            .unwrap()
            .unwrap();
    });
}

#[test]
fn http1_many_clients_at_once() {
    const CLIENTS: usize = 20;
    run(async {
        let addr = start(|l| hyper_hello::serve(l, hyper_hello::HEADER_READ_TIMEOUT)).await;
        let mut tasks = strand::task::JoinSet::new();
        for i in 0..CLIENTS {
            tasks.spawn(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                let (mut sender, conn) = client_http1::handshake(stream).await.unwrap();
                strand::spawn(conn);
                let resp = sender
                    .send_request(get(addr, &format!("/{i}")))
                    .await
                    .unwrap();
                let text = body_text(resp.into_body()).await;
                assert!(text.contains(&format!("for /{i} (request 1 ")), "{text}");
            });
        }
        while let Some(res) = within(STEP, "clients", tasks.join_next()).await {
            res.unwrap();
        }
    });
}

/// A client that sends half a request head is disconnected once `header_read_timeout` has
/// passed (and not before); hyper reports it as a timeout.
#[test]
fn http1_header_read_timeout_fires_on_half_a_request() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = strand::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            hyper_hello::serve_connection(stream, TIMEOUT).await
        });

        // Taken before the server can arm its timer: a correct server never looks early.
        let start = Instant::now();
        let mut client = TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Half: ")
            .await
            .unwrap();
        expect_header_timeout(client, start, TIMEOUT, server).await;
    });
}

/// On a keep-alive connection the timer is armed again for the second request's head, and
/// fires when that head stays incomplete.
#[test]
fn http1_header_read_timeout_rearms_for_the_next_request() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = strand::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            hyper_hello::serve_connection(stream, TIMEOUT).await
        });

        let mut client = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        client
            .write_all(b"GET /one HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        // Read the whole first response (it ends with the body's newline).
        let mut response = Vec::new();
        let mut buf = [0u8; 1024];
        while !response.ends_with(b"connection)\n") {
            let n = within(STEP, "first response", client.read(&mut buf))
                .await
                .unwrap();
            assert!(n > 0, "closed early: {response:?}");
            response.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8(response).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.ends_with("(request 1 on this connection)\n"), "{text}");

        // Half of the next head: the timer armed for it (when the first response was sent,
        // so after `start`) must fire.
        client.write_all(b"GET /two HTTP/1.1\r\n").await.unwrap();
        expect_header_timeout(client, start, TIMEOUT, server).await;
    });
}

#[test]
fn h2c_concurrent_streams_and_a_not_send_streaming_body() {
    run(async {
        let addr = start(hyper_h2c::serve).await;
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = client_http2::Builder::new(strand::hyper::Executor)
            .timer(strand::hyper::Timer)
            .handshake(stream)
            .await
            .unwrap();
        let conn = strand::spawn(conn);

        // Several streams in flight on the one connection at once.
        let mut streams = strand::task::JoinSet::new();
        for n in [0u32, 1, 3, 50] {
            let mut sender = sender.clone();
            streams.spawn(async move {
                let path = if n == 0 {
                    "/".to_string()
                } else {
                    format!("/count/{n}")
                };
                let resp = sender.send_request(get(addr, &path)).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                assert_eq!(resp.version(), Version::HTTP_2);
                (n, body_text(resp.into_body()).await)
            });
        }
        let mut seen = 0;
        while let Some(res) = within(STEP, "h2 streams", streams.join_next()).await {
            let (n, text) = res.unwrap();
            let want = if n == 0 {
                "Hello over HTTP/2.0!\n".to_string()
            } else {
                (1..=n).map(|i| format!("line {i}\n")).collect()
            };
            assert_eq!(text, want, "/count/{n}");
            seen += 1;
        }
        assert_eq!(seen, 4);

        let mut sender = sender;
        let resp = sender.send_request(get(addr, "/nope")).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        drop(sender);
        within(STEP, "client connection", conn)
            .await
            .unwrap()
            .unwrap();
    });
}

/// An HTTP/2 client that never answers the server's keep-alive PING is dropped once the
/// keep-alive timeout passed: hyper's ping timer runs on `strand::hyper::Timer` (it moves one
/// sleep around with `Timer::reset`).
#[test]
fn h2c_keep_alive_timeout_drops_a_silent_client() {
    const KEEP_ALIVE: Duration = Duration::from_millis(200);
    const PING: u8 = 0x6;
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = strand::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            hyper_h2c::serve_connection(stream, KEEP_ALIVE).await
        });

        // Taken before the server can arm its timer: a correct server never looks early.
        let start = Instant::now();
        let mut client = TcpStream::connect(addr).await.unwrap();
        // The connection preface and an empty SETTINGS frame; then silence (no SETTINGS ack,
        // no PING ack).
        client
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
            .await
            .unwrap();
        let mut frames = Vec::new();
        let read = within(STEP, "server closing", client.read_to_end(&mut frames)).await;
        let waited = start.elapsed();
        if let Err(e) = read {
            assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
        }
        // Walk the frames the server sent: one of them is its PING.
        let mut types = Vec::new();
        let mut rest = &frames[..];
        while rest.len() >= 9 {
            let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
            types.push(rest[3]);
            rest = &rest[(9 + len).min(rest.len())..];
        }
        assert!(types.contains(&PING), "no PING among frame types {types:?}");
        assert!(
            waited >= KEEP_ALIVE * 2,
            "dropped after {waited:?}, before interval + timeout"
        );
        let err = within(STEP, "server result", server)
            .await
            .unwrap()
            .expect_err("the connection must end with the keep-alive timeout");
        assert!(err.is_timeout(), "not a timeout: {err:?}");
    });
}

/// `curl` as a client from outside the process, when it is installed.
fn curl() -> Option<Command> {
    let found = Command::new("which")
        .arg("curl")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        println!("skipped: curl is not installed (`which curl` found nothing)");
        return None;
    }
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--max-time", "20"]);
    Some(cmd)
}

/// Runs `cmd` on the blocking pool (never on the runtime thread, which serves curl).
async fn output_of(mut cmd: Command) -> String {
    let out = strand::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn curl_http1_keep_alive() {
    let Some(mut cmd) = curl() else { return };
    run(async {
        let addr = start(|l| hyper_hello::serve(l, hyper_hello::HEADER_READ_TIMEOUT)).await;
        // Two URLs in one curl call reuse the connection: the second transfer opens none.
        cmd.args(["--write-out", "[connects %{num_connects}]\n"])
            .arg(format!("http://{addr}/a"))
            .arg(format!("http://{addr}/b"));
        let out = within(STEP, "curl", output_of(cmd)).await;
        assert_eq!(
            out,
            "Hello, world! You asked for /a (request 1 on this connection)\n[connects 1]\n\
             Hello, world! You asked for /b (request 2 on this connection)\n[connects 0]\n"
        );
    });
}

#[test]
fn curl_h2c() {
    let Some(mut cmd) = curl() else { return };
    run(async {
        let addr = start(hyper_h2c::serve).await;
        cmd.args([
            "--http2-prior-knowledge",
            "--write-out",
            "[http %{http_version}]\n",
        ])
        .arg(format!("http://{addr}/count/3"));
        let out = within(STEP, "curl", output_of(cmd)).await;
        assert_eq!(out, "line 1\nline 2\nline 3\n[http 2]\n");
    });
}
