//! The servers under test. Every runtime runs the same two programs:
//!
//! - **echo**: one task (or connection slot) per connection with a 4 KiB buffer: read, then
//!   write back everything read, until the peer closes;
//! - **http**: a minimal keep-alive HTTP/1.1 responder: read into the same 4 KiB buffer, answer
//!   every complete request head (`\r\n\r\n`) with a fixed 200 response.
//!
//! A server runs in a child process (`--serve <runtime> --mode <mode>`), binds 127.0.0.1:0,
//! prints `addr <ip:port>` on stdout and serves until its stdin closes.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

/// Per-connection user buffer of every server.
pub const BUF_SIZE: usize = 4096;

/// The HTTP responder's answer to every request.
pub const HTTP_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";

/// The runtimes the harness compares. `mio` is the hand-written floor; `mio-naive` is the
/// textbook variant of it (drains every socket until `WouldBlock`), kept to show what a
/// short-read shortcut is worth.
pub const RUNTIMES: &[&str] = &["strand", "tokio", "smol", "mio", "mio-naive"];

/// What a server does with each connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Echo,
    Http,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Echo => "echo",
            Mode::Http => "http",
        }
    }
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "echo" => Some(Mode::Echo),
            "http" => Some(Mode::Http),
            _ => None,
        }
    }
}

/// Counts the complete request heads in `buf[..*filled]`, drops them from the buffer (moving
/// a partial request to the front) and returns how many there were. `None` means the buffer
/// is full without a complete head: the connection should be closed.
pub fn http_consume(buf: &mut [u8], filled: &mut usize) -> Option<usize> {
    let mut count = 0;
    let mut start = 0;
    while let Some(pos) = find_head_end(&buf[start..*filled]) {
        start += pos + 4;
        count += 1;
    }
    if start > 0 {
        buf.copy_within(start..*filled, 0);
        *filled -= start;
    }
    if count == 0 && *filled == buf.len() {
        return None;
    }
    Some(count)
}

fn find_head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

fn announce(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    // The parent waits for this line; if it cannot be written the parent is gone.
    let _ = writeln!(out, "addr {addr}");
    let _ = out.flush();
}

/// Runs server `runtime` in `mode` on this thread until the process exits. `event_interval`
/// overrides the strand runtime's default (an experiment knob, `--event-interval`).
pub fn serve(runtime: &str, mode: Mode, event_interval: Option<u32>) -> io::Result<()> {
    match runtime {
        "strand" => strand_server::serve(mode, event_interval),
        "tokio" => tokio_server::serve(mode),
        "smol" => smol_server::serve(mode),
        "mio" => mio_server::serve(mode, false),
        "mio-naive" => mio_server::serve(mode, true),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown runtime {other:?}"),
        )),
    }
}

/// `size_of` the echo handler's future per runtime (what each connection's task stores besides
/// the runtime's own task header; the 4 KiB buffer is a separate allocation).
pub fn echo_future_sizes() -> Vec<(&'static str, usize)> {
    fn size<S, F: std::future::Future>(_: fn(S) -> F) -> usize {
        std::mem::size_of::<F>()
    }
    vec![
        ("strand", size(fio::echo::<strand::net::TcpStream>)),
        ("tokio", size(tokio_server::echo)),
        ("smol", size(fio::echo::<smol::Async<std::net::TcpStream>>)),
    ]
}

/// Echo and HTTP connection handlers over the `futures-io` traits (strand and smol both use
/// them, with futures-lite's extension traits).
mod fio {
    use super::{http_consume, BUF_SIZE, HTTP_RESPONSE};
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    pub async fn echo<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(mut s: S) {
        let mut buf = vec![0u8; BUF_SIZE];
        loop {
            let n = match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if s.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    pub async fn http<S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin>(mut s: S) {
        let mut buf = vec![0u8; BUF_SIZE];
        let mut filled = 0;
        loop {
            let n = match s.read(&mut buf[filled..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            filled += n;
            let Some(requests) = http_consume(&mut buf, &mut filled) else {
                return;
            };
            for _ in 0..requests {
                if s.write_all(HTTP_RESPONSE).await.is_err() {
                    return;
                }
            }
        }
    }
}

mod strand_server {
    use super::{announce, fio, Mode};
    use std::io;

    pub fn serve(mode: Mode, event_interval: Option<u32>) -> io::Result<()> {
        let mut builder = strand::Runtime::builder();
        if let Some(n) = event_interval {
            builder.event_interval(n);
        }
        let rt = builder.build()?;
        rt.block_on(async move {
            let listener = strand::net::TcpListener::bind("127.0.0.1:0").await?;
            announce(listener.local_addr()?);
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("strand server: accept: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                match mode {
                    Mode::Echo => drop(strand::spawn(fio::echo(stream))),
                    Mode::Http => drop(strand::spawn(fio::http(stream))),
                }
            }
        })
    }
}

mod smol_server {
    use super::{announce, fio, Mode};
    use std::io;
    use std::net::{TcpListener, TcpStream};

    pub fn serve(mode: Mode) -> io::Result<()> {
        let ex = smol::LocalExecutor::new();
        smol::block_on(ex.run(async {
            let listener = smol::Async::<TcpListener>::bind(([127, 0, 0, 1], 0))?;
            announce(listener.get_ref().local_addr()?);
            loop {
                let (stream, _): (smol::Async<TcpStream>, _) = match listener.accept().await {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("smol server: accept: {e}");
                        continue;
                    }
                };
                let _ = stream.get_ref().set_nodelay(true);
                match mode {
                    Mode::Echo => ex.spawn(fio::echo(stream)).detach(),
                    Mode::Http => ex.spawn(fio::http(stream)).detach(),
                }
            }
        }))
    }
}

mod tokio_server {
    use super::{announce, http_consume, Mode, BUF_SIZE, HTTP_RESPONSE};
    use std::io;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub fn serve(mode: Mode) -> io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            announce(listener.local_addr()?);
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("tokio server: accept: {e}");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                match mode {
                    Mode::Echo => drop(tokio::spawn(echo(stream))),
                    Mode::Http => drop(tokio::spawn(http(stream))),
                }
            }
        })
    }

    pub(super) async fn echo(mut s: TcpStream) {
        let mut buf = vec![0u8; BUF_SIZE];
        loop {
            let n = match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if s.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    async fn http(mut s: TcpStream) {
        let mut buf = vec![0u8; BUF_SIZE];
        let mut filled = 0;
        loop {
            let n = match s.read(&mut buf[filled..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            filled += n;
            let Some(requests) = http_consume(&mut buf, &mut filled) else {
                return;
            };
            for _ in 0..requests {
                if s.write_all(HTTP_RESPONSE).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The floor: a hand-written, edge-triggered mio event loop with no executor. One `Slab` entry
/// per connection holding the stream, its 4 KiB buffer and any output the socket did not take
/// yet. Every readiness event is handled in place; a connection reads until the socket is
/// drained, writing each chunk back before the next read.
///
/// "Drained" is `WouldBlock` in the naive variant. The default variant also treats a short
/// read (fewer bytes than the buffer) as drained — with epoll an edge is raised again for any
/// data that arrives later, so the extra `recv` that would only return `EAGAIN` is skipped.
/// That is what tokio's `PollEvented` does too.
mod mio_server {
    use super::{announce, http_consume, Mode, BUF_SIZE, HTTP_RESPONSE};
    use mio::net::{TcpListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};
    use slab::Slab;
    use std::io::{self, ErrorKind, Read, Write};

    const LISTENER: Token = Token(usize::MAX);
    /// Events taken per `epoll_wait` (tokio's driver uses 1024 too).
    const EVENTS: usize = 1024;

    struct Conn {
        stream: TcpStream,
        buf: Vec<u8>,
        /// echo: bytes `out_start..out_end` of `buf` still to write.
        out_start: usize,
        out_end: usize,
        /// http: request bytes held in `buf[..filled]`; responses still owed, and how much of
        /// the first one went out.
        filled: usize,
        owed: usize,
        owed_pos: usize,
        /// The last readable edge has not been drained yet.
        read_ready: bool,
    }

    enum Step {
        Open,
        Close,
    }

    impl Conn {
        fn new(stream: TcpStream) -> Conn {
            Conn {
                stream,
                buf: vec![0u8; BUF_SIZE],
                out_start: 0,
                out_end: 0,
                filled: 0,
                owed: 0,
                owed_pos: 0,
                read_ready: false,
            }
        }

        /// Writes pending output. `Ok(true)`: all written; `Ok(false)`: the socket is full.
        fn flush(&mut self, mode: Mode) -> io::Result<bool> {
            loop {
                let chunk = match mode {
                    Mode::Echo if self.out_start < self.out_end => {
                        &self.buf[self.out_start..self.out_end]
                    }
                    Mode::Http if self.owed > 0 => &HTTP_RESPONSE[self.owed_pos..],
                    _ => return Ok(true),
                };
                match self.stream.write(chunk) {
                    Ok(0) => return Err(ErrorKind::WriteZero.into()),
                    Ok(n) => match mode {
                        Mode::Echo => self.out_start += n,
                        Mode::Http => {
                            self.owed_pos += n;
                            if self.owed_pos == HTTP_RESPONSE.len() {
                                self.owed -= 1;
                                self.owed_pos = 0;
                            }
                        }
                    },
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }

        fn drive(&mut self, mode: Mode, naive: bool) -> Step {
            loop {
                match self.flush(mode) {
                    Ok(true) => {}
                    // Wait for the writable edge; unread input stays flagged in read_ready.
                    Ok(false) => return Step::Open,
                    Err(_) => return Step::Close,
                }
                if !self.read_ready {
                    return Step::Open;
                }
                let into = match mode {
                    Mode::Echo => &mut self.buf[..],
                    Mode::Http => &mut self.buf[self.filled..],
                };
                let room = into.len();
                match self.stream.read(into) {
                    Ok(0) => return Step::Close,
                    Ok(n) => {
                        if !naive && n < room {
                            self.read_ready = false;
                        }
                        match mode {
                            Mode::Echo => {
                                self.out_start = 0;
                                self.out_end = n;
                            }
                            Mode::Http => {
                                self.filled += n;
                                match http_consume(&mut self.buf, &mut self.filled) {
                                    Some(k) => self.owed += k,
                                    None => return Step::Close,
                                }
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        self.read_ready = false;
                        return Step::Open;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Step::Close,
                }
            }
        }
    }

    pub fn serve(mode: Mode, naive: bool) -> io::Result<()> {
        let mut poll = Poll::new()?;
        let mut events = Events::with_capacity(EVENTS);
        let mut listener = TcpListener::bind("127.0.0.1:0".parse().expect("literal address"))?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        announce(listener.local_addr()?);
        let mut conns: Slab<Conn> = Slab::new();
        loop {
            if let Err(e) = poll.poll(&mut events, None) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                if event.token() == LISTENER {
                    loop {
                        match listener.accept() {
                            Ok((mut stream, _)) => {
                                let _ = stream.set_nodelay(true);
                                let entry = conns.vacant_entry();
                                poll.registry().register(
                                    &mut stream,
                                    Token(entry.key()),
                                    Interest::READABLE | Interest::WRITABLE,
                                )?;
                                entry.insert(Conn::new(stream));
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(e) => {
                                eprintln!("mio server: accept: {e}");
                                break;
                            }
                        }
                    }
                    continue;
                }
                let key = event.token().0;
                let Some(conn) = conns.get_mut(key) else {
                    continue;
                };
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    conn.read_ready = true;
                }
                if let Step::Close = conn.drive(mode, naive) {
                    let mut conn = conns.remove(key);
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
            }
        }
    }
}

/// A blocking check that an HTTP server answers keep-alive requests correctly, including two
/// requests in one segment and one split across two. Used before every `wrk` run and in
/// `--quick` mode, so the responders are verified even where `wrk` is not installed.
pub fn check_http(addr: SocketAddr) -> io::Result<()> {
    use io::ErrorKind;
    use std::time::Duration;
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_nodelay(true)?;
    let req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
    let expect = |s: &mut std::net::TcpStream, n: usize| -> io::Result<()> {
        let mut got = vec![0u8; HTTP_RESPONSE.len() * n];
        s.read_exact(&mut got)?;
        if got != HTTP_RESPONSE.repeat(n) {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("bad HTTP response: {:?}", String::from_utf8_lossy(&got)),
            ));
        }
        Ok(())
    };
    s.write_all(req)?;
    expect(&mut s, 1)?;
    s.write_all(&[&req[..], &req[..]].concat())?;
    expect(&mut s, 2)?;
    s.write_all(&req[..10])?;
    std::thread::sleep(Duration::from_millis(20));
    s.write_all(&req[10..])?;
    expect(&mut s, 1)?;
    Ok(())
}
