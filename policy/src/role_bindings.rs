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

/// Subject → the namespaces it is bound in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleBindingNamespaces {
    /// Each binding's subjects, by (namespace, name): what a change or delete takes back.
    bindings: HashMap<BindingKey, Box<[Subject]>>,
    /// Per subject: namespace → how many of its bindings are there.
    by_subject: HashMap<Subject, BTreeMap<Arc<str>, u32>>,
}

impl RoleBindingNamespaces {
    /// Adds or replaces a binding; whether anything changed.
    pub fn apply(&mut self, record: RoleBindingRecord) -> bool {
        let key = (
            Arc::from(record.namespace.as_str()),
            Arc::from(record.name.as_str()),
        );
        let subjects: Box<[Subject]> = record.subjects.into();
        if self.bindings.get(&key) == Some(&subjects) {
            return false;
        }
        self.remove(&key);
        for subject in subjects.iter() {
            *self
                .by_subject
                .entry(subject.clone())
                .or_default()
                .entry(Arc::clone(&key.0))
                .or_insert(0) += 1;
        }
        self.bindings.insert(key, subjects);
        true
    }

    /// Removes the binding `namespace/name`; whether it was there.
    pub fn delete(&mut self, namespace: &str, name: &str) -> bool {
        let key = (Arc::from(namespace), Arc::from(name));
        self.remove(&key)
    }

    /// Replaces every binding.
    pub fn reset(&mut self, records: Vec<RoleBindingRecord>) {
        *self = Self::default();
        for record in records {
            self.apply(record);
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

    /// The namespaces where the caller (`user` in `groups`) is a subject of a RoleBinding.
    pub fn namespaces_of<'a>(&'a self, user: &str, groups: &[String]) -> BTreeSet<&'a str> {
        let user_kind = if user.starts_with(SERVICE_ACCOUNT_PREFIX) {
            SubjectKind::ServiceAccount
        } else {
            SubjectKind::User
        };
        let keys = std::iter::once(Subject::new(user_kind, user)).chain(
            groups
                .iter()
                .map(|g| Subject::new(SubjectKind::Group, g.as_str())),
        );
        let mut out = BTreeSet::new();
        for key in keys {
            if let Some(namespaces) = self.by_subject.get(&key) {
                out.extend(namespaces.keys().map(|n| &**n));
            }
        }
        out
    }

    fn remove(&mut self, key: &BindingKey) -> bool {
        let Some(subjects) = self.bindings.remove(key) else {
            return false;
        };
        for subject in subjects.iter() {
            let Some(namespaces) = self.by_subject.get_mut(subject) else {
                continue;
            };
            if let Some(count) = namespaces.get_mut(&key.0) {
                *count -= 1;
                if *count == 0 {
                    namespaces.remove(&key.0);
                }
            }
            if namespaces.is_empty() {
                self.by_subject.remove(subject);
            }
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
