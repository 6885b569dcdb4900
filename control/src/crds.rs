//! Capsule's custom resources as Rust types (kube-derive): the fields capsule-proxy reads, named and nested as in
//! Capsule's CRDs. Unknown fields are ignored, so newer Capsule versions still deserialise.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A subject: `kind` (`User`, `Group`, `ServiceAccount`) and `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubjectSpec {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    /// The name (`system:serviceaccount:<ns>:<name>` for service accounts).
    pub name: String,
}

/// A legacy proxy setting: a kind (`Nodes`, `StorageClasses`, …) and the operations allowed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LegacyProxySettingSpec {
    /// `Nodes`, `StorageClasses`, `IngressClasses`, `PriorityClasses`, `RuntimeClasses` or `PersistentVolumes`.
    pub kind: String,
    /// `List`, `Update`, `Delete`.
    #[serde(default)]
    pub operations: Vec<String>,
}

/// A label-selector requirement (`matchExpressions` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SelectorRequirementSpec {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// Values for `In` / `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A `metav1.LabelSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorSpec {
    /// Exact label values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<SelectorRequirementSpec>,
}

/// A Tenant's list of allowed classes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowedListSpec {
    /// Exact names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// The default class, also allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A regular expression of allowed names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_regex: Option<String>,
    /// Exact label values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<SelectorRequirementSpec>,
}

/// A Tenant `spec.owners[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantOwner {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    /// The owner's name.
    pub name: String,
    /// Legacy proxy settings of this owner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_settings: Vec<LegacyProxySettingSpec>,
}

/// A Tenant's `spec.ingressOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressOptions {
    /// Allowed IngressClasses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_classes: Option<AllowedListSpec>,
}

/// `Tenant.spec` (capsule.clastix.io/v1beta2), the fields the proxy reads.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "capsule.clastix.io",
    version = "v1beta2",
    kind = "Tenant",
    status = "TenantStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// Owners, with their legacy proxy settings.
    #[serde(default)]
    pub owners: Vec<TenantOwner>,
    /// Nodes the tenant's pods are scheduled on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Allowed StorageClasses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_classes: Option<AllowedListSpec>,
    /// Ingress options (allowed IngressClasses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_options: Option<IngressOptions>,
    /// Allowed PriorityClasses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_classes: Option<AllowedListSpec>,
    /// Allowed RuntimeClasses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_classes: Option<AllowedListSpec>,
}

/// `Tenant.status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TenantStatus {
    /// Owners as resolved by Capsule.
    #[serde(default)]
    pub owners: Vec<SubjectSpec>,
    /// The tenant's namespaces.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// `CapsuleConfiguration.spec` (capsule.clastix.io/v1beta2); the proxy reads only the status.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "capsule.clastix.io",
    version = "v1beta2",
    kind = "CapsuleConfiguration",
    status = "CapsuleConfigurationStatus"
)]
pub struct CapsuleConfigurationSpec {
    /// Capsule users (Capsule fills `status.users` from these and other sources).
    #[serde(default)]
    pub users: Vec<SubjectSpec>,
}

/// `CapsuleConfiguration.status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CapsuleConfigurationStatus {
    /// Every Capsule user and group.
    #[serde(default)]
    pub users: Vec<SubjectSpec>,
}

/// A `clusterResources` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterResourceSpec {
    /// API groups (`""` core, `*`, `group`, `group/version`, wildcards).
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Plural resources or `*`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// `List` and/or `Get`; empty means both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// Which objects are opened.
    #[serde(default)]
    pub selector: LabelSelectorSpec,
}

/// A ProxySetting `spec.subjects[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxySubjectSpec {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    /// The subject's name.
    pub name: String,
    /// Cluster-scoped resources opened to the subject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resources: Vec<ClusterResourceSpec>,
    /// Deprecated legacy proxy settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_settings: Vec<LegacyProxySettingSpec>,
}

/// `ProxySetting.spec` (capsule.clastix.io/v1beta1, namespaced).
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "capsule.clastix.io",
    version = "v1beta1",
    kind = "ProxySetting",
    namespaced
)]
pub struct ProxySettingSpec {
    /// The subjects and what they are given.
    #[serde(default)]
    pub subjects: Vec<ProxySubjectSpec>,
}

/// A GlobalProxySettings `spec.rules[]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GlobalRuleSpec {
    /// Who the rule is for.
    #[serde(default)]
    pub subjects: Vec<SubjectSpec>,
    /// Cluster-scoped resources opened to them.
    #[serde(default)]
    pub cluster_resources: Vec<ClusterResourceSpec>,
}

/// `GlobalProxySettings.spec` (capsule.clastix.io/v1beta1, cluster-scoped).
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "capsule.clastix.io",
    version = "v1beta1",
    kind = "GlobalProxySettings",
    plural = "globalproxysettings"
)]
pub struct GlobalProxySettingsSpec {
    /// The rules.
    #[serde(default)]
    pub rules: Vec<GlobalRuleSpec>,
}
