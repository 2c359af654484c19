//! [`Dump`]: a snapshot of every live task of a runtime.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::task::Id;

pub use strand_executor::diag::{ChannelKind, IoDirection, LockKind, WaitReason};
pub use strand_executor::metrics::TaskState;

/// A snapshot of a runtime's live tasks, from [`Runtime::dump`](crate::Runtime::dump) or
/// [`Handle::dump`](crate::runtime::Handle::dump).
///
/// For each task: its id, name, where it was spawned, its state (idle, scheduled, running), how
/// many times it was polled, how long ago its last poll was, and what it waits on when that is
/// a strand resource: a socket (descriptor and direction), a timer (its deadline), a lock, a
/// semaphore or a channel (with an identifier), another task's `JoinHandle`. The future driven
/// by `block_on` is listed too (as `block_on`). `Display` prints a table.
///
/// Wait reasons are recorded while the runtime's
/// [`diagnostics`](crate::runtime::Builder::diagnostics) are on: by default in debug builds,
/// in release builds when asked for.
///
/// ```
/// use std::time::Duration;
/// use strand::runtime::{Handle, TaskState, WaitReason};
///
/// strand::block_on(async {
///     let sleeper = strand::task::Builder::new()
///         .name("sleeper")
///         .spawn(strand::time::sleep(Duration::from_secs(60)))
///         .unwrap();
///     strand::task::yield_now().await; // let it start sleeping
///     let dump = Handle::current().dump();
///     let task = dump.task(sleeper.id()).unwrap();
///     assert_eq!(task.name.as_deref(), Some("sleeper"));
///     assert_eq!(task.state, TaskState::Idle);
///     assert!(matches!(task.waits_on[..], [WaitReason::Timer { .. }]));
///     println!("{dump}");
///     sleeper.abort();
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Dump {
    pub(crate) runtime: u64,
    pub(crate) tasks: Vec<TaskDump>,
    pub(crate) root: Option<RootDump>,
    /// The runtime's clock when the dump was taken (timer deadlines are on it).
    pub(crate) clock: Instant,
}

/// One live task in a [`Dump`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskDump {
    /// The task's id.
    pub id: Id,
    /// Its name ([`task::Builder::name`](crate::task::Builder::name)).
    pub name: Option<String>,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// Idle (waiting to be woken), scheduled (woken, queued) or running (the dump was taken
    /// from inside it).
    pub state: TaskState,
    /// How many times it was polled.
    pub polls: u64,
    /// How long ago its last poll started (`None`: never polled).
    pub since_last_poll: Option<Duration>,
    /// What it waits on, as told by the strand resources its last poll was pending on; empty
    /// when it is not idle or waits on something outside strand.
    pub waits_on: Vec<WaitReason>,
}

/// The future driven by `block_on`, in a [`Dump`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RootDump {
    /// Where `block_on` was called.
    pub location: &'static Location<'static>,
    /// Idle, scheduled (woken) or running.
    pub state: TaskState,
    /// How many times it was polled.
    pub polls: u64,
    /// What it waits on (as for tasks).
    pub waits_on: Vec<WaitReason>,
}

impl Dump {
    /// The live tasks, in no particular order.
    pub fn tasks(&self) -> &[TaskDump] {
        &self.tasks
    }

    /// The task with this id, if it is alive.
    pub fn task(&self, id: Id) -> Option<&TaskDump> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// The future driven by `block_on`, when the dump was taken while one was.
    pub fn root(&self) -> Option<&RootDump> {
        self.root.as_ref()
    }

    /// The id of the runtime (as in its `Debug` output).
    pub fn runtime_id(&self) -> u64 {
        self.runtime
    }
}

struct Row {
    id: String,
    name: String,
    state: String,
    polls: String,
    last: String,
    location: String,
    waits: String,
}

fn describe_waits(waits: &[WaitReason], clock: Instant) -> String {
    if waits.is_empty() {
        return "-".into();
    }
    waits
        .iter()
        .map(|w| w.display_at(clock).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut tasks: Vec<&TaskDump> = self.tasks.iter().collect();
        tasks.sort_by_key(|t| t.id.as_u64());
        let mut rows = Vec::with_capacity(tasks.len() + 2);
        rows.push(Row {
            id: "ID".into(),
            name: "NAME".into(),
            state: "STATE".into(),
            polls: "POLLS".into(),
            last: "LAST POLL".into(),
            location: "SPAWNED AT".into(),
            waits: "WAITING ON".into(),
        });
        if let Some(root) = &self.root {
            rows.push(Row {
                id: "-".into(),
                name: "block_on".into(),
                state: root.state.to_string(),
                polls: root.polls.to_string(),
                last: "-".into(),
                location: root.location.to_string(),
                waits: describe_waits(&root.waits_on, self.clock),
            });
        }
        for t in tasks {
            rows.push(Row {
                id: t.id.to_string(),
                name: t.name.clone().unwrap_or_else(|| "-".into()),
                state: t.state.to_string(),
                polls: t.polls.to_string(),
                last: match t.since_last_poll {
                    Some(d) => format!("{d:.1?} ago"),
                    None => "never".into(),
                },
                location: t.location.to_string(),
                waits: describe_waits(&t.waits_on, self.clock),
            });
        }
        let w = |get: fn(&Row) -> &String| rows.iter().map(|r| get(r).chars().count()).max();
        let wid = w(|r| &r.id).unwrap_or(0);
        let wname = w(|r| &r.name).unwrap_or(0);
        let wstate = w(|r| &r.state).unwrap_or(0);
        let wpolls = w(|r| &r.polls).unwrap_or(0);
        let wlast = w(|r| &r.last).unwrap_or(0);
        let wloc = w(|r| &r.location).unwrap_or(0);
        writeln!(
            f,
            "strand runtime {}: {} task{}",
            self.runtime,
            self.tasks.len(),
            if self.tasks.len() == 1 { "" } else { "s" }
        )?;
        for r in &rows {
            writeln!(
                f,
                "  {:>wid$}  {:<wname$}  {:<wstate$}  {:>wpolls$}  {:>wlast$}  {:<wloc$}  {}",
                r.id, r.name, r.state, r.polls, r.last, r.location, r.waits
            )?;
        }
        Ok(())
    }
}

impl super::Inner {
    pub(crate) fn dump(&self) -> Dump {
        let now = Instant::now();
        let tasks = self
            .executor
            .snapshot()
            .into_iter()
            .map(|s| TaskDump {
                id: s.id,
                name: s.name,
                location: s.location,
                state: s.state,
                polls: s.polls,
                since_last_poll: s.last_poll.map(|t| now.saturating_duration_since(t)),
                waits_on: s.waits_on,
            })
            .collect();
        let woken = self
            .root
            .borrow()
            .upgrade()
            .is_some_and(|r| r.woken.load(std::sync::atomic::Ordering::SeqCst));
        let root = self.executor.root_account().map(|acct| {
            let state = if acct.in_poll {
                TaskState::Running
            } else if woken {
                TaskState::Scheduled
            } else {
                TaskState::Idle
            };
            RootDump {
                location: acct.location,
                state,
                polls: acct.polls,
                waits_on: if state == TaskState::Idle {
                    acct.waits_on
                } else {
                    Vec::new()
                },
            }
        });
        Dump {
            runtime: self.shared.id,
            tasks,
            root,
            clock: self.reactor.clock().now(),
        }
    }
}
