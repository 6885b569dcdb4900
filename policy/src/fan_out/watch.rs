//! Merging the watch streams of several namespaces into one: events pass on as they arrive; an `ERROR` ends
//! the merged stream (the caller lists again, as after any ended watch); bookmarks are merged.
//!
//! A client resumes a watch from the last resource version it saw, so a merged bookmark may only claim a
//! version every namespace has reached: a namespace's bookmark (or event) moves that namespace forward, and a
//! bookmark is passed on only when the slowest namespace moves, with its version. Likewise the bookmark ending
//! the initial events of a `sendInitialEvents` watch goes out once, when every namespace has sent its own.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The annotation of the bookmark that ends a watch's initial events.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// What to do with one namespace's event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    /// Write it as it came.
    Forward,
    /// Write it, then end the merged stream (an `ERROR` event).
    ForwardThenEnd,
    /// Write nothing (a bookmark the other namespaces have not caught up with).
    Drop,
    /// Write this bookmark instead (one JSON line).
    Bookmark(Vec<u8>),
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow, default)]
    object: Option<EventObject<'a>>,
}

#[derive(Deserialize)]
struct EventObject<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    metadata: Option<EventMetadata<'a>>,
}

#[derive(Deserialize)]
struct EventMetadata<'a> {
    #[serde(rename = "resourceVersion", borrow, default)]
    resource_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    annotations: Option<&'a RawValue>,
}

/// The merge state of one all-namespaces watch over `n` namespaces.
#[derive(Debug, Clone)]
pub struct WatchMerge {
    /// How far each namespace has come (its last numeric resource version).
    progress: Vec<Option<u64>>,
    /// Which namespaces have ended their initial events.
    initial_done: Vec<bool>,
    initial_sent: bool,
    bookmark_sent: Option<u64>,
}

impl WatchMerge {
    /// The merge of `namespaces` watches started at `resource_version` (the caller's, when numeric).
    pub fn new(namespaces: usize, resource_version: Option<&str>) -> Self {
        let start = resource_version.and_then(|rv| rv.parse::<u64>().ok());
        Self {
            progress: vec![start; namespaces],
            initial_done: vec![false; namespaces],
            initial_sent: false,
            bookmark_sent: start,
        }
    }

    /// What to do with `line`, one event (a JSON object) of the namespace at `index`.
    pub fn on_event(&mut self, index: usize, line: &[u8]) -> EventAction {
        // Not an event this merge can read: the client's decoder is the judge.
        let Ok(event) = serde_json::from_slice::<Event<'_>>(line) else {
            return EventAction::Forward;
        };
        let object = event.object.as_ref();
        let metadata = object.and_then(|o| o.metadata.as_ref());
        let version = metadata
            .and_then(|m| m.resource_version.as_deref())
            .and_then(|rv| rv.parse::<u64>().ok());
        if let (Some(version), Some(progress)) = (version, self.progress.get_mut(index)) {
            *progress = Some(progress.map_or(version, |p| p.max(version)));
        }
        match &*event.event_type {
            "ERROR" => EventAction::ForwardThenEnd,
            "BOOKMARK" => {
                let ends_initial = metadata
                    .and_then(|m| m.annotations)
                    .and_then(|a| {
                        serde_json::from_str::<std::collections::BTreeMap<&str, Cow<'_, str>>>(a.get()).ok()
                    })
                    .is_some_and(|a| a.get(INITIAL_EVENTS_END).is_some_and(|v| v == "true"));
                let kind = object.and_then(|o| o.kind.as_deref()).unwrap_or("");
                let api_version = object.and_then(|o| o.api_version.as_deref()).unwrap_or("");
                self.on_bookmark(index, ends_initial, kind, api_version)
            }
            _ => EventAction::Forward,
        }
    }

    fn on_bookmark(
        &mut self,
        index: usize,
        ends_initial: bool,
        kind: &str,
        api_version: &str,
    ) -> EventAction {
        let slowest = self.progress.iter().copied().min().flatten();
        if ends_initial {
            if let Some(done) = self.initial_done.get_mut(index) {
                *done = true;
            }
            if self.initial_sent || !self.initial_done.iter().all(|d| *d) {
                return EventAction::Drop;
            }
            self.initial_sent = true;
            return match slowest {
                Some(version) => {
                    self.bookmark_sent = Some(version);
                    EventAction::Bookmark(bookmark(kind, api_version, version, true))
                }
                None => EventAction::Drop,
            };
        }
        match slowest {
            Some(version) if self.bookmark_sent.is_none_or(|sent| version > sent) => {
                self.bookmark_sent = Some(version);
                EventAction::Bookmark(bookmark(kind, api_version, version, false))
            }
            _ => EventAction::Drop,
        }
    }
}

/// A bookmark event line of `kind` at `version`.
fn bookmark(kind: &str, api_version: &str, version: u64, ends_initial: bool) -> Vec<u8> {
    let mut metadata = serde_json::json!({ "resourceVersion": version.to_string() });
    if ends_initial {
        metadata["annotations"] = serde_json::json!({ INITIAL_EVENTS_END: "true" });
    }
    let event = serde_json::json!({
        "type": "BOOKMARK",
        "object": { "kind": kind, "apiVersion": api_version, "metadata": metadata },
    });
    let mut line = event.to_string().into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, rv: u64) -> Vec<u8> {
        format!(r#"{{"type":"{kind}","object":{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"x","resourceVersion":"{rv}"}}}}}}"#)
            .into_bytes()
    }

    fn bookmark_rv(action: &EventAction) -> Option<(String, bool)> {
        let EventAction::Bookmark(line) = action else {
            return None;
        };
        let value: serde_json::Value = serde_json::from_slice(line).ok()?;
        let ends = value["object"]["metadata"]["annotations"][INITIAL_EVENTS_END] == "true";
        Some((
            value["object"]["metadata"]["resourceVersion"]
                .as_str()?
                .to_owned(),
            ends,
        ))
    }

    #[test]
    fn bookmarks_wait_for_the_slowest_namespace() {
        let mut merge = WatchMerge::new(2, Some("10"));
        assert_eq!(merge.on_event(0, &event("ADDED", 12)), EventAction::Forward);
        assert_eq!(
            merge.on_event(0, &event("BOOKMARK", 15)),
            EventAction::Drop,
            "namespace 1 is at 10"
        );
        let action = merge.on_event(1, &event("BOOKMARK", 14));
        assert_eq!(bookmark_rv(&action), Some(("14".to_owned(), false)));
        assert_eq!(
            merge.on_event(1, &event("BOOKMARK", 14)),
            EventAction::Drop,
            "already said"
        );
        assert_eq!(merge.on_event(0, &event("ERROR", 0)), EventAction::ForwardThenEnd);
        assert_eq!(merge.on_event(0, b"not json"), EventAction::Forward);
    }

    #[test]
    fn the_end_of_initial_events_is_said_once_when_every_namespace_said_it() {
        let end = |rv: u64| {
            format!(r#"{{"type":"BOOKMARK","object":{{"kind":"Pod","apiVersion":"v1","metadata":{{"resourceVersion":"{rv}","annotations":{{"k8s.io/initial-events-end":"true"}}}}}}}}"#)
                .into_bytes()
        };
        let mut merge = WatchMerge::new(2, None);
        assert_eq!(merge.on_event(0, &event("ADDED", 5)), EventAction::Forward);
        assert_eq!(merge.on_event(0, &end(7)), EventAction::Drop);
        let action = merge.on_event(1, &end(6));
        assert_eq!(bookmark_rv(&action), Some(("6".to_owned(), true)));
        let mut none = WatchMerge::new(0, None);
        assert_eq!(none.on_event(0, &event("BOOKMARK", 1)), EventAction::Drop);
    }
}
