//! A chat server: every line a client sends is broadcast to every other client.
//!
//! ```text
//! cargo run --example chat                 # listens on 127.0.0.1:6142
//! nc 127.0.0.1 6142                        # in two or more terminals
//! ```
//!
//! The protocol is line-based. The server greets a new client with
//! `welcome! what is your name?`, takes the first line as the name, answers
//! `hello <name>, <n> other(s) here`, and tells the others `* <name> joined`. After that each
//! line becomes `<name>: <line>` for everybody else, and a client that leaves is announced as
//! `* <name> left`.
//!
//! What it shows: state shared by every connection task without locks or atomics (an
//! `Rc<RefCell<..>>` is enough on one thread), per-client outboxes that are
//! [`strand::sync::mpsc`] channels, and one task per client that reads and writes at once on
//! the two halves of its socket. A client too slow to keep up with the room (its outbox full)
//! is disconnected instead of slowing everyone down.
//!
//! The server is in `pub` functions so `tests/examples_chat_proxy.rs` can run this very code.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::rc::Rc;

use futures_lite::future;
use strand::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use strand::net::{TcpListener, TcpStream};
use strand::sync::{mpsc, oneshot};

/// Messages that may wait for one client before it is considered too slow.
pub const OUTBOX: usize = 256;
/// Longest accepted line, in bytes (a longer one disconnects its sender).
pub const MAX_LINE: usize = 8 * 1024;

#[strand::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6142".into());
    let listener = TcpListener::bind(addr.as_str()).await?;
    println!("chat server on {}", listener.local_addr()?);
    serve(listener).await
}

/// Accepts clients forever; they all share one [`Room`].
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let room = Room::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let room = room.clone();
        strand::spawn(async move {
            if let Err(e) = client(stream, room).await {
                eprintln!("client {peer}: {e}");
            }
        });
    }
}

/// Everyone connected: an outbox per client. Cloning shares the same room.
#[derive(Clone, Default, Debug)]
pub struct Room {
    inner: Rc<RefCell<Members>>,
}

#[derive(Default, Debug)]
struct Members {
    next_id: u64,
    outboxes: HashMap<u64, Outbox>,
}

#[derive(Debug)]
struct Outbox {
    messages: mpsc::Sender<Rc<str>>,
    /// Dropped to tell the client's task it was disconnected.
    _kick: oneshot::Sender<()>,
}

/// What a client's task holds while it is in the room.
struct Membership {
    id: u64,
    messages: mpsc::Receiver<Rc<str>>,
    /// Resolves (with an error) once the room dropped this member.
    kicked: oneshot::Receiver<()>,
}

impl Room {
    fn join(&self) -> Membership {
        let (tx, messages) = mpsc::channel(OUTBOX);
        let (kick, kicked) = oneshot::channel();
        let mut members = self.inner.borrow_mut();
        let id = members.next_id;
        members.next_id += 1;
        let outbox = Outbox {
            messages: tx,
            _kick: kick,
        };
        members.outboxes.insert(id, outbox);
        Membership {
            id,
            messages,
            kicked,
        }
    }

    fn leave(&self, id: u64) {
        let gone = self.inner.borrow_mut().outboxes.remove(&id);
        drop(gone); // after the borrow: dropping it wakes the member's task
    }

    fn others(&self) -> usize {
        self.inner.borrow().outboxes.len().saturating_sub(1)
    }

    /// Queues `message` (one allocation, shared by every outbox) for everyone but `from`.
    /// Whoever cannot take it is too slow and is dropped from the room, which disconnects it.
    fn broadcast(&self, from: u64, message: String) {
        let message: Rc<str> = message.into();
        let too_slow: Vec<u64> = self
            .inner
            .borrow()
            .outboxes
            .iter()
            .filter(|(id, outbox)| {
                **id != from && outbox.messages.try_send(message.clone()).is_err()
            })
            .map(|(id, _)| *id)
            .collect();
        for id in too_slow {
            self.leave(id);
        }
    }
}

async fn client(mut stream: TcpStream, room: Room) -> io::Result<()> {
    let (read, mut write) = stream.split();
    let mut lines = BufReader::new(read);
    write.write_all(b"welcome! what is your name?\n").await?;
    let Some(name) = read_line(&mut lines).await? else {
        return Ok(());
    };
    let name = name.trim().to_string();

    let Membership {
        id,
        messages: mut outbox,
        kicked,
    } = room.join();
    // Leave the room however this function ends (also if its task is aborted).
    let _member = Member(&room, id);
    let greeting = format!("hello {name}, {} other(s) here\n", room.others());
    write.write_all(greeting.as_bytes()).await?;
    room.broadcast(id, format!("* {name} joined\n"));

    // All at once: this client's lines go to the room, the room's messages to this client.
    // Whichever ends first (the client hung up, or the room dropped it) ends the others.
    let incoming = async {
        while let Some(line) = read_line(&mut lines).await? {
            room.broadcast(id, format!("{name}: {}\n", line.trim_end()));
        }
        Ok(())
    };
    let outgoing = async {
        while let Some(message) = outbox.recv().await {
            write.write_all(message.as_bytes()).await?;
        }
        Ok::<(), io::Error>(())
    };
    let dropped = async {
        let _ = kicked.await; // never sent: resolves when the room drops the sender
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "too slow to keep up with the room: disconnected",
        ))
    };
    let result = future::or(dropped, future::or(incoming, outgoing)).await;
    room.leave(id);
    room.broadcast(id, format!("* {name} left\n"));
    result
}

/// Removes a member from its room when dropped.
struct Member<'a>(&'a Room, u64);

impl Drop for Member<'_> {
    fn drop(&mut self) {
        self.0.leave(self.1);
    }
}

/// The next line (without its newline); `None` at the end of the stream.
async fn read_line<R: strand::io::AsyncBufRead + Unpin>(
    lines: &mut R,
) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    // `take` bounds the line so a client cannot make the server buffer without limit.
    let n = (&mut *lines)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if line.len() > MAX_LINE {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
    }
    let line = String::from_utf8(line)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))?;
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}
