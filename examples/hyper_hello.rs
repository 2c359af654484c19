//! HTTP/1 "hello world" with hyper on strand.
//!
//! ```text
//! cargo run --example hyper_hello --features hyper            # listens on 127.0.0.1:3000
//! cargo run --example hyper_hello --features hyper -- 127.0.0.1:0
//! curl http://127.0.0.1:3000/ http://127.0.0.1:3000/abc      # two requests, one connection
//! ```
//!
//! What it shows:
//! - a strand [`TcpStream`] goes to hyper as it is (the `hyper` feature implements
//!   `hyper::rt::Read`/`Write` on it);
//! - the service is `!Send`: it counts the requests of its connection in an `Rc<Cell<_>>`,
//!   which a single-threaded runtime allows (and which makes keep-alive visible: the second
//!   request on a connection is answered with "request 2");
//! - `header_read_timeout` works through [`strand::hyper::Timer`]: a client that sends half a
//!   request is disconnected once it expires.
//!
//! The server is in `pub` functions so `tests/hyper_http.rs` can run this very code.

use std::cell::Cell;
use std::convert::Infallible;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use strand::net::{TcpListener, TcpStream};

/// How long a client may take to send a request's head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

#[strand::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, HEADER_READ_TIMEOUT).await
}

/// Accepts connections forever, serving each in its own task.
pub async fn serve(listener: TcpListener, header_read_timeout: Duration) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors and the like: the listener stays usable (and strand backs
            // off before the next attempt), so log and go on.
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        strand::spawn(async move {
            if let Err(e) = serve_connection(stream, header_read_timeout).await {
                eprintln!("connection from {peer}: {e}");
            }
        });
    }
}

/// Serves one HTTP/1 connection (keep-alive: any number of requests) until the client closes
/// it, or until it takes longer than `header_read_timeout` to send a request head.
pub async fn serve_connection(
    stream: TcpStream,
    header_read_timeout: Duration,
) -> Result<(), hyper::Error> {
    // Per-connection state in an `Rc`: the service is `!Send`, and that is fine on strand.
    let served = Rc::new(Cell::new(0u64));
    let service = service_fn(move |req| hello(req, served.clone()));
    http1::Builder::new()
        .timer(strand::hyper::Timer)
        .header_read_timeout(header_read_timeout)
        .serve_connection(stream, service)
        .await
}

async fn hello(
    req: Request<Incoming>,
    served: Rc<Cell<u64>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    served.set(served.get() + 1);
    let body = format!(
        "Hello, world! You asked for {} (request {} on this connection)\n",
        req.uri().path(),
        served.get()
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}
