//! What `kubectl auth can-i` should hear through the proxy: the API server's answers to SelfSubjectAccessReview
//! and SelfSubjectRulesReview, amended with what the proxy itself grants (listing one's namespaces, `-A` lists of
//! namespaced resources for tenant owners, cluster-scoped resources opened by `clusterResources` rules).
//!
//! Both rewrites work on the API server's JSON response and keep every field they do not change. A body that is
//! not the expected review (a `Status` error, say) is refused with a [`SelfReviewError`]; the caller then
//! forwards the API server's answer as it is.

mod access_review;
mod rules_review;
#[cfg(test)]
mod tests;

pub use access_review::{GRANTED_REASON, rewrite_access_review};
pub use rules_review::rewrite_rules_review;

use serde_json::{Map, Value};

use crate::discovery::ApiResources;
use crate::model::ClusterResourceRule;

/// What the rewrites know about the caller and the cluster.
#[derive(Debug, Clone, Copy)]
pub struct ReviewContext<'a> {
    /// Whether the caller owns at least one tenant (a ProxyTenant).
    pub has_tenants: bool,
    /// Whether the `ProxyClusterScoped` feature gate is on.
    pub cluster_scoped_gate: bool,
    /// The caller's `clusterResources` rules, from all its tenants.
    pub rules: &'a [&'a ClusterResourceRule],
    /// The preferred versions' resources, from discovery.
    pub resources: &'a ApiResources,
}

/// Why a review response was left as the API server sent it.
#[derive(Debug, thiserror::Error)]
pub enum SelfReviewError {
    /// The body is not JSON.
    #[error("the review response is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("the review response is not a JSON object")]
    NotAnObject,
    /// The body is another kind of object (a `Status` error, for instance).
    #[error("the review response is a {found}, not a {expected}")]
    UnexpectedKind {
        /// The kind the rewrite handles.
        expected: &'static str,
        /// The kind the body carries.
        found: String,
    },
}

/// The top-level object of `body`, checked to be of `kind` (a body without `kind` is taken as one).
fn parse_review(body: &[u8], kind: &'static str) -> Result<Map<String, Value>, SelfReviewError> {
    let Value::Object(review) = serde_json::from_slice(body)? else {
        return Err(SelfReviewError::NotAnObject);
    };
    match review.get("kind") {
        None => Ok(review),
        Some(Value::String(found)) if found == kind => Ok(review),
        Some(found) => Err(SelfReviewError::UnexpectedKind {
            expected: kind,
            found: match found {
                Value::String(name) => name.clone(),
                other => other.to_string(),
            },
        }),
    }
}

/// Takes the object under `key` out of `object` (an empty one when it is absent or not an object); the caller
/// puts it back once amended.
fn take_object(object: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match object.remove(key) {
        Some(Value::Object(inner)) => inner,
        _ => Map::new(),
    }
}
