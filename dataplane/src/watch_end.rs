//! Ending streamed responses early: filtered watches when the caller's ownership changes, and every stream when
//! the proxy shuts down.
//!
//! A filtered watch was sent upstream with the selector of its start; when a new snapshot gives the caller a
//! different selector, the stream must end so the client lists again with the new one (otherwise a removed
//! namespace would keep streaming events, and a new one never would). Each core keeps its open filtered
//! watches in a [`WatchRegistry`]; applying a snapshot re-decides each and stops those whose selector changed.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::identity::Identity;

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

/// What a filtered watch was started with.
#[derive(Debug)]
pub struct WatchEntry {
    /// The identity it was decided for.
    pub identity: Identity,
    /// Its decoded, canonical path.
    pub path: String,
    /// Its raw query.
    pub query: String,
    /// The proxy's selector it was sent with, as text.
    pub selector: String,
    /// Set to end the stream.
    pub signal: Rc<StopSignal>,
}

/// The open filtered watches of one core.
#[derive(Debug, Default)]
pub struct WatchRegistry {
    next: Cell<u64>,
    entries: RefCell<HashMap<u64, WatchEntry>>,
}

impl WatchRegistry {
    /// Registers a watch; the ticket removes it when dropped.
    pub fn register(self: &Rc<Self>, entry: WatchEntry) -> WatchTicket {
        let id = self.next.get();
        self.next.set(id.wrapping_add(1));
        let signal = Rc::clone(&entry.signal);
        self.entries.borrow_mut().insert(id, entry);
        WatchTicket {
            registry: Rc::clone(self),
            id,
            signal,
        }
    }

    /// Stops every watch for which `still_valid` says its selector no longer holds.
    pub fn revalidate(&self, mut still_valid: impl FnMut(&WatchEntry) -> bool) {
        for entry in self.entries.borrow().values() {
            if !entry.signal.is_stopped() && !still_valid(entry) {
                entry.signal.stop();
            }
        }
    }

    /// How many watches are open.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether no watch is open.
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }
}

/// A registered watch; dropping it unregisters.
#[derive(Debug)]
pub struct WatchTicket {
    registry: Rc<WatchRegistry>,
    id: u64,
    signal: Rc<StopSignal>,
}

impl WatchTicket {
    /// The watch's stop signal.
    pub fn signal(&self) -> &StopSignal {
        &self.signal
    }

    /// The watch's stop signal, shared.
    pub fn shared_signal(&self) -> Rc<StopSignal> {
        Rc::clone(&self.signal)
    }
}

/// The stop signals of a core's open streamed responses (watches, `logs -f`), so a shutdown can end them all.
#[derive(Debug, Default)]
pub struct StreamStops {
    next: Cell<u64>,
    stopping: Cell<bool>,
    signals: RefCell<HashMap<u64, Rc<StopSignal>>>,
}

impl StreamStops {
    /// Registers an open stream's signal (stopped at once when the core is already stopping them); the guard
    /// unregisters it.
    pub fn register(self: &Rc<Self>, signal: Rc<StopSignal>) -> StreamGuard {
        if self.stopping.get() {
            signal.stop();
        }
        let id = self.next.get();
        self.next.set(id.wrapping_add(1));
        self.signals.borrow_mut().insert(id, signal);
        StreamGuard {
            stops: Rc::clone(self),
            id,
        }
    }

    /// Stops every open stream, and every stream registered from now on.
    pub fn stop_all(&self) {
        self.stopping.set(true);
        let signals: Vec<Rc<StopSignal>> = self.signals.borrow().values().cloned().collect();
        for signal in signals {
            signal.stop();
        }
    }
}

/// A registered stream; dropping it unregisters.
#[derive(Debug)]
pub struct StreamGuard {
    stops: Rc<StreamStops>,
    id: u64,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.stops.signals.borrow_mut().remove(&self.id);
    }
}

impl Drop for WatchTicket {
    fn drop(&mut self) {
        self.registry.entries.borrow_mut().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(selector: &str) -> WatchEntry {
        WatchEntry {
            identity: Identity {
                user: "alice".into(),
                groups: vec![],
                uid: None,
                extra: vec![],
                impersonated: false,
            },
            path: "/api/v1/namespaces".into(),
            query: "watch=1".into(),
            selector: selector.into(),
            signal: Rc::default(),
        }
    }

    #[test]
    fn revalidate_stops_changed_watches_and_tickets_unregister() {
        let registry = Rc::new(WatchRegistry::default());
        let kept = registry.register(entry("a"));
        let ended = registry.register(entry("b"));
        registry.revalidate(|e| e.selector == "a");
        assert!(!kept.signal().is_stopped());
        assert!(ended.signal().is_stopped());
        assert_eq!(registry.len(), 2);
        drop(ended);
        assert_eq!(registry.len(), 1);
        drop(kept);
        assert!(registry.is_empty());
    }

    #[test]
    fn stop_all_stops_open_and_later_streams() {
        let stops = Rc::new(StreamStops::default());
        let open = Rc::new(StopSignal::default());
        let guard = stops.register(Rc::clone(&open));
        stops.stop_all();
        assert!(open.is_stopped());
        let later = Rc::new(StopSignal::default());
        let _later_guard = stops.register(Rc::clone(&later));
        assert!(later.is_stopped());
        drop(guard);
        assert_eq!(stops.signals.borrow().len(), 1);
    }

    #[monoio::test(enable_timer = true)]
    async fn stopped_completes_when_stopped() {
        let signal = Rc::new(StopSignal::default());
        let stopper = Rc::clone(&signal);
        monoio::spawn(async move { stopper.stop() });
        signal.stopped().await;
        assert!(signal.is_stopped());
    }
}
