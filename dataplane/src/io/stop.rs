//! A one-way stop flag for the tasks of one core: set from the same thread, awaited by a relay between two reads.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A one-way flag a relay waits on; set from the same thread.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl StopSignal {
    /// Sets the flag and wakes the waiting relay.
    pub fn stop(&self) {
        self.stopped.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Whether the flag is set.
    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Completes once the flag is set.
    pub fn stopped(&self) -> Stopped<'_> {
        Stopped { signal: self }
    }
}

/// The future of [`StopSignal::stopped`].
#[derive(Debug)]
pub struct Stopped<'a> {
    signal: &'a StopSignal,
}

impl Future for Stopped<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.stopped.get() {
            return Poll::Ready(());
        }
        *self.signal.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    #[monoio::test(enable_timer = true)]
    async fn stopped_completes_when_stopped() {
        let signal = Rc::new(StopSignal::default());
        let stopper = Rc::clone(&signal);
        monoio::spawn(async move { stopper.stop() });
        signal.stopped().await;
        assert!(signal.is_stopped());
    }
}
