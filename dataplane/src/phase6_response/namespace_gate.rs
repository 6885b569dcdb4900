//! The namespace gate (behaviour reference §3.13): a `403` to a GET of a named object in a namespace that does
//! not exist becomes a `404`, so create-if-missing clients (Helm) see "not found" instead of "forbidden".
//!
//! The namespace watch answers first; only when it does not know the namespace is the API server asked, as the
//! Go proxy always does. An answer that cannot prove the namespace absent keeps the `403`.

use std::time::Instant;

use capsule_proxy_policy::cluster_objects::ObjectKind;
use capsule_proxy_policy::decide::not_found;
use capsule_proxy_policy::discovery::ApiResources;
use capsule_proxy_policy::review::ObjectLookup;
use capsule_proxy_policy::route::{Gates, Route, classify};

use crate::context::RequestContext;
use crate::phase3_authenticate::wait_for;

/// The namespace of the named namespaced object `path` points at (the router's shape for the gate), and the
/// 404 message kube-apiserver would give for that object.
pub fn gated_object(path: &str) -> Option<(&str, String)> {
    match classify("GET", path, "", &ApiResources::default(), Gates::default()) {
        Route::NamespacedObjectGet { gvr, namespace, name } => {
            Some((namespace, not_found(gvr.resource, gvr.group, name).1))
        }
        _ => None,
    }
}

/// The 404 message for a 403 to `path`, when its namespace does not exist.
pub async fn masked(cx: &RequestContext<'_>, path: &str) -> Option<String> {
    let (namespace, message) = gated_object(path)?;
    let snapshot = cx.snapshot()?;
    if !snapshot.cluster_objects().is_listed(ObjectKind::Namespaces)
        || snapshot.namespace(namespace).is_some()
    {
        return None;
    }
    let reviewer = cx.reviewer()?;
    let deadline = Instant::now() + cx.settings.filter.review_timeout;
    let lookup = reviewer.object_labels(&format!("/api/v1/namespaces/{namespace}"));
    match wait_for(lookup, deadline).await {
        Ok(ObjectLookup::NotFound) => Some(message),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_go_gate() {
        let core = gated_object("/api/v1/namespaces/ns/configmaps/cm").unwrap();
        assert_eq!(core, ("ns", "configmaps \"cm\" not found".to_string()));
        let apps = gated_object("/apis/apps/v1/namespaces/ns/deployments/web").unwrap();
        assert_eq!(apps.1, "deployments.apps \"web\" not found");
        for path in [
            "/api/v1/namespaces/ns/configmaps",
            "/api/v1/namespaces/ns/pods/p/log",
            "/api/v1/namespaces//configmaps/cm",
            "/apis/apps/v1/deployments/x/y/z",
        ] {
            assert_eq!(gated_object(path), None, "{path}");
        }
    }
}
