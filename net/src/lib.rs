//! # strand-net: TCP, UDP and Unix-domain sockets for the strand runtime
//!
//! The socket types users reach as `strand::net::*`: [`TcpListener`], [`TcpStream`],
//! [`TcpSocket`], [`UdpSocket`], [`UnixListener`], [`UnixStream`], [`UnixDatagram`], the split
//! halves in [`tcp`] and [`unix`], and [`lookup_host`]. Each wraps a mio socket registered with
//! the reactor of the runtime it was created in (a `strand_reactor::Registration`), and must be
//! used on that runtime's thread (the types are `!Send`).
//!
//! ## Contract
//! - **Non-blocking and close-on-exec.** Every socket strand creates or accepts is both;
//!   `from_std` switches a std socket to non-blocking mode itself.
//! - **Readiness.** The reactor caches readiness per direction. An operation that returns
//!   `WouldBlock` clears only the readiness it observed (a stale clear cannot wipe a newer
//!   event) and registers the task's waker. Spurious wakeups are absorbed: `WouldBlock` never
//!   reaches user code from an `async` method (only from `try_*`).
//! - **Short transfers on streams count as drained.** Readiness is cleared when the OS says
//!   the queue is empty. `WouldBlock` is one way it says so; on a stream socket a short
//!   transfer is another: a TCP `read` (`AsyncRead::poll_read`, vectored too) that returns
//!   `0 < n < len` bytes found the receive queue empty at that instant, and a TCP or
//!   Unix-stream write that sends `0 < n < len` bytes found the send buffer full. Anything that
//!   arrives (or frees up) afterwards raises a new edge in epoll/kqueue, so strand clears the
//!   read (write) readiness it observed right there instead of paying one more syscall that
//!   would only return `EAGAIN`; this is the "cleared only by `WouldBlock`" rule, with the
//!   kernel's answer read from the byte count. The clear is tick-checked (an event that arrived
//!   meanwhile keeps the direction ready) and never touches the closed and error bits: data and
//!   FIN arriving together still let the read after the short one return `Ok(0)` at once.
//!   Where the rule does **not** apply, and a short result leaves readiness set so the next call
//!   tries again: datagram sockets (UDP, Unix datagram: a message is not the queue), listeners,
//!   `peek` (nothing is consumed), the `try_*` functions, Unix-stream reads (the kernel stops a
//!   read at a message that carries descriptors or, with `SO_PASSCRED`, at a change of sender,
//!   with more queued and no new edge), TCP reads outside Linux/Android (a read stops at the
//!   urgent-data mark; on Linux the stream also listens for `EPOLLPRI`, and readiness that saw
//!   urgent data is kept), and transfers of more than 1 GiB or vectored reads over more than
//!   16 buffers (the kernel or std may cap the request).
//! - **Who may wait.** A stream's `AsyncRead`/`AsyncWrite` and every `poll_*` function keep one
//!   waker per direction: one task may read while another writes (through `&TcpStream`,
//!   `split` or `into_split`). The `async` methods that take `&self` (`accept`, `readable`,
//!   `writable`, `peek`, and `send`/`recv`/`send_to`/`recv_from`/`peek_from` on datagram
//!   sockets) keep one waiter per future, so any number of tasks may wait on them at once and
//!   each is woken.
//! - **Budget.** Every `poll_*`/`async` operation spends one unit of the task's cooperative
//!   budget (`strand_executor::coop`); when it is spent the operation returns `Pending` after
//!   waking the task, so a socket that is always ready cannot starve other tasks or the reactor.
//! - **Cancel safety.** `accept`, `read` (`poll_read`), `write` (`poll_write`), `recv`,
//!   `recv_from`, `send`, `send_to`, `peek`, `readable` and `writable` are cancel-safe: a
//!   future dropped before completion consumed or sent nothing. Composite helpers from
//!   `strand::io` (`read_exact`, `write_all`, `read_to_end`) are not: cancelling them loses
//!   how much was already transferred.
//! - **Accept errors.** Per-connection errors (`ECONNABORTED`, `ECONNRESET`, `EPROTO`) are
//!   skipped. `EMFILE`/`ENFILE`/`ENOBUFS`/`ENOMEM` are returned as `io::Error`; the listener
//!   stays usable, its readiness is kept (the queued connections are accepted as soon as
//!   descriptors free up, with no new client needed), and the next `accept` waits a 20 ms
//!   backoff on a reactor timer first, so a loop that retries at once does not spin.
//! - **No `SIGPIPE`.** Stream writes use `send`/`sendmsg` with `MSG_NOSIGNAL` (never
//!   `write`/`writev`), so writing to a reset peer returns an error (`BrokenPipe` or
//!   `ConnectionReset`) whatever the process's `SIGPIPE` disposition. (On Apple platforms the
//!   sockets get `SO_NOSIGPIPE` instead.)
//! - **Shutdown.** `shutdown` is idempotent and maps the OS's `ENOTCONN` (the peer reset the
//!   connection) to `Ok`. `AsyncWrite::poll_close` shuts down the write side; so does dropping
//!   an [`tcp::OwnedWriteHalf`].
//! - **Drop.** A socket deregisters from the reactor before its descriptor is closed, so a new
//!   socket that reuses the number never sees the old one's events.
//! - **Names.** [`lookup_host`] and every `impl ToSocketAddrs` argument resolve IP literals in
//!   place and host names on the runtime's blocking pool, never on the runtime thread.
//!
//! Creating a socket outside a runtime panics (there is no reactor to register with), as in
//! tokio. Using one after its runtime shut down returns an error.
//!
//! ## Optional features
//! - `tokio-io`: `tokio::io::AsyncRead`/`AsyncWrite` on the stream types and halves.
//! - `hyper`: `hyper::rt::Read`/`Write` on the stream types and halves.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accept;
mod addr;
mod compat;
mod delay;
mod evented;
mod split;
mod sys;
mod udp;
mod waiters;

pub mod tcp;
#[cfg(unix)]
pub mod unix;

pub use addr::{lookup_host, SocketAddrs, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
