//! The status Capsule writes on ProxySettings and GlobalProxySettings: an observed generation and
//! `metav1.Condition`s. The proxy never reads it; the types exist so the generated CRDs carry the same status
//! schema as Capsule's. Every field deserialises leniently (missing → default).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema::Required;

/// A `metav1.Condition`: one aspect of an object's current state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = Required(&["lastTransitionTime", "message", "reason", "status", "type"]))]
pub struct Condition {
    /// Type of condition in CamelCase or in `foo.example.com/CamelCase`.
    #[serde(rename = "type", default)]
    #[schemars(length(max = 316))]
    #[schemars(extend(
        "pattern" = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
    ))]
    pub type_: String,
    /// Status of the condition: `True`, `False` or `Unknown`.
    #[serde(default)]
    #[schemars(extend("enum" = ["True", "False", "Unknown"]))]
    pub status: String,
    /// The `.metadata.generation` the condition was set from.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0))]
    pub observed_generation: i64,
    /// When the condition last changed from one status to another (RFC 3339).
    #[serde(default)]
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
    /// A CamelCase identifier of the reason for the last transition.
    #[serde(default)]
    #[schemars(length(min = 1, max = 1024))]
    #[schemars(extend("pattern" = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"))]
    pub reason: String,
    /// A human-readable message about the transition; may be empty.
    #[serde(default)]
    #[schemars(length(max = 32768))]
    pub message: String,
}

/// `status` of a ProxySetting or a GlobalProxySettings, as Capsule's controller writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxySettingsStatus {
    /// The most recent generation observed by the controller.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub observed_generation: i64,
    /// The reconciliation conditions of the object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Whether a generation is unset (serde's `skip_serializing_if` passes it by reference).
fn is_zero(n: &i64) -> bool {
    *n == 0
}
