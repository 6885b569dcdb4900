//! Parsed forms of the records, made once when a record is applied to the [`crate::index::Index`] so that building
//! a snapshot only clones `Arc`s: a [`TenantView`] per Tenant, a [`ProxySettingView`] per ProxySetting, a
//! [`GlobalView`] per GlobalProxySettings and the [`CapsuleUsers`] sets.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::model::{
    AllowedList, CapsuleConfigurationRecord, ClusterResourceRule, GlobalProxySettingsRecord, LegacyKind,
    LegacyOperations, LegacyProxySetting, ProxySettingRecord, SubjectKind, TenantOwnerSpec, TenantRecord,
};

/// A Tenant as the snapshot holds it: what the routes read, with names interned as `Arc<str>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantView {
    name: Arc<str>,
    labels: BTreeMap<String, String>,
    /// `status.namespaces` in the order Capsule lists them (the namespaced catch-all reads the first one).
    namespaces: Box<[Arc<str>]>,
    node_selector: BTreeMap<String, String>,
    storage_classes: Option<AllowedList>,
    ingress_classes: Option<AllowedList>,
    priority_classes: Option<AllowedList>,
    runtime_classes: Option<AllowedList>,
    spec_owners: Box<[TenantOwnerSpec]>,
    /// The distinct `status.owners` keys, first-seen order, each with the legacy operations of the last
    /// `spec.owners` entry of exactly that kind and name (Go's `NewProxyTenant` loop does not break).
    owners: Box<[KeyGrant]>,
}

/// An owner key `(kind, name)` and what one grant to it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyGrant {
    pub(crate) kind: SubjectKind,
    pub(crate) name: Arc<str>,
    pub(crate) legacy: LegacyTable,
    /// `clusterResources` (ProxySetting subjects and GlobalProxySettings only).
    pub(crate) cluster_resources: Option<Arc<[ClusterResourceRule]>>,
}

// === impl TenantView ===

impl TenantView {
    /// Parses a Tenant record.
    pub(crate) fn from_record(record: TenantRecord) -> Self {
        let TenantRecord {
            name,
            labels,
            spec_owners,
            status_owners,
            namespaces,
            node_selector,
            storage_classes,
            ingress_classes,
            priority_classes,
            runtime_classes,
        } = record;

        // Last exact (kind, name) match wins, as in Go.
        let mut legacy_by_key: HashMap<(SubjectKind, &str), LegacyTable> = HashMap::new();
        for owner in &spec_owners {
            legacy_by_key.insert(
                (owner.subject.kind, owner.subject.name.as_str()),
                LegacyTable::from_settings(&owner.proxy_settings),
            );
        }
        let mut seen = HashSet::new();
        let owners = status_owners
            .iter()
            .filter(|s| seen.insert((s.kind, s.name.as_str())))
            .map(|s| KeyGrant {
                kind: s.kind,
                name: Arc::from(s.name.as_str()),
                legacy: legacy_by_key
                    .get(&(s.kind, s.name.as_str()))
                    .copied()
                    .unwrap_or_default(),
                cluster_resources: None,
            })
            .collect();

        Self {
            name: Arc::from(name),
            labels,
            namespaces: namespaces.into_iter().map(Arc::from).collect(),
            node_selector,
            storage_classes,
            ingress_classes,
            priority_classes,
            runtime_classes,
            spec_owners: spec_owners.into_boxed_slice(),
            owners,
        }
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    /// `metadata.labels`.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// `status.namespaces`, in the order Capsule lists them.
    pub fn namespaces(&self) -> &[Arc<str>] {
        &self.namespaces
    }

    /// `spec.nodeSelector` (empty selects every node).
    pub fn node_selector(&self) -> &BTreeMap<String, String> {
        &self.node_selector
    }

    /// `spec.storageClasses`.
    pub fn storage_classes(&self) -> Option<&AllowedList> {
        self.storage_classes.as_ref()
    }

    /// `spec.ingressOptions.allowedClasses`.
    pub fn ingress_classes(&self) -> Option<&AllowedList> {
        self.ingress_classes.as_ref()
    }

    /// `spec.priorityClasses`.
    pub fn priority_classes(&self) -> Option<&AllowedList> {
        self.priority_classes.as_ref()
    }

    /// `spec.runtimeClasses`.
    pub fn runtime_classes(&self) -> Option<&AllowedList> {
        self.runtime_classes.as_ref()
    }

    /// `spec.owners`.
    pub fn spec_owners(&self) -> &[TenantOwnerSpec] {
        &self.spec_owners
    }

    /// The distinct `status.owners` entries, as `(kind, name)`.
    pub fn status_owners(&self) -> impl Iterator<Item = (SubjectKind, &str)> {
        self.owners.iter().map(|o| (o.kind, &*o.name))
    }

    pub(crate) fn owner_grants(&self) -> &[KeyGrant] {
        &self.owners
    }
}

// === impl ProxySettingView ===

/// A ProxySetting: its namespace and one grant per distinct subject key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxySettingView {
    pub(crate) namespace: Arc<str>,
    /// First-seen key order; each carries the last subject entry of that key (Go's loop does not break).
    pub(crate) grants: Box<[KeyGrant]>,
}

impl ProxySettingView {
    pub(crate) fn from_record(record: &ProxySettingRecord) -> Self {
        let mut grants: Vec<KeyGrant> = Vec::new();
        let mut at: HashMap<(SubjectKind, &str), usize> = HashMap::new();
        for subject in &record.subjects {
            let key = (subject.subject.kind, subject.subject.name.as_str());
            let legacy = LegacyTable::from_settings(&subject.proxy_settings);
            let cluster_resources = Some(Arc::from(subject.cluster_resources.as_slice()));
            match at.get(&key) {
                Some(&i) => {
                    grants[i].legacy = legacy;
                    grants[i].cluster_resources = cluster_resources;
                }
                None => {
                    at.insert(key, grants.len());
                    grants.push(KeyGrant {
                        kind: key.0,
                        name: Arc::from(key.1),
                        legacy,
                        cluster_resources,
                    });
                }
            }
        }
        Self {
            namespace: Arc::from(record.namespace.as_str()),
            grants: grants.into_boxed_slice(),
        }
    }
}

// === impl GlobalView ===

/// A GlobalProxySettings: one grant per subject key, carrying the union of the matching rules' resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GlobalView {
    /// First-seen key order; `legacy` is always empty.
    pub(crate) grants: Box<[KeyGrant]>,
}

impl GlobalView {
    pub(crate) fn from_record(record: &GlobalProxySettingsRecord) -> Self {
        let mut keys: Vec<((SubjectKind, &str), Vec<ClusterResourceRule>)> = Vec::new();
        let mut at: HashMap<(SubjectKind, &str), usize> = HashMap::new();
        for rule in &record.rules {
            // Go's `NewClusterProxy` appends a rule's resources once per matching subject entry, so a subject
            // listed twice in one rule contributes them twice.
            for subject in &rule.subjects {
                // The GlobalProxySettings indexer skips subjects with an empty name: they never match.
                if subject.name.is_empty() {
                    continue;
                }
                let key = (subject.kind, subject.name.as_str());
                let i = *at.entry(key).or_insert_with(|| {
                    keys.push((key, Vec::new()));
                    keys.len() - 1
                });
                if let Some((_, resources)) = keys.get_mut(i) {
                    resources.extend(rule.cluster_resources.iter().cloned());
                }
            }
        }
        let grants = keys
            .into_iter()
            .map(|((kind, name), resources)| KeyGrant {
                kind,
                name: Arc::from(name),
                legacy: LegacyTable::default(),
                cluster_resources: Some(Arc::from(resources)),
            })
            .collect();
        Self { grants }
    }
}

// === impl CapsuleUsers ===

/// The CapsuleConfiguration `status.users` sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CapsuleUsers {
    /// Names of `User` and `ServiceAccount` entries.
    pub(crate) users: HashSet<Box<str>>,
    /// Names of `Group` entries.
    pub(crate) groups: HashSet<Box<str>>,
}

impl CapsuleUsers {
    pub(crate) fn from_record(record: Option<&CapsuleConfigurationRecord>) -> Self {
        let mut sets = Self::default();
        for subject in record.into_iter().flat_map(|r| &r.users) {
            let name = Box::from(subject.name.as_str());
            match subject.kind {
                SubjectKind::Group => sets.groups.insert(name),
                SubjectKind::User | SubjectKind::ServiceAccount => sets.users.insert(name),
            };
        }
        sets
    }

    pub(crate) fn contains(&self, user: &str, groups: &[String]) -> bool {
        groups.iter().any(|g| self.groups.contains(g.as_str())) || self.users.contains(user)
    }
}

// === impl LegacyTable ===

/// The legacy operations of every [`LegacyKind`], three bits per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct LegacyTable(u32);

impl LegacyTable {
    const LIST: u32 = 0b001;
    const UPDATE: u32 = 0b010;
    const DELETE: u32 = 0b100;

    /// Go's `NewProxyTenant`: every kind starts with nothing allowed, then each setting's operations are added
    /// (a kind listed twice gets the union).
    pub(crate) fn from_settings(settings: &[LegacyProxySetting]) -> Self {
        let mut bits = 0;
        for setting in settings {
            let ops = setting.operations;
            let mut set = 0;
            if ops.list {
                set |= Self::LIST;
            }
            if ops.update {
                set |= Self::UPDATE;
            }
            if ops.delete {
                set |= Self::DELETE;
            }
            bits |= set << Self::shift(setting.kind);
        }
        Self(bits)
    }

    pub(crate) fn get(self, kind: LegacyKind) -> LegacyOperations {
        let bits = self.0 >> Self::shift(kind);
        LegacyOperations {
            list: bits & Self::LIST != 0,
            update: bits & Self::UPDATE != 0,
            delete: bits & Self::DELETE != 0,
        }
    }

    fn shift(kind: LegacyKind) -> u32 {
        3 * match kind {
            LegacyKind::Nodes => 0,
            LegacyKind::StorageClasses => 1,
            LegacyKind::IngressClasses => 2,
            LegacyKind::PriorityClasses => 3,
            LegacyKind::RuntimeClasses => 4,
            LegacyKind::PersistentVolumes => 5,
        }
    }
}
