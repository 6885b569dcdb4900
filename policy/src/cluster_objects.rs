//! Names and labels of the cluster-scoped objects the filtered routes decide on (namespaces, nodes, storage /
//! ingress / priority / runtime classes, persistent volumes), as the control plane's metadata-only watches see
//! them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::LegacyKind;

/// The kinds of cluster-scoped objects the control plane watches (metadata only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// `namespaces` (the namespace get route and the 403→404 namespace gate).
    Namespaces,
    /// One of the legacy kinds.
    Legacy(LegacyKind),
}

impl From<LegacyKind> for ObjectKind {
    fn from(kind: LegacyKind) -> Self {
        Self::Legacy(kind)
    }
}

/// The first `metadata.ownerReferences` entry of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerRecord {
    /// `kind` (`Tenant` for Capsule namespaces).
    pub kind: String,
    /// `name`.
    pub name: String,
}

/// What a watch reports of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterObjectRecord {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// The first owner reference, if any (Go's namespace get reads `ownerReferences[0]`).
    pub owner: Option<OwnerRecord>,
}

/// The objects of one kind, by name; shared between the index and its snapshots until it changes.
pub type KindObjects = Arc<BTreeMap<String, ClusterObjectRecord>>;

/// The listed objects per kind; a kind is present once its watch has listed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterObjects {
    by_kind: BTreeMap<ObjectKind, KindObjects>,
}

impl ClusterObjects {
    /// Adds or replaces an object; `true` if that changed anything.
    pub fn apply(&mut self, kind: impl Into<ObjectKind>, object: ClusterObjectRecord) -> bool {
        let kind = kind.into();
        let objects = self.by_kind.entry(kind).or_default();
        if objects.get(&object.name) == Some(&object) {
            return false;
        }
        Arc::make_mut(objects).insert(object.name.clone(), object);
        true
    }

    /// Removes an object; `true` if it was there.
    pub fn delete(&mut self, kind: impl Into<ObjectKind>, name: &str) -> bool {
        let kind = kind.into();
        match self.by_kind.get_mut(&kind) {
            Some(objects) if objects.contains_key(name) => {
                Arc::make_mut(objects).remove(name);
                true
            }
            _ => false,
        }
    }

    /// Replaces every object of `kind` (after a list) and marks the kind listed; `true` if that changed anything.
    pub fn reset(&mut self, kind: impl Into<ObjectKind>, objects: Vec<ClusterObjectRecord>) -> bool {
        let kind = kind.into();
        let next: BTreeMap<String, ClusterObjectRecord> =
            objects.into_iter().map(|o| (o.name.clone(), o)).collect();
        if self.by_kind.get(&kind).is_some_and(|current| **current == next) {
            return false;
        }
        self.by_kind.insert(kind, Arc::new(next));
        true
    }

    /// Whether `kind` has been listed.
    pub fn is_listed(&self, kind: impl Into<ObjectKind>) -> bool {
        self.by_kind.contains_key(&kind.into())
    }

    /// The objects of `kind` sorted by name; `None` until the kind has been listed.
    pub fn of_kind(
        &self,
        kind: impl Into<ObjectKind>,
    ) -> Option<impl ExactSizeIterator<Item = &ClusterObjectRecord>> {
        self.by_kind.get(&kind.into()).map(|objects| objects.values())
    }

    /// The object of `kind` named `name`.
    pub fn get(&self, kind: impl Into<ObjectKind>, name: &str) -> Option<&ClusterObjectRecord> {
        self.by_kind.get(&kind.into())?.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, pool: &str) -> ClusterObjectRecord {
        ClusterObjectRecord {
            name: name.into(),
            labels: BTreeMap::from([("pool".to_string(), pool.to_string())]),
            owner: None,
        }
    }

    #[test]
    fn kinds_are_unlisted_until_reset() {
        let mut objects = ClusterObjects::default();
        assert!(!objects.is_listed(LegacyKind::Nodes));
        assert!(objects.of_kind(LegacyKind::Nodes).is_none());
        assert!(objects.reset(LegacyKind::Nodes, vec![]));
        assert!(objects.is_listed(LegacyKind::Nodes));
        assert_eq!(objects.of_kind(LegacyKind::Nodes).map(|o| o.len()), Some(0));
        assert!(
            !objects.reset(LegacyKind::Nodes, vec![]),
            "an identical list is no change"
        );
    }

    #[test]
    fn apply_delete_and_sharing() {
        let mut objects = ClusterObjects::default();
        objects.reset(LegacyKind::Nodes, vec![node("b", "oil"), node("a", "gas")]);
        let before = objects.clone();
        assert!(!objects.apply(LegacyKind::Nodes, node("a", "gas")), "unchanged");
        assert!(objects.apply(LegacyKind::Nodes, node("a", "oil")));
        assert_eq!(
            before
                .get(LegacyKind::Nodes, "a")
                .map(|n| n.labels["pool"].as_str()),
            Some("gas")
        );
        assert_eq!(
            objects
                .get(LegacyKind::Nodes, "a")
                .map(|n| n.labels["pool"].as_str()),
            Some("oil")
        );
        let names: Vec<_> = objects
            .of_kind(LegacyKind::Nodes)
            .into_iter()
            .flatten()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(objects.delete(LegacyKind::Nodes, "a"));
        assert!(!objects.delete(LegacyKind::Nodes, "a"));
        assert!(!objects.delete(LegacyKind::PersistentVolumes, "a"));
    }
}
