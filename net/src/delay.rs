//! A minimal reactor-timer delay for internal backoffs (the facade's `sleep` is not reachable
//! from this crate). Dropping it cancels the timer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use strand_reactor::time::{self, TimerKey};

#[derive(Debug)]
pub(crate) struct Delay {
    deadline: Instant,
    key: Option<TimerKey>,
}

impl Delay {
    pub(crate) fn new(after: Duration) -> Delay {
        Delay {
            deadline: time::saturating_add(time::now(), after),
            key: None,
        }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let key = match self.key {
            Some(key) => key,
            None => {
                if time::now() >= self.deadline {
                    return Poll::Ready(());
                }
                match time::register(self.deadline, cx.waker()) {
                    Some(key) => {
                        self.key = Some(key);
                        key
                    }
                    // Outside a runtime there is no timer to wait on.
                    None => return Poll::Ready(()),
                }
            }
        };
        match time::poll_timer(key, cx) {
            Poll::Ready(()) => {
                self.key = None; // consumed by firing
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Delay {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            time::cancel(key);
        }
    }
}
