//! Tenants list and get (§3.3).

use std::collections::BTreeSet;

use super::{
    DecideInput, Decision, METADATA_NAME_LABEL, any_matches, in_selector, real_tenant_names,
    respond_not_found, rule_selectors,
};
use crate::cluster_rules::ClusterOp;
use crate::object_name::is_dns1123_subdomain;

const GROUP: &str = "capsule.clastix.io";
const VERSION: &str = "v1beta2";
const RESOURCE: &str = "tenants";

/// The tenants list: the caller's real tenants and, with the cluster-scoped gate, the tenants whose labels
/// match one of the caller's `clusterResources` rules for tenants with op `List` →
/// `kubernetes.io/metadata.name in (names)`; none → nothing. The synthetic `global` entry is no tenant (Go
/// listed a name `global`, which would show a real Tenant of that name).
pub(super) fn list(input: &DecideInput<'_>) -> Decision {
    let mut names: BTreeSet<&str> = real_tenant_names(input.tenants).into_iter().collect();
    if input.gates.cluster_scoped {
        let rules = rule_selectors(input.tenants, GROUP, VERSION, RESOURCE, ClusterOp::List);
        if !rules.is_empty() {
            names.extend(
                input
                    .snapshot
                    .tenants()
                    .filter(|t| any_matches(&rules, t.labels()))
                    .map(|t| t.name()),
            );
        }
    }
    Decision::Filter(in_selector(METADATA_NAME_LABEL, names))
}

/// The tenant get: one of the caller's real tenants, or (gate on) a tenant whose labels match a rule with op
/// `Get` → forwarded as the proxy; else 404 `tenants.capsule.clastix.io "<name>" not found` (at once for a name
/// that is no DNS-1123 subdomain, which no custom resource can have).
pub(super) fn get(input: &DecideInput<'_>, name: &str) -> Decision {
    if !is_dns1123_subdomain(name) {
        return respond_not_found(RESOURCE, GROUP, name);
    }
    let owned = input
        .tenants
        .iter()
        .any(|t| t.tenant().is_some_and(|v| v.name() == name));
    let selected = input.gates.cluster_scoped
        && input.snapshot.tenant(name).is_some_and(|tenant| {
            any_matches(
                &rule_selectors(input.tenants, GROUP, VERSION, RESOURCE, ClusterOp::Get),
                tenant.labels(),
            )
        });
    if owned || selected {
        Decision::AsProxy
    } else {
        respond_not_found(RESOURCE, GROUP, name)
    }
}
