//! ProxySetting (namespaced, `capsule.clastix.io/v1beta1`) and GlobalProxySettings (cluster-scoped): who gets
//! which cluster-scoped resources, as Capsule's CRDs define them. String fields with a fixed set of values stay
//! strings (an unknown value deserialises and translation skips it with a warning); the schema lists the
//! values.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::condition::ProxySettingsStatus;
use super::schema::Required;
use super::selectors::LabelSelectorSpec;
use super::subjects::{LegacyProxySettingSpec, SubjectSpec};

/// Cluster-scoped resources opened to a subject: the objects of these API groups and resources that the
/// selector matches (a `clusterResources` entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = Required(&["apiGroups", "resources", "selector"]))]
pub struct ClusterResourceSpec {
    /// API groups of the resources: `""` for the core group, `*` for all, a group, `group/version`, wildcards.
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Plural names of the resources, or `*` for all.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Operations allowed on the selected objects: `List` and/or `Get`; both when omitted, and `List` implies
    /// `Get`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend(
        "items" = {"type": "string", "enum": ["List", "Get"]},
        "default" = ["List", "Get"]
    ))]
    pub operations: Vec<String>,
    /// Label selector of the opened objects; one that matches nothing opens nothing.
    #[serde(default)]
    pub selector: LabelSelectorSpec,
}

/// A subject of a ProxySetting and what it is given (a `spec.subjects[]` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxySubjectSpec {
    /// Kind of the subject: `User`, `Group` or `ServiceAccount`.
    #[schemars(extend("enum" = ["User", "Group", "ServiceAccount"]))]
    pub kind: String,
    /// The subject's name.
    pub name: String,
    /// Cluster-scoped resources opened to the subject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resources: Vec<ClusterResourceSpec>,
    /// Deprecated (use GlobalProxySettings): legacy proxy settings of the subject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_settings: Vec<LegacyProxySettingSpec>,
}

/// A ProxySetting's spec: additional capsule-proxy permissions for subjects of the tenant the ProxySetting's
/// namespace belongs to.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "capsule.clastix.io",
    version = "v1beta1",
    kind = "ProxySetting",
    namespaced,
    status = "ProxySettingsStatus",
    doc = "ProxySetting is the Schema for the proxysettings API.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#,
        description = "Reconcile status of this ProxySetting"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp",
        description = "Age"
    )
)]
#[schemars(transform = Required(&["subjects"]))]
pub struct ProxySettingSpec {
    /// Subjects that receive additional permissions (at least one).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub subjects: Vec<ProxySubjectSpec>,
}

/// A GlobalProxySettings rule: subjects and the cluster-scoped resources opened to them (a `spec.rules[]`
/// entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = Required(&["subjects"]))]
pub struct GlobalRuleSpec {
    /// Subjects the rule is for, matched against each request's caller: Capsule users, not necessarily
    /// owners of a tenant.
    #[serde(default)]
    pub subjects: Vec<SubjectSpec>,
    /// Cluster-scoped resources opened to them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resources: Vec<ClusterResourceSpec>,
}

/// A GlobalProxySettings' spec: rules that open cluster-scoped resources to subjects, tenant owners or not.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "capsule.clastix.io",
    version = "v1beta1",
    kind = "GlobalProxySettings",
    plural = "globalproxysettings",
    status = "ProxySettingsStatus",
    doc = "GlobalProxySettings is the Schema for the globalproxysettings API.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#,
        description = "Reconcile status of this GlobalProxySettings"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp",
        description = "Age"
    )
)]
#[schemars(transform = Required(&["rules"]))]
pub struct GlobalProxySettingsSpec {
    /// The rules (at least one).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub rules: Vec<GlobalRuleSpec>,
}
