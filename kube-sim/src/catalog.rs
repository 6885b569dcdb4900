//! The kinds one cluster serves right now: the built-in table ([`KINDS`]) and the custom resources of its stored
//! CustomResourceDefinitions ([`crate::crd`]). Request routing, discovery and object writes ask it; the store
//! rebuilds it whenever a definition is written, under the same lock, so a request sees a definition's kinds
//! from the moment it is stored.

use std::sync::Arc;

use serde_json::Value;

use crate::crd;
use crate::kinds::{self, KINDS, Kind};

/// The served kinds; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ServedKinds {
    /// Custom kinds, in definition order, each definition's versions by priority.
    custom: Arc<Vec<&'static Kind>>,
}

impl ServedKinds {
    /// The built-in kinds only.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// The built-in kinds and those of `definitions`. A definition of a resource served built in adds nothing.
    pub fn with_definitions<'a>(definitions: impl IntoIterator<Item = &'a Value>) -> Self {
        let custom = definitions
            .into_iter()
            .flat_map(crd::served_kinds)
            .filter(|k| {
                !KINDS
                    .iter()
                    .any(|b| b.group == k.group && b.resource == k.resource)
            })
            .collect();
        Self {
            custom: Arc::new(custom),
        }
    }

    /// The custom kinds.
    pub fn custom(&self) -> &[&'static Kind] {
        &self.custom
    }

    /// Every served kind, built-in first.
    pub fn iter(&self) -> impl Iterator<Item = &'static Kind> + '_ {
        KINDS.iter().chain(self.custom.iter().copied())
    }

    /// The kind served at `group`/`version`/`resource`, if any.
    pub fn lookup(&self, group: &str, version: &str, resource: &str) -> Option<&'static Kind> {
        self.iter()
            .find(|k| k.group == group && k.version == version && k.resource == resource)
    }

    /// The kind for an object's `apiVersion` and `kind`, if served.
    pub fn by_api_version_kind(&self, api_version: &str, kind: &str) -> Option<&'static Kind> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        self.iter()
            .find(|k| k.group == group && k.version == version && k.kind == kind)
    }

    /// Every kind served in one group-version.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'static Kind> + 'a {
        self.iter()
            .filter(move |k| k.group == group && k.version == version)
    }

    /// The served API groups (excluding core) with their versions, preferred version first: the built-in
    /// groups in table order, then the custom groups in definition order. A custom group's versions are
    /// ordered by Kubernetes' version priority across all of its definitions.
    pub fn groups(&self) -> Vec<(&'static str, Vec<&'static str>)> {
        let mut out = kinds::groups();
        let builtin = out.len();
        for k in self.custom.iter() {
            match out.iter_mut().position(|(g, _)| *g == k.group) {
                Some(at) => {
                    let versions = &mut out[at].1;
                    if !versions.contains(&k.version) {
                        versions.push(k.version);
                        if at >= builtin {
                            versions.sort_by(|a, b| crd::compare_versions(a, b));
                        }
                    }
                }
                None => out.push((k.group, vec![k.version])),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition(group: &str, plural: &str, kind: &str, versions: &[&str]) -> Value {
        let versions: Vec<Value> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"name": v, "served": true, "storage": i == 0}))
            .collect();
        json!({
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {"group": group, "scope": "Cluster", "versions": versions,
                     "names": {"plural": plural, "kind": kind}},
        })
    }

    #[test]
    fn custom_kinds_join_the_built_in_ones() {
        let served = ServedKinds::with_definitions(&[
            definition("example.com", "widgets", "Widget", &["v1beta1"]),
            definition("example.com", "gadgets", "Gadget", &["v1", "v1beta1"]),
            definition("capsule.clastix.io", "tenants", "Tenant", &["v1beta2", "v1beta1"]),
        ]);
        assert_eq!(served.custom().len(), 3, "the tenants definition adds nothing");
        assert!(served.lookup("", "v1", "namespaces").is_some());
        let widget = served.lookup("example.com", "v1beta1", "widgets").unwrap();
        assert!(!widget.namespaced);
        assert_eq!(
            served
                .by_api_version_kind("example.com/v1", "Gadget")
                .map(|k| k.resource),
            Some("gadgets")
        );
        assert!(
            served
                .lookup("capsule.clastix.io", "v1beta1", "tenants")
                .is_none()
        );
        let groups = served.groups();
        let example = groups.iter().find(|(g, _)| *g == "example.com").unwrap();
        assert_eq!(example.1, ["v1", "v1beta1"], "preferred first across definitions");
        let resources: Vec<_> = served
            .in_group_version("example.com", "v1beta1")
            .map(|k| k.resource)
            .collect();
        assert_eq!(resources, ["widgets", "gadgets"]);
        assert!(
            ServedKinds::builtin()
                .lookup("example.com", "v1", "gadgets")
                .is_none()
        );
    }
}
