//! Capsule's custom resources as Rust types (kube-derive): the fields capsule-proxy reads, named and nested as in
//! Capsule's CRDs. Unknown fields are ignored and fields with a fixed set of values stay strings, so newer or
//! odd objects still deserialise (translation skips what it does not know, with a warning) and one bad object
//! never breaks a watch.
//!
//! ProxySetting and GlobalProxySettings belong to capsule-proxy: their types also carry the schema of Capsule's
//! CRDs (enums, required fields, defaults, list and map types, status with conditions, printer columns), and
//! [`definitions`] generates the CRDs `capsule-proxy crds` prints. Tenant and CapsuleConfiguration belong to
//! Capsule and are only read.

mod condition;
mod definitions;
mod proxy_settings;
mod schema;
mod selectors;
mod subjects;
mod tenant;

pub use condition::{Condition, ProxySettingsStatus};
pub use definitions::definitions;
pub use proxy_settings::{
    ClusterResourceSpec, GlobalProxySettings, GlobalProxySettingsSpec, GlobalRuleSpec, ProxySetting,
    ProxySettingSpec, ProxySubjectSpec,
};
pub use selectors::{LabelSelectorSpec, SelectorRequirementSpec};
pub use subjects::{LegacyProxySettingSpec, SubjectSpec};
pub use tenant::{
    AllowedListSpec, CapsuleConfiguration, CapsuleConfigurationSpec, CapsuleConfigurationStatus,
    IngressOptions, Tenant, TenantOwner, TenantSpec, TenantStatus,
};

#[cfg(test)]
mod tests;
