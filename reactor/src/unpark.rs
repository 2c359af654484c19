//! The cross-thread unparker: a handle on the reactor's [`mio::Waker`].

use std::fmt;
use std::sync::Arc;

/// Makes a [`Reactor::turn`](crate::Reactor::turn) that is blocked (or the next one) return.
///
/// `Send + Sync + Clone`; usable from any thread, also after the reactor is gone (then it does
/// nothing useful, and no harm). The write to the underlying eventfd/pipe happens-before the
/// woken turn returns, so data published before `unpark` is visible to the reactor thread after
/// the turn.
///
/// ```
/// use std::time::Duration;
/// use strand_reactor::Reactor;
///
/// let reactor = Reactor::new().unwrap();
/// let unparker = reactor.unparker();
/// std::thread::spawn(move || unparker.unpark());
/// // Without the unpark this would block for an hour.
/// let stats = reactor.turn(Some(Duration::from_secs(3600))).unwrap();
/// assert!(stats.unparked);
/// ```
#[derive(Clone)]
pub struct Unparker {
    waker: Arc<mio::Waker>,
}

impl Unparker {
    pub(crate) fn new(waker: Arc<mio::Waker>) -> Unparker {
        Unparker { waker }
    }

    /// Wakes the reactor. Several unparks before a turn collapse into one wakeup.
    pub fn unpark(&self) {
        // mio handles a saturated eventfd itself; any other error means the poller is gone,
        // and then there is nobody left to wake.
        let _ = self.waker.wake();
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unparker").finish_non_exhaustive()
    }
}
