//! The legacy routes (`ProxyClusterScoped` off, §3.4–§3.8): nodes, node metrics, storage / ingress / priority /
//! runtime classes and persistent volumes, decided from the tenants' specs, their owners' `proxySettings`
//! operations and the snapshot's objects of the route's kind.
//!
//! Two fixes apply to every one of them:
//! - a method other than GET on the collection passes through as the caller (Go forwarded it as the proxy);
//! - a named object is decided from the snapshot (its name and labels): a GET of a visible object is forwarded
//!   as the proxy, of any other a 404; PUT, PATCH and DELETE are forwarded as the proxy only when the object is
//!   visible to a tenant whose operations allow that method for the kind (for nodes too: Go stopped checking
//!   them), else they pass through as the caller. A GET of a name the kind cannot have is a 404 at once.

use super::{DecideInput, Decision, classes, in_selector, nodes, respond_not_found};
use crate::cluster_objects::ClusterObjectRecord;
use crate::model::LegacyKind;
use crate::object_name::NameRule;
use crate::route::LegacyRoute;
use crate::selector::Selector;
use crate::snapshot::TENANT_LABEL;

/// The decision for a legacy route; `version` is the path's version segment, `name` the object (`None` on the
/// collection).
pub(super) fn decide(
    input: &DecideInput<'_>,
    route: LegacyRoute,
    version: &str,
    name: Option<&str>,
) -> Decision {
    if route == LegacyRoute::IngressClasses && !matches!(version, "v1" | "v1beta1") {
        return Decision::Respond {
            code: 400,
            message: format!("ingressClass {version} is not supported"),
        };
    }
    match name {
        None if input.method == "GET" => list(input, route),
        None => Decision::PassThrough,
        Some(name) => named(input, route, name),
    }
}

fn list(input: &DecideInput<'_>, route: LegacyRoute) -> Decision {
    match route {
        LegacyRoute::Nodes | LegacyRoute::NodeMetrics => nodes::list(input),
        LegacyRoute::StorageClasses
        | LegacyRoute::IngressClasses
        | LegacyRoute::PriorityClasses
        | LegacyRoute::RuntimeClasses => classes::list(input, route.kind()),
        LegacyRoute::PersistentVolumes => persistent_volumes_list(input),
    }
}

/// A named object. A GET of a name no object of the kind can have (every legacy kind's names are DNS-1123
/// subdomains) is a 404 at once; other methods on it pass through as the caller.
fn named(input: &DecideInput<'_>, route: LegacyRoute, name: &str) -> Decision {
    let method = input.method;
    if !NameRule::of(route.group(), route.resource()).admits(name) {
        return match method {
            "GET" => respond_not_found(route.resource(), route.group(), name),
            _ => Decision::PassThrough,
        };
    }
    let visible = || {
        // Node metrics are named after their nodes and carry their labels.
        let objects = input.snapshot.cluster_objects();
        objects
            .get(route.kind(), name)
            .is_some_and(|object| is_visible(input, route, method, object))
    };
    match method {
        "GET" if visible() => Decision::AsProxy,
        "GET" => respond_not_found(route.resource(), route.group(), name),
        "PUT" | "PATCH" | "DELETE" if visible() => Decision::AsProxy,
        _ => Decision::PassThrough,
    }
}

/// Whether `object` is visible, for `method`, to the caller's tenants.
fn is_visible(
    input: &DecideInput<'_>,
    route: LegacyRoute,
    method: &str,
    object: &ClusterObjectRecord,
) -> bool {
    match route {
        LegacyRoute::Nodes | LegacyRoute::NodeMetrics => nodes::is_visible(input, method, object),
        LegacyRoute::StorageClasses
        | LegacyRoute::IngressClasses
        | LegacyRoute::PriorityClasses
        | LegacyRoute::RuntimeClasses => classes::is_visible(input, route.kind(), method, object),
        LegacyRoute::PersistentVolumes => object
            .labels
            .get(TENANT_LABEL)
            .is_some_and(|tenant| persistent_volume_tenants(input, method).contains(&tenant.as_str())),
    }
}

/// The real tenants whose operations on persistent volumes allow `method`, sorted and deduplicated.
fn persistent_volume_tenants<'a>(input: &DecideInput<'a>, method: &str) -> Vec<&'a str> {
    let mut names: Vec<&'a str> = input
        .tenants
        .legacy_allowed(LegacyKind::PersistentVolumes, method)
        .filter_map(|t| t.tenant().map(|v| v.name()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The persistent volumes list: `capsule.clastix.io/tenant in (tenants allowing it)`; none → nothing (Go
/// panics and answers 500).
fn persistent_volumes_list(input: &DecideInput<'_>) -> Decision {
    let tenants = persistent_volume_tenants(input, "GET");
    if tenants.is_empty() {
        return Decision::Filter(Selector::nothing());
    }
    Decision::Filter(in_selector(TENANT_LABEL, tenants))
}
