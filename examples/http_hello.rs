//! A keep-alive HTTP/1.1 "Hello, world!" server, small enough to read in one sitting.
//!
//! ```sh
//! cargo run --release --example http_hello                 # 127.0.0.1:8080
//! curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/x   # two requests, one connection
//! ```
//! It understands just enough HTTP/1.1 for benchmarking tools and `curl`: persistent
//! connections (closed on `Connection: close`, or after an HTTP/1.0 request without
//! `Connection: keep-alive`), pipelined requests, and request bodies with `Content-Length`
//! (read and ignored). Anything it cannot parse gets a `400` and the connection is closed.

use std::io;

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpStream};

const BODY: &str = "Hello, world!\n";
/// Requests whose head is larger than this are rejected.
const MAX_HEAD: usize = 16 * 1024;

#[strand::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("http_hello listening on http://{}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                strand::spawn(async move {
                    if let Err(e) = serve(stream).await {
                        if e.kind() != io::ErrorKind::ConnectionReset {
                            eprintln!("{peer}: {e}");
                        }
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

/// What the server needs to know about one request.
struct Head {
    /// Bytes of request line + headers + the blank line.
    len: usize,
    body_len: usize,
    keep_alive: bool,
}

/// Parses a complete request head at the start of `buf`; `Ok(None)` when more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, &'static str> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEAD {
            Err("request head too large")
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| "request head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().ok_or("empty request")?;
    let mut parts = request_line.split(' ');
    let (Some(_method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed request line");
    };
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err("unsupported HTTP version"),
    };
    let mut body_len = 0;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("malformed header")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            body_len = value.parse().map_err(|_| "bad Content-Length")?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked request bodies are not supported");
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                keep_alive = false;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                keep_alive = true;
            }
        }
    }
    Ok(Some(Head {
        len: end + 4,
        body_len,
        keep_alive,
    }))
}

/// Serves requests on one connection until the client closes it or asks to.
async fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every complete request already buffered (pipelining), then write once.
        let mut close = false;
        loop {
            match parse_head(&buf) {
                Ok(Some(head)) => {
                    let total = head.len + head.body_len;
                    if buf.len() < total {
                        break; // the body is still arriving
                    }
                    buf.drain(..total);
                    respond(&mut out, head.keep_alive);
                    if !head.keep_alive {
                        close = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(why) => {
                    let msg = format!(
                        "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{why}\n",
                        why.len() + 1
                    );
                    out.extend_from_slice(msg.as_bytes());
                    close = true;
                    break;
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if close {
            return stream.close().await;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(()); // client closed the connection
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn respond(out: &mut Vec<u8>, keep_alive: bool) {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    out.extend_from_slice(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{BODY}",
            BODY.len()
        )
        .as_bytes(),
    );
}
