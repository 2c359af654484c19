//! Asynchronous signal handling (unix): [`ctrl_c`] and [`unix::signal`] streams.
//!
//! Each listener is a self-pipe that signal-hook's handler writes to, registered with the
//! reactor of the runtime it was created in, so a signal wakes exactly the tasks that wait for
//! it, on their own runtime, with no helper thread. State is per listener (and so per runtime):
//! two runtimes on two threads that both listen for `SIGTERM` are both told.
//!
//! A graceful shutdown: stop accepting on the first ctrl-c, let the connections finish.
//!
//! ```no_run
//! use futures_lite::future;
//!
//! #[strand::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = strand::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     // Registered now, before the first connection: a ctrl-c from here on is seen.
//!     let ctrl_c = strand::signal::ctrl_c();
//!     let mut connections = strand::task::JoinSet::new();
//!     let accept_loop = async {
//!         loop {
//!             let (stream, _) = listener.accept().await?;
//!             connections.spawn(async move { drop(stream) /* serve it */ });
//!         }
//!     };
//!     // Whichever finishes first: a ctrl-c, or an accept error.
//!     future::or(ctrl_c, accept_loop).await?;
//!     drop(listener); // stop accepting
//!     while connections.join_next().await.is_some() {} // let connections finish
//!     Ok(())
//! }
//! ```
//!
//! ## Semantics (as tokio's)
//! - **Coalescing.** Signals that arrive while nobody is receiving are merged: a `recv` after
//!   three `SIGHUP`s completes once, and the next one waits for a new signal.
//! - **From creation on.** A listener sees the signals delivered after it was created, also
//!   before its first `recv`. [`ctrl_c`] registers as soon as it is called inside a runtime,
//!   so create it before the work it should interrupt.
//! - **The default action is gone for good.** Once a handler for a signal was installed, the
//!   process no longer gets that signal's default action (for `SIGINT`: termination), even
//!   after every listener was dropped; with no listener left the signal is ignored. This is how
//!   signal-hook (and tokio) work: a handler cannot be uninstalled safely.
//! - **Cancel safety.** [`unix::Signal::recv`] and [`ctrl_c`] are cancel-safe: dropping the
//!   future before it completed loses no signal.
//! - **Shutdown.** When the runtime shuts down, `recv` returns `None` and [`ctrl_c`] an error.
//! - The listeners are `!Send` (they belong to their runtime's reactor); creating one outside a
//!   runtime panics.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Completes when the process receives `SIGINT` (ctrl-c in a terminal).
///
/// Called inside a runtime, the handler is registered at once, so a `SIGINT` that arrives after
/// this call and before the first poll is not lost; called outside one, it registers at the
/// first poll. Each call is a new listener; the process does not terminate on `SIGINT` any
/// more once one was created (see the [module docs](self)).
///
/// ```
/// strand::block_on(async {
///     let ctrl_c = strand::signal::ctrl_c();
///     // In a real program the user presses ctrl-c; here the process signals itself.
///     signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
///     ctrl_c.await.unwrap();
/// });
/// ```
///
/// # Errors
/// Registering the handler failed, or the runtime shut down while waiting.
pub fn ctrl_c() -> CtrlC {
    let state = if crate::context::with_current(|c| c.is_some()) {
        match unix::signal(unix::SignalKind::interrupt()) {
            Ok(s) => CtrlCState::Listening(s),
            Err(e) => CtrlCState::Failed(Some(e)),
        }
    } else {
        CtrlCState::Lazy
    };
    CtrlC { state }
}

/// The future returned by [`ctrl_c`]: `Output = io::Result<()>`. Cancel-safe.
#[must_use = "futures do nothing unless polled"]
pub struct CtrlC {
    state: CtrlCState,
}

enum CtrlCState {
    Lazy,
    Listening(unix::Signal),
    Failed(Option<io::Error>),
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                CtrlCState::Lazy => {
                    this.state = match unix::signal(unix::SignalKind::interrupt()) {
                        Ok(s) => CtrlCState::Listening(s),
                        Err(e) => CtrlCState::Failed(Some(e)),
                    };
                }
                CtrlCState::Listening(signal) => {
                    return match ready!(signal.poll_recv(cx)) {
                        Some(()) => Poll::Ready(Ok(())),
                        None => Poll::Ready(Err(unix::runtime_gone())),
                    };
                }
                CtrlCState::Failed(e) => {
                    return Poll::Ready(Err(e.take().unwrap_or_else(|| {
                        io::Error::other("`CtrlC` polled after it completed")
                    })));
                }
            }
        }
    }
}

impl fmt::Debug for CtrlC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            CtrlCState::Lazy => "not registered yet",
            CtrlCState::Listening(_) => "listening",
            CtrlCState::Failed(_) => "failed",
        };
        f.debug_struct("CtrlC").field("state", &state).finish()
    }
}

pub mod unix {
    //! Unix signal streams: [`signal`] returns a [`Signal`] whose [`recv`](Signal::recv)
    //! completes each time one of the given kind arrived (coalesced).
    //!
    //! ```
    //! use strand::signal::unix::{signal, SignalKind};
    //!
    //! strand::block_on(async {
    //!     let mut hangups = signal(SignalKind::hangup()).unwrap();
    //!     signal_hook::low_level::raise(signal_hook::consts::SIGHUP).unwrap();
    //!     assert_eq!(hangups.recv().await, Some(()));
    //! });
    //! ```

    use std::fmt;
    use std::io;
    use std::os::raw::c_int;
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};

    use signal_hook::consts::signal as sig;
    use signal_hook_mio::v1_0::Signals;
    use strand_executor::coop;
    use strand_reactor::{Direction, Interest, Registration};

    /// A kind of unix signal: one of the named constructors, or any number with
    /// [`from_raw`](SignalKind::from_raw).
    ///
    /// ```
    /// use strand::signal::unix::SignalKind;
    /// assert_eq!(SignalKind::interrupt().as_raw_value(), signal_hook::consts::SIGINT);
    /// assert_eq!(SignalKind::from_raw(15), SignalKind::terminate());
    /// ```
    #[derive(Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SignalKind(c_int);

    impl SignalKind {
        /// Any signal number. Numbers the OS does not have, and those no handler may be
        /// installed for (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGILL`, `SIGFPE`), make
        /// [`signal`] return an error.
        pub const fn from_raw(signum: c_int) -> SignalKind {
            SignalKind(signum)
        }

        /// The signal number.
        pub const fn as_raw_value(&self) -> c_int {
            self.0
        }

        /// `SIGALRM`: a real-time timer expired.
        pub const fn alarm() -> SignalKind {
            SignalKind(sig::SIGALRM)
        }

        /// `SIGCHLD`: a child process exited or stopped.
        pub const fn child() -> SignalKind {
            SignalKind(sig::SIGCHLD)
        }

        /// `SIGHUP`: the terminal hung up; daemons often reload their configuration.
        pub const fn hangup() -> SignalKind {
            SignalKind(sig::SIGHUP)
        }

        /// `SIGINT`: interrupt from the terminal (ctrl-c).
        pub const fn interrupt() -> SignalKind {
            SignalKind(sig::SIGINT)
        }

        /// `SIGIO`: I/O is possible on a descriptor set up for it.
        pub const fn io() -> SignalKind {
            SignalKind(sig::SIGIO)
        }

        /// `SIGPIPE`: a write to a pipe with no reader.
        pub const fn pipe() -> SignalKind {
            SignalKind(sig::SIGPIPE)
        }

        /// `SIGQUIT`: quit from the terminal (ctrl-\\).
        pub const fn quit() -> SignalKind {
            SignalKind(sig::SIGQUIT)
        }

        /// `SIGTERM`: a polite request to terminate (what `kill` and service managers send).
        pub const fn terminate() -> SignalKind {
            SignalKind(sig::SIGTERM)
        }

        /// `SIGUSR1`: user-defined.
        pub const fn user_defined1() -> SignalKind {
            SignalKind(sig::SIGUSR1)
        }

        /// `SIGUSR2`: user-defined.
        pub const fn user_defined2() -> SignalKind {
            SignalKind(sig::SIGUSR2)
        }

        /// `SIGWINCH`: the terminal window changed size.
        pub const fn window_change() -> SignalKind {
            SignalKind(sig::SIGWINCH)
        }
    }

    impl From<c_int> for SignalKind {
        fn from(signum: c_int) -> SignalKind {
            SignalKind(signum)
        }
    }

    impl From<SignalKind> for c_int {
        fn from(kind: SignalKind) -> c_int {
            kind.0
        }
    }

    impl fmt::Debug for SignalKind {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let name = match self.0 {
                sig::SIGALRM => "SIGALRM",
                sig::SIGCHLD => "SIGCHLD",
                sig::SIGHUP => "SIGHUP",
                sig::SIGINT => "SIGINT",
                sig::SIGIO => "SIGIO",
                sig::SIGPIPE => "SIGPIPE",
                sig::SIGQUIT => "SIGQUIT",
                sig::SIGTERM => "SIGTERM",
                sig::SIGUSR1 => "SIGUSR1",
                sig::SIGUSR2 => "SIGUSR2",
                sig::SIGWINCH => "SIGWINCH",
                n => return write!(f, "SignalKind({n})"),
            };
            f.write_str(name)
        }
    }

    /// Starts listening for signals of `kind` on the current runtime.
    ///
    /// The handler is installed now (see the [module docs](super) for what that means for the
    /// signal's default action); signals delivered from here on make [`Signal::recv`] complete.
    ///
    /// ```
    /// use strand::signal::unix::{signal, SignalKind};
    ///
    /// strand::block_on(async {
    ///     assert!(signal(SignalKind::from_raw(signal_hook::consts::SIGKILL)).is_err());
    ///     let _term = signal(SignalKind::terminate()).unwrap();
    /// });
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` for a signal no handler may be installed for (`SIGKILL`, `SIGSTOP`,
    /// `SIGSEGV`, `SIGILL`, `SIGFPE`) or a number out of range; the OS's error if installing
    /// the handler or creating the self-pipe failed; an error once the runtime shut down.
    ///
    /// # Panics
    /// Outside a strand runtime.
    #[track_caller]
    pub fn signal(kind: SignalKind) -> io::Result<Signal> {
        let signum = kind.0;
        // signal-hook panics on these instead of returning an error.
        if signum <= 0 || signum >= 128 || signal_hook::consts::FORBIDDEN.contains(&signum) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot install a handler for signal {kind:?}"),
            ));
        }
        let mut signals = Signals::new([signum])?;
        let registration = Registration::new(&mut signals, Interest::READABLE)?;
        Ok(Signal {
            kind,
            registration,
            signals,
        })
    }

    /// A stream of the signals of one kind, delivered to this runtime. Created by [`signal`].
    ///
    /// `!Send`: it belongs to the reactor of the runtime that created it.
    ///
    /// ```compile_fail
    /// fn assert_send<T: Send>() {}
    /// assert_send::<strand::signal::unix::Signal>();
    /// ```
    pub struct Signal {
        kind: SignalKind,
        registration: Registration,
        signals: Signals,
    }

    impl Signal {
        /// Waits for the next signal of this kind; several that arrived since the last call
        /// count as one. `None` once the runtime shut down. Cancel-safe.
        ///
        /// ```
        /// use strand::signal::unix::{signal, SignalKind};
        ///
        /// strand::block_on(async {
        ///     let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        ///     for _ in 0..3 {
        ///         signal_hook::low_level::raise(signal_hook::consts::SIGUSR1).unwrap();
        ///     }
        ///     // Coalesced: three signals, one wakeup.
        ///     assert_eq!(usr1.recv().await, Some(()));
        ///     let again = strand::time::timeout(std::time::Duration::from_millis(20), usr1.recv());
        ///     assert!(again.await.is_err());
        /// });
        /// ```
        pub async fn recv(&mut self) -> Option<()> {
            std::future::poll_fn(|cx| self.poll_recv(cx)).await
        }

        /// Polls for the next signal: `Ready(Some(()))` when one arrived since the last
        /// completed receive, `Pending` (with `cx`'s waker stored; only the last one counts)
        /// otherwise, `Ready(None)` once the runtime shut down. Spends one unit of the task's
        /// cooperative budget.
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
            let coop = ready!(coop::poll_proceed(cx));
            let signals = &mut self.signals;
            let res = ready!(self.registration.poll_io(cx, Direction::Read, || {
                // Drains the self-pipe, then takes the pending flag of our one signal.
                match signals.pending().next() {
                    Some(_) => Ok(()),
                    None => Err(io::ErrorKind::WouldBlock.into()),
                }
            }));
            coop.made_progress();
            Poll::Ready(res.ok())
        }

        /// The kind of signal this stream receives.
        pub fn kind(&self) -> SignalKind {
            self.kind
        }
    }

    impl futures_core::Stream for Signal {
        type Item = ();

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
            self.get_mut().poll_recv(cx)
        }
    }

    impl Drop for Signal {
        fn drop(&mut self) {
            // Off the poller before the self-pipe closes (when `signals` drops, which also
            // removes this listener's action from signal-hook's handler).
            let _ = self.registration.deregister(&mut self.signals);
        }
    }

    impl fmt::Debug for Signal {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Signal")
                .field("kind", &self.kind)
                .field("registration", &self.registration)
                .finish()
        }
    }

    pub(super) fn runtime_gone() -> io::Error {
        io::Error::other("the strand runtime shut down while waiting for a signal")
    }
}
