//! The namespaced catch-all (`kubectl get <resource> -A`, §3.11).
//!
//! With `ProxyAllNamespaced` (on by default) the caller's namespaces are fanned out to, as the caller: the API
//! server's RBAC stays the authority, per namespace. Without it, as Go does: per tenant of the caller, may the
//! caller list the resource in the tenant's first namespace? Objects labelled `capsule.clastix.io/managed-by`
//! with an allowed tenant are shown.

use std::collections::BTreeSet;

use super::{DecideInput, Decision, TenantQuestion, in_selector, real_tenants};
use crate::review::AccessQuestion;
use crate::route::Gvr;
use crate::selector::Selector;

/// The label the Go catch-all selects on.
const MANAGED_BY_LABEL: &str = "capsule.clastix.io/managed-by";

/// The catch-all's decision: a fan-out over the caller's namespaces with the gate, Go's questions without.
pub(super) fn decide(input: &DecideInput<'_>, gvr: Gvr<'_>) -> Decision {
    if input.gates.all_namespaced {
        fan_out(input)
    } else {
        managed_by_questions(input, gvr)
    }
}

/// Every namespace of the caller's real tenants and, with the reflector, of its RoleBindings: sorted, each
/// once. Which of them the caller may list is the API server's to say, per namespace.
fn fan_out(input: &DecideInput<'_>) -> Decision {
    let mut namespaces: BTreeSet<&str> = real_tenants(input.tenants)
        .flat_map(|tenant| tenant.namespaces().iter().map(|ns| &**ns))
        .collect();
    namespaces.extend(input.snapshot.reflected_namespaces(input.user, input.groups));
    Decision::FanOut {
        namespaces: namespaces.into_iter().map(str::to_owned).collect(),
    }
}

/// One question per distinct real tenant with at least one namespace, in the caller's tenant order: may the
/// caller `list` the resource in the tenant's first namespace (as Go asks). No such tenant → nothing, without
/// asking.
fn managed_by_questions(input: &DecideInput<'_>, gvr: Gvr<'_>) -> Decision {
    let mut questions: Vec<TenantQuestion> = Vec::new();
    for tenant in real_tenants(input.tenants) {
        let Some(namespace) = tenant.namespaces().first() else {
            continue;
        };
        if questions.iter().any(|q| q.tenant == tenant.name()) {
            continue;
        }
        questions.push(TenantQuestion {
            tenant: tenant.name().to_owned(),
            question: AccessQuestion {
                user: input.user.to_owned(),
                groups: input.groups.to_vec(),
                verb: "list".to_owned(),
                group: gvr.group.to_owned(),
                version: gvr.version.to_owned(),
                resource: gvr.resource.to_owned(),
                subresource: String::new(),
                namespace: namespace.to_string(),
                name: String::new(),
            },
        });
    }
    if questions.is_empty() {
        Decision::Filter(Selector::nothing())
    } else {
        Decision::AccessReviews(questions)
    }
}

/// The catch-all's filter once the questions are answered: `capsule.clastix.io/managed-by in (allowed)`;
/// none allowed → nothing.
pub fn catch_all_selector(allowed_tenants: &[&str]) -> Selector {
    in_selector(MANAGED_BY_LABEL, allowed_tenants.iter().copied())
}
