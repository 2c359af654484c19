// `main` returning `io::Result<()>`, with inner attributes and other attributes kept.
#![deny(unused_variables)]

/// The entry point (doc comments are kept).
#[strand::main]
#[allow(clippy::needless_return)]
async fn main() -> std::io::Result<()> {
    #![allow(unused_mut)]
    let mut listener = strand::net::TcpListener::bind("127.0.0.1:0").await?;
    let _addr = listener.local_addr()?;
    return Ok(());
}
