//! Capsule's Tenant and CapsuleConfiguration (`capsule.clastix.io/v1beta2`): the fields the proxy reads, named
//! and nested as in Capsule's CRDs. Capsule owns these CRDs; the proxy only reads them, so their schemas here
//! are not meant to be installed.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::selectors::SelectorRequirementSpec;
use super::subjects::{LegacyProxySettingSpec, SubjectSpec};

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
