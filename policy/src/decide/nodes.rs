//! Nodes and node metrics (§3.4, §3.7): a node is visible when it matches the `spec.nodeSelector` of one of
//! the caller's tenants (an empty nodeSelector matches every node). A label the nodeSelector names must be
//! present with that value (Go counts an absent label as the empty value); that is what the selector sent to
//! kube-apiserver means too.

use std::collections::{BTreeMap, BTreeSet};

use super::{DecideInput, Decision, in_selector, real_tenants};
use crate::cluster_objects::ClusterObjectRecord;
use crate::model::{LabelSelector, LegacyKind};
use crate::selector::Selector;

/// The label kubelet puts on every node with its host name.
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// The nodes list. When every tenant of the caller has the same nodeSelector, that nodeSelector itself
/// (`k=v,…`; empty → every node): exactly the matching nodes, and nodes added later show up in a running watch.
/// Else `kubernetes.io/hostname in (…)` with the hostname label values of the matching nodes (a node without
/// that label cannot be selected; Go assumed it equals the node name); no match or no tenant → nothing.
pub(super) fn list(input: &DecideInput<'_>) -> Decision {
    let mut selectors: Vec<&BTreeMap<String, String>> =
        real_tenants(input.tenants).map(|t| t.node_selector()).collect();
    selectors.dedup();
    let Some(first) = selectors.first() else {
        return Decision::Filter(Selector::nothing());
    };
    if selectors.iter().all(|s| s == first) {
        let selector = LabelSelector {
            match_labels: (*first).clone(),
            match_expressions: Vec::new(),
        };
        if let Ok(selector) = Selector::from_label_selector(&selector) {
            return Decision::Filter(selector);
        }
    }
    let nodes = input.snapshot.cluster_objects().of_kind(LegacyKind::Nodes);
    let hostnames: BTreeSet<&str> = nodes
        .into_iter()
        .flatten()
        .filter(|node| selectors.iter().any(|s| node_matches(s, &node.labels)))
        .filter_map(|node| node.labels.get(HOSTNAME_LABEL).map(String::as_str))
        .collect();
    Decision::Filter(in_selector(HOSTNAME_LABEL, hostnames))
}

/// Whether `node` matches the nodeSelector of one of the caller's tenants; for a method other than GET, one
/// whose `Nodes` operations allow it.
pub(super) fn is_visible(input: &DecideInput<'_>, method: &str, node: &ClusterObjectRecord) -> bool {
    if method == "GET" {
        real_tenants(input.tenants).any(|t| node_matches(t.node_selector(), &node.labels))
    } else {
        input
            .tenants
            .legacy_allowed(LegacyKind::Nodes, method)
            .filter_map(|t| t.tenant())
            .any(|t| node_matches(t.node_selector(), &node.labels))
    }
}

fn node_matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}
