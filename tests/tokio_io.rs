//! The `tokio-io` feature: tokio's `AsyncRead`/`AsyncWrite` on strand's stream types, so
//! tokio-util codecs (and anything else written against tokio's I/O traits) run on strand.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use strand::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

mod util;
use util::{run, within, TempDir};

const STEP: Duration = Duration::from_secs(20);

/// A line server on `Framed<TcpStream, LinesCodec>`: it answers each line with its upper-case
/// form, and a client on the same codec checks every answer, in order.
#[test]
fn framed_lines_codec_over_tcp() {
    const LINES: usize = 500;
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = strand::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut lines = Framed::new(stream, LinesCodec::new());
            let mut answered = 0;
            while let Some(line) = lines.next().await {
                lines.send(line.unwrap().to_uppercase()).await.unwrap();
                answered += 1;
            }
            answered
        });

        let stream = TcpStream::connect(addr).await.unwrap();
        let mut lines = Framed::new(stream, LinesCodec::new());
        for i in 0..LINES {
            lines.send(format!("hello number {i}")).await.unwrap();
            let answer = within(STEP, "answer", lines.next()).await.unwrap().unwrap();
            assert_eq!(answer, format!("HELLO NUMBER {i}"));
        }
        // Closing the sink shuts down the write side: the server sees the end of the stream.
        SinkExt::<String>::close(&mut lines).await.unwrap();
        assert!(within(STEP, "end", lines.next()).await.is_none());
        assert_eq!(within(STEP, "server", server).await.unwrap(), LINES);
    });
}

/// Split halves under backpressure: one task writes many lines through
/// `FramedWrite<OwnedWriteHalf>` while another reads them with `FramedRead<OwnedReadHalf>`,
/// through an echo server; nothing is lost, duplicated or reordered.
#[test]
fn framed_read_and_write_on_split_halves() {
    const LINES: usize = 20_000;
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        strand::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = stream.into_split();
            tokio::io::copy(&mut r, &mut w).await.unwrap();
            AsyncWriteExt::shutdown(&mut w).await.unwrap();
        });

        let (r, w) = TcpStream::connect(addr).await.unwrap().into_split();
        let writer = strand::spawn(async move {
            let mut out = FramedWrite::new(w, LinesCodec::new());
            for i in 0..LINES {
                out.feed(format!("{i:08} {}", "x".repeat(i % 97)))
                    .await
                    .unwrap();
            }
            SinkExt::<String>::close(&mut out).await.unwrap();
        });
        let mut input = FramedRead::new(r, LinesCodec::new());
        let mut n = 0;
        while let Some(line) = within(STEP, "echoed line", input.next()).await {
            assert_eq!(line.unwrap(), format!("{n:08} {}", "x".repeat(n % 97)));
            n += 1;
        }
        assert_eq!(n, LINES);
        within(STEP, "writer", writer).await.unwrap();
    });
}

/// tokio's extension traits on a Unix stream: exact reads, and `shutdown` ending the peer's
/// `read_to_end`.
#[test]
fn tokio_ext_traits_over_unix_stream() {
    run(async {
        let dir = TempDir::new("tokio-io");
        let path = dir.join("tokio-io.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = strand::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 5];
            stream.read_exact(&mut head).await.unwrap();
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
            stream.write_all(&head).await.unwrap();
            stream.write_all(&rest).await.unwrap();
            AsyncWriteExt::shutdown(&mut stream).await.unwrap();
        });
        let mut client = UnixStream::connect(&path).await.unwrap();
        client.write_all(b"hello, tokio traits").await.unwrap();
        AsyncWriteExt::shutdown(&mut client).await.unwrap();
        let mut back = Vec::new();
        within(STEP, "reply", client.read_to_end(&mut back))
            .await
            .unwrap();
        assert_eq!(back, b"hello, tokio traits");
        within(STEP, "server", server).await.unwrap();
    });
}
