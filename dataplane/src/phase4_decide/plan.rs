//! What the forwarding does with a response besides relaying it: the few responses the proxy changes.

use std::sync::Arc;

use capsule_proxy_policy::model::ClusterResourceRule;
use capsule_proxy_policy::snapshot::Snapshot;

use crate::context::StreamTicket;

/// How the response to a forwarded request is handled.
#[derive(Debug, Default)]
pub enum ResponsePlan {
    /// Relayed as it comes.
    #[default]
    Relay,
    /// A GET of a named namespaced object: a 403 becomes a 404 when the namespace does not exist (the path is in
    /// [`crate::client::ClientConn`]'s gate path).
    NamespaceGate,
    /// A SelfSubjectAccessReview or SelfSubjectRulesReview: read whole, rewritten, answered as JSON.
    SelfReview(SelfReviewPlan),
    /// A filtered watch: ends when the caller's ownership changes.
    Watch(StreamTicket),
}

/// What rewriting a self review needs to know of the caller.
#[derive(Debug)]
pub struct SelfReviewPlan {
    /// A rules review (SSRR) rather than an access review (SSAR).
    pub rules_review: bool,
    /// The caller has at least one tenant.
    pub has_tenants: bool,
    /// The caller's `clusterResources` rules.
    pub rules: Vec<ClusterResourceRule>,
    /// The snapshot the decision was made with (for discovery).
    pub snapshot: Arc<Snapshot>,
    /// The `ProxyClusterScoped` gate.
    pub cluster_scoped_gate: bool,
}
