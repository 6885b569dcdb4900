//! Namespaces list (§3.1) and get (§3.2).

use std::collections::BTreeSet;

use super::{
    DecideInput, Decision, METADATA_NAME_LABEL, any_matches, in_selector, real_tenant_names,
    respond_not_found, rule_selectors,
};
use crate::cluster_objects::ObjectKind;
use crate::cluster_rules::ClusterOp;
use crate::object_name::is_dns1123_label;
use crate::selector::Selector;
use crate::snapshot::TENANT_LABEL;

/// The namespaces list: the caller's tenants' `status.namespaces` and, with the cluster-scoped gate, the
/// namespaces whose labels match one of the caller's `clusterResources` rules for namespaces with op `List`
/// (each rule's selector on its own, evaluated on the snapshot's namespaces; Go merged the rules' requirements
/// into one selector, §3.10).
///
/// The selector is `capsule.clastix.io/tenant in (tenants)` when every name comes from the tenants and that
/// label is exactly their namespaces ([`crate::Snapshot::tenant_label_exact`]): short, and namespaces created
/// later show up in a running watch. Else `kubernetes.io/metadata.name in (names)`; no name → nothing. With the
/// RoleBinding reflector, every namespace where the caller is a subject of a RoleBinding is in the list too
/// ([`crate::role_bindings`]).
pub(super) fn list(input: &DecideInput<'_>) -> Decision {
    let rules = if input.gates.cluster_scoped {
        rule_selectors(input.tenants, "", "v1", "namespaces", ClusterOp::List)
    } else {
        Vec::new()
    };
    let reflected = input.snapshot.reflected_namespaces(input.user, input.groups);
    if rules.is_empty() && reflected.is_empty() {
        // The cheap answer first: no namespace list to build when the tenant label says it all.
        let tenants = real_tenant_names(input.tenants);
        if !tenants.is_empty() && tenants.iter().all(|t| input.snapshot.tenant_label_exact(t)) {
            return Decision::Filter(in_selector(TENANT_LABEL, tenants));
        }
    }
    let from_tenants = input.tenants.namespaces();
    let mut extra: BTreeSet<&str> = reflected
        .into_iter()
        .filter(|ns| from_tenants.binary_search(ns).is_err())
        .collect();
    if !rules.is_empty() {
        let all = input.snapshot.cluster_objects().of_kind(ObjectKind::Namespaces);
        for ns in all.into_iter().flatten() {
            let own = from_tenants.binary_search(&ns.name.as_str()).is_ok();
            if !own && any_matches(&rules, &ns.labels) {
                extra.insert(&ns.name);
            }
        }
    }
    if from_tenants.is_empty() && extra.is_empty() {
        return Decision::Filter(Selector::nothing());
    }
    if extra.is_empty() {
        let tenants = real_tenant_names(input.tenants);
        if tenants.iter().all(|t| input.snapshot.tenant_label_exact(t)) {
            return Decision::Filter(in_selector(TENANT_LABEL, tenants));
        }
    }
    let mut names: BTreeSet<&str> = from_tenants.into_iter().collect();
    names.extend(extra);
    Decision::Filter(in_selector(METADATA_NAME_LABEL, names))
}

/// The namespace get: allowed when the namespace's first owner reference is a Tenant of the caller's, the
/// caller is a subject of a RoleBinding there (the reflector), or (gate on) its labels match a
/// `clusterResources` rule for namespaces with op `Get` → forwarded as the proxy; else
/// 404 `namespaces "<name>" not found` (Go's message reads `namespaces.`).
///
/// A name that is no DNS-1123 label cannot be a namespace: 404 at once, nothing is asked. A namespace the
/// snapshot has not seen is read live ([`Decision::ObjectCheck`] without selectors): missing → 404, as Go
/// answers; present (created an instant ago) → passed through as the caller, whose own RBAC decides — no
/// create-then-get race, and an unknown namespace is never answered by the proxy's identity.
pub(super) fn get(input: &DecideInput<'_>, name: &str) -> Decision {
    if !is_dns1123_label(name) {
        return respond_not_found("namespaces", "", name);
    }
    let Some(namespace) = input.snapshot.namespace(name) else {
        return Decision::ObjectCheck {
            selectors: Vec::new(),
        };
    };
    // Unlike Go, a namespace a rule selects is visible even when no Tenant owns it: what the list shows, a get
    // returns.
    let owned = namespace.owner.as_ref().is_some_and(|owner| {
        owner.kind == "Tenant"
            && input
                .tenants
                .iter()
                .any(|t| t.tenant().is_some_and(|v| v.name() == owner.name))
    });
    let selected = input.gates.cluster_scoped
        && any_matches(
            &rule_selectors(input.tenants, "", "v1", "namespaces", ClusterOp::Get),
            &namespace.labels,
        );
    let reflected = || {
        input
            .snapshot
            .reflected_namespaces(input.user, input.groups)
            .contains(name)
    };
    if owned || selected || reflected() {
        Decision::AsProxy
    } else {
        respond_not_found("namespaces", "", name)
    }
}
