//! The namespace gate (behaviour reference §3.13): a `403` to a GET of a named object in a namespace that does
//! not exist becomes a `404`, so create-if-missing clients (Helm) see "not found" instead of "forbidden".
//!
//! The namespace watch answers first; only when it does not know the namespace is the API server asked, as the
//! Go proxy always does. An answer that cannot prove the namespace absent keeps the `403`.

use std::time::Instant;

use capsule_proxy_policy::cluster_objects::ObjectKind;
use capsule_proxy_policy::review::ObjectLookup;

use crate::core::Core;
use crate::identity::wait_for;

/// The parts of `/api/v1/namespaces/<ns>/<res>/<name>` or `/apis/<g>/<v>/namespaces/<ns>/<res>/<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespacedObject<'a> {
    /// API group (`""` for core).
    pub group: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Resource (plural).
    pub resource: &'a str,
    /// Object name.
    pub name: &'a str,
}

/// The named namespaced object `path` points at, if it has exactly that shape.
pub fn namespaced_object(path: &str) -> Option<NamespacedObject<'_>> {
    let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    match parts.as_slice() {
        ["api", "v1", "namespaces", namespace, resource, name] => Some(NamespacedObject {
            group: "",
            namespace,
            resource,
            name,
        }),
        ["apis", group, _version, "namespaces", namespace, resource, name] => Some(NamespacedObject {
            group,
            namespace,
            resource,
            name,
        }),
        _ => None,
    }
}

/// The 404 message for a 403 to `path`, when its namespace does not exist.
pub async fn masked(core: &Core, path: &str) -> Option<String> {
    let object = namespaced_object(path)?;
    let snapshot = core.snapshot.borrow().clone()?;
    if !snapshot.cluster_objects().is_listed(ObjectKind::Namespaces)
        || snapshot.namespace(object.namespace).is_some()
    {
        return None;
    }
    let reviewer = core.reviewer.borrow().clone()?;
    let deadline = Instant::now() + core.settings.filter.review_timeout;
    let lookup = reviewer.object_labels(&format!("/api/v1/namespaces/{}", object.namespace));
    match wait_for(lookup, deadline).await {
        Ok(ObjectLookup::NotFound) => Some(not_found_message(&object)),
        _ => None,
    }
}

/// kube-apiserver's NotFound wording: `<resource>[.<group>] "<name>" not found`.
pub fn not_found_message(object: &NamespacedObject<'_>) -> String {
    if object.group.is_empty() {
        format!("{} \"{}\" not found", object.resource, object.name)
    } else {
        format!(
            "{}.{} \"{}\" not found",
            object.resource, object.group, object.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_go_gate() {
        let core = namespaced_object("/api/v1/namespaces/ns/configmaps/cm").unwrap();
        assert_eq!(
            (core.group, core.namespace, core.resource, core.name),
            ("", "ns", "configmaps", "cm")
        );
        assert_eq!(not_found_message(&core), "configmaps \"cm\" not found");
        let apps = namespaced_object("/apis/apps/v1/namespaces/ns/deployments/web").unwrap();
        assert_eq!(not_found_message(&apps), "deployments.apps \"web\" not found");
        for path in [
            "/api/v1/namespaces/ns/configmaps",
            "/api/v1/namespaces/ns/pods/p/log",
            "/api/v1/namespaces//configmaps/cm",
            "/apis/apps/v1/deployments/x/y/z",
        ] {
            assert_eq!(namespaced_object(path), None, "{path}");
        }
    }
}
