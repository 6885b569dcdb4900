//! What API discovery says about the served resources, reduced to what routing needs: the preferred version's
//! cluster-scoped resources (the generic cluster-scoped routes) and namespaced resources (the `-A` catch-all).
//!
//! The control plane fills it from `/api` and `/apis` at start and again when CustomResourceDefinitions or
//! APIServices change; it travels in the [`crate::Snapshot`].

use std::collections::HashSet;

/// One resource of a group version, as discovery lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiResource {
    /// API group (`""` for the core group).
    pub group: String,
    /// Version (`v1`, `v1beta1`, …).
    pub version: String,
    /// Plural resource name (`nodes`); never a sub-resource.
    pub resource: String,
    /// The `kind` (`Node`).
    pub kind: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// The verbs it supports.
    pub verbs: Vec<String>,
}

impl ApiResource {
    /// Whether it supports `verb`.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// The preferred version's resources of every group, for route lookups by `(group, version, resource)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiResources {
    /// Sorted by `(group, version, resource)`.
    resources: Vec<ApiResource>,
    /// The groups' preferred versions, as `(group, version)`.
    preferred: HashSet<(String, String)>,
    /// Whether discovery has run at least once.
    discovered: bool,
}

impl ApiResources {
    /// The resources of every group's preferred version (other versions are ignored: Go registers routes for
    /// the preferred version only). Sub-resources (names with `/`) are dropped.
    pub fn new(
        resources: impl IntoIterator<Item = ApiResource>,
        preferred: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let preferred: HashSet<(String, String)> = preferred.into_iter().collect();
        let mut resources: Vec<ApiResource> = resources
            .into_iter()
            .filter(|r| !r.resource.contains('/'))
            .filter(|r| preferred.contains(&(r.group.clone(), r.version.clone())))
            .collect();
        resources
            .sort_by(|a, b| (&a.group, &a.version, &a.resource).cmp(&(&b.group, &b.version, &b.resource)));
        resources.dedup_by(|a, b| (&a.group, &a.version, &a.resource) == (&b.group, &b.version, &b.resource));
        Self {
            resources,
            preferred,
            discovered: true,
        }
    }

    /// Whether discovery has run (an undiscovered set routes nothing to the generic modules).
    pub fn is_discovered(&self) -> bool {
        self.discovered
    }

    /// The resource `(group, version, resource)` of a preferred version.
    pub fn get(&self, group: &str, version: &str, resource: &str) -> Option<&ApiResource> {
        self.resources
            .binary_search_by(|r| {
                (r.group.as_str(), r.version.as_str(), r.resource.as_str()).cmp(&(group, version, resource))
            })
            .ok()
            .and_then(|at| self.resources.get(at))
    }

    /// Whether `version` is `group`'s preferred version.
    pub fn is_preferred(&self, group: &str, version: &str) -> bool {
        self.preferred.contains(&(group.to_string(), version.to_string()))
    }

    /// Every resource, sorted by `(group, version, resource)`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &ApiResource> {
        self.resources.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(group: &str, version: &str, name: &str, namespaced: bool) -> ApiResource {
        ApiResource {
            group: group.into(),
            version: version.into(),
            resource: name.into(),
            kind: String::new(),
            namespaced,
            verbs: vec!["get".into(), "list".into()],
        }
    }

    #[test]
    fn keeps_preferred_versions_and_drops_subresources() {
        let resources = ApiResources::new(
            [
                resource("", "v1", "nodes", false),
                resource("", "v1", "nodes/status", false),
                resource("networking.k8s.io", "v1", "ingressclasses", false),
                resource("networking.k8s.io", "v1beta1", "ingressclasses", false),
            ],
            [
                ("".into(), "v1".into()),
                ("networking.k8s.io".into(), "v1".into()),
            ],
        );
        assert!(resources.get("", "v1", "nodes").is_some());
        assert!(resources.get("", "v1", "nodes/status").is_none());
        assert!(
            resources
                .get("networking.k8s.io", "v1", "ingressclasses")
                .is_some()
        );
        assert!(
            resources
                .get("networking.k8s.io", "v1beta1", "ingressclasses")
                .is_none()
        );
        assert_eq!(resources.iter().len(), 2);
        assert!(resources.is_discovered());
        assert!(!ApiResources::default().is_discovered());
    }
}
