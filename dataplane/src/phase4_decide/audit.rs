//! The audit line of a filtered request: who, which tenants, which route, and what was decided (selectors in
//! full; never the request's credentials).

use capsule_proxy_policy::decide::Decision;
use capsule_proxy_policy::route::Route;
use capsule_proxy_policy::snapshot::ProxyTenants;

use crate::context::Identity;

/// Logs one filtered request under the `capsule_proxy::audit` target.
pub(super) fn audit_filtered(
    identity: &Identity,
    tenants: &ProxyTenants<'_>,
    method: &str,
    path: &str,
    route: &Route<'_>,
    decision: &Decision,
) {
    tracing::info!(
        target: "capsule_proxy::audit",
        user = %identity.user,
        groups = ?identity.groups,
        impersonated = identity.impersonated,
        tenants = ?tenants.tenant_names(),
        method,
        path,
        route = ?route,
        decision = %DecisionSummary(decision),
        "filtered request"
    );
}

/// A decision in a few words.
struct DecisionSummary<'d>(&'d Decision);

impl std::fmt::Display for DecisionSummary<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Decision::PassThrough => f.write_str("pass-through"),
            Decision::AsProxy => f.write_str("as-proxy"),
            Decision::Filter(selector) => write!(f, "filter {selector}"),
            Decision::Respond { code, .. } => write!(f, "respond {code}"),
            Decision::AccessReviews(_) => f.write_str("access-reviews"),
            Decision::FanOut { namespaces } => write!(f, "fan-out to {} namespaces", namespaces.len()),
            Decision::ObjectCheck { .. } => f.write_str("object-check"),
        }
    }
}
