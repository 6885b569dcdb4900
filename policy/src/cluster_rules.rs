//! Which `clusterResources` rules (ProxySetting subjects, GlobalProxySettings rules) apply to a cluster-scoped
//! resource and an operation, with the Go proxy's matching semantics.
//!
//! A rule applies to `(group, version, resource)` when its `resources` hold `*` or the plural `resource`, and
//! one of its `apiGroups` patterns matches: `*` matches everything; a pattern without `/` is matched against
//! the group (`""` is the core group); a pattern with `/` against `group/version`. Patterns may hold `*`
//! wildcards anywhere. As in Go, a pattern with a single `*` at its start or end is a suffix or prefix match,
//! and any other wildcard pattern matches when its literal parts occur in order (the first part need not start
//! the value, the last need not end it).

use crate::model::{ClusterOperations, ClusterResourceRule};

/// The operation a request performs on a cluster-scoped resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterOp {
    /// A list (or watch) of the collection.
    List,
    /// A get of one named object.
    Get,
}

impl ClusterOp {
    /// The operation of an RBAC `verb` (`list` or `get`, any case); `None` for every other verb.
    pub fn from_verb(verb: &str) -> Option<Self> {
        if verb.eq_ignore_ascii_case("list") {
            Some(ClusterOp::List)
        } else if verb.eq_ignore_ascii_case("get") {
            Some(ClusterOp::Get)
        } else {
            None
        }
    }

    /// Whether a rule with `operations` allows this operation.
    pub fn allowed_by(self, operations: &ClusterOperations) -> bool {
        match self {
            ClusterOp::List => operations.list,
            ClusterOp::Get => operations.get || operations.list,
        }
    }
}

/// The lowercase RBAC verbs a rule's operations grant: `["list", "get"]`, `["get"]` (or none).
pub fn effective_verbs(operations: &ClusterOperations) -> Vec<&'static str> {
    let mut verbs = Vec::with_capacity(2);
    if operations.list {
        verbs.push("list");
    }
    if operations.get || operations.list {
        verbs.push("get");
    }
    verbs
}

/// Whether `rule` names the resource `resource` of `group`/`version` (whatever its operations and selector).
pub fn rule_applies(rule: &ClusterResourceRule, group: &str, version: &str, resource: &str) -> bool {
    let names_resource = rule.resources.iter().any(|r| r == "*" || r == resource);
    names_resource
        && rule.api_groups.iter().any(|pattern| {
            if pattern == "*" {
                true
            } else if pattern.contains('/') {
                pattern_matches(pattern, &format!("{group}/{version}"))
            } else {
                pattern_matches(pattern, group)
            }
        })
}

/// The rules among `rules` that apply to `group`/`version`/`resource` and allow `op`; rules with an empty
/// selector open nothing and are skipped.
pub fn rules_for<'r>(
    rules: impl IntoIterator<Item = &'r ClusterResourceRule>,
    group: &str,
    version: &str,
    resource: &str,
    op: ClusterOp,
) -> impl Iterator<Item = &'r ClusterResourceRule> {
    rules.into_iter().filter(move |rule| {
        !rule.selector.is_empty()
            && op.allowed_by(&rule.operations)
            && rule_applies(rule, group, version, resource)
    })
}

/// Whether `value` matches the `*`-wildcard `pattern` (see the module documentation for the exact semantics).
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if !pattern.contains('*') {
        return pattern == value;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if let [first, last] = parts.as_slice() {
        if first.is_empty() {
            return value.ends_with(last);
        }
        if last.is_empty() {
            return value.starts_with(first);
        }
    }
    let mut rest = value;
    for part in parts.iter().filter(|p| !p.is_empty()) {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::LabelSelector;

    fn selector(key: &str, value: &str) -> LabelSelector {
        LabelSelector {
            match_labels: BTreeMap::from([(key.to_string(), value.to_string())]),
            match_expressions: Vec::new(),
        }
    }

    fn rule(groups: &[&str], resources: &[&str]) -> ClusterResourceRule {
        ClusterResourceRule {
            api_groups: groups.iter().map(|g| g.to_string()).collect(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
            operations: ClusterOperations {
                list: true,
                get: true,
            },
            selector: selector("shared", "true"),
        }
    }

    #[test]
    fn pattern_matching_follows_go() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("apps", "apps", true),
            ("apps", "core", false),
            ("", "", true),
            ("", "x", false),
            ("*v1", "apps/v1", true),
            ("*v1", "apps/v2", false),
            ("apps*", "apps/v1", true),
            ("apps*", "batch/v1", false),
            ("a*b", "acb", true),
            ("a*b", "a---b", true),
            ("a*b", "a---c", false),
            ("a*b", "c---b", false),
            ("a*b*c", "aXXbYYc", true),
            ("a**c", "abc", true),
            ("**", "anything", true),
            ("**suffix", "prefixsuffix", true),
            ("prefix**", "prefixsuffix", true),
            ("a*b*c", "a1b2c3", true),
            ("a*b*c", "a1c2b3", false),
            ("a*", "", false),
            ("***", "x", true),
            ("***", "", true),
            ("a.b", "a.b", true),
            ("a.b", "acb", false),
            ("apps/v1", "apps/v1", true),
            ("apps/v1", "apps/v2", false),
        ];
        for (pattern, value, want) in cases {
            assert_eq!(
                pattern_matches(pattern, value),
                want,
                "pattern {pattern:?} value {value:?}"
            );
        }
    }

    /// API groups, resources, then the requested group, version, resource and whether the rule applies.
    type ResourceCase = (
        &'static [&'static str],
        &'static [&'static str],
        &'static str,
        &'static str,
        &'static str,
        bool,
    );

    #[test]
    fn resource_matching_follows_go() {
        let cases: [ResourceCase; 21] = [
            (&["*"], &["*"], "apps", "v1", "deployments", true),
            (&["*"], &["deployments"], "apps", "v1", "deployments", true),
            (&["apps"], &["statefulsets"], "apps", "v1", "deployments", false),
            (
                &["apps"],
                &["deployments", "statefulsets"],
                "apps",
                "v1",
                "statefulsets",
                true,
            ),
            (&["*"], &[], "apps", "v1", "deployments", false),
            (&["*"], &["jobs"], "batch", "v1", "jobs", true),
            (&["apps"], &["deployments"], "apps", "v1", "deployments", true),
            (&["batch"], &["deployments"], "apps", "v1", "deployments", false),
            (&[""], &["nodes"], "", "v1", "nodes", true),
            (&[""], &["deployments"], "apps", "v1", "deployments", false),
            (&["apps", "batch"], &["jobs"], "batch", "v1", "jobs", true),
            (&[], &["deployments"], "apps", "v1", "deployments", false),
            (&["apps/v1"], &["deployments"], "apps", "v1", "deployments", true),
            (&["apps/v2"], &["deployments"], "apps", "v1", "deployments", false),
            (&["apps/*"], &["deployments"], "apps", "v1", "deployments", true),
            (&["*/v1"], &["deployments"], "apps", "v1", "deployments", true),
            (&["*/v1"], &["deployments"], "apps", "v2", "deployments", false),
            (&["a*s/v1"], &["deployments"], "apps", "v1", "deployments", true),
            (
                &["batch/*", "apps/v1"],
                &["deployments"],
                "apps",
                "v1",
                "deployments",
                true,
            ),
            (&["apps"], &["jobs"], "apps", "v1", "deployments", false),
            (&["/v1"], &["nodes"], "", "v1", "nodes", true),
        ];
        for (groups, resources, group, version, resource, want) in cases {
            assert_eq!(
                rule_applies(&rule(groups, resources), group, version, resource),
                want,
                "groups {groups:?} resources {resources:?} on {group}/{version}/{resource}"
            );
        }
    }

    fn with_ops(name: &str, list: bool, get: bool) -> ClusterResourceRule {
        ClusterResourceRule {
            operations: ClusterOperations { list, get },
            selector: selector("access", name),
            ..rule(&["storage.k8s.io"], &["storageclasses"])
        }
    }

    fn names<'r>(found: impl Iterator<Item = &'r ClusterResourceRule>) -> Vec<String> {
        found
            .flat_map(|r| r.selector.match_labels.values().cloned())
            .collect()
    }

    #[test]
    fn operations_filter_rules() {
        // Normalised as the model keeps them: default → list+get, legacy List → list+get, Get → get.
        let rules = [
            with_ops("default", true, true),
            with_ops("list-only", true, true),
            with_ops("get-only", false, true),
        ];
        let list = rules_for(&rules, "storage.k8s.io", "v1", "storageclasses", ClusterOp::List);
        assert_eq!(names(list), ["default", "list-only"]);
        let get = rules_for(&rules, "storage.k8s.io", "v1", "storageclasses", ClusterOp::Get);
        assert_eq!(names(get), ["default", "list-only", "get-only"]);
        let other = rules_for(&rules, "", "v1", "nodes", ClusterOp::Get);
        assert_eq!(other.count(), 0);
    }

    #[test]
    fn list_implies_get_even_when_not_normalised() {
        let legacy = ClusterOperations {
            list: true,
            get: false,
        };
        assert!(ClusterOp::Get.allowed_by(&legacy));
        assert!(ClusterOp::List.allowed_by(&legacy));
        assert!(!ClusterOp::List.allowed_by(&ClusterOperations {
            list: false,
            get: true
        }));
        assert_eq!(effective_verbs(&legacy), ["list", "get"]);
        assert_eq!(
            effective_verbs(&ClusterOperations {
                list: false,
                get: true
            }),
            ["get"]
        );
    }

    #[test]
    fn empty_selectors_are_skipped() {
        let open = ClusterResourceRule {
            selector: LabelSelector::default(),
            ..rule(&["*"], &["*"])
        };
        assert!(rule_applies(&open, "", "v1", "nodes"));
        assert_eq!(rules_for([&open], "", "v1", "nodes", ClusterOp::List).count(), 0);
    }

    #[test]
    fn verbs_map_to_operations() {
        assert_eq!(ClusterOp::from_verb("list"), Some(ClusterOp::List));
        assert_eq!(ClusterOp::from_verb("LIST"), Some(ClusterOp::List));
        assert_eq!(ClusterOp::from_verb("get"), Some(ClusterOp::Get));
        assert_eq!(ClusterOp::from_verb("watch"), None);
        assert_eq!(ClusterOp::from_verb("update"), None);
    }
}
