//! A TCP echo client: sends each message, waits for it to come back, prints it.
//!
//! ```sh
//! cargo run --example echo_server &
//! cargo run --example echo_client -- 127.0.0.1:8080 hello world   # one round trip each
//! echo -e "one\ntwo" | cargo run --example echo_client              # lines from stdin
//! ```
//! Reading stdin blocks, so it runs on the blocking pool (`spawn_blocking`), never on the
//! runtime thread.

use std::io::{self, BufRead};
use std::time::{Duration, Instant};

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::TcpStream;

#[strand::main]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let messages: Vec<String> = args.collect();

    let mut stream =
        strand::time::timeout(Duration::from_secs(5), TcpStream::connect(addr.as_str()))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    eprintln!("connected to {}", stream.peer_addr()?);

    if messages.is_empty() {
        // One line at a time from stdin, read on the blocking pool.
        loop {
            let line = strand::spawn_blocking(|| {
                let mut line = String::new();
                io::stdin().lock().read_line(&mut line).map(|n| (n, line))
            })
            .await??;
            if line.0 == 0 {
                break;
            }
            round_trip(&mut stream, line.1.trim_end_matches('\n')).await?;
        }
    } else {
        for m in &messages {
            round_trip(&mut stream, m).await?;
        }
    }
    stream.close().await?;
    Ok(())
}

async fn round_trip(stream: &mut TcpStream, msg: &str) -> io::Result<()> {
    let start = Instant::now();
    let mut line = msg.as_bytes().to_vec();
    line.push(b'\n');
    stream.write_all(&line).await?;
    let mut back = vec![0u8; line.len()];
    stream.read_exact(&mut back).await?;
    let back = String::from_utf8_lossy(&back[..back.len() - 1]).into_owned();
    println!("{back}    ({:?})", start.elapsed());
    Ok(())
}
