//! Objects with their JSON encoding, made once when they are written: lists and gets copy bytes instead of
//! serializing every object again for every request, and a watch event is encoded once for all its watchers.

use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use serde_json::Value;

/// A stored object and its JSON encoding (no trailing newline).
#[derive(Debug, Clone)]
pub struct Stored {
    /// The object.
    pub object: Arc<Value>,
    /// `object` as JSON.
    pub json: Bytes,
}

impl Stored {
    /// Encodes `object`.
    pub fn new(object: Arc<Value>) -> Self {
        let json = Bytes::from(serde_json::to_vec(&*object).unwrap_or_default());
        Self { object, json }
    }
}

/// The JSON watch-event lines of one object, one per event type, each made on first use.
#[derive(Debug, Clone, Default)]
pub struct EventLines {
    lines: [OnceLock<Bytes>; 3],
}

impl EventLines {
    /// `{"type":"<kind>","object":<json>}` and a newline, made once per `slot` (the caller's event type index).
    pub fn get(&self, slot: usize, kind: &str, json: &Bytes) -> Bytes {
        let make = || event_line(kind, json);
        match self.lines.get(slot) {
            Some(cell) => cell.get_or_init(make).clone(),
            None => make(),
        }
    }
}

/// The parts of a JSON list answer, in kube-apiserver's field order: `{"kind":…,"apiVersion":…,"metadata":…,
/// "items":[` then each item's encoding (comma-separated), then `]}` and a newline.
pub fn list_parts(list_kind: &str, api_version: &str, metadata: &Value, items: &[Stored]) -> Vec<Bytes> {
    let head = serde_json::json!({"kind": list_kind, "apiVersion": api_version}).to_string();
    let metadata = serde_json::to_string(metadata).unwrap_or_else(|_| "{}".into());
    let mut parts = Vec::with_capacity(items.len() * 2 + 2);
    // `{"apiVersion":…,"kind":…}` without its closing brace, so the order of the two keys does not matter.
    let head = head.strip_suffix('}').unwrap_or(&head);
    parts.push(Bytes::from(format!("{head},\"metadata\":{metadata},\"items\":[")));
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            parts.push(Bytes::from_static(b","));
        }
        parts.push(item.json.clone());
    }
    parts.push(Bytes::from_static(b"]}\n"));
    parts
}

/// A watch event line, `{"type":"<kind>","object":<json>}` and a newline, in kube-apiserver's field order.
pub fn event_line(kind: &str, json: &[u8]) -> Bytes {
    let mut line = BytesMut::with_capacity(json.len() + kind.len() + 22);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(json);
    line.extend_from_slice(b"}\n");
    line.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_parts_make_a_json_list() {
        let items: Vec<Stored> = ["a", "b"]
            .iter()
            .map(|n| Stored::new(Arc::new(json!({"metadata": {"name": n}}))))
            .collect();
        let meta = json!({"resourceVersion": "7"});
        for n in [0, 1, 2] {
            let body = list_parts("ConfigMapList", "v1", &meta, &items[..n]).concat();
            let parsed: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(parsed["kind"], "ConfigMapList");
            assert_eq!(parsed["metadata"], meta);
            assert_eq!(parsed["items"].as_array().unwrap().len(), n);
            assert!(body.ends_with(b"]}\n"));
        }
    }

    #[test]
    fn event_lines_are_json_and_made_once() {
        let stored = Stored::new(Arc::new(
            json!({"metadata": {"name": "tick"}, "data": {"count": "1"}}),
        ));
        let lines = EventLines::default();
        let first = lines.get(1, "MODIFIED", &stored.json);
        let parsed: Value = serde_json::from_slice(&first).unwrap();
        assert_eq!(parsed, json!({"type": "MODIFIED", "object": *stored.object}));
        assert!(first.ends_with(b"}\n"));
        // The same bytes, not a new encoding.
        assert_eq!(lines.get(1, "MODIFIED", &stored.json).as_ptr(), first.as_ptr());
    }
}
