//! HTTP/2 over cleartext ("h2c", prior knowledge) with hyper on strand.
//!
//! ```text
//! cargo run --example hyper_h2c --features hyper            # listens on 127.0.0.1:3001
//! curl --http2-prior-knowledge http://127.0.0.1:3001/
//! curl --http2-prior-knowledge http://127.0.0.1:3001/count/5
//! ```
//!
//! What it shows:
//! - `http2::Builder::new(strand::hyper::Executor)`: hyper spawns every HTTP/2 stream as a
//!   strand task, with no `Send` bound;
//! - a `!Send` streaming body: `/count/N` answers with N lines that a separate strand task
//!   produces and hands over through a [`strand::sync::mpsc`] channel (whose types are `!Send`);
//! - `.timer(strand::hyper::Timer)` drives hyper's HTTP/2 keep-alive pings.
//!
//! The server is in `pub` functions so `tests/hyper_http.rs` can run this very code.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use strand::net::{TcpListener, TcpStream};
use strand::sync::mpsc;

/// The most lines `/count/N` streams.
pub const MAX_LINES: u32 = 10_000;

/// How often the server pings an HTTP/2 client, and how long it waits for the answer before it
/// drops the connection.
pub const KEEP_ALIVE: Duration = Duration::from_secs(20);

#[strand::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".into());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on http://{} (h2c)", listener.local_addr()?);
    serve(listener).await
}

/// Accepts connections forever, serving each in its own task.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        strand::spawn(async move {
            if let Err(e) = serve_connection(stream, KEEP_ALIVE).await {
                eprintln!("connection from {peer}: {e}");
            }
        });
    }
}

/// Serves one HTTP/2 connection (any number of concurrent streams) until the client closes it,
/// or until it leaves a keep-alive ping unanswered for `keep_alive`.
pub async fn serve_connection(stream: TcpStream, keep_alive: Duration) -> Result<(), hyper::Error> {
    http2::Builder::new(strand::hyper::Executor)
        .timer(strand::hyper::Timer)
        .keep_alive_interval(keep_alive)
        .keep_alive_timeout(keep_alive)
        .serve_connection(stream, service_fn(handle))
        .await
}

type ResponseBody = Either<Full<Bytes>, ChannelBody>;

async fn handle(req: Request<Incoming>) -> Result<Response<ResponseBody>, Infallible> {
    let path = req.uri().path();
    if path == "/" {
        let body = format!("Hello over {:?}!\n", req.version());
        return Ok(Response::new(Either::Left(Full::new(Bytes::from(body)))));
    }
    let count = path
        .strip_prefix("/count/")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n <= MAX_LINES);
    let Some(count) = count else {
        let mut not_found = Response::new(Either::Left(Full::new(Bytes::from_static(
            b"try / or /count/<n>\n",
        ))));
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        return Ok(not_found);
    };
    // A producer task streams the lines through a small bounded channel: the body pulls them
    // as hyper sends, and the producer waits while the client is slow (backpressure).
    let (tx, rx) = mpsc::channel(4);
    strand::spawn(async move {
        for i in 1..=count {
            if tx.send(Bytes::from(format!("line {i}\n"))).await.is_err() {
                break; // the client went away: the body (and its receiver) was dropped
            }
        }
    });
    Ok(Response::new(Either::Right(ChannelBody { rx })))
}

/// A response body fed by a [`strand::sync::mpsc`] channel. It is `!Send` (the receiver is),
/// which hyper accepts because [`strand::hyper::Executor`] does not ask for `Send`.
#[derive(Debug)]
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }
}
