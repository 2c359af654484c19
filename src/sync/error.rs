//! Errors of the lock and semaphore types (re-exported at [`strand::sync`](crate::sync)).
//!
//! The channel modules have their own `error` submodules:
//! [`mpsc::error`](crate::sync::mpsc::error), [`oneshot::error`](crate::sync::oneshot::error)
//! and [`watch::error`](crate::sync::watch::error).

use std::error::Error;
use std::fmt;

/// [`Semaphore::acquire`](crate::sync::Semaphore::acquire) failed: the semaphore was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(pub(crate) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl Error for AcquireError {}

/// Why [`Semaphore::try_acquire`](crate::sync::Semaphore::try_acquire) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are available right now (or other tasks are already queued for
    /// them: the semaphore is fair and `try_acquire` does not jump the queue).
    NoPermits,
}

impl TryAcquireError {
    /// Whether the semaphore was closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether there were not enough permits.
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl Error for TryAcquireError {}

/// [`Mutex::try_lock`](crate::sync::Mutex::try_lock) or an `RwLock::try_*` call failed because
/// the lock is held (or other tasks are queued for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(crate) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl Error for TryLockError {}
