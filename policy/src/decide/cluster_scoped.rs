//! Generic cluster-scoped routes (`ProxyClusterScoped` on, §3.9): the caller's `clusterResources` rules that
//! apply to the resource decide.

use super::{DecideInput, Decision, rule_selectors};
use crate::cluster_rules::ClusterOp;
use crate::route::Gvr;
use crate::selector::Selector;

/// On the collection: a GET is filtered with the OR of the selectors of the rules allowing `List` when one
/// selector expresses it; else with their AND, which shows less than the rules open and never more (Go merges
/// the rules' requirements per key, §3.10, which ORs values across rules and so can show objects no rule
/// selects). No rule → nothing. Other methods pass through as the caller (Go forwarded them as the proxy when
/// no rule applied).
///
/// On a named object: a GET with rules allowing `Get` asks for the object's labels
/// ([`Decision::ObjectCheck`]); anything else passes through as the caller.
pub(super) fn decide(input: &DecideInput<'_>, gvr: Gvr<'_>, name: Option<&str>) -> Decision {
    if input.method != "GET" {
        return Decision::PassThrough;
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
