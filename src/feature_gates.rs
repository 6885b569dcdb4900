//! `--feature-gates`: the Go proxy's feature gates, parsed the way Kubernetes' component-base parses them
//! (`Name=bool,...`, spaces around names and values ignored, the last setting of a gate wins, `AllAlpha` and
//! `AllBeta` set every gate of that stage that is not set explicitly).
//!
//! The gates:
//! - `ProxyClusterScoped` (Alpha, off): the generic cluster-scoped routes driven by `clusterResources` rules
//!   instead of the legacy per-tenant `proxySettings` ones;
//! - `ProxyAllNamespaced` (Beta, on): a Capsule user's all-namespaces list or watch (`kubectl get pods -A`) is
//!   fanned out to each namespace of its tenants it may list, with its own credential, and the answers merged.
//!   In Go the gate is a deprecated no-op and the `-A` route always filters on the `capsule.clastix.io/managed-by`
//!   label, which Capsule no longer sets; `ProxyAllNamespaced=false` keeps that behaviour;
//! - `SkipImpersonationReview` (Alpha, off): caller `Impersonate-*` headers are trusted without a
//!   SubjectAccessReview.

use std::collections::BTreeMap;

use crate::flag_values::parse_go_bool;

/// `ProxyClusterScoped`.
pub const PROXY_CLUSTER_SCOPED: &str = "ProxyClusterScoped";
/// `ProxyAllNamespaced`.
pub const PROXY_ALL_NAMESPACED: &str = "ProxyAllNamespaced";
/// `SkipImpersonationReview`.
pub const SKIP_IMPERSONATION_REVIEW: &str = "SkipImpersonationReview";
/// `AllAlpha`: sets every Alpha gate not set explicitly.
pub const ALL_ALPHA: &str = "AllAlpha";
/// `AllBeta`: sets every Beta gate not set explicitly (there are none).
pub const ALL_BETA: &str = "AllBeta";

/// The Alpha gates (off by default), which `AllAlpha` sets.
const ALPHA_GATES: [&str; 2] = [PROXY_CLUSTER_SCOPED, SKIP_IMPERSONATION_REVIEW];
/// The Beta gates (on by default), which `AllBeta` sets.
const BETA_GATES: [&str; 1] = [PROXY_ALL_NAMESPACED];

/// The gates' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureGates {
    /// `ProxyClusterScoped`.
    pub proxy_cluster_scoped: bool,
    /// `ProxyAllNamespaced`: all-namespaces lists fanned out per namespace (on by default).
    pub proxy_all_namespaced: bool,
    /// `SkipImpersonationReview`.
    pub skip_impersonation_review: bool,
}

/// Why `--feature-gates` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureGateError {
    /// A name that is not a gate.
    #[error(
        "unrecognized feature gate {0:?} (known: AllAlpha, AllBeta, ProxyAllNamespaced, ProxyClusterScoped, \
         SkipImpersonationReview)"
    )]
    Unrecognized(String),
    /// `Name` without `=bool`.
    #[error("missing bool value for {0}")]
    MissingValue(String),
    /// `Name=value` where the value is not a boolean.
    #[error("invalid value of {name}={value} (expected true or false)")]
    InvalidValue {
        /// The gate.
        name: String,
        /// The value given.
        value: String,
    },
}

impl Default for FeatureGates {
    fn default() -> Self {
        Self {
            proxy_cluster_scoped: false,
            proxy_all_namespaced: true,
            skip_impersonation_review: false,
        }
    }
}

impl FeatureGates {
    /// Parses a `--feature-gates` value (`""` leaves every gate at its default).
    pub fn parse(spec: &str) -> Result<Self, FeatureGateError> {
        let mut set: BTreeMap<&str, bool> = BTreeMap::new();
        for item in spec.split(',').filter(|item| !item.is_empty()) {
            let (name, value) = match item.split_once('=') {
                Some((name, value)) => (name.trim(), value.trim()),
                None => return Err(FeatureGateError::MissingValue(item.trim().to_owned())),
            };
            let enabled = parse_go_bool(value).map_err(|_| FeatureGateError::InvalidValue {
                name: name.to_owned(),
                value: value.to_owned(),
            })?;
            let known = ALPHA_GATES.contains(&name)
                || BETA_GATES.contains(&name)
                || name == ALL_ALPHA
                || name == ALL_BETA;
            if !known {
                return Err(FeatureGateError::Unrecognized(name.to_owned()));
            }
            set.insert(name, enabled);
        }
        for (all, gates) in [(ALL_ALPHA, &ALPHA_GATES[..]), (ALL_BETA, &BETA_GATES[..])] {
            if let Some(&value) = set.get(all) {
                for gate in gates {
                    set.entry(gate).or_insert(value);
                }
            }
        }
        let defaults = Self::default();
        let enabled = |gate: &str, default: bool| set.get(gate).copied().unwrap_or(default);
        Ok(Self {
            proxy_cluster_scoped: enabled(PROXY_CLUSTER_SCOPED, defaults.proxy_cluster_scoped),
            proxy_all_namespaced: enabled(PROXY_ALL_NAMESPACED, defaults.proxy_all_namespaced),
            skip_impersonation_review: enabled(SKIP_IMPERSONATION_REVIEW, defaults.skip_impersonation_review),
        })
    }

    /// Every gate with its value, for the start-up log.
    pub fn all(&self) -> [(&'static str, bool); 3] {
        [
            (PROXY_ALL_NAMESPACED, self.proxy_all_namespaced),
            (PROXY_CLUSTER_SCOPED, self.proxy_cluster_scoped),
            (SKIP_IMPERSONATION_REVIEW, self.skip_impersonation_review),
        ]
    }

    /// What an operator must be told about these gates (one line each).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.proxy_all_namespaced {
            out.push(format!(
                "feature gate {PROXY_ALL_NAMESPACED} is off: Capsule users' all-namespaces lists filter on the \
                 capsule.clastix.io/managed-by label, as the Go proxy does, and show nothing Capsule did not label"
            ));
        }
        if self.skip_impersonation_review {
            out.push(format!(
                "SECURITY IMPLICATION: feature gate {SKIP_IMPERSONATION_REVIEW} is on: caller Impersonate-* \
                 headers are not reviewed, so any caller can impersonate any user or group"
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gates(cluster_scoped: bool, all_namespaced: bool, skip_review: bool) -> FeatureGates {
        FeatureGates {
            proxy_cluster_scoped: cluster_scoped,
            proxy_all_namespaced: all_namespaced,
            skip_impersonation_review: skip_review,
        }
    }

    #[test]
    fn gates_parse_like_component_base() {
        let cases = [
            ("", gates(false, true, false)),
            ("ProxyClusterScoped=true", gates(true, true, false)),
            (
                "ProxyClusterScoped=1,SkipImpersonationReview=T",
                gates(true, true, true),
            ),
            (" ProxyAllNamespaced = false ,", gates(false, false, false)),
            (
                "ProxyClusterScoped=true,ProxyClusterScoped=false",
                gates(false, true, false),
            ),
            ("AllAlpha=true", gates(true, true, true)),
            (
                "AllAlpha=true,SkipImpersonationReview=false",
                gates(true, true, false),
            ),
            (
                "SkipImpersonationReview=false,AllAlpha=true",
                gates(true, true, false),
            ),
            ("AllAlpha=false,ProxyClusterScoped=true", gates(true, true, false)),
            ("AllBeta=false", gates(false, false, false)),
            ("AllBeta=false,ProxyAllNamespaced=true", gates(false, true, false)),
            ("AllBeta=true", gates(false, true, false)),
        ];
        for (spec, want) in cases {
            assert_eq!(FeatureGates::parse(spec), Ok(want), "{spec:?}");
        }
    }

    #[test]
    fn bad_gates_are_refused() {
        assert_eq!(
            FeatureGates::parse("ProxyClusterScoped=true,Nope=true"),
            Err(FeatureGateError::Unrecognized("Nope".into()))
        );
        // Names are case-sensitive.
        assert_eq!(
            FeatureGates::parse("proxyclusterscoped=true"),
            Err(FeatureGateError::Unrecognized("proxyclusterscoped".into()))
        );
        // Only empty items are skipped, as in component-base.
        assert_eq!(
            FeatureGates::parse("ProxyClusterScoped=true, "),
            Err(FeatureGateError::MissingValue(String::new()))
        );
        assert_eq!(
            FeatureGates::parse("ProxyClusterScoped"),
            Err(FeatureGateError::MissingValue("ProxyClusterScoped".into()))
        );
        let err = FeatureGates::parse("ProxyClusterScoped=yes").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value of ProxyClusterScoped=yes (expected true or false)"
        );
        assert!(
            FeatureGates::parse("Nope=1")
                .unwrap_err()
                .to_string()
                .starts_with("unrecognized feature gate \"Nope\"")
        );
    }

    #[test]
    fn warnings_name_the_risky_gates() {
        assert!(FeatureGates::default().warnings().is_empty());
        let warnings = gates(true, false, true).warnings();
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("ProxyAllNamespaced is off"));
        assert!(warnings[1].contains("any caller can impersonate any user or group"));
        assert_eq!(
            gates(true, true, false).all(),
            [
                ("ProxyAllNamespaced", true),
                ("ProxyClusterScoped", true),
                ("SkipImpersonationReview", false)
            ]
        );
    }
}
