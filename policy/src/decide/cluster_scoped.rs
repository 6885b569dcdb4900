//! Generic cluster-scoped routes (`ProxyClusterScoped` on, §3.9): the caller's `clusterResources` rules that
//! apply to the resource decide.

use super::{DecideInput, Decision, respond_not_found, rule_selectors};
use crate::cluster_rules::ClusterOp;
use crate::object_name::NameRule;
use crate::route::Gvr;
use crate::selector::Selector;

/// On the collection: a GET is filtered with the OR of the selectors of the rules allowing `List` when one
/// selector expresses it; else with their AND, which shows less than the rules open and never more (Go merges
/// the rules' requirements per key, §3.10, which ORs values across rules and so can show objects no rule
/// selects). No rule → nothing. Other methods pass through as the caller (Go forwarded them as the proxy when
/// no rule applied).
///
/// On a named object: a GET of a name no object of the kind can have ([`NameRule`]: at least not `%`) is a 404
/// at once; a GET with rules allowing `Get` asks for the object's labels ([`Decision::ObjectCheck`]) when the
/// name reads the same in a request path as decoded (see [`travels_verbatim`]), else it passes through as the
/// caller; anything else passes through as the caller.
pub(super) fn decide(input: &DecideInput<'_>, gvr: Gvr<'_>, name: Option<&str>) -> Decision {
    if input.method != "GET" {
        return Decision::PassThrough;
    }
    if let Some(name) = name {
        if !NameRule::of(gvr.group, gvr.resource).admits(name) {
            return respond_not_found(gvr.resource, gvr.group, name);
        }
        if !travels_verbatim(name) {
            return Decision::PassThrough;
        }
    }
    let op = if name.is_some() {
        ClusterOp::Get
    } else {
        ClusterOp::List
    };
    let selectors = rule_selectors(input.tenants, gvr.group, gvr.version, gvr.resource, op);
    match name {
        Some(_) if selectors.is_empty() => Decision::PassThrough,
        Some(_) => Decision::ObjectCheck { selectors },
        None => Decision::Filter(list_selector(&selectors)),
    }
}

/// The OR of `selectors` when expressible, else their AND; none → nothing.
fn list_selector(selectors: &[Selector]) -> Selector {
    if selectors.is_empty() {
        return Selector::nothing();
    }
    Selector::union(selectors).unwrap_or_else(|| {
        selectors
            .iter()
            .fold(Selector::everything(), |all, selector| all.and(selector))
    })
}

/// Whether `name` is made only of the bytes a URI path segment carries as they are (RFC 3986 `pchar` without
/// `%`: letters, digits, `-._~`, `!$&'()*+,;=`, `:` and `@`). The live read of [`Decision::ObjectCheck`] is
/// asked with the decoded path: a name holding `?`, `#`, a space or any other byte would read another object
/// (`a?b` reads `a`) or none, so such a name (kube-apiserver allows them for some kinds, cluster roles among
/// them) is never checked and passes through as the caller, whose own RBAC decides: never more than its RBAC allows.
fn travels_verbatim(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b))
}
