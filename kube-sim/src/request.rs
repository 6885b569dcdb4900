//! What a request is about, read from method, path and query the way kube-apiserver's `RequestInfoFactory` does:
//! a resource request (group, version, resource, namespace, name, subresource, verb) or a non-resource path.

use http::Method;

use crate::catalog::ServedKinds;
use crate::kinds::Kind;
use crate::status::ApiError;

/// A request for an API resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRequest {
    /// The served kind.
    pub kind: &'static Kind,
    /// Namespace from the path (`None` for cluster-scoped kinds and cluster-wide lists).
    pub namespace: Option<String>,
    /// Object name, for named requests.
    pub name: Option<String>,
    /// Subresource (`status`, `log`, `exec`).
    pub subresource: Option<String>,
    /// Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: &'static str,
}

/// What a request targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An API resource.
    Resource(ResourceRequest),
    /// Anything else (`/version`, `/api`, `/openapi/v3`, `/healthz`): authorized by path.
    NonResource {
        /// Lower-case HTTP verb as RBAC names it (`get`, `post`, …).
        verb: &'static str,
    },
}

/// Whether the query asks for a watch (`watch=true` or `watch=1`).
pub fn is_watch(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "watch" && (v == "true" || v == "1"))
}

/// Classifies a request against the kinds `served` now. Unknown API paths are 404s; non-API paths are
/// non-resource requests.
pub fn classify(method: &Method, path: &str, query: &str, served: &ServedKinds) -> Result<Target, ApiError> {
    let trimmed = path.trim_matches('/');
    let segments: Vec<&str> = trimmed.split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
        ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
        _ => {
            return Ok(Target::NonResource {
                verb: non_resource_verb(method),
            });
        }
    };
    let mut watch = is_watch(query);
    let mut rest: &[&str] = rest;
    if rest.first() == Some(&"watch") {
        watch = true;
        rest = &rest[1..];
    }
    if rest.iter().any(|s| s.is_empty()) {
        return Err(ApiError::path_not_found());
    }
    // namespaces/<ns>/<resource>/... unless the third segment is a subresource of the namespace itself.
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() >= 3 && !["status", "finalize"].contains(&rest[2]) {
        namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    let (resource, name, subresource) = match rest {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(name.to_string()), None),
        [resource, name, sub] => (*resource, Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(ApiError::path_not_found()),
    };
    let kind = served
        .lookup(group, version, resource)
        .ok_or_else(ApiError::path_not_found)?;
    if kind.namespaced != namespace.is_some() && !(kind.namespaced && name.is_none()) {
        // A namespaced kind under no namespace is only valid as a cluster-wide list/watch; a cluster-scoped
        // kind never sits under a namespace.
        return Err(ApiError::path_not_found());
    }
    if let Some(sub) = &subresource
        && !kind.has_subresource(sub)
    {
        return Err(ApiError::path_not_found());
    }
    let verb = match (method.as_str(), name.is_some()) {
        ("GET" | "HEAD", true) if watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) if watch => "watch",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => {
            return Err(ApiError::method_not_supported(
                kind.group,
                kind.resource,
                method.as_str(),
            ));
        }
    };
    Ok(Target::Resource(ResourceRequest {
        kind,
        namespace,
        name,
        subresource,
        verb,
    }))
}

fn non_resource_verb(method: &Method) -> &'static str {
    match method.as_str() {
        "POST" => "post",
        "PUT" => "put",
        "PATCH" => "patch",
        "DELETE" => "delete",
        "HEAD" => "head",
        _ => "get",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(method: Method, path: &str, query: &str) -> ResourceRequest {
        match classify(&method, path, query, &ServedKinds::builtin()).unwrap() {
            Target::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn classifies_core_and_group_paths() {
        let r = resource(Method::GET, "/api/v1/namespaces", "");
        assert_eq!(
            (r.kind.resource, r.verb, r.namespace, r.name),
            ("namespaces", "list", None, None)
        );
        let r = resource(Method::GET, "/api/v1/namespaces/oil-dev", "");
        assert_eq!(
            (r.kind.resource, r.verb, r.name.as_deref()),
            ("namespaces", "get", Some("oil-dev"))
        );
        let r = resource(Method::PUT, "/api/v1/namespaces/oil-dev/status", "");
        assert_eq!(
            (r.kind.resource, r.verb, r.subresource.as_deref()),
            ("namespaces", "update", Some("status"))
        );
        let r = resource(Method::GET, "/api/v1/namespaces/oil-dev/pods", "watch=true");
        assert_eq!(
            (r.kind.resource, r.verb, r.namespace.as_deref()),
            ("pods", "watch", Some("oil-dev"))
        );
        let r = resource(Method::GET, "/api/v1/pods", "");
        assert_eq!((r.verb, r.namespace), ("list", None));
        let r = resource(Method::GET, "/api/v1/namespaces/a/pods/p/log", "follow=true");
        assert_eq!((r.verb, r.subresource.as_deref()), ("get", Some("log")));
        let r = resource(Method::GET, "/apis/capsule.clastix.io/v1beta2/tenants/oil", "");
        assert_eq!((r.kind.kind, r.verb), ("Tenant", "get"));
        let r = resource(
            Method::DELETE,
            "/apis/capsule.clastix.io/v1beta1/namespaces/a/proxysettings",
            "",
        );
        assert_eq!(r.verb, "deletecollection");
        let r = resource(Method::GET, "/api/v1/watch/namespaces", "");
        assert_eq!(r.verb, "watch");
    }

    #[test]
    fn rejects_unknown_and_misplaced_paths() {
        for path in [
            "/api/v1/services",
            "/api/v1/namespaces/a/nodes/x",
            "/api/v1/namespaces/a/pods/p/bogus",
            "/api/v1/namespaces/a/pods/p/log/extra",
            "/apis/capsule.clastix.io/v1beta1/tenants",
        ] {
            assert_eq!(
                classify(&Method::GET, path, "", &ServedKinds::builtin())
                    .unwrap_err()
                    .code,
                404,
                "{path}"
            );
        }
        assert_eq!(
            classify(&Method::PUT, "/api/v1/namespaces", "", &ServedKinds::builtin())
                .unwrap_err()
                .code,
            405
        );
    }

    #[test]
    fn non_api_paths_are_non_resource() {
        for path in [
            "/version",
            "/api",
            "/apis",
            "/api/v1",
            "/apis/capsule.clastix.io/v1beta2",
            "/openapi/v3",
        ] {
            assert_eq!(
                classify(&Method::GET, path, "", &ServedKinds::builtin()).unwrap(),
                Target::NonResource { verb: "get" },
                "{path}"
            );
        }
    }
}
