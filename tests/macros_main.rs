//! `#[strand::main]` in a real binary: exit codes, stderr, and shutdown with pending tasks.
//!
//! This test target has no libtest harness (`harness = false` in the root `Cargo.toml`): its
//! `main` is a real `#[strand::main] async fn main() -> Result<(), AppError>`. Run without
//! `STRAND_MACROS_MAIN_CASE` (as `cargo test` does) it is the driver: it re-runs its own
//! executable once per case with that variable set, and checks each child's exit code and
//! output. No extra `[[bin]]` targets, and no `cargo` call from inside a test.
//!
//! Cases:
//! - `err`: `main` returns `Err` -> exit code 1, `Error: <Debug of the error>` on stderr;
//! - `panic`: `main` panics -> exit code 101, the panic message on stderr;
//! - `pending`: `main` returns while 100 spawned tasks are still pending -> the process exits
//!   promptly with code 0, and every task's future was dropped (each prints a line when
//!   dropped), after `main`'s body returned;
//! - `ok`: `main` returns `Ok(())` -> exit code 0, and the body's output is there.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const CASE_VAR: &str = "STRAND_MACROS_MAIN_CASE";
const PENDING_TASKS: usize = 100;
/// Generous bound for "exits promptly" on a loaded 2-core machine; a runtime that waited for
/// its pending tasks would never exit at all.
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct AppError(&'static str);

#[strand::main]
async fn main() -> Result<(), AppError> {
    match std::env::var(CASE_VAR).as_deref() {
        Ok("err") => {
            strand::task::yield_now().await;
            Err(AppError("main failed on purpose"))
        }
        Ok("panic") => {
            strand::task::yield_now().await;
            panic!("main panicked on purpose");
        }
        Ok("pending") => {
            for i in 0..PENDING_TASKS {
                strand::spawn(async move {
                    let _report = ReportDrop(i);
                    if i % 2 == 0 {
                        std::future::pending::<()>().await;
                    } else {
                        strand::time::sleep(Duration::from_secs(3600)).await;
                    }
                });
            }
            // Let every task start and park on its pending future or timer.
            strand::task::yield_now().await;
            strand::task::yield_now().await;
            println!("main returns");
            Ok(())
        }
        Ok("ok") => {
            let answer = strand::spawn(async { 6 * 7 }).await.unwrap();
            println!("answer {answer}");
            Ok(())
        }
        Ok(other) => panic!("unknown {CASE_VAR}={other}"),
        // The driver only waits on child processes; nothing else runs on this runtime, so
        // blocking its thread for that is harmless.
        Err(_) => drive(),
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for AppError {}

/// Prints `dropped <i>` when the future that owns it is dropped.
struct ReportDrop(usize);

impl Drop for ReportDrop {
    fn drop(&mut self) {
        println!("dropped {}", self.0);
    }
}

struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs this executable with `CASE_VAR=case`, killing it (and failing) past the deadline.
fn run_case(case: &str) -> Result<Outcome, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new(exe)
        .env(CASE_VAR, case)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let deadline = Instant::now() + CHILD_DEADLINE;
    let status = loop {
        match child.try_wait().map_err(|e| format!("wait: {e}"))? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not exit within {CHILD_DEADLINE:?}"));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    // The outputs are a few kilobytes at most: they fit in the pipes, so reading after the
    // exit cannot deadlock.
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .map_err(|e| format!("read stdout: {e}"))?;
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .map_err(|e| format!("read stderr: {e}"))?;
    Ok(Outcome {
        status,
        stdout,
        stderr,
    })
}

fn check_err() -> Result<(), String> {
    let out = run_case("err")?;
    expect_code(&out, 1)?;
    expect_contains(&out.stderr, "Error: AppError(\"main failed on purpose\")")
}

fn check_panic() -> Result<(), String> {
    let out = run_case("panic")?;
    expect_code(&out, 101)?;
    expect_contains(&out.stderr, "main panicked on purpose")
}

fn check_pending() -> Result<(), String> {
    let out = run_case("pending")?;
    expect_code(&out, 0)?;
    let lines: Vec<&str> = out.stdout.lines().collect();
    let returned_at = lines
        .iter()
        .position(|l| *l == "main returns")
        .ok_or_else(|| format!("no `main returns` line in stdout:\n{}", out.stdout))?;
    let mut dropped = vec![0u32; PENDING_TASKS];
    for line in &lines[returned_at + 1..] {
        let i: usize = line
            .strip_prefix("dropped ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("unexpected line after `main returns`: {line:?}"))?;
        *dropped
            .get_mut(i)
            .ok_or_else(|| format!("no task {i} was spawned"))? += 1;
    }
    if lines[..returned_at]
        .iter()
        .any(|l| l.starts_with("dropped"))
    {
        return Err(format!(
            "a task was dropped before main returned:\n{}",
            out.stdout
        ));
    }
    match dropped.iter().position(|&n| n != 1) {
        Some(i) => Err(format!(
            "task {i}'s future was dropped {} times (expected once); stdout:\n{}",
            dropped[i], out.stdout
        )),
        None => Ok(()),
    }
}

fn check_ok() -> Result<(), String> {
    let out = run_case("ok")?;
    expect_code(&out, 0)?;
    expect_contains(&out.stdout, "answer 42")
}

fn expect_code(out: &Outcome, code: i32) -> Result<(), String> {
    if out.status.code() == Some(code) {
        Ok(())
    } else {
        Err(format!(
            "expected exit code {code}, got {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status, out.stdout, out.stderr
        ))
    }
}

fn expect_contains(haystack: &str, needle: &str) -> Result<(), String> {
    if haystack.contains(needle) {
        Ok(())
    } else {
        Err(format!("expected {needle:?} in:\n{haystack}"))
    }
}

fn drive() -> Result<(), AppError> {
    type Check = fn() -> Result<(), String>;
    let checks: [(&str, Check); 4] = [
        (
            "main_returning_err_exits_1_with_the_error_on_stderr",
            check_err,
        ),
        ("panicking_main_exits_101", check_panic),
        (
            "main_returning_with_100_pending_tasks_drops_them_all_and_exits",
            check_pending,
        ),
        ("main_returning_ok_exits_0", check_ok),
    ];
    let mut failed = 0;
    for (name, check) in checks {
        match check() {
            Ok(()) => println!("test {name} ... ok"),
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n{why}");
            }
        }
    }
    println!(
        "\nmacros_main: {} passed, {failed} failed",
        checks.len() - failed
    );
    if failed == 0 {
        Ok(())
    } else {
        Err(AppError("some #[strand::main] checks failed"))
    }
}
