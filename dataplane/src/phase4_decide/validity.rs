//! Who the proxy filters, the decision for a filtered caller, and whether a filtered watch still holds under
//! a new snapshot (asked by the core when a snapshot arrives).

use capsule_proxy_policy::decide::{DecideInput, Decision, decide};
use capsule_proxy_policy::route::{Gates, Route, classify};
use capsule_proxy_policy::snapshot::{ProxyTenants, Snapshot};

use crate::config::FilterConfig;
use crate::context::{Identity, WatchEntry};

/// The caller's tenants, or `None` when the caller is not filtered (ignored, or not a Capsule user: §2.6).
pub fn filtered_tenants<'s>(
    snapshot: &'s Snapshot,
    identity: &Identity,
    filter: &FilterConfig,
) -> Option<ProxyTenants<'s>> {
    let ignored = filter.ignored_usernames.contains(&identity.user)
        || identity
            .groups
            .iter()
            .any(|g| filter.ignored_user_groups.iter().any(|i| i == g));
    if ignored || !snapshot.is_capsule_user(&identity.user, &identity.groups) {
        return None;
    }
    Some(snapshot.proxy_tenants(&identity.user, &identity.groups, filter.cluster_scoped))
}

/// The decision for a Capsule route, for a filtered caller with `tenants`, under `gates`.
pub fn decide_with(
    snapshot: &Snapshot,
    tenants: &ProxyTenants<'_>,
    route: &Route<'_>,
    method: &str,
    identity: &Identity,
    gates: Gates,
) -> Decision {
    let input = DecideInput {
        snapshot,
        tenants,
        method,
        user: &identity.user,
        groups: &identity.groups,
        gates,
    };
    decide(route, &input)
}

/// Whether a filtered watch started with `entry` would still get the same selector from `snapshot`.
pub fn watch_still_valid(snapshot: &Snapshot, entry: &WatchEntry, filter: &FilterConfig) -> bool {
    let route = classify(
        "GET",
        &entry.path,
        &entry.query,
        snapshot.api_resources(),
        filter.gates(),
    );
    let Some(tenants) = filtered_tenants(snapshot, &entry.identity, filter) else {
        return false;
    };
    match decide_with(snapshot, &tenants, &route, "GET", &entry.identity, entry.gates) {
        Decision::Filter(selector) => selector.to_string() == entry.selector,
        // The catch-all's answer needs reviews: it is not re-decided here.
        Decision::AccessReviews(_) => true,
        // A fan-out watch holds while the caller's namespaces are the same.
        Decision::FanOut { namespaces } => fan_out_key(&namespaces) == entry.selector,
        _ => false,
    }
}

/// The text a fan-out watch is registered with: the namespaces it was decided for.
pub(super) fn fan_out_key(namespaces: &[String]) -> String {
    format!("fan-out {}", namespaces.join(","))
}
