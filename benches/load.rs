//! The load harness: echo and HTTP servers on strand, tokio (current-thread), smol
//! (`LocalExecutor`) and a hand-written mio loop, driven by a closed-loop load generator written
//! on strand.
//!
//! ```text
//! cargo bench --bench load              # the full run (3 interleaved repetitions, < 5 min)
//! cargo bench --bench load -- --quick   # the CI smoke run (seconds; fails on any error)
//! cargo bench --bench load -- --help    # every option
//! ```
//!
//! Each server runs in a child process (this binary re-executed with `--serve`) pinned to core
//! 0; the generators run in child processes (`--client`) pinned to the other cores. On a small
//! machine the generator saturates before the server does, so the figure of merit is the
//! **server's CPU time per round trip** over the measured window (from
//! `/proc/<pid>/task/*/schedstat`), not throughput. Idle memory is the server's RSS growth per
//! idle connection. Results: a table on stdout, `target/bench-load.svg` and
//! `target/bench-load.md`; `--docs` also writes `docs/bench-load.svg`.

#[path = "load/client.rs"]
mod client;
#[path = "load/servers.rs"]
mod servers;
#[path = "load/svg.rs"]
mod svg;
#[path = "load/sys.rs"]
mod sys;

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use servers::{Mode, BUF_SIZE, RUNTIMES};

/// Connection counts of the echo cases.
const ECHO_CONNS: &[usize] = &[1, 64, 1000];
/// Connection counts of the echo cases in `--quick` mode.
const QUICK_ECHO_CONNS: &[usize] = &[1, 64];
/// Message sizes of the echo cases.
const ECHO_SIZES: &[usize] = &[64, 1024];
/// Measured window of each echo case, and the warm-up before it (full run / `--quick`).
const DURATION_MS: u64 = 1200;
const WARMUP_MS: u64 = 300;
const QUICK_DURATION_MS: u64 = 200;
const QUICK_WARMUP_MS: u64 = 50;
/// Idle connections held open for the memory case.
const IDLE_CONNS: usize = 5000;
const QUICK_IDLE_CONNS: usize = 200;
/// Connections `wrk` keeps open in the HTTP case.
const HTTP_CONNS: usize = 64;
/// The core the servers are pinned to; generators get the others.
const SERVER_CORE: usize = 0;
/// How long a child may take to start, connect or report.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

const USAGE: &str = "\
usage: load [--quick] [--reps N] [--warmup-ms N] [--duration-ms N] [--generators N]
            [--idle-conns N] [--http-secs N] [--runtimes a,b,...] [--no-http] [--no-idle] [--no-echo]
            [--docs] [--syscalls] [--conns 1,64,1000] [--sizes 64,1024]
            [--event-interval N] [--http-conns N] [--rate N]
  --quick        CI smoke run: 1 rep, 200 ms per case, C <= 64, 200 idle connections
  --generators   load generator processes (default: 1, or cores-1 up to 4 on bigger machines)
  --runtimes     subset of: strand,tokio,smol,mio,mio-naive
  --docs         also write docs/bench-load.svg
  --event-interval  the strand server's Builder::event_interval (experiments)
  --rate N       paced load instead of closed loop: N round trips/s in all, each connection
                 sending at a fixed interval (staggered), so every server sees the same
                 offered load; pick N below what every server sustains
  --syscalls     count the server's syscalls per round trip with `perf stat` tracepoints
                 (diagnostic: tracing adds server CPU time, so compare CPU from plain runs)
internal: --serve <runtime> --mode echo|http --core N [--event-interval N]
          --client --addr A --conns C --size S --core N [--idle] [--interval-us N]";

#[derive(Debug, Clone)]
struct Opts {
    quick: bool,
    reps: usize,
    warmup: Duration,
    duration: Duration,
    generators: usize,
    idle_conns: usize,
    http_secs: u64,
    runtimes: Vec<String>,
    http: bool,
    idle: bool,
    echo: bool,
    docs: bool,
    syscalls: bool,
    /// Connections `wrk` keeps open.
    http_conns: usize,
    /// Passed to the strand server (`Builder::event_interval`).
    event_interval: Option<u32>,
    /// `--rate`: paced round trips per second in all (closed loop when `None`).
    rate: Option<u64>,
    /// Echo connection counts and message sizes.
    conns: Vec<usize>,
    sizes: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    Echo { conns: usize, size: usize },
    Idle { conns: usize },
    Http { conns: usize },
}

impl Case {
    fn name(&self) -> String {
        match *self {
            Case::Echo { conns, size } => format!("echo {} c={conns}", size_name(size)),
            Case::Idle { conns } => format!("idle mem ({conns} conns)"),
            Case::Http { conns } => format!("http wrk c={conns}"),
        }
    }
}

fn size_name(size: usize) -> String {
    if size >= 1024 && size % 1024 == 0 {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

/// One measurement of one runtime in one case.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Echo/HTTP: server CPU ns per round trip (request). Idle: server RSS bytes per connection.
    merit: f64,
    /// Round trips (requests) per second; NaN for idle.
    rate: f64,
    /// Latency percentiles in µs; NaN where not measured.
    p50: f64,
    p99: f64,
    p999: f64,
    /// Server sleeps (voluntary context switches) per op.
    sleeps: f64,
    /// With `--syscalls`: recv, send, epoll_wait and all syscalls per op.
    syscalls: Option<[f64; 4]>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let result = match args.first().map(String::as_str) {
        Some("--serve") => serve_main(&args),
        Some("--client") => client_main(&args),
        Some("--help") | Some("-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => match parse_opts(&args) {
            Ok(opts) => harness(opts),
            Err(e) => Err(format!("{e}\n{USAGE}")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--name value` pairs after the mode flag.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn flag_num<T: std::str::FromStr>(args: &[String], name: &str) -> Result<Option<T>, String> {
    match flag(args, name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}: not a number: {v:?}")),
    }
}

fn serve_main(args: &[String]) -> Result<(), String> {
    let runtime = flag(args, "--serve")
        .ok_or("--serve needs a runtime")?
        .to_string();
    let mode = Mode::parse(flag(args, "--mode").unwrap_or("echo")).ok_or("bad --mode")?;
    if let Some(core) = flag_num::<usize>(args, "--core")? {
        sys::pin_to(core);
    }
    sys::raise_nofile();
    // The parent holds our stdin; when it closes (or the parent dies) the server exits.
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = io::Read::read_to_end(&mut io::stdin().lock(), &mut sink);
        std::process::exit(0);
    });
    let event_interval = flag_num(args, "--event-interval")?;
    servers::serve(&runtime, mode, event_interval).map_err(|e| format!("{runtime} server: {e}"))
}

fn client_main(args: &[String]) -> Result<(), String> {
    if let Some(core) = flag_num::<usize>(args, "--core")? {
        sys::pin_to(core);
    }
    let addr: SocketAddr = flag(args, "--addr")
        .ok_or("--client needs --addr")?
        .parse()
        .map_err(|e| format!("--addr: {e}"))?;
    let cargs = client::Args {
        addr,
        conns: flag_num(args, "--conns")?.unwrap_or(1),
        size: flag_num(args, "--size")?.unwrap_or(64),
        idle: args.iter().any(|a| a == "--idle"),
        interval: flag_num::<u64>(args, "--interval-us")?
            .filter(|&us| us > 0)
            .map(Duration::from_micros),
    };
    client::run(cargs).map_err(|e| format!("client: {e}"))
}

/// A comma-separated list of numbers.
fn list(args: &[String], name: &str) -> Result<Option<Vec<usize>>, String> {
    flag(args, name)
        .map(|v| {
            v.split(',')
                .map(|n| {
                    n.trim()
                        .parse()
                        .map_err(|_| format!("{name}: bad number {n:?}"))
                })
                .collect()
        })
        .transpose()
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let known_bool = [
        "--quick",
        "--no-http",
        "--no-idle",
        "--no-echo",
        "--docs",
        "--syscalls",
    ];
    let known_val = [
        "--reps",
        "--warmup-ms",
        "--duration-ms",
        "--generators",
        "--idle-conns",
        "--http-secs",
        "--runtimes",
        "--conns",
        "--sizes",
        "--event-interval",
        "--http-conns",
        "--rate",
    ];
    let mut i = 0;
    while i < args.len() {
        if known_val.contains(&args[i].as_str()) {
            i += 2;
        } else if known_bool.contains(&args[i].as_str()) {
            i += 1;
        } else {
            return Err(format!("unknown argument {:?}", args[i]));
        }
    }
    let quick = args.iter().any(|a| a == "--quick");
    let cpus = sys::cpus();
    let runtimes: Vec<String> = match flag(args, "--runtimes") {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        None => RUNTIMES.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(bad) = runtimes.iter().find(|r| !RUNTIMES.contains(&r.as_str())) {
        return Err(format!("unknown runtime {bad:?}"));
    }
    Ok(Opts {
        quick,
        reps: flag_num(args, "--reps")?.unwrap_or(if quick { 1 } else { 3 }),
        warmup: Duration::from_millis(flag_num(args, "--warmup-ms")?.unwrap_or(if quick {
            QUICK_WARMUP_MS
        } else {
            WARMUP_MS
        })),
        duration: Duration::from_millis(flag_num(args, "--duration-ms")?.unwrap_or(if quick {
            QUICK_DURATION_MS
        } else {
            DURATION_MS
        })),
        generators: flag_num(args, "--generators")?
            .unwrap_or(if cpus >= 3 { (cpus - 1).min(4) } else { 1 })
            .max(1),
        idle_conns: flag_num(args, "--idle-conns")?.unwrap_or(if quick {
            QUICK_IDLE_CONNS
        } else {
            IDLE_CONNS
        }),
        http_secs: flag_num(args, "--http-secs")?.unwrap_or(if quick { 1 } else { 2 }),
        runtimes,
        http: !args.iter().any(|a| a == "--no-http"),
        idle: !args.iter().any(|a| a == "--no-idle"),
        echo: !args.iter().any(|a| a == "--no-echo"),
        docs: args.iter().any(|a| a == "--docs"),
        syscalls: args.iter().any(|a| a == "--syscalls"),
        conns: list(args, "--conns")?.unwrap_or_else(|| {
            if quick {
                QUICK_ECHO_CONNS.to_vec()
            } else {
                ECHO_CONNS.to_vec()
            }
        }),
        sizes: list(args, "--sizes")?.unwrap_or_else(|| ECHO_SIZES.to_vec()),
        event_interval: flag_num(args, "--event-interval")?,
        rate: flag_num(args, "--rate")?.filter(|&r: &u64| r > 0),
        http_conns: flag_num(args, "--http-conns")?.unwrap_or(HTTP_CONNS),
    })
}

// ---------------------------------------------------------------------------------------------
// Child processes

/// A child process of this binary (or `wrk`), with its stdout read line by line on a thread.
struct Proc {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// `error ...` lines seen so far.
    errors: Vec<String>,
}

impl Proc {
    fn spawn(what: String, mut cmd: Command) -> Result<Proc, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{what}: spawn: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Proc {
            what,
            child,
            stdin,
            lines,
            errors: Vec::new(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a line starting with `word` and returns the rest of it.
    fn expect(&mut self, word: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(word) {
                        if rest.is_empty() || rest.starts_with(' ') {
                            return Ok(rest.trim_start().to_string());
                        }
                    }
                    if let Some(e) = line.strip_prefix("error ") {
                        self.errors.push(e.to_string());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{}: no {word:?} within {timeout:?}", self.what))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    let mut msg = format!("{}: exited ({status}) before {word:?}", self.what);
                    for e in &self.errors {
                        msg.push_str("; ");
                        msg.push_str(e);
                    }
                    return Err(msg);
                }
            }
        }
    }

    fn send(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{}: write {line:?}: {e}", self.what))
    }

    /// Fails if the process has already exited.
    fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} died: {status}", self.what)),
            Err(e) => Err(format!("{}: {e}", self.what)),
        }
    }

    /// Closes stdin and waits for a clean exit (killing the process after `timeout`).
    fn finish(mut self, timeout: Duration) -> Result<(), String> {
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) if s.success() => return Ok(()),
                Ok(Some(s)) => return Err(format!("{} exited: {s}", self.what)),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => return Err(format!("{} did not exit within {timeout:?}", self.what)),
                Err(e) => return Err(format!("{}: {e}", self.what)),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn self_command() -> Command {
    Command::new(std::env::current_exe().expect("current_exe"))
}

fn start_server(
    runtime: &str,
    mode: Mode,
    event_interval: Option<u32>,
) -> Result<(Proc, SocketAddr), String> {
    let mut cmd = self_command();
    cmd.args(["--serve", runtime, "--mode", mode.name(), "--core"])
        .arg(SERVER_CORE.to_string());
    if let Some(n) = event_interval {
        cmd.args(["--event-interval", &n.to_string()]);
    }
    let mut p = Proc::spawn(format!("{runtime} {} server", mode.name()), cmd)?;
    let addr = p.expect("addr", CHILD_TIMEOUT)?;
    let addr = addr
        .parse()
        .map_err(|e| format!("server address {addr:?}: {e}"))?;
    Ok((p, addr))
}

/// The core of generator `i`.
fn generator_core(i: usize) -> usize {
    let cpus = sys::cpus();
    if cpus < 2 {
        SERVER_CORE
    } else {
        1 + i % (cpus - 1)
    }
}

fn start_client(
    i: usize,
    addr: SocketAddr,
    conns: usize,
    size: usize,
    idle: bool,
    interval: Option<Duration>,
) -> Result<Proc, String> {
    let mut cmd = self_command();
    cmd.arg("--client")
        .args(["--addr", &addr.to_string()])
        .args(["--conns", &conns.to_string()])
        .args(["--size", &size.to_string()])
        .args(["--core", &generator_core(i).to_string()]);
    if idle {
        cmd.arg("--idle");
    }
    if let Some(iv) = interval {
        cmd.args(["--interval-us", &iv.as_micros().max(1).to_string()]);
    }
    Proc::spawn(format!("generator {i}"), cmd)
}

/// Reads `result <count> <errors> <histogram>` from a generator.
fn client_result(p: &mut Proc, hist: &mut Histogram<u64>) -> Result<u64, String> {
    let line = p.expect("result", CHILD_TIMEOUT)?;
    let mut parts = line.splitn(3, ' ');
    let count: u64 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or("bad result line")?;
    let errors: u64 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or("bad result line")?;
    if errors > 0 {
        return Err(format!(
            "{}: {errors} failed connection(s): {}",
            p.what,
            p.errors.join("; ")
        ));
    }
    client::merge_encoded(hist, parts.next().unwrap_or("-"))?;
    Ok(count)
}

/// Syscall tracepoints counted by `--syscalls`, in groups: recv, send, epoll_wait, all.
const SYSCALL_GROUPS: [&[&str]; 4] = [
    &[
        "syscalls:sys_enter_recvfrom",
        "syscalls:sys_enter_read",
        "syscalls:sys_enter_recvmsg",
        "syscalls:sys_enter_readv",
    ],
    &[
        "syscalls:sys_enter_sendto",
        "syscalls:sys_enter_write",
        "syscalls:sys_enter_sendmsg",
        "syscalls:sys_enter_writev",
    ],
    &[
        "syscalls:sys_enter_epoll_wait",
        "syscalls:sys_enter_epoll_pwait",
        "syscalls:sys_enter_epoll_pwait2",
    ],
    &["raw_syscalls:sys_enter"],
];

/// `perf stat` attached to the server for the measured window.
struct SyscallCounter {
    child: Child,
}

impl SyscallCounter {
    fn start(pid: u32, window: Duration) -> Result<SyscallCounter, String> {
        let perf = sys::which("perf").ok_or("--syscalls needs `perf` on PATH")?;
        let events: Vec<&str> = SYSCALL_GROUPS
            .iter()
            .flat_map(|g| g.iter().copied())
            .collect();
        let child = Command::new(perf)
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                &events.join(","),
                "-p",
                &pid.to_string(),
                "--",
            ])
            .arg("sleep")
            .arg(format!("{:.3}", window.as_secs_f64()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("perf: {e}"))?;
        // Let perf attach before the window opens.
        std::thread::sleep(Duration::from_millis(100));
        Ok(SyscallCounter { child })
    }

    fn finish(self) -> Result<[f64; 4], String> {
        let out = self
            .child
            .wait_with_output()
            .map_err(|e| format!("perf: {e}"))?;
        let text = String::from_utf8_lossy(&out.stderr);
        let mut counts = [0.0; 4];
        let mut seen = 0;
        for line in text.lines() {
            let fields: Vec<&str> = line.split(',').collect();
            let (Some(count), Some(event)) = (fields.first(), fields.get(2)) else {
                continue;
            };
            let Ok(n) = count.parse::<f64>() else {
                continue;
            };
            if let Some(g) = SYSCALL_GROUPS.iter().position(|g| g.contains(event)) {
                counts[g] += n;
                seen += 1;
            }
        }
        if seen == 0 {
            return Err(format!("perf stat gave no counts: {text}"));
        }
        Ok(counts)
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

fn run_echo(opts: &Opts, runtime: &str, conns: usize, size: usize) -> Result<Sample, String> {
    let (mut server, addr) = start_server(runtime, Mode::Echo, opts.event_interval)?;
    let gens = opts.generators.min(conns).max(1);
    let mut clients = Vec::with_capacity(gens);
    for i in 0..gens {
        let share = conns / gens + usize::from(i < conns % gens);
        // Paced: every connection sends once per conns/rate seconds, so the total is `rate`.
        let interval = opts
            .rate
            .map(|r| Duration::from_micros((conns as u64).saturating_mul(1_000_000) / r));
        clients.push(start_client(i, addr, share, size, false, interval)?);
    }
    for c in &mut clients {
        c.expect("ready", CHILD_TIMEOUT)?;
    }
    std::thread::sleep(opts.warmup);
    let perf = if opts.syscalls {
        Some(SyscallCounter::start(server.pid(), opts.duration)?)
    } else {
        None
    };
    let sw0 = sys::voluntary_switches(server.pid()).map_err(|e| format!("server switches: {e}"))?;
    let cpu0 = sys::cpu_time(server.pid()).map_err(|e| format!("server CPU time: {e}"))?;
    for c in &mut clients {
        c.send("mark")?;
    }
    let t0 = Instant::now();
    std::thread::sleep(opts.duration);
    for c in &mut clients {
        c.send("stop")?;
    }
    let cpu1 = sys::cpu_time(server.pid()).map_err(|e| format!("server CPU time: {e}"))?;
    let sw1 = sys::voluntary_switches(server.pid()).map_err(|e| format!("server switches: {e}"))?;
    let wall = t0.elapsed();
    let syscalls = match perf {
        Some(p) => Some(p.finish()?),
        None => None,
    };
    let mut hist = client::new_histogram();
    let mut total = 0;
    for c in &mut clients {
        total += client_result(c, &mut hist)?;
    }
    for c in clients {
        c.finish(CHILD_TIMEOUT)?;
    }
    server.check_alive()?;
    server.finish(Duration::from_secs(5))?;
    if total == 0 {
        return Err("no round trip completed in the measured window".into());
    }
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let per_op = |n: f64| n / total as f64;
    Ok(Sample {
        merit: (cpu1 - cpu0).as_nanos() as f64 / total as f64,
        rate: total as f64 / wall.as_secs_f64(),
        p50: us(0.5),
        p99: us(0.99),
        p999: us(0.999),
        sleeps: per_op(sw1.saturating_sub(sw0) as f64),
        // perf counts over its own window of the same length, in the same steady state.
        syscalls: syscalls.map(|c| {
            c.map(|n| n / (total as f64 / wall.as_secs_f64() * opts.duration.as_secs_f64()))
        }),
    })
}

fn run_idle(opts: &Opts, runtime: &str, conns: usize) -> Result<Sample, String> {
    let (mut server, addr) = start_server(runtime, Mode::Echo, opts.event_interval)?;
    std::thread::sleep(Duration::from_millis(50));
    let rss0 = sys::rss_bytes(server.pid()).map_err(|e| format!("server RSS: {e}"))?;
    let mut client = start_client(0, addr, conns, 64, true, None)?;
    client.expect("ready", CHILD_TIMEOUT)?;
    std::thread::sleep(Duration::from_millis(100));
    let rss1 = sys::rss_bytes(server.pid()).map_err(|e| format!("server RSS: {e}"))?;
    client.send("stop")?;
    let mut hist = client::new_histogram();
    client_result(&mut client, &mut hist)?;
    client.finish(CHILD_TIMEOUT)?;
    server.check_alive()?;
    server.finish(Duration::from_secs(5))?;
    Ok(Sample {
        merit: rss1.saturating_sub(rss0) as f64 / conns as f64,
        rate: f64::NAN,
        p50: f64::NAN,
        p99: f64::NAN,
        p999: f64::NAN,
        sleeps: f64::NAN,
        syscalls: None,
    })
}

/// Parses a wrk duration like `1.23ms`, `850.00us`, `2.01s` into µs.
fn wrk_us(s: &str) -> Option<f64> {
    let (num, mul) = if let Some(v) = s.strip_suffix("us") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1e3)
    } else if let Some(v) = s.strip_suffix('m') {
        (v, 60e6)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1e6)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * mul)
}

fn run_http(
    opts: &Opts,
    runtime: &str,
    wrk: &std::path::Path,
    conns: usize,
) -> Result<Sample, String> {
    let (mut server, addr) = start_server(runtime, Mode::Http, opts.event_interval)?;
    servers::check_http(addr).map_err(|e| format!("{runtime} HTTP responder: {e}"))?;
    let mut cmd = match sys::which("taskset") {
        Some(ts) if sys::cpus() >= 2 => {
            let mut c = Command::new(ts);
            c.args(["-c", &generator_core(0).to_string()]).arg(wrk);
            c
        }
        _ => Command::new(wrk),
    };
    cmd.args(["-t1", "-c", &conns.to_string()])
        .arg(format!("-d{}s", opts.http_secs))
        .arg("--latency")
        .arg(format!("http://{addr}/"));
    let sw0 = sys::voluntary_switches(server.pid()).map_err(|e| format!("server switches: {e}"))?;
    let cpu0 = sys::cpu_time(server.pid()).map_err(|e| format!("server CPU time: {e}"))?;
    let t0 = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("wrk: {e}"))?;
    let cpu1 = sys::cpu_time(server.pid()).map_err(|e| format!("server CPU time: {e}"))?;
    let sw1 = sys::voluntary_switches(server.pid()).map_err(|e| format!("server switches: {e}"))?;
    let wall = t0.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("wrk failed ({}): {text}", out.status));
    }
    let mut requests = None;
    let (mut p50, mut p99) = (f64::NAN, f64::NAN);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Non-2xx") || line.starts_with("Socket errors") {
            return Err(format!("wrk against {runtime}: {line}"));
        }
        if line.contains("requests in") {
            requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok());
        }
        let mut w = line.split_whitespace();
        match (w.next(), w.next()) {
            (Some("50%"), Some(v)) => p50 = wrk_us(v).unwrap_or(f64::NAN),
            (Some("99%"), Some(v)) => p99 = wrk_us(v).unwrap_or(f64::NAN),
            _ => {}
        }
    }
    let requests = requests
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("wrk: no request count in {text:?}"))?;
    server.check_alive()?;
    server.finish(Duration::from_secs(5))?;
    Ok(Sample {
        merit: (cpu1 - cpu0).as_nanos() as f64 / requests as f64,
        rate: requests as f64 / wall.as_secs_f64(),
        p50,
        p99,
        p999: f64::NAN,
        sleeps: sw1.saturating_sub(sw0) as f64 / requests as f64,
        syscalls: None,
    })
}

// ---------------------------------------------------------------------------------------------
// The run

fn harness(opts: Opts) -> Result<(), String> {
    let nofile = sys::raise_nofile();
    let mut cases: Vec<Case> = Vec::new();
    for &size in &opts.sizes {
        for &conns in &opts.conns {
            if opts.echo {
                cases.push(Case::Echo { conns, size });
            }
        }
    }
    let mut notes = Vec::new();
    if opts.idle {
        // Server and generator each hold one fd per connection, plus a few.
        let conns = opts.idle_conns.min(nofile.saturating_sub(64) as usize);
        if conns < opts.idle_conns {
            notes.push(format!(
                "idle case limited to {conns} connections by RLIMIT_NOFILE {nofile}"
            ));
        }
        cases.push(Case::Idle { conns });
    }
    let wrk = sys::which("wrk");
    if opts.http {
        match &wrk {
            Some(_) => cases.push(Case::Http {
                conns: opts.http_conns,
            }),
            None => notes.push(
                "http case skipped: `wrk` is not installed (the HTTP responders were still checked)".into(),
            ),
        }
    }
    for n in &notes {
        eprintln!("load: {n}");
    }

    let runtimes: Vec<&str> = opts.runtimes.iter().map(String::as_str).collect();
    let mut failures: Vec<String> = Vec::new();

    // Without wrk, still verify every HTTP responder once.
    if opts.http && wrk.is_none() {
        for rt in &runtimes {
            let r = start_server(rt, Mode::Http, opts.event_interval).and_then(|(server, addr)| {
                servers::check_http(addr).map_err(|e| format!("{rt} HTTP responder: {e}"))?;
                server.finish(Duration::from_secs(5))
            });
            match r {
                Ok(()) => eprintln!("load: {rt} HTTP responder ok"),
                Err(e) => {
                    eprintln!("load: FAILED {e}");
                    failures.push(e);
                }
            }
        }
    }

    // results[case][runtime][rep]
    let mut results: Vec<Vec<Vec<Option<Sample>>>> =
        vec![vec![vec![None; opts.reps]; runtimes.len()]; cases.len()];
    let total = cases.len() * runtimes.len() * opts.reps;
    let started = Instant::now();
    let mut done = 0;
    eprintln!(
        "load: {} cases x {} runtimes x {} reps, {} generator(s), {:?} per echo case, {} cpus",
        cases.len(),
        runtimes.len(),
        opts.reps,
        opts.generators,
        opts.duration,
        sys::cpus()
    );
    // `rep` also picks the rotation, so a range is clearer than an iterator here.
    #[allow(clippy::needless_range_loop)]
    for rep in 0..opts.reps {
        for (ci, case) in cases.iter().enumerate() {
            for k in 0..runtimes.len() {
                // Rotate the order every repetition (and case) so no runtime always goes first.
                let ri = (k + rep + ci) % runtimes.len();
                let rt = runtimes[ri];
                let r = match *case {
                    Case::Echo { conns, size } => run_echo(&opts, rt, conns, size),
                    Case::Idle { conns } => run_idle(&opts, rt, conns),
                    Case::Http { conns } => run_http(
                        &opts,
                        rt,
                        wrk.as_deref().expect("http case needs wrk"),
                        conns,
                    ),
                };
                done += 1;
                let el = started.elapsed().as_secs();
                let head = format!(
                    "[{done:>3}/{total} {:>2}:{:02}] rep {}/{} {:<22} {:<9}",
                    el / 60,
                    el % 60,
                    rep + 1,
                    opts.reps,
                    case.name(),
                    rt
                );
                match r {
                    Ok(s) => {
                        match case {
                            Case::Idle { .. } => eprintln!(
                                "{head} {:>8.0} B/conn ({:.0} B excl. buffer)",
                                s.merit,
                                s.merit - BUF_SIZE as f64
                            ),
                            _ => eprintln!(
                                "{head} {:>6.2} us/op {:>9.0} op/s  p99 {:.0} us",
                                s.merit / 1000.0,
                                s.rate,
                                s.p99
                            ),
                        }
                        results[ci][ri][rep] = Some(s);
                    }
                    Err(e) => {
                        eprintln!("{head} FAILED: {e}");
                        failures.push(format!("{} {rt}: {e}", case.name()));
                    }
                }
            }
        }
    }

    let report = report(&opts, &cases, &runtimes, &results, &notes);
    print!("{report}");
    let target = target_dir();
    let svg = chart(&opts, &cases, &runtimes, &results);
    let _ = std::fs::create_dir_all(&target);
    for (name, body) in [("bench-load.svg", &svg), ("bench-load.md", &report)] {
        let path = target.join(name);
        match std::fs::write(&path, body) {
            Ok(()) => eprintln!("load: wrote {}", path.display()),
            Err(e) => failures.push(format!("writing {}: {e}", path.display())),
        }
    }
    if opts.docs {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/bench-load.svg");
        match std::fs::write(&path, &svg) {
            Ok(()) => eprintln!("load: wrote {}", path.display()),
            Err(e) => failures.push(format!("writing {}: {e}", path.display())),
        }
    }
    eprintln!("load: finished in {:.0?}", started.elapsed());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} failure(s):\n  {}",
            failures.len(),
            failures.join("\n  ")
        ))
    }
}

/// `target/` of this build: the bench binary lives in `<target>/<profile>/deps/`.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn med(samples: &[Option<Sample>], f: impl Fn(&Sample) -> f64) -> f64 {
    median(samples.iter().flatten().map(f).collect())
}

/// Median over repetitions of `a[rep] / b[rep]` (`transform` applied to both first).
fn paired(a: &[Option<Sample>], b: &[Option<Sample>], transform: impl Fn(f64) -> f64) -> f64 {
    median(
        a.iter()
            .zip(b)
            .filter_map(|(x, y)| Some(transform(x.as_ref()?.merit) / transform(y.as_ref()?.merit)))
            .collect(),
    )
}

fn fmt(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "-".into()
    }
}

fn fmt_ratio(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}x")
    } else {
        "-".into()
    }
}

fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_string())
        .unwrap_or_default();
    format!("{} cpus, {model}, Linux {kernel}", sys::cpus())
}

fn report(
    opts: &Opts,
    cases: &[Case],
    runtimes: &[&str],
    results: &[Vec<Vec<Option<Sample>>>],
    notes: &[String],
) -> String {
    let idx = |name: &str| runtimes.iter().position(|r| *r == name);
    let (tokio, mio) = (idx("tokio"), idx("mio"));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nMachine: {}. {} rep(s), {} generator process(es), echo window {:?} after {:?} warm-up.\n",
        machine(),
        opts.reps,
        opts.generators,
        opts.duration,
        opts.warmup
    );
    if let Some(rate) = opts.rate {
        let _ = writeln!(
            s,
            "Paced load (`--rate {rate}`): {rate} round trips/s offered in all, each connection sending at a fixed interval; the echo rows measure the servers at the same load.\n"
        );
    }
    if opts.quick {
        let _ = writeln!(
            s,
            "--quick: a smoke run (tiny windows, one repetition); do not read the numbers.\n"
        );
    }
    let _ = writeln!(
        s,
        "Server CPU per round trip (HTTP: per request), medians over repetitions; ratios are medians of per-repetition ratios (lower is better).\n"
    );
    let _ = writeln!(
        s,
        "| case | runtime | server CPU µs/op | vs tokio | vs mio | ops/s | p50 µs | p99 µs | p99.9 µs | server sleeps/op |{}",
        if opts.syscalls { " recv/op | send/op | epoll_wait/op | syscalls/op |" } else { "" }
    );
    let _ = writeln!(
        s,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|{}",
        if opts.syscalls {
            "---:|---:|---:|---:|"
        } else {
            ""
        }
    );
    for (ci, case) in cases.iter().enumerate() {
        if let Case::Idle { .. } = case {
            continue;
        }
        for (ri, rt) in runtimes.iter().enumerate() {
            let r = &results[ci][ri];
            let vs = |j: Option<usize>| j.map_or(f64::NAN, |j| paired(r, &results[ci][j], |x| x));
            let mut extra = String::new();
            if opts.syscalls {
                for g in 0..4 {
                    let v = med(r, |x| x.syscalls.map_or(f64::NAN, |c| c[g]));
                    let _ = write!(extra, " {} |", fmt(v, 2));
                }
            }
            let _ = writeln!(
                s,
                "| {} | {rt} | {} | {} | {} | {} | {} | {} | {} | {} |{extra}",
                case.name(),
                fmt(med(r, |x| x.merit) / 1000.0, 2),
                fmt_ratio(vs(tokio)),
                fmt_ratio(vs(mio)),
                fmt(med(r, |x| x.rate), 0),
                fmt(med(r, |x| x.p50), 0),
                fmt(med(r, |x| x.p99), 0),
                fmt(med(r, |x| x.p999), 0),
                fmt(med(r, |x| x.sleeps), 3),
            );
        }
    }
    let excl = |x: f64| x - BUF_SIZE as f64;
    for (ci, case) in cases.iter().enumerate() {
        if let Case::Idle { conns } = case {
            let _ = writeln!(
                s,
                "\nIdle memory: server RSS growth per connection with {conns} idle connections (each made one 64 B round trip).\n"
            );
            let _ = writeln!(
                s,
                "| runtime | bytes/conn | excl. 4 KiB buffer | vs tokio (excl.) | vs mio (excl.) |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|");
            for (ri, rt) in runtimes.iter().enumerate() {
                let r = &results[ci][ri];
                let vs =
                    |j: Option<usize>| j.map_or(f64::NAN, |j| paired(r, &results[ci][j], excl));
                let _ = writeln!(
                    s,
                    "| {rt} | {} | {} | {} | {} |",
                    fmt(med(r, |x| x.merit), 0),
                    fmt(med(r, |x| excl(x.merit)), 0),
                    fmt_ratio(vs(tokio)),
                    fmt_ratio(vs(mio)),
                );
            }
            let sizes: Vec<String> = servers::echo_future_sizes()
                .iter()
                .map(|(rt, n)| format!("{rt} {n} B"))
                .collect();
            let _ = writeln!(
                s,
                "\nSize of one echo connection's future (the task body, 4 KiB buffer not included): {}.",
                sizes.join(", ")
            );
        }
    }
    // Targets.
    if let Some(strand) = idx("strand") {
        let _ = writeln!(s, "\nTargets (strand):\n");
        let find = |want: Case| cases.iter().position(|c| *c == want);
        let mut target = |label: String,
                          ci: Option<usize>,
                          other: Option<usize>,
                          limit: f64,
                          tf: fn(f64) -> f64| {
            let v = match (ci, other) {
                (Some(ci), Some(o)) => paired(&results[ci][strand], &results[ci][o], tf),
                _ => f64::NAN,
            };
            let verdict = if !v.is_finite() {
                "not measured"
            } else if v <= limit {
                "met"
            } else {
                "MISSED"
            };
            let _ = writeln!(
                s,
                "- {label}: {} (target <= {limit:.2}x): {verdict}",
                fmt_ratio(v)
            );
        };
        for (conns, lm, lt) in [(64, 1.03, 0.85), (1000, 1.05, 0.90)] {
            let ci = find(Case::Echo { conns, size: 64 });
            target(format!("echo 64B c={conns} vs mio"), ci, mio, lm, |x| x);
            target(format!("echo 64B c={conns} vs tokio"), ci, tokio, lt, |x| x);
        }
        let ci = cases.iter().position(|c| matches!(c, Case::Idle { .. }));
        target(
            "idle memory excl. buffer vs tokio".into(),
            ci,
            tokio,
            0.5,
            |x| x - BUF_SIZE as f64,
        );
    }
    for n in notes {
        let _ = writeln!(s, "\nNote: {n}");
    }
    s
}

fn chart(
    opts: &Opts,
    cases: &[Case],
    runtimes: &[&str],
    results: &[Vec<Vec<Option<Sample>>>],
) -> String {
    let mut cpu = Vec::new();
    let mut mem = Vec::new();
    for (ci, case) in cases.iter().enumerate() {
        match case {
            Case::Idle { conns } => mem.push((
                format!("{conns} idle connections"),
                results[ci]
                    .iter()
                    .map(|r| Some(med(r, |x| x.merit - BUF_SIZE as f64)).filter(|v| v.is_finite()))
                    .collect(),
            )),
            _ => cpu.push((
                case.name(),
                results[ci]
                    .iter()
                    .map(|r| Some(med(r, |x| x.merit / 1000.0)).filter(|v| v.is_finite()))
                    .collect(),
            )),
        }
    }
    let mut panels = vec![svg::Panel {
        title: "Server CPU time per round trip (µs, lower is better)",
        label: |v| {
            if v >= 10.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            }
        },
        groups: cpu,
    }];
    if !mem.is_empty() {
        panels.push(svg::Panel {
            title:
                "Idle memory per connection, excluding the 4 KiB buffer (bytes, lower is better)",
            label: |v| format!("{v:.0}"),
            groups: mem,
        });
    }
    let subtitle = format!(
        "{}; median of {} interleaved rep(s); echo window {} ms; server pinned to core {SERVER_CORE}, {} generator process(es)",
        machine(),
        opts.reps,
        opts.duration.as_millis(),
        opts.generators
    );
    svg::chart(
        "strand load harness: echo / HTTP servers",
        &subtitle,
        runtimes,
        &panels,
    )
}
