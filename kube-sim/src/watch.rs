//! Watch semantics: which stored change a watcher sees, and as what. A watch on a selector turns a modification
//! that moves an object into the selection into `ADDED` and one that moves it out into `DELETED`, as
//! kube-apiserver's watch cache does.

use serde_json::Value;

use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Event, EventType, labels};

/// What one watch is looking at.
pub struct WatchFilter {
    /// Group of the watched kind.
    pub group: &'static str,
    /// Resource of the watched kind.
    pub resource: &'static str,
    /// Namespace, or `None` for all.
    pub namespace: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
}

impl WatchFilter {
    /// Whether an object is selected.
    pub fn selects(&self, object: &Value) -> bool {
        self.labels.matches(labels(object)) && self.fields.matches(object)
    }

    /// The event type this watcher should see for `event`, or `None` when it should not see it.
    pub fn translate(&self, event: &Event) -> Option<EventType> {
        if event.key.group != self.group
            || event.key.resource != self.resource
            || self
                .namespace
                .as_ref()
                .is_some_and(|ns| *ns != event.key.namespace)
        {
            return None;
        }
        let now = self.selects(&event.object);
        match event.kind {
            EventType::Added => now.then_some(EventType::Added),
            EventType::Deleted => event
                .old
                .as_deref()
                .map_or(now, |old| self.selects(old))
                .then_some(EventType::Deleted),
            EventType::Modified => {
                let before = event.old.as_deref().is_some_and(|old| self.selects(old));
                match (before, now) {
                    (true, true) => Some(EventType::Modified),
                    (false, true) => Some(EventType::Added),
                    (true, false) => Some(EventType::Deleted),
                    (false, false) => None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoded::Stored;
    use crate::store::ObjectKey;
    use serde_json::json;
    use std::sync::Arc;

    fn event(kind: EventType, old: Option<Value>, new: Value) -> Event {
        let key = ObjectKey {
            group: "",
            resource: "namespaces",
            namespace: String::new(),
            name: "a".into(),
        };
        Event::new(5, kind, key, Stored::new(Arc::new(new)), old.map(Arc::new))
    }

    #[test]
    fn selector_transitions() {
        let filter = WatchFilter {
            group: "",
            resource: "namespaces",
            namespace: None,
            labels: LabelSelector::parse("team=oil").unwrap(),
            fields: FieldSelector::parse("").unwrap(),
        };
        let oil = json!({"metadata": {"name": "a", "labels": {"team": "oil"}}});
        let gas = json!({"metadata": {"name": "a", "labels": {"team": "gas"}}});
        assert_eq!(
            filter.translate(&event(EventType::Added, None, oil.clone())),
            Some(EventType::Added)
        );
        assert_eq!(
            filter.translate(&event(EventType::Added, None, gas.clone())),
            None
        );
        assert_eq!(
            filter.translate(&event(EventType::Modified, Some(gas.clone()), oil.clone())),
            Some(EventType::Added)
        );
        assert_eq!(
            filter.translate(&event(EventType::Modified, Some(oil.clone()), gas.clone())),
            Some(EventType::Deleted)
        );
        assert_eq!(
            filter.translate(&event(EventType::Modified, Some(gas.clone()), gas)),
            None
        );
        assert_eq!(
            filter.translate(&event(EventType::Deleted, Some(oil.clone()), oil)),
            Some(EventType::Deleted)
        );
        let mut other = event(
            EventType::Added,
            None,
            json!({"metadata": {"name": "a", "labels": {"team": "oil"}}}),
        );
        other.key.resource = "nodes";
        assert_eq!(filter.translate(&other), None);
    }
}
