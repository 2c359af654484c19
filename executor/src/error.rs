//! `JoinError`: why a task produced no output.

use std::any::Any;
use std::fmt;
use std::io;
use std::sync::Mutex;

use crate::id::Id;

/// A task failed to complete: it was cancelled (aborted, or its runtime shut down) or it
/// panicked (the payload is kept).
///
/// ```
/// use strand_executor::{Executor, ExecutorConfig};
/// use std::sync::Arc;
///
/// let exec = Executor::new(ExecutorConfig::default(), Arc::new(|| {}));
/// let handle = exec.spawn(async { panic!("boom") });
/// while exec.tick(64) {}
/// let err = futures_lite::future::block_on(handle).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct JoinError {
    id: Id,
    repr: Repr,
}

enum Repr {
    Cancelled,
    // A `Mutex` only to make the error `Sync` (so it fits in `io::Error`).
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            repr: Repr::Panic(Mutex::new(payload)),
        }
    }

    /// True when the task was cancelled (aborted, or dropped by its runtime's shutdown).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True when the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, e.g. to resume the panic with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// When the error is not a panic.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task's error")
    }

    /// The panic payload, or the error itself when the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.id
    }

    fn panic_message(&self) -> Option<String> {
        let Repr::Panic(payload) = &self.repr else {
            return None;
        };
        let payload = payload.lock().unwrap_or_else(|e| e.into_inner());
        payload
            .downcast_ref::<&'static str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(_) => match self.panic_message() {
                Some(msg) => write!(f, "JoinError::Panic({:?}, {msg:?}, ...)", self.id),
                None => write!(f, "JoinError::Panic({:?}, ...)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        io::Error::other(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug() {
        let id = Id::next();
        let c = JoinError::cancelled(id);
        assert!(c.is_cancelled() && !c.is_panic());
        assert_eq!(c.to_string(), format!("task {id} was cancelled"));
        assert_eq!(format!("{c:?}"), format!("JoinError::Cancelled({id:?})"));
        let p = JoinError::panic(id, Box::new("boom"));
        assert!(p.is_panic() && !p.is_cancelled());
        assert_eq!(
            p.to_string(),
            format!("task {id} panicked with message \"boom\"")
        );
        let p = JoinError::panic(id, Box::new(String::from("owned")));
        assert!(format!("{p:?}").contains("owned"));
        let p = JoinError::panic(id, Box::new(7u8));
        assert_eq!(p.to_string(), format!("task {id} panicked"));
    }

    #[test]
    fn payload_round_trip_and_io_conversion() {
        let id = Id::next();
        let err = JoinError::panic(id, Box::new(41u32));
        assert_eq!(err.id(), id);
        assert_eq!(*err.into_panic().downcast::<u32>().unwrap(), 41);
        let cancelled = JoinError::cancelled(id).try_into_panic().unwrap_err();
        assert!(cancelled.is_cancelled());
        let io: io::Error = cancelled.into();
        assert_eq!(io.kind(), io::ErrorKind::Other);
        assert!(io.get_ref().unwrap().downcast_ref::<JoinError>().is_some());
    }

    #[test]
    #[should_panic(expected = "cancelled task")]
    fn into_panic_of_cancelled_panics() {
        let _ = JoinError::cancelled(Id::next()).into_panic();
    }

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn join_error_is_send_sync() {
        assert_send_sync::<JoinError>();
    }
}
