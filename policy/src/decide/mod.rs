//! What capsule-proxy does with a module route (behaviour reference §3.1–§3.11): pass it through as the caller,
//! forward it as the proxy with a label selector, answer at once, or ask the control plane first.
//!
//! ```text
//!  Route + DecideInput (snapshot, caller's ProxyTenants, method, user, groups, gates)
//!    ──decide──▶ PassThrough | Filter(selector) | AsProxy | Respond | AccessReviews | ObjectCheck
//! ```
//!
//! Every answer is computed from the immutable snapshot: the caller's tenants, their specs, and the names and
//! labels of the objects of the one kind the route is about. Where the Go proxy leaks, panics or depends on
//! informer order, the fix is written where it lives.

mod catch_all;
mod classes;
mod cluster_scoped;
mod legacy;
mod namespaces;
mod nodes;
mod tenants;

#[cfg(test)]
mod tests;

pub use catch_all::catch_all_selector;

use std::collections::BTreeMap;

use crate::cluster_rules::{ClusterOp, rules_for};
use crate::review::AccessQuestion;
use crate::route::{Gates, Route};
use crate::selector::Selector;
use crate::snapshot::{ProxyTenants, Snapshot, TenantView};

/// What a decision reads: the snapshot, the caller's tenants (resolved with the same gates) and the request.
#[derive(Debug, Clone, Copy)]
pub struct DecideInput<'a> {
    /// The snapshot the request is decided on.
    pub snapshot: &'a Snapshot,
    /// The caller's tenants ([`Snapshot::proxy_tenants`] with `gates.cluster_scoped`).
    pub tenants: &'a ProxyTenants<'a>,
    /// The HTTP method, as received (case-sensitive, like Go's).
    pub method: &'a str,
    /// The caller's user name.
    pub user: &'a str,
    /// The caller's groups.
    pub groups: &'a [String],
    /// The feature gates.
    pub gates: Gates,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward as the caller: the caller's RBAC decides.
    PassThrough,
    /// Forward as the proxy, the caller's `labelSelector` ANDed with this one.
    Filter(Selector),
    /// Forward as the proxy unchanged (an allowed request on a named object).
    AsProxy,
    /// Answer a `Status` now.
    Respond {
        /// The HTTP status (404, 400).
        code: u16,
        /// The `Status` message.
        message: String,
    },
    /// The `-A` catch-all: ask these SubjectAccessReviews, then filter with [`catch_all_selector`] of the
    /// tenants whose question was allowed.
    AccessReviews(Vec<TenantQuestion>),
    /// The `-A` catch-all with `ProxyAllNamespaced`: the caller's namespaces (its tenants', and with the
    /// reflector its RoleBindings'), sorted and deduplicated; ask, per namespace, whether the caller may list
    /// (or watch) the resource there, then send one request per allowed namespace as the caller and merge the
    /// answers ([`crate::fan_out`]).
    FanOut {
        /// The namespaces to ask about.
        namespaces: Vec<String>,
    },
    /// A named GET of a generic cluster-scoped object: read the object's labels; found and some selector
    /// matches → [`Decision::AsProxy`]; found, none matches → [`Decision::PassThrough`]; not found → 404
    /// ([`not_found`]).
    ObjectCheck {
        /// The selectors of the rules that allow the get.
        selectors: Vec<Selector>,
    },
}

/// A SubjectAccessReview asked on behalf of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantQuestion {
    /// The tenant the answer stands for.
    pub tenant: String,
    /// The question.
    pub question: AccessQuestion,
}

/// The decision for a module route. The caller has already passed ignored users and callers who are not
/// Capsule users through (§2.6). Routes that are not modules ([`Route::Other`], the self reviews, the
/// namespace gate's candidates) pass through: their handling is the data plane's.
pub fn decide(route: &Route<'_>, input: &DecideInput<'_>) -> Decision {
    match *route {
        Route::NamespacesList => namespaces::list(input),
        Route::NamespaceGet { name } => namespaces::get(input, name),
        Route::TenantsList => tenants::list(input),
        Route::TenantGet { name } => tenants::get(input, name),
        Route::Legacy { kind, version, name } => legacy::decide(input, kind, version, name),
        Route::ClusterScoped { gvr, name } => cluster_scoped::decide(input, gvr, name),
        Route::NamespacedAll { gvr } => catch_all::decide(input, gvr),
        Route::SelfSubjectAccessReview
        | Route::SelfSubjectRulesReview
        | Route::NamespacedObjectGet { .. }
        | Route::Other => Decision::PassThrough,
    }
}

/// The `404 Not Found` of the object `name` of `resource` in `group`, worded as kube-apiserver words it:
/// `nodes "x" not found`, `storageclasses.storage.k8s.io "x" not found`. (The Go proxy writes `nodes. "x"`.)
pub fn not_found(resource: &str, group: &str, name: &str) -> (u16, String) {
    let message = if group.is_empty() {
        format!("{resource} {name:?} not found")
    } else {
        format!("{resource}.{group} {name:?} not found")
    };
    (404, message)
}

/// [`not_found`] as a decision.
fn respond_not_found(resource: &str, group: &str, name: &str) -> Decision {
    let (code, message) = not_found(resource, group, name);
    Decision::Respond { code, message }
}

/// The label Kubernetes puts on every namespace (and Capsule on every Tenant) with the object's name.
pub(crate) const METADATA_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// `key in (values)`, never failing: values that are not label values are dropped (an object cannot carry
/// them, so nothing selectable is lost); no value left → [`Selector::nothing`].
fn in_selector<'v>(key: &str, values: impl IntoIterator<Item = &'v str>) -> Selector {
    let values: Vec<&str> = values.into_iter().collect();
    Selector::in_values(key, &values).unwrap_or_else(|_| {
        let valid = values.iter().filter(|v| Selector::equals(key, v).is_ok());
        Selector::in_values(key, valid).unwrap_or_else(|_| Selector::nothing())
    })
}

/// The caller's real tenants (the synthetic `global` entry is none), duplicates kept.
fn real_tenants<'a>(tenants: &ProxyTenants<'a>) -> impl Iterator<Item = &'a TenantView> {
    tenants.iter().filter_map(|t| t.tenant())
}

/// The names of the caller's real tenants, sorted and deduplicated. The synthetic `global` entry never counts,
/// so a real Tenant named `global` is not opened by a GlobalProxySettings grant.
fn real_tenant_names<'a>(tenants: &ProxyTenants<'a>) -> Vec<&'a str> {
    let mut names: Vec<&'a str> = real_tenants(tenants).map(TenantView::name).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The selectors of the caller's `clusterResources` rules that apply to the resource and allow `op`, in rule
/// order. A selector apimachinery would refuse opens nothing (Go skips such rules).
fn rule_selectors(
    tenants: &ProxyTenants<'_>,
    group: &str,
    version: &str,
    resource: &str,
    op: ClusterOp,
) -> Vec<Selector> {
    rules_for(tenants.cluster_resources(), group, version, resource, op)
        .filter_map(|rule| Selector::from_label_selector(&rule.selector).ok())
        .collect()
}

/// Whether some selector matches `labels`.
fn any_matches(selectors: &[Selector], labels: &BTreeMap<String, String>) -> bool {
    selectors.iter().any(|s| s.matches(labels))
}
