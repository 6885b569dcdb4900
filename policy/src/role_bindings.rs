//! The RoleBinding reflector (`--enable-reflector`, behaviour reference §3.1, §3.2, §5): a namespace where the
//! caller is a subject of a RoleBinding is in the caller's namespace list and readable, as in Go.
//!
//! Only (subject → namespace) pairs are kept, each counted by the bindings that make it (so a deleted binding
//! takes its namespace away only when no other binding of that subject is left there). A ServiceAccount subject
//! is matched with its namespace, `system:serviceaccount:<namespace>:<name>` (the CVE-2023-46254 class: a
//! subject named `default` must not match every namespace's `default`); a subject that leaves the namespace out
//! means the binding's own namespace, as RBAC reads it. As in Go, a ServiceAccount caller is matched by its
//! ServiceAccount subjects and its groups, a user by its User subjects and its groups.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::model::{SERVICE_ACCOUNT_PREFIX, Subject, SubjectKind};

/// One RoleBinding as the reflector keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleBindingRecord {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its subjects, ServiceAccounts named `system:serviceaccount:<namespace>:<name>`.
    pub subjects: Vec<Subject>,
}

/// A RoleBinding subject (`rbac/v1` `Subject`) as the reflector matches it; `None` for kinds RBAC does not know.
pub fn subject_of(
    kind: &str,
    name: &str,
    subject_namespace: Option<&str>,
    binding_namespace: &str,
) -> Option<Subject> {
    match kind {
        "User" => Some(Subject::new(SubjectKind::User, name)),
        "Group" => Some(Subject::new(SubjectKind::Group, name)),
        "ServiceAccount" => {
            let namespace = subject_namespace
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_namespace);
            Some(Subject::new(
                SubjectKind::ServiceAccount,
                format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"),
            ))
        }
        _ => None,
    }
}

/// A binding's (namespace, name).
type BindingKey = (Arc<str>, Arc<str>);

/// A subject's kind (as [`kind_slot`] numbers it) and name, shared between the bindings that name it.
type SubjectKey = (usize, Arc<str>);

/// The slot of a subject kind in [`ReflectedNamespaces`].
fn kind_slot(kind: SubjectKind) -> usize {
    match kind {
        SubjectKind::User => 0,
        SubjectKind::Group => 1,
        SubjectKind::ServiceAccount => 2,
    }
}

/// What snapshots share of the reflector: per subject kind, subject name → the sorted namespaces it is bound
/// in. Cheap to copy: names and namespace lists are shared, so the index's first change after a snapshot was
/// published copies the outer maps only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReflectedNamespaces {
    by_subject: [NamespaceLists; 3],
}

/// Subject name → the sorted namespaces it is bound in.
type NamespaceLists = HashMap<Arc<str>, Arc<[Arc<str>]>>;

impl ReflectedNamespaces {
    /// The namespaces where the caller (`user` in `groups`) is a subject of a RoleBinding.
    pub fn namespaces_of<'a>(&'a self, user: &str, groups: &[String]) -> BTreeSet<&'a str> {
        let user_slot = if user.starts_with(SERVICE_ACCOUNT_PREFIX) {
            kind_slot(SubjectKind::ServiceAccount)
        } else {
            kind_slot(SubjectKind::User)
        };
        let group_slot = kind_slot(SubjectKind::Group);
        let keys = std::iter::once((user_slot, user)).chain(groups.iter().map(|g| (group_slot, g.as_str())));
        let mut out = BTreeSet::new();
        for (slot, name) in keys {
            if let Some(namespaces) = self.by_subject[slot].get(name) {
                out.extend(namespaces.iter().map(|n| &**n));
            }
        }
        out
    }
}

/// The reflector's index: every binding's subjects, per subject the namespaces counted by the bindings that
/// put it there, and the [`ReflectedNamespaces`] snapshots share, kept up to date change by change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleBindingNamespaces {
    /// Each binding's subjects, by (namespace, name): what a change or delete takes back.
    bindings: HashMap<BindingKey, Box<[SubjectKey]>>,
    /// Per subject: namespace → how many of its bindings are there.
    counts: HashMap<SubjectKey, BTreeMap<Arc<str>, u32>>,
    /// What snapshots get.
    shared: Arc<ReflectedNamespaces>,
}

impl RoleBindingNamespaces {
    /// Adds or replaces a binding; whether anything changed.
    pub fn apply(&mut self, record: RoleBindingRecord) -> bool {
        self.apply_counts(record, true)
    }

    /// [`Self::apply`]; with `publish` false the shared lists are left for the caller to publish.
    fn apply_counts(&mut self, record: RoleBindingRecord, publish: bool) -> bool {
        let key = (
            Arc::from(record.namespace.as_str()),
            Arc::from(record.name.as_str()),
        );
        let subjects: Box<[SubjectKey]> = record
            .subjects
            .into_iter()
            .map(|s| self.intern(kind_slot(s.kind), &s.name))
            .collect();
        if self.bindings.get(&key) == Some(&subjects) {
            return false;
        }
        self.remove(&key);
        for subject in subjects.iter() {
            *self
                .counts
                .entry(subject.clone())
                .or_default()
                .entry(Arc::clone(&key.0))
                .or_insert(0) += 1;
            if publish {
                self.publish(subject);
            }
        }
        self.bindings.insert(key, subjects);
        true
    }

    /// Removes the binding `namespace/name`; whether it was there.
    pub fn delete(&mut self, namespace: &str, name: &str) -> bool {
        let key = (Arc::from(namespace), Arc::from(name));
        self.remove(&key)
    }

    /// Replaces every binding (each subject's list published once, after all are counted).
    pub fn reset(&mut self, records: Vec<RoleBindingRecord>) {
        *self = Self::default();
        for record in records {
            self.apply_counts(record, false);
        }
        let subjects: Vec<SubjectKey> = self.counts.keys().cloned().collect();
        for subject in &subjects {
            self.publish(subject);
        }
    }

    /// How many bindings are kept.
    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    /// Whether no binding is kept.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// What snapshots share.
    pub fn shared(&self) -> Arc<ReflectedNamespaces> {
        Arc::clone(&self.shared)
    }

    /// The namespaces where the caller (`user` in `groups`) is a subject of a RoleBinding.
    pub fn namespaces_of<'a>(&'a self, user: &str, groups: &[String]) -> BTreeSet<&'a str> {
        self.shared.namespaces_of(user, groups)
    }

    /// The key of a subject, sharing the name of a subject already known.
    fn intern(&self, slot: usize, name: &str) -> SubjectKey {
        let known = self.counts.get_key_value(&(slot, Arc::from(name)));
        match known {
            Some(((_, known), _)) => (slot, Arc::clone(known)),
            None => (slot, Arc::from(name)),
        }
    }

    /// Copies `subject`'s namespaces from the counts into what snapshots share.
    fn publish(&mut self, subject: &SubjectKey) {
        let shared = Arc::make_mut(&mut self.shared);
        let (slot, name) = subject;
        match self.counts.get(subject) {
            Some(namespaces) if !namespaces.is_empty() => {
                let list: Arc<[Arc<str>]> = namespaces.keys().cloned().collect();
                shared.by_subject[*slot].insert(Arc::clone(name), list);
            }
            _ => {
                shared.by_subject[*slot].remove(name);
            }
        }
    }

    fn remove(&mut self, key: &BindingKey) -> bool {
        let Some(subjects) = self.bindings.remove(key) else {
            return false;
        };
        for subject in subjects.iter() {
            if let Some(namespaces) = self.counts.get_mut(subject) {
                if let Some(count) = namespaces.get_mut(&key.0) {
                    *count -= 1;
                    if *count == 0 {
                        namespaces.remove(&key.0);
                    }
                }
                if namespaces.is_empty() {
                    self.counts.remove(subject);
                }
            }
            self.publish(subject);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(namespace: &str, name: &str, subjects: &[(&str, &str, Option<&str>)]) -> RoleBindingRecord {
        RoleBindingRecord {
            namespace: namespace.into(),
            name: name.into(),
            subjects: subjects
                .iter()
                .filter_map(|(kind, n, ns)| subject_of(kind, n, *ns, namespace))
                .collect(),
        }
    }

    fn names(set: BTreeSet<&str>) -> Vec<&str> {
        set.into_iter().collect()
    }

    #[test]
    fn users_groups_and_service_accounts_see_where_they_are_bound() {
        let mut index = RoleBindingNamespaces::default();
        index.apply(binding("gas-dev", "alice-view", &[("User", "alice", None)]));
        index.apply(binding(
            "wind",
            "sre",
            &[("Group", "sre", None), ("User", "bob", None)],
        ));
        index.apply(binding(
            "oil-dev",
            "robot",
            &[("ServiceAccount", "robot", Some("ci"))],
        ));
        assert_eq!(names(index.namespaces_of("alice", &[])), ["gas-dev"]);
        assert_eq!(
            names(index.namespaces_of("alice", &["sre".into()])),
            ["gas-dev", "wind"]
        );
        assert_eq!(
            names(index.namespaces_of("system:serviceaccount:ci:robot", &[])),
            ["oil-dev"]
        );
        assert!(index.namespaces_of("carol", &[]).is_empty());
    }

    #[test]
    fn a_service_account_subject_is_matched_with_its_namespace() {
        let mut index = RoleBindingNamespaces::default();
        // No namespace in the subject: the binding's own, as RBAC reads it.
        index.apply(binding(
            "oil-dev",
            "default-sa",
            &[("ServiceAccount", "default", None)],
        ));
        assert_eq!(
            names(index.namespaces_of("system:serviceaccount:oil-dev:default", &[])),
            ["oil-dev"]
        );
        assert!(
            index
                .namespaces_of("system:serviceaccount:gas-dev:default", &[])
                .is_empty()
        );
        assert!(
            index.namespaces_of("default", &[]).is_empty(),
            "a user named like it is not it"
        );
    }

    #[test]
    fn a_namespace_goes_when_its_last_binding_goes() {
        let mut index = RoleBindingNamespaces::default();
        assert!(index.apply(binding("gas-dev", "a", &[("User", "alice", None)])));
        assert!(
            !index.apply(binding("gas-dev", "a", &[("User", "alice", None)])),
            "unchanged"
        );
        index.apply(binding("gas-dev", "b", &[("User", "alice", None)]));
        assert!(index.delete("gas-dev", "a"));
        assert_eq!(names(index.namespaces_of("alice", &[])), ["gas-dev"]);
        // A binding whose subjects change takes its old subjects away.
        index.apply(binding("gas-dev", "b", &[("User", "bob", None)]));
        assert!(index.namespaces_of("alice", &[]).is_empty());
        assert_eq!(names(index.namespaces_of("bob", &[])), ["gas-dev"]);
        index.reset(vec![binding("wind", "c", &[("User", "bob", None)])]);
        assert_eq!(names(index.namespaces_of("bob", &[])), ["wind"]);
        assert_eq!(index.len(), 1);
        assert!(!index.delete("gas-dev", "b"));
    }
}
