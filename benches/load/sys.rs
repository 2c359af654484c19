//! Process plumbing for the load harness: CPU pinning, file-descriptor limits, and reading a
//! child's CPU time and resident memory from `/proc`.

use std::fs;
use std::io;
use std::time::Duration;

/// Number of CPUs this process may run on.
pub fn cpus() -> usize {
    core_affinity::get_core_ids()
        .map(|ids| ids.len())
        .unwrap_or(1)
        .max(1)
}

/// Pins the calling thread (and so every thread it spawns later) to `core`. Returns whether
/// the pin took effect; the harness still runs unpinned when it did not.
pub fn pin_to(core: usize) -> bool {
    let Some(ids) = core_affinity::get_core_ids() else {
        return false;
    };
    match ids
        .iter()
        .find(|c| c.id == core)
        .or_else(|| ids.get(core % ids.len()))
    {
        Some(&id) => core_affinity::set_for_current(id),
        None => false,
    }
}

/// Raises the soft RLIMIT_NOFILE as far as the hard limit allows and returns the new limit.
pub fn raise_nofile() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024)
}

/// CPU time (user + system) used so far by every thread of process `pid`.
///
/// Reads `/proc/<pid>/task/*/schedstat` (nanoseconds of run time, per thread); falls back to
/// `utime + stime` from `/proc/<pid>/stat` (clock ticks, 10 ms resolution) when schedstat is
/// not available.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    match schedstat_ns(pid) {
        Ok(ns) => Ok(Duration::from_nanos(ns)),
        Err(_) => stat_ticks(pid).map(|t| Duration::from_millis(t * 10)),
    }
}

fn schedstat_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0u64;
    let mut threads = 0;
    for entry in fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = entry?.path().join("schedstat");
        // A thread may exit between read_dir and read: skip it.
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let first = text.split_whitespace().next().unwrap_or("");
        total += first
            .parse::<u64>()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad schedstat"))?;
        threads += 1;
    }
    if threads == 0 {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no threads"));
    }
    Ok(total)
}

fn stat_ticks(pid: u32) -> io::Result<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; fields after the last ')' are plain.
    let rest = &text[text.rfind(')').map_or(0, |i| i + 1)..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let get = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(get(14) + get(15))
}

/// Resident set size of process `pid`, in bytes (`VmRSS` from `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))?;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("VmRSS:") {
            let kb: u64 = v
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad VmRSS"))?;
            return Ok(kb * 1024);
        }
    }
    Err(io::Error::new(io::ErrorKind::NotFound, "no VmRSS"))
}

/// Looks `program` up on `PATH`.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Voluntary context switches of every thread of process `pid` so far: how often it blocked
/// (for a server, mostly sleeps in `epoll_wait`).
pub fn voluntary_switches(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(text) = fs::read_to_string(entry?.path().join("status")) else {
            continue;
        };
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("voluntary_ctxt_switches:") {
                total += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    Ok(total)
}
