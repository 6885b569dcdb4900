//! The kinds kube-sim serves built in: one static table that routing, discovery, OpenAPI and storage all read
//! (with the custom resources of stored CustomResourceDefinitions added by [`crate::catalog::ServedKinds`]).

/// Verbs every ordinary stored kind supports.
pub(crate) const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Verbs of create-only review kinds (TokenReview, SubjectAccessReview, …).
const CREATE_ONLY: &[&str] = &["create"];
/// Verbs of read-only aggregated metrics kinds.
const READ_ONLY: &[&str] = &["get", "list"];

/// How the server treats a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Objects are stored and served with the full verb set.
    Stored,
    /// A review: POST computes an answer and stores nothing.
    Review,
    /// Read-only, stored objects (metrics).
    ReadOnly,
}

/// One served resource (group, version, plural) and everything discovery says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// API group; `""` is the core group.
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// Plural resource name, as in URLs.
    pub resource: &'static str,
    /// Singular resource name.
    pub singular: &'static str,
    /// `kind` of one object.
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names kubectl accepts (`ns`, `no`, …).
    pub short_names: &'static [&'static str],
    /// Discovery categories (`all`).
    pub categories: &'static [&'static str],
    /// Supported verbs.
    pub verbs: &'static [&'static str],
    /// Served subresources (`status`, `log`, `exec`).
    pub subresources: &'static [&'static str],
    /// Storage behaviour.
    pub storage: Storage,
}

impl Kind {
    /// `apiVersion` of objects of this kind: `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The `kind` of the list object: `NamespaceList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Whether the kind supports `verb`.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// Whether the kind serves `subresource`.
    pub fn has_subresource(&self, subresource: &str) -> bool {
        self.subresources.contains(&subresource)
    }

    /// Whether a cluster serves it from a CustomResourceDefinition (Capsule's kinds, anything of a dotted
    /// group outside `*.k8s.io`) rather than from kube-apiserver or an aggregated `*.k8s.io` API.
    pub fn is_custom_resource(&self) -> bool {
        !(self.group.is_empty() || self.group.ends_with(".k8s.io") || !self.group.contains('.'))
    }
}

#[allow(clippy::too_many_arguments)] // a table row: every column is needed
const fn kind(
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    subresources: &'static [&'static str],
) -> Kind {
    Kind {
        group,
        version,
        resource,
        singular,
        kind,
        namespaced,
        short_names,
        categories: &[],
        verbs: CRUD,
        subresources,
        storage: Storage::Stored,
    }
}

const fn review(
    group: &'static str,
    resource: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        group,
        version: "v1",
        resource,
        singular,
        kind,
        namespaced,
        short_names: &[],
        categories: &[],
        verbs: CREATE_ONLY,
        subresources: &[],
        storage: Storage::Review,
    }
}

const fn metrics(
    resource: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        group: "metrics.k8s.io",
        version: "v1beta1",
        resource,
        singular,
        kind,
        namespaced,
        short_names: &[],
        categories: &[],
        verbs: READ_ONLY,
        subresources: &[],
        storage: Storage::ReadOnly,
    }
}

/// Every kind kube-sim serves, grouped by API group in discovery order.
pub static KINDS: &[Kind] = &[
    kind(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        &["status"],
    ),
    kind("", "v1", "nodes", "node", "Node", false, &["no"], &["status"]),
    kind(
        "",
        "v1",
        "persistentvolumes",
        "persistentvolume",
        "PersistentVolume",
        false,
        &["pv"],
        &["status"],
    ),
    Kind {
        categories: &["all"],
        ..kind(
            "",
            "v1",
            "pods",
            "pod",
            "Pod",
            true,
            &["po"],
            &["status", "log", "exec"],
        )
    },
    kind(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        &[],
    ),
    kind(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        &[],
    ),
    kind("", "v1", "secrets", "secret", "Secret", true, &[], &[]),
    kind(
        "",
        "v1",
        "resourcequotas",
        "resourcequota",
        "ResourceQuota",
        true,
        &["quota"],
        &["status"],
    ),
    review(
        "authentication.k8s.io",
        "tokenreviews",
        "tokenreview",
        "TokenReview",
        false,
    ),
    review(
        "authentication.k8s.io",
        "selfsubjectreviews",
        "selfsubjectreview",
        "SelfSubjectReview",
        false,
    ),
    review(
        "authorization.k8s.io",
        "subjectaccessreviews",
        "subjectaccessreview",
        "SubjectAccessReview",
        false,
    ),
    review(
        "authorization.k8s.io",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        "SelfSubjectAccessReview",
        false,
    ),
    review(
        "authorization.k8s.io",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        "SelfSubjectRulesReview",
        false,
    ),
    review(
        "authorization.k8s.io",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        "LocalSubjectAccessReview",
        true,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
        &[],
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
        &[],
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        true,
        &[],
        &[],
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
        &[],
    ),
    kind(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "storageclass",
        "StorageClass",
        false,
        &["sc"],
        &[],
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "ingressclass",
        "IngressClass",
        false,
        &[],
        &[],
    ),
    kind(
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        "priorityclass",
        "PriorityClass",
        false,
        &["pc"],
        &[],
    ),
    kind(
        "node.k8s.io",
        "v1",
        "runtimeclasses",
        "runtimeclass",
        "RuntimeClass",
        false,
        &[],
        &[],
    ),
    kind(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "customresourcedefinition",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        &["status"],
    ),
    kind(
        "apiregistration.k8s.io",
        "v1",
        "apiservices",
        "apiservice",
        "APIService",
        false,
        &[],
        &["status"],
    ),
    metrics("nodes", "", "NodeMetrics", false),
    metrics("pods", "", "PodMetrics", true),
    kind(
        "capsule.clastix.io",
        "v1beta2",
        "tenants",
        "tenant",
        "Tenant",
        false,
        &["tnt"],
        &["status"],
    ),
    kind(
        "capsule.clastix.io",
        "v1beta2",
        "capsuleconfigurations",
        "capsuleconfiguration",
        "CapsuleConfiguration",
        false,
        &[],
        &["status"],
    ),
    kind(
        "capsule.clastix.io",
        "v1beta1",
        "proxysettings",
        "proxysetting",
        "ProxySetting",
        true,
        &[],
        &["status"],
    ),
    kind(
        "capsule.clastix.io",
        "v1beta1",
        "globalproxysettings",
        "globalproxysettings",
        "GlobalProxySettings",
        false,
        &[],
        &["status"],
    ),
];

/// The served API groups (excluding core) with their versions, preferred version first.
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for k in KINDS.iter().filter(|k| !k.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == k.group) {
            Some((_, versions)) if !versions.contains(&k.version) => versions.push(k.version),
            Some(_) => {}
            None => out.push((k.group, vec![k.version])),
        }
    }
    out
}

/// The kind served at `group`/`version`/`resource`, if any.
pub fn lookup(group: &str, version: &str, resource: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.resource == resource)
}

/// The kind for an object's `apiVersion` and `kind`, if served.
pub fn by_api_version_kind(api_version: &str, kind: &str) -> Option<&'static Kind> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.kind == kind)
}

/// Every kind served in one group-version.
pub fn in_group_version<'a>(
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'static Kind> + use<'a> {
    KINDS
        .iter()
        .filter(move |k| k.group == group && k.version == version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_unique_per_group_version() {
        for (i, a) in KINDS.iter().enumerate() {
            for b in &KINDS[i + 1..] {
                assert!(
                    !(a.group == b.group && a.version == b.version && a.resource == b.resource),
                    "{a:?} twice"
                );
            }
        }
    }

    #[test]
    fn capsule_group_prefers_v1beta2() {
        let groups = groups();
        let capsule = groups.iter().find(|(g, _)| *g == "capsule.clastix.io").unwrap();
        assert_eq!(capsule.1, vec!["v1beta2", "v1beta1"]);
        assert_eq!(
            by_api_version_kind("capsule.clastix.io/v1beta2", "Tenant")
                .unwrap()
                .resource,
            "tenants"
        );
        assert_eq!(
            by_api_version_kind("v1", "Namespace").unwrap().resource,
            "namespaces"
        );
        assert!(lookup("", "v1", "services").is_none());
    }
}
