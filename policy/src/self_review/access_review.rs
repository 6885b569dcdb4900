//! SelfSubjectAccessReview: `kubectl auth can-i <verb> <resource>` through the proxy.

use serde_json::{Map, Value};

use super::{ReviewContext, SelfReviewError, parse_review, take_object};
use crate::cluster_rules::{ClusterOp, rules_for};
use crate::discovery::ApiResources;

/// The `kind` this rewrite handles.
const KIND: &str = "SelfSubjectAccessReview";

/// The `status.reason` of a review the proxy grants.
pub const GRANTED_REASON: &str = "granted by capsule-proxy";

/// The API server's SelfSubjectAccessReview response `body`, granted (`allowed: true`, `denied: false`,
/// `reason: "granted by capsule-proxy"`) when the proxy serves the request it asks about:
///
/// - `list` of `namespaces`, always (every caller may list the namespaces it owns);
/// - for a tenant owner, a cluster-wide (`namespace` empty) `list` or `watch` of a namespaced resource that
///   supports `get`, `list` and `watch` (the `-A` lists, scoped to the tenants' namespaces);
/// - with the `ProxyClusterScoped` gate, a `list` or `get` that one of the caller's `clusterResources` rules
///   opens for that operation.
///
/// Verbs compare case-insensitively, as in Go. Anything else, non-resource reviews included, comes back byte for
/// byte as the API server sent it.
pub fn rewrite_access_review(body: &[u8], ctx: &ReviewContext<'_>) -> Result<Vec<u8>, SelfReviewError> {
    let mut review = parse_review(body, KIND)?;
    let granted = review
        .get("spec")
        .and_then(|spec| spec.get("resourceAttributes"))
        .and_then(Value::as_object)
        .is_some_and(|attributes| proxy_grants(&ResourceAttributes::from_json(attributes), ctx));
    if !granted {
        return Ok(body.to_vec());
    }
    let mut status = take_object(&mut review, "status");
    status.insert("allowed".into(), Value::Bool(true));
    status.insert("denied".into(), Value::Bool(false));
    status.insert("reason".into(), Value::String(GRANTED_REASON.into()));
    review.insert("status".into(), Value::Object(status));
    Ok(serde_json::to_vec(&review)?)
}

/// The `spec.resourceAttributes` fields the decision reads; absent fields are empty.
struct ResourceAttributes<'j> {
    namespace: &'j str,
    verb: &'j str,
    group: &'j str,
    version: &'j str,
    resource: &'j str,
}

impl<'j> ResourceAttributes<'j> {
    fn from_json(attributes: &'j Map<String, Value>) -> Self {
        let field = |key: &str| attributes.get(key).and_then(Value::as_str).unwrap_or("");
        Self {
            namespace: field("namespace"),
            verb: field("verb"),
            group: field("group"),
            version: field("version"),
            resource: field("resource"),
        }
    }
}

/// Whether the proxy serves what `attributes` ask about to this caller.
fn proxy_grants(attributes: &ResourceAttributes<'_>, ctx: &ReviewContext<'_>) -> bool {
    let verb = attributes.verb;
    if attributes.resource == "namespaces" && verb.eq_ignore_ascii_case("list") {
        return true;
    }
    let cross_namespace_list = verb.eq_ignore_ascii_case("list") || verb.eq_ignore_ascii_case("watch");
    if ctx.has_tenants
        && attributes.namespace.is_empty()
        && cross_namespace_list
        && is_listable_namespaced(ctx.resources, attributes.group, attributes.resource)
    {
        return true;
    }
    ctx.cluster_scoped_gate
        && ClusterOp::from_verb(verb).is_some_and(|op| {
            rules_for(
                ctx.rules.iter().copied(),
                attributes.group,
                attributes.version,
                attributes.resource,
                op,
            )
            .next()
            .is_some()
        })
}

/// Whether `group`/`resource` is a namespaced resource of a preferred version supporting `get`, `list` and
/// `watch` (the resources the `-A` catch-all serves).
fn is_listable_namespaced(resources: &ApiResources, group: &str, resource: &str) -> bool {
    resources.iter().any(|r| {
        r.namespaced
            && r.group == group
            && r.resource == resource
            && ["get", "list", "watch"].iter().all(|verb| r.supports(verb))
    })
}
