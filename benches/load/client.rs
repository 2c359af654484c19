//! The load generator, written on strand itself. It runs in a child process
//! (`--client --addr A --conns C --size S [--idle]`) so several generators can run on
//! separate cores, and is steered through stdin:
//!
//! - prints `ready` once every connection is open (and, in idle mode, has made one round trip);
//! - closed loop: each connection writes one message, reads the full echo back, checks every
//!   byte, and starts again at once; or, paced (`--interval-us N`), starts again at its next
//!   send time, one every N µs (connections staggered across the interval; a connection that
//!   falls behind sends at once but never in a burst);
//! - `mark` on stdin starts the measured window (round trips are counted and their latency
//!   recorded in an hdrhistogram), `stop` (or EOF) ends it;
//! - then prints `result <round trips in window> <errors> <histogram>` and exits, plus one
//!   `error <text>` line for each of the first few failures.

use std::cell::RefCell;
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::TcpStream;

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// Size of the first message on every connection.
const PROBE: usize = 64;
/// Connects in flight at once while the generator opens its connections.
const CONNECT_CONCURRENCY: usize = 32;
/// Failures reported in detail; the rest are only counted.
const MAX_REPORTED_ERRORS: usize = 5;

/// Shared with the stdin thread.
struct Control {
    phase: AtomicU8,
    /// Completed round trips so far (written by the runtime thread only).
    done: AtomicU64,
    at_mark: AtomicU64,
    at_stop: AtomicU64,
}

impl Control {
    fn new() -> Control {
        Control {
            phase: AtomicU8::new(WARMUP),
            done: AtomicU64::new(0),
            at_mark: AtomicU64::new(0),
            at_stop: AtomicU64::new(0),
        }
    }
}

#[derive(Default)]
struct Failures {
    count: usize,
    first: Vec<String>,
}

impl Failures {
    fn add(&mut self, what: String) {
        self.count += 1;
        if self.first.len() < MAX_REPORTED_ERRORS {
            self.first.push(what);
        }
    }
}

/// The generator's settings.
#[derive(Debug)]
pub struct Args {
    pub addr: SocketAddr,
    pub conns: usize,
    pub size: usize,
    pub idle: bool,
    /// Paced: one message per connection per interval (closed loop when `None`).
    pub interval: Option<Duration>,
}

/// Latency histogram in nanoseconds: 1 ns .. 60 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// `value:count,...` of every recorded bucket (`-` when empty).
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let parts: Vec<String> = h
        .iter_recorded()
        .map(|v| format!("{}:{}", v.value_iterated_to(), v.count_at_value()))
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(",")
    }
}

/// Adds an [`encode_histogram`] string into `h`.
pub fn merge_encoded(h: &mut Histogram<u64>, text: &str) -> Result<(), String> {
    if text == "-" {
        return Ok(());
    }
    for part in text.split(',') {
        let (v, c) = part.split_once(':').ok_or("bad histogram entry")?;
        let v: u64 = v.parse().map_err(|_| "bad histogram value")?;
        let c: u64 = c.parse().map_err(|_| "bad histogram count")?;
        h.record_n(v, c).map_err(|e| format!("histogram: {e:?}"))?;
    }
    Ok(())
}

/// Writes message number `seq` of connection `id` into `msg`: the sequence number and the
/// connection id up front, a pattern after them that differs per connection.
fn fill(msg: &mut [u8], id: u32, seq: u64) {
    let head = seq.to_le_bytes().into_iter().chain(id.to_le_bytes());
    for (b, h) in msg.iter_mut().zip(head) {
        *b = h;
    }
}

fn pattern(size: usize, id: u32) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u8).wrapping_mul(31) ^ (id as u8))
        .collect()
}

/// Runs the generator on a fresh strand runtime on this thread.
pub fn run(args: Args) -> io::Result<()> {
    crate::sys::raise_nofile();
    let ctl = Arc::new(Control::new());
    let stdin_ctl = ctl.clone();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match line.trim() {
                "mark" => {
                    stdin_ctl
                        .at_mark
                        .store(stdin_ctl.done.load(Relaxed), Relaxed);
                    stdin_ctl.phase.store(MEASURE, Relaxed);
                }
                "stop" => break,
                _ => {}
            }
        }
        stdin_ctl
            .at_stop
            .store(stdin_ctl.done.load(Relaxed), Relaxed);
        stdin_ctl.phase.store(STOP, Relaxed);
    });

    let rt = strand::Runtime::new()?;
    let hist = Rc::new(RefCell::new(new_histogram()));
    let failures = Rc::new(RefCell::new(Failures::default()));
    rt.block_on(drive(args, ctl.clone(), hist.clone(), failures.clone()))?;

    let f = failures.borrow();
    let mut out = io::stdout().lock();
    for e in &f.first {
        writeln!(out, "error {e}")?;
    }
    let window =
        ctl.at_stop.load(Relaxed) - ctl.at_mark.load(Relaxed).min(ctl.at_stop.load(Relaxed));
    writeln!(
        out,
        "result {} {} {}",
        window,
        f.count,
        encode_histogram(&hist.borrow())
    )?;
    out.flush()
}

fn say(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

async fn wait_for_stop(ctl: &Control) {
    while ctl.phase.load(Relaxed) != STOP {
        strand::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn drive(
    args: Args,
    ctl: Arc<Control>,
    hist: Rc<RefCell<Histogram<u64>>>,
    failures: Rc<RefCell<Failures>>,
) -> io::Result<()> {
    let streams = open_all(args.addr, args.conns, &failures).await?;
    if args.idle {
        // Every connection is open and has made one round trip, so the server has accepted it
        // and parked its handler in a read; hold them all until told to stop.
        say("ready")?;
        wait_for_stop(&ctl).await;
        drop(streams);
        return Ok(());
    }

    let conns = streams.len().max(1) as u32;
    let start = Instant::now();
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(id, s)| {
            // Staggered first send times spread the paced load over the interval.
            let pace = args.interval.map(|iv| (iv, start + iv * id as u32 / conns));
            strand::spawn(connection(
                s,
                id as u32,
                args.size,
                pace,
                ctl.clone(),
                hist.clone(),
                failures.clone(),
            ))
        })
        .collect();
    say("ready")?;
    wait_for_stop(&ctl).await;
    // Every connection finishes the round trip it is in, then ends. A server that stopped
    // answering shows up here as a timeout.
    let deadline = Instant::now() + Duration::from_secs(10);
    for (id, t) in tasks.into_iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        match strand::time::timeout(left, t).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures
                .borrow_mut()
                .add(format!("connection {id}: task: {e}")),
            Err(_) => failures
                .borrow_mut()
                .add(format!("connection {id}: no echo within 10 s of stop")),
        }
    }
    Ok(())
}

/// Opens `n` connections with `TCP_NODELAY`, each making one verified 64 B round trip right
/// after it connects, at most [`CONNECT_CONCURRENCY`] at a time. The round trip proves the
/// server accepted the connection, so no more than that many ever wait in its accept queue
/// (mio's and std's listen backlog is 128; an overflow costs a 1 s SYN retransmission when a
/// busy machine delays the server).
async fn open_all(
    addr: SocketAddr,
    n: usize,
    failures: &Rc<RefCell<Failures>>,
) -> io::Result<Vec<TcpStream>> {
    let workers = n.clamp(1, CONNECT_CONCURRENCY);
    let slots: Rc<RefCell<Vec<Option<TcpStream>>>> =
        Rc::new(RefCell::new((0..n).map(|_| None).collect()));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let slots = slots.clone();
            let failures = failures.clone();
            strand::spawn(async move {
                let mut resp = vec![0u8; PROBE];
                for id in (w..n).step_by(workers) {
                    let mut s = TcpStream::connect(addr).await?;
                    s.set_nodelay(true)?;
                    let mut msg = pattern(PROBE, id as u32);
                    fill(&mut msg, id as u32, u64::MAX);
                    s.write_all(&msg).await?;
                    s.read_exact(&mut resp).await?;
                    if resp != msg {
                        failures
                            .borrow_mut()
                            .add(format!("connection {id}: wrong echo of the first message"));
                    }
                    slots.borrow_mut()[id] = Some(s);
                }
                io::Result::Ok(())
            })
        })
        .collect();
    for h in handles {
        h.await??;
    }
    let streams = slots.borrow_mut().drain(..).flatten().collect::<Vec<_>>();
    Ok(streams)
}

async fn connection(
    mut s: TcpStream,
    id: u32,
    size: usize,
    pace: Option<(Duration, Instant)>,
    ctl: Arc<Control>,
    hist: Rc<RefCell<Histogram<u64>>>,
    failures: Rc<RefCell<Failures>>,
) {
    let mut msg = pattern(size, id);
    let mut resp = vec![0u8; size];
    let mut seq = 0u64;
    let mut next_send = pace.map(|(_, first)| first);
    loop {
        if let (Some((interval, _)), Some(at)) = (pace, next_send.as_mut()) {
            let now = Instant::now();
            if *at > now {
                strand::time::sleep_until((*at).into()).await;
            }
            // Behind schedule: send now, and never catch up in a burst.
            *at = (*at).max(now) + interval;
        }
        let phase = ctl.phase.load(Relaxed);
        if phase == STOP {
            return;
        }
        fill(&mut msg, id, seq);
        let start = Instant::now();
        if let Err(e) = s.write_all(&msg).await {
            failures
                .borrow_mut()
                .add(format!("connection {id}: write: {e}"));
            return;
        }
        if let Err(e) = s.read_exact(&mut resp).await {
            failures
                .borrow_mut()
                .add(format!("connection {id}: read: {e}"));
            return;
        }
        let took = start.elapsed();
        if resp != msg {
            let at = resp.iter().zip(&msg).position(|(a, b)| a != b).unwrap_or(0);
            failures
                .borrow_mut()
                .add(format!("connection {id}: echo {seq} differs at byte {at}"));
            return;
        }
        ctl.done.fetch_add(1, Relaxed);
        if phase == MEASURE {
            let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1);
            let _ = hist.borrow_mut().record(ns.min(60_000_000_000));
        }
        seq += 1;
    }
}
