//! A TCP echo server: every byte a client sends comes back to it.
//!
//! ```sh
//! cargo run --example echo_server                  # listens on 127.0.0.1:8080
//! cargo run --example echo_server -- 127.0.0.1:0   # any free port; the bound address is printed
//! ```
//! Then talk to it with `cargo run --example echo_client -- 127.0.0.1:8080 hello` or `nc`.
//!
//! One task per connection; the accept loop just logs errors and continues (when the process
//! runs out of file descriptors, `accept` returns the error and backs off by itself, so this
//! loop does not spin).

use std::io;

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpStream};

#[strand::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("echo server listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                strand::spawn(async move {
                    if let Err(e) = echo(stream).await {
                        eprintln!("{peer}: {e}");
                    }
                });
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

/// Copies the stream's input back to it until the client closes its write side.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            // The client sent FIN: finish our side too.
            return stream.close().await;
        }
        stream.write_all(&buf[..n]).await?;
    }
}
