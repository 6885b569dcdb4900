//! One namespace's request of a fan-out: its path and query, and the SubjectAccessReview asked first.

use crate::object_name::is_dns1123_label;
use crate::review::AccessQuestion;
use crate::route::Gvr;
use crate::selector::{QueryError, push_query_pair, query_without};

/// The resource an all-namespaces request is about, owned (it outlives the request head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOutResource {
    /// API group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural resource name.
    pub resource: String,
    /// Its `kind` (from discovery), for the merged list's `<Kind>List`.
    pub kind: String,
}

impl FanOutResource {
    /// The resource of `gvr` with `kind`.
    pub fn new(gvr: Gvr<'_>, kind: &str) -> Self {
        Self {
            group: gvr.group.to_owned(),
            version: gvr.version.to_owned(),
            resource: gvr.resource.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// `v1` or `<group>/<version>`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `resource` or `resource.group`, as kube-apiserver names it in messages (and continue tokens bind it).
    pub fn qualified_name(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

/// Why a namespace's request target cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The caller's query cannot be read.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Not a namespace name (never written into a request line).
    #[error("{0:?} is not a namespace name")]
    Namespace(String),
    /// The caller's query holds a byte a request line cannot carry (its head parser refuses them; checked
    /// again here because the request line is the proxy's to write).
    #[error("the query holds a byte a request target cannot carry")]
    Unwritable,
}

/// The parameters the fan-out sets itself on each namespace's request.
const OWN_PARAMETERS: [&str; 2] = ["limit", "continue"];
/// The parameters kube-apiserver refuses beside `continue`.
const VERSION_PARAMETERS: [&str; 2] = ["resourceVersion", "resourceVersionMatch"];

/// Writes into `out` (cleared first) the request target of `namespace`'s part of an all-namespaces request:
/// `/api/v1/namespaces/<ns>/<resource>` (or `/apis/<group>/<version>/…`) with the caller's query minus `limit`
/// and `continue`, then `limit` when given and the namespace's own `continue` token when resuming (which
/// kube-apiserver refuses beside `resourceVersion` and `resourceVersionMatch`, dropped then).
///
/// Namespace names come from the snapshot, never from the caller's text; one that is not a DNS label (which
/// would need escaping) is refused rather than written into a request line.
pub fn namespace_target(
    resource: &FanOutResource,
    namespace: &str,
    caller_query: &str,
    limit: Option<usize>,
    upstream_continue: Option<&str>,
    out: &mut String,
) -> Result<(), TargetError> {
    if !is_dns1123_label(namespace) {
        return Err(TargetError::Namespace(namespace.to_owned()));
    }
    if !caller_query.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(TargetError::Unwritable);
    }
    let mut query = String::new();
    if upstream_continue.is_some() {
        let drop: Vec<&str> = OWN_PARAMETERS
            .iter()
            .chain(&VERSION_PARAMETERS)
            .copied()
            .collect();
        query_without(caller_query, &drop, &mut query)?;
    } else {
        query_without(caller_query, &OWN_PARAMETERS, &mut query)?;
    }
    if let Some(limit) = limit {
        push_query_pair(&mut query, "limit", &limit.to_string());
    }
    if let Some(token) = upstream_continue {
        push_query_pair(&mut query, "continue", token);
    }
    out.clear();
    if resource.group.is_empty() {
        out.push_str("/api/");
    } else {
        out.push_str("/apis/");
        out.push_str(&resource.group);
        out.push('/');
    }
    out.push_str(&resource.version);
    out.push_str("/namespaces/");
    out.push_str(namespace);
    out.push('/');
    out.push_str(&resource.resource);
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    Ok(())
}

/// May `user` (with `groups`) `list` (or `watch`) `resource` in `namespace`? The question asked before the
/// namespace is fanned out to.
pub fn access_question(
    user: &str,
    groups: &[String],
    resource: &FanOutResource,
    namespace: &str,
    watch: bool,
) -> AccessQuestion {
    AccessQuestion {
        user: user.to_owned(),
        groups: groups.to_vec(),
        verb: if watch { "watch" } else { "list" }.to_owned(),
        group: resource.group.clone(),
        version: resource.version.clone(),
        resource: resource.resource.clone(),
        subresource: String::new(),
        namespace: namespace.to_owned(),
        name: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods() -> FanOutResource {
        FanOutResource::new(
            Gvr {
                group: "",
                version: "v1",
                resource: "pods",
            },
            "Pod",
        )
    }

    #[test]
    fn targets_carry_the_callers_query_with_the_fan_outs_paging() {
        let mut out = String::new();
        namespace_target(
            &pods(),
            "oil-dev",
            "labelSelector=app%3Dweb&limit=1&continue=ours",
            Some(2),
            None,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            "/api/v1/namespaces/oil-dev/pods?labelSelector=app%3Dweb&limit=2"
        );
        namespace_target(
            &pods(),
            "oil-dev",
            "resourceVersion=5&watch=1",
            None,
            None,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, "/api/v1/namespaces/oil-dev/pods?resourceVersion=5&watch=1");
        namespace_target(
            &pods(),
            "oil-dev",
            "resourceVersion=5&resourceVersionMatch=NotOlderThan",
            Some(1),
            Some("a+b="),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, "/api/v1/namespaces/oil-dev/pods?limit=1&continue=a%2Bb%3D");
        let deployments = FanOutResource::new(
            Gvr {
                group: "apps",
                version: "v1",
                resource: "deployments",
            },
            "Deployment",
        );
        namespace_target(&deployments, "gas", "", None, None, &mut out).unwrap();
        assert_eq!(out, "/apis/apps/v1/namespaces/gas/deployments");
        assert_eq!(deployments.api_version(), "apps/v1");
        assert_eq!(deployments.qualified_name(), "deployments.apps");
        assert!(namespace_target(&pods(), "a", "x=%zz", None, None, &mut out).is_err());
        assert_eq!(
            namespace_target(&pods(), "a b/c", "", None, None, &mut out),
            Err(TargetError::Namespace("a b/c".into()))
        );
        assert_eq!(
            namespace_target(&pods(), "a", "x=1\r\nHost: evil", None, None, &mut out),
            Err(TargetError::Unwritable)
        );
    }

    #[test]
    fn watches_ask_for_watch() {
        let question = access_question("alice", &["g".to_owned()], &pods(), "oil-dev", true);
        assert_eq!(
            (question.verb.as_str(), question.namespace.as_str()),
            ("watch", "oil-dev")
        );
        assert_eq!(access_question("alice", &[], &pods(), "x", false).verb, "list");
    }
}
