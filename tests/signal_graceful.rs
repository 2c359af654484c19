//! A real `SIGINT` to the `graceful_shutdown` example: it stops accepting, lets its
//! connections finish, and exits 0.
//!
//! This target has no libtest harness (`harness = false` in the root `Cargo.toml`). Run without
//! `STRAND_GRACEFUL_CHILD` (as `cargo test` does), `main` is the driver: it re-runs its own
//! executable with that variable set, where `main` runs the example's `main` (included below
//! with `#[path]`, so it is the example's own code) on `127.0.0.1:0`, talks to it over TCP, and
//! signals it with `kill -INT <pid>`. No `cargo` call from inside a test, no extra binary.
//!
//! Cases:
//! - `drain`: one client is idle, one is in the middle of a request when `SIGINT` arrives. New
//!   connections are refused at once, the idle client is disconnected, the busy one gets its
//!   answer and then is disconnected, and only then does the process exit, with status 0.
//! - `force`: a client stays in the middle of its request; a second `SIGINT` aborts it and the
//!   process exits with status 1 (not graceful), long before the 30 s grace period.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../examples/graceful_shutdown.rs"]
mod graceful_shutdown;

const CHILD_VAR: &str = "STRAND_GRACEFUL_CHILD";
/// Generous bound for each step on a loaded 2-core machine.
const STEP: Duration = Duration::from_secs(30);

fn main() {
    if std::env::var_os(CHILD_VAR).is_some() {
        // The example's `#[strand::main]` main; its address comes from argv[1].
        let code = match graceful_shutdown::main() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("Error: {e}");
                1
            }
        };
        std::process::exit(code);
    }
    let cases: [(&str, fn()); 2] = [
        ("sigint_drains_connections_and_exits_0", drain),
        ("second_sigint_aborts_and_exits_1", force),
    ];
    for (name, case) in cases {
        print!("test {name} ... ");
        case();
        println!("ok");
    }
    println!("\ntest result: ok. {} passed; 0 failed", cases.len());
}

/// The example running in a child process; killed (SIGKILL) if a check fails first.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("127.0.0.1:0")
            .env(CHILD_VAR, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the server child");
        let lines = forward_lines(child.stdout.take().unwrap());
        let mut server = Server {
            child,
            lines,
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        let line = server.expect_line("listening on ");
        server.addr = line["listening on ".len()..].parse().unwrap();
        server
    }

    /// Waits for the child's next stdout line, which must start with `prefix`.
    fn expect_line(&mut self, prefix: &str) -> String {
        match self.lines.recv_timeout(STEP) {
            Ok(line) if line.starts_with(prefix) => line,
            Ok(line) => panic!("expected a line starting with {prefix:?}, got {line:?}"),
            Err(e) => panic!("no line starting with {prefix:?} from the server: {e}"),
        }
    }

    fn sigint(&self) {
        let pid = self.child.id().to_string();
        // `kill` from procps; the shell's builtin where that is not installed.
        let status = match Command::new("kill").args(["-INT", &pid]).status() {
            Err(e) if e.kind() == ErrorKind::NotFound => Command::new("sh")
                .args(["-c", &format!("kill -INT {pid}")])
                .status(),
            other => other,
        }
        .expect("run kill");
        assert!(status.success(), "kill -INT failed: {status}");
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect to the server");
        s.set_read_timeout(Some(STEP)).unwrap();
        s
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only on a failed check: the child is still running, and must not outlive the test.
        if self.still_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn forward_lines(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Sends `line` (with its newline) and reads the echo.
fn round_trip(stream: &mut TcpStream, line: &str) {
    stream.write_all(format!("{line}\n").as_bytes()).unwrap();
    let want = format!("echo: {line}\n");
    let mut got = vec![0u8; want.len()];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), want);
}

/// Reads until the server closes; nothing more may arrive.
fn expect_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "unexpected data: {rest:?}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
    }
}

fn drain() {
    let mut server = Server::start();
    let mut idle = server.connect();
    round_trip(&mut idle, "I am idle");
    let mut busy = server.connect();
    round_trip(&mut busy, "first request");
    // Half of the second request: it is in flight when the signal comes.
    busy.write_all(b"second req").unwrap();

    server.sigint();
    server.expect_line("shutting down: no longer accepting, waiting for 2 connection(s)");

    // The listener is closed: a new client is refused.
    let refused = TcpStream::connect(server.addr).expect_err("a new connection was accepted");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused, "{refused}");
    // The idle connection is closed at once.
    expect_closed(&mut idle);
    // The busy one is not: the server still waits for it.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        server.still_running(),
        "exited before the busy connection finished"
    );

    // The rest of the request: it is answered, then the connection closes.
    busy.write_all(b"uest\n").unwrap();
    let want = "echo: second request\n";
    let mut got = vec![0u8; want.len()];
    busy.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), want);
    expect_closed(&mut busy);

    server.expect_line("drained 2 connection(s), aborted 0");
    let status = server.wait();
    assert_eq!(status.code(), Some(0), "exit status {status}");
}

fn force() {
    let mut server = Server::start();
    let mut stuck = server.connect();
    round_trip(&mut stuck, "hello");
    stuck.write_all(b"never finis").unwrap();

    let started = Instant::now();
    server.sigint();
    server.expect_line("shutting down: no longer accepting, waiting for 1 connection(s)");
    std::thread::sleep(Duration::from_millis(100));
    assert!(server.still_running(), "exited with a request in flight");

    server.sigint();
    expect_closed(&mut stuck);
    server.expect_line("drained 0 connection(s), aborted 1");
    let status = server.wait();
    assert_eq!(status.code(), Some(1), "exit status {status}");
    assert!(
        started.elapsed() < graceful_shutdown::GRACE,
        "the second SIGINT did not cut the grace period short"
    );
}
