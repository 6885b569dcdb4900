//! The fixture a kube-sim starts from: identities (tokens, certificates) and API objects.
//!
//! ```yaml
//! identities:
//! - name: alice              # file stem: alice.kubeconfig, alice-cert.kubeconfig
//!   user: alice              # username (defaults to name)
//!   groups: [projectcapsule.dev]
//!   token: alice-token       # static bearer token
//!   certificate: true        # also issue a client certificate (CN=user, O=groups)
//! objects:                   # any served kind; RBAC objects drive authorization
//! - apiVersion: v1
//!   kind: Namespace
//!   metadata: {name: oil-dev}
//! podLogs:                   # initial container logs
//! - {namespace: oil-dev, pod: web, lines: ["listening on :8080"]}
//! ```

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// A fixture file, parsed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fixture {
    /// Identities that can authenticate.
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// Objects created at start, in order.
    #[serde(default)]
    pub objects: Vec<Value>,
    /// Initial pod logs.
    #[serde(default)]
    pub pod_logs: Vec<PodLog>,
}

/// One identity: a static token and optionally a client certificate.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Identity {
    /// File stem of its kubeconfigs.
    pub name: String,
    /// Username; defaults to `name`.
    #[serde(default)]
    pub user: Option<String>,
    /// User UID.
    #[serde(default)]
    pub uid: Option<String>,
    /// Groups (without `system:authenticated`, which is always added).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Static bearer token.
    pub token: String,
    /// Whether to issue a client certificate.
    #[serde(default)]
    pub certificate: bool,
}

impl Identity {
    /// The username this identity authenticates as.
    pub fn username(&self) -> &str {
        self.user.as_deref().unwrap_or(&self.name)
    }
}

/// Initial log lines of one pod.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodLog {
    /// Pod namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Lines, without trailing newlines.
    pub lines: Vec<String>,
}

/// Why a fixture could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read fixture {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML is malformed or has unknown fields.
    #[error("invalid fixture: {0}")]
    Parse(#[from] serde_yaml::Error),
    /// The content is inconsistent.
    #[error("invalid fixture: {0}")]
    Invalid(String),
}

impl Fixture {
    /// Reads and validates a fixture file.
    pub fn load(path: &Path) -> Result<Self, FixtureError> {
        let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and validates fixture YAML.
    pub fn parse(text: &str) -> Result<Self, FixtureError> {
        let fixture: Fixture = serde_yaml::from_str(text)?;
        fixture.validate()?;
        Ok(fixture)
    }

    /// Adds `other`'s identities, objects and logs after this fixture's; fails when the result is inconsistent
    /// (an identity name or token given twice).
    pub fn merge(&mut self, other: Fixture) -> Result<(), FixtureError> {
        self.identities.extend(other.identities);
        self.objects.extend(other.objects);
        self.pod_logs.extend(other.pod_logs);
        self.validate()
    }

    fn validate(&self) -> Result<(), FixtureError> {
        let mut names = std::collections::HashSet::new();
        let mut tokens = std::collections::HashSet::new();
        for id in &self.identities {
            if id.name.is_empty() || id.name.contains(['/', '\\']) || id.name.starts_with('.') {
                return Err(FixtureError::Invalid(format!(
                    "identity name {:?} is not a file stem",
                    id.name
                )));
            }
            if !names.insert(&id.name) {
                return Err(FixtureError::Invalid(format!(
                    "identity {:?} appears twice",
                    id.name
                )));
            }
            if id.token.is_empty() || !tokens.insert(&id.token) {
                return Err(FixtureError::Invalid(format!(
                    "identity {:?} needs a token of its own",
                    id.name
                )));
            }
        }
        for (i, obj) in self.objects.iter().enumerate() {
            let ok = obj.get("apiVersion").and_then(Value::as_str).is_some()
                && obj.get("kind").and_then(Value::as_str).is_some()
                && obj.pointer("/metadata/name").and_then(Value::as_str).is_some();
            if !ok {
                return Err(FixtureError::Invalid(format!(
                    "object #{i} needs apiVersion, kind and metadata.name"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_identities_and_objects() {
        let f = Fixture::parse(
            "identities:\n- {name: alice, groups: [g], token: t1, certificate: true}\n\
             objects:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n",
        )
        .unwrap();
        assert_eq!(f.identities[0].username(), "alice");
        assert!(f.identities[0].certificate);
        assert_eq!(f.objects.len(), 1);
    }

    #[test]
    fn rejects_duplicate_tokens_and_bad_objects() {
        let dup = "identities:\n- {name: a, token: t}\n- {name: b, token: t}\n";
        assert!(matches!(Fixture::parse(dup), Err(FixtureError::Invalid(_))));
        let nameless = "objects:\n- {apiVersion: v1, kind: Namespace, metadata: {}}\n";
        assert!(matches!(Fixture::parse(nameless), Err(FixtureError::Invalid(_))));
        let unknown = "identitys: []\n";
        assert!(matches!(Fixture::parse(unknown), Err(FixtureError::Parse(_))));
    }
}
