//! Subjects and the legacy (deprecated) proxy settings attached to them, shared by Tenants, ProxySettings,
//! GlobalProxySettings and the CapsuleConfiguration.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema::Required;

/// A subject: `kind` (`User`, `Group`, `ServiceAccount`) and `name`.
///
/// `kind` stays a string so an unknown kind deserialises (translation skips it with a warning); the schema
/// lists the allowed values as Capsule's CRDs do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubjectSpec {
    /// Kind of the subject: `User`, `Group` or `ServiceAccount`.
    #[schemars(extend("enum" = ["User", "Group", "ServiceAccount"]))]
    pub kind: String,
    /// The name (`system:serviceaccount:<ns>:<name>` for service accounts).
    pub name: String,
}

/// A legacy proxy setting: a kind (`Nodes`, `StorageClasses`, …) and the operations allowed on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = Required(&["operations"]))]
pub struct LegacyProxySettingSpec {
    /// The kind: `Nodes`, `StorageClasses`, `IngressClasses`, `PriorityClasses`, `RuntimeClasses` or
    /// `PersistentVolumes`.
    #[schemars(extend("enum" = [
        "Nodes",
        "StorageClasses",
        "IngressClasses",
        "PriorityClasses",
        "RuntimeClasses",
        "PersistentVolumes"
    ]))]
    pub kind: String,
    /// Operations allowed on that kind: `List`, `Update`, `Delete`.
    #[serde(default)]
    #[schemars(extend("items" = {"type": "string", "enum": ["List", "Update", "Delete"]}))]
    pub operations: Vec<String>,
}
