//! The Kubernetes state the snapshot is built from, as plain records: the control plane translates Tenants,
//! CapsuleConfiguration, ProxySettings and GlobalProxySettings into these and nothing else reaches the
//! [`crate::index::Index`]. Field meanings follow Capsule's CRDs (capsule.clastix.io v1beta2 / v1beta1).

use std::collections::BTreeMap;

/// Who a Tenant owner, a ProxySetting subject or a Capsule user entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubjectKind {
    /// A user name.
    User,
    /// A group name.
    Group,
    /// A service account, named `system:serviceaccount:<namespace>:<name>`.
    ServiceAccount,
}

/// The prefix of service-account user names; such callers are looked up as `ServiceAccount` owners.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// A subject: kind and name, e.g. `User:alice`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subject {
    /// The kind.
    pub kind: SubjectKind,
    /// The name (`system:serviceaccount:ns:sa` for service accounts).
    pub name: String,
}

impl Subject {
    /// A subject of `kind` named `name`.
    pub fn new(kind: SubjectKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

/// A label-selector operator (`metav1.LabelSelectorOperator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SelectorOperator {
    /// The label's value is one of the values.
    In,
    /// The label is absent or its value is none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}

/// One `matchExpressions` entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SelectorRequirement {
    /// The label key.
    pub key: String,
    /// The operator.
    pub operator: SelectorOperator,
    /// The values (for `In` / `NotIn`).
    pub values: Vec<String>,
}

/// A `metav1.LabelSelector`: `matchLabels` AND `matchExpressions`. Empty selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    /// Exact label values.
    pub match_labels: BTreeMap<String, String>,
    /// Requirements.
    pub match_expressions: Vec<SelectorRequirement>,
}

impl LabelSelector {
    /// Whether the selector has no terms (Capsule ignores such selectors in rules).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether an object with `labels` is selected.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator {
                    SelectorOperator::In => value.is_some_and(|v| r.values.contains(v)),
                    SelectorOperator::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                    SelectorOperator::Exists => value.is_some(),
                    SelectorOperator::DoesNotExist => value.is_none(),
                }
            })
    }
}

/// Kinds of the legacy per-owner `proxySettings` (Tenant `spec.owners[].proxySettings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LegacyKind {
    /// `Nodes`.
    Nodes,
    /// `StorageClasses`.
    StorageClasses,
    /// `IngressClasses`.
    IngressClasses,
    /// `PriorityClasses`.
    PriorityClasses,
    /// `RuntimeClasses`.
    RuntimeClasses,
    /// `PersistentVolumes`.
    PersistentVolumes,
}

impl LegacyKind {
    /// Every kind, in declaration order.
    pub const ALL: [LegacyKind; 6] = [
        LegacyKind::Nodes,
        LegacyKind::StorageClasses,
        LegacyKind::IngressClasses,
        LegacyKind::PriorityClasses,
        LegacyKind::RuntimeClasses,
        LegacyKind::PersistentVolumes,
    ];
}

/// Operations of a legacy proxy setting (`List`, `Update`, `Delete`), as a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LegacyOperations {
    /// `List` (also needed for get).
    pub list: bool,
    /// `Update` (PUT/PATCH, with `List`).
    pub update: bool,
    /// `Delete` (with `List`).
    pub delete: bool,
}

impl LegacyOperations {
    /// Whether these operations allow an HTTP request `method` (Go's `Operations.IsAllowed`, case-sensitive):
    /// `GET` needs `List`; `PUT` and `PATCH` need `List` and `Update`; `DELETE` needs `List` and `Delete`; any
    /// other method is never allowed.
    pub fn allows_method(&self, method: &str) -> bool {
        match method {
            "GET" => self.list,
            "PUT" | "PATCH" => self.list && self.update,
            "DELETE" => self.list && self.delete,
            _ => false,
        }
    }
}

/// One legacy proxy setting of an owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyProxySetting {
    /// The kind it opens.
    pub kind: LegacyKind,
    /// The operations allowed on it.
    pub operations: LegacyOperations,
}

/// Operations of a `clusterResources` rule: empty in the CRD means both; `List` implies `Get`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ClusterOperations {
    /// List (and so get).
    pub list: bool,
    /// Get.
    pub get: bool,
}

/// A `clusterResources` entry of a ProxySetting subject or a GlobalProxySettings rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClusterResourceRule {
    /// API group patterns: `""` (core), `*`, `group`, `group/version`, with `*` wildcards.
    pub api_groups: Vec<String>,
    /// Plural resource names, or `*`.
    pub resources: Vec<String>,
    /// What the rule allows (already normalised: empty → both, `List` → both).
    pub operations: ClusterOperations,
    /// Which objects it opens; empty selectors open nothing.
    pub selector: LabelSelector,
}

/// An `allowed` list of a Tenant spec (`storageClasses`, `ingressOptions.allowedClasses`, `priorityClasses`,
/// `runtimeClasses`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AllowedList {
    /// Exact names (`allowed`).
    pub allowed: Vec<String>,
    /// The `default` name, also allowed.
    pub default: Option<String>,
    /// `allowedRegex` (Go RE2 syntax).
    pub allowed_regex: Option<String>,
    /// `matchLabels` / `matchExpressions`.
    pub selector: LabelSelector,
}

/// One `spec.owners[]` entry of a Tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantOwnerSpec {
    /// The owner.
    pub subject: Subject,
    /// Its legacy proxy settings.
    pub proxy_settings: Vec<LegacyProxySetting>,
}

/// What the snapshot needs of a Tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantRecord {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.owners`.
    pub spec_owners: Vec<TenantOwnerSpec>,
    /// `status.owners` (who owns it, as resolved by Capsule: the ownership index).
    pub status_owners: Vec<Subject>,
    /// `status.namespaces`.
    pub namespaces: Vec<String>,
    /// `spec.nodeSelector`.
    pub node_selector: BTreeMap<String, String>,
    /// `spec.storageClasses`.
    pub storage_classes: Option<AllowedList>,
    /// `spec.ingressOptions.allowedClasses`.
    pub ingress_classes: Option<AllowedList>,
    /// `spec.priorityClasses`.
    pub priority_classes: Option<AllowedList>,
    /// `spec.runtimeClasses`.
    pub runtime_classes: Option<AllowedList>,
}

/// One `spec.subjects[]` entry of a ProxySetting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProxySubject {
    /// The subject.
    pub subject: Subject,
    /// Its `clusterResources`.
    pub cluster_resources: Vec<ClusterResourceRule>,
    /// Its (deprecated) `proxySettings`.
    pub proxy_settings: Vec<LegacyProxySetting>,
}

/// What the snapshot needs of a ProxySetting (namespaced: it applies to its namespace's tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettingRecord {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.subjects`.
    pub subjects: Vec<ProxySubject>,
}

/// One `spec.rules[]` entry of a GlobalProxySettings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalRule {
    /// `subjects`.
    pub subjects: Vec<Subject>,
    /// `clusterResources`.
    pub cluster_resources: Vec<ClusterResourceRule>,
}

/// What the snapshot needs of a GlobalProxySettings (cluster-scoped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalProxySettingsRecord {
    /// `metadata.name`.
    pub name: String,
    /// `spec.rules`.
    pub rules: Vec<GlobalRule>,
}

/// What the snapshot needs of the CapsuleConfiguration named by `--capsule-configuration-name`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapsuleConfigurationRecord {
    /// `status.users`: kind `Group` entries are Capsule groups; `User` and `ServiceAccount` entries Capsule users.
    pub users: Vec<Subject>,
}
