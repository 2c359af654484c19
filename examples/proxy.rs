//! A TCP proxy: every client connection is relayed to an upstream server, both ways at once.
//!
//! ```text
//! cargo run --example echo_server                               # an upstream on 127.0.0.1:8080
//! cargo run --example proxy -- 127.0.0.1:8081 127.0.0.1:8080    # the proxy in front of it
//! nc 127.0.0.1 8081
//! ```
//!
//! Each direction is a [`strand::io::copy`] from one socket's read half to the other's write
//! half; both run at once in the connection's task. When one side finishes sending (end of
//! stream), the proxy shuts down the write side towards the other (a half-close, so protocols
//! that send a request, half-close and then read the answer keep working) and keeps relaying
//! the other direction. An error in either direction ends the whole relay.
//!
//! The proxy is in `pub` functions so `tests/examples_chat_proxy.rs` can run this very code.

use std::io;
use std::net::SocketAddr;

use futures_lite::future;
use strand::io::AsyncWriteExt;
use strand::net::{TcpListener, TcpStream};

#[strand::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: proxy <listen addr> <upstream addr>");
        std::process::exit(2);
    };
    let upstream: SocketAddr = match strand::net::lookup_host(upstream.as_str()).await?.next() {
        Some(addr) => addr,
        None => return Err(io::Error::other("the upstream name resolved to nothing")),
    };
    let listener = TcpListener::bind(listen.as_str()).await?;
    println!("proxying {} -> {upstream}", listener.local_addr()?);
    serve(listener, upstream).await
}

/// Accepts clients forever, relaying each to `upstream` in its own task.
pub async fn serve(listener: TcpListener, upstream: SocketAddr) -> io::Result<()> {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        strand::spawn(async move {
            match relay(client, upstream).await {
                Ok((up, down)) => println!("{peer}: {up} bytes up, {down} bytes down"),
                Err(e) => eprintln!("{peer}: {e}"),
            }
        });
    }
}

/// Connects to `upstream` and relays until both directions are done. Returns the bytes sent
/// upstream and downstream.
pub async fn relay(mut client: TcpStream, upstream: SocketAddr) -> io::Result<(u64, u64)> {
    let mut server = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();

    let up = async {
        let n = strand::io::copy(&mut client_read, &mut server_write).await?;
        server_write.close().await?; // half-close: the client is done sending
        Ok::<u64, io::Error>(n)
    };
    let down = async {
        let n = strand::io::copy(&mut server_read, &mut client_write).await?;
        client_write.close().await?;
        Ok::<u64, io::Error>(n)
    };
    // Both directions to the end, or the first error.
    future::try_zip(up, down).await
}
