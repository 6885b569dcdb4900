//! Ending streamed responses early: filtered watches when the caller's ownership changes, and every stream when
//! the proxy shuts down.
//!
//! A filtered watch was sent upstream with the selector of its start; when a new snapshot gives the caller a
//! different selector, the stream must end so the client lists again with the new one (otherwise a removed
//! namespace would keep streaming events, and a new one never would). Each core keeps its open streams in a
//! [`StreamRegistry`]; applying a snapshot re-decides each filtered watch and stops those whose selector
//! changed, and a shutdown stops them all.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use super::identity::Identity;
use crate::io::StopSignal;

/// What a filtered watch was started with.
#[derive(Debug)]
pub struct WatchEntry {
    /// The identity it was decided for.
    pub identity: Identity,
    /// Its decoded, canonical path.
    pub path: String,
    /// Its raw query.
    pub query: String,
    /// The proxy's selector it was sent with, as text (a fan-out: its namespaces).
    pub selector: String,
    /// The gates it was decided with.
    pub gates: capsule_proxy_policy::route::Gates,
}

/// One open stream: its stop signal and, for a filtered watch, what it was started with.
#[derive(Debug)]
struct OpenStream {
    signal: Rc<StopSignal>,
    watch: Option<WatchEntry>,
}

/// A core's open streamed responses (watches, `logs -f`): a shutdown ends them all, a new snapshot ends the
/// filtered watches whose selector it changes.
#[derive(Debug, Default)]
pub struct StreamRegistry {
    next: Cell<u64>,
    stopping: Cell<bool>,
    streams: RefCell<HashMap<u64, OpenStream>>,
}

impl StreamRegistry {
    /// Registers a stream (with `watch` for a filtered watch); it is stopped at once when the core is already
    /// stopping every stream. The ticket unregisters it when dropped.
    pub fn register(self: &Rc<Self>, watch: Option<WatchEntry>) -> StreamTicket {
        let signal = Rc::new(StopSignal::default());
        if self.stopping.get() {
            signal.stop();
        }
        let id = self.next.get();
        self.next.set(id.wrapping_add(1));
        let stream = OpenStream {
            signal: Rc::clone(&signal),
            watch,
        };
        self.streams.borrow_mut().insert(id, stream);
        StreamTicket {
            registry: Rc::clone(self),
            id,
            signal,
        }
    }

    /// Stops every filtered watch for which `still_valid` says its selector no longer holds.
    pub fn revalidate(&self, mut still_valid: impl FnMut(&WatchEntry) -> bool) {
        for stream in self.streams.borrow().values() {
            if let Some(watch) = &stream.watch
                && !stream.signal.is_stopped()
                && !still_valid(watch)
            {
                stream.signal.stop();
            }
        }
    }

    /// Stops every open stream, and every stream registered from now on.
    pub fn stop_all(&self) {
        self.stopping.set(true);
        for stream in self.streams.borrow().values() {
            stream.signal.stop();
        }
    }

    /// How many streams are registered.
    pub fn len(&self) -> usize {
        self.streams.borrow().len()
    }

    /// Whether no stream is registered.
    pub fn is_empty(&self) -> bool {
        self.streams.borrow().is_empty()
    }
}

/// A registered stream; dropping it unregisters.
#[derive(Debug)]
pub struct StreamTicket {
    registry: Rc<StreamRegistry>,
    id: u64,
    signal: Rc<StopSignal>,
}

impl StreamTicket {
    /// The stream's stop signal.
    pub fn signal(&self) -> &StopSignal {
        &self.signal
    }
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        self.registry.streams.borrow_mut().remove(&self.id);
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
            gates: Default::default(),
        }
    }

    #[test]
    fn revalidate_stops_changed_watches_and_tickets_unregister() {
        let registry = Rc::new(StreamRegistry::default());
        let kept = registry.register(Some(entry("a")));
        let ended = registry.register(Some(entry("b")));
        let log_stream = registry.register(None);
        registry.revalidate(|e| e.selector == "a");
        assert!(!kept.signal().is_stopped());
        assert!(ended.signal().is_stopped());
        assert!(
            !log_stream.signal().is_stopped(),
            "only filtered watches are re-decided"
        );
        assert_eq!(registry.len(), 3);
        drop(ended);
        assert_eq!(registry.len(), 2);
        drop(kept);
        drop(log_stream);
        assert!(registry.is_empty());
    }

    #[test]
    fn stop_all_stops_open_and_later_streams() {
        let registry = Rc::new(StreamRegistry::default());
        let open = registry.register(None);
        let watch = registry.register(Some(entry("a")));
        registry.stop_all();
        assert!(open.signal().is_stopped());
        assert!(watch.signal().is_stopped());
        let later = registry.register(None);
        assert!(later.signal().is_stopped());
        drop(open);
        assert_eq!(registry.len(), 2);
    }
}
