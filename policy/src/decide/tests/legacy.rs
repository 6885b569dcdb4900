//! Legacy nodes, node metrics and persistent volumes (§3.4, §3.7, §3.8, fix 4).

use super::*;
use crate::model::LegacyKind;
use crate::snapshot::TENANT_LABEL;
use crate::snapshot::fixtures::{legacy as setting, tenant, user};

const HOST: &str = "kubernetes.io/hostname";

fn world() -> World {
    let alice = vec![
        setting(LegacyKind::Nodes, "LU"),
        setting(LegacyKind::PersistentVolumes, "LD"),
    ];
    World {
        tenants: vec![
            tenant("oil")
                .owner_with(user("alice"), alice)
                .node_selector("pool", "oil")
                .build(),
            tenant("oil2")
                .owner_group("oilers")
                .node_selector("pool", "oil")
                .build(),
            tenant("gas")
                .owner_with(user("bob"), vec![setting(LegacyKind::PersistentVolumes, "L")])
                .owner_group("gassers")
                .node_selector("pool", "gas")
                .build(),
            tenant("water").owner_user("carol").build(),
            tenant("dry")
                .owner_user("dan")
                .node_selector("pool", "desert")
                .build(),
            tenant("wet")
                .owner_group("wets")
                .node_selector("pool", "lake")
                .build(),
        ],
        objects: vec![
            (
                LegacyKind::Nodes.into(),
                vec![
                    object("n1", &[("pool", "oil"), (HOST, "n1")]),
                    object("n2", &[("pool", "gas"), (HOST, "n2-host")]),
                    object("n3", &[("pool", "oil")]),
                    object("n4", &[("pool", "none"), (HOST, "n4")]),
                ],
            ),
            (
                LegacyKind::PersistentVolumes.into(),
                vec![
                    object("pv-oil", &[(TENANT_LABEL, "oil")]),
                    object("pv-gas", &[(TENANT_LABEL, "gas")]),
                    object("pv-none", &[]),
                ],
            ),
        ],
        ..World::default()
    }
}

#[test]
fn nodes_list() {
    let snapshot = world().snapshot();
    let nodes = legacy(LegacyRoute::Nodes, None);
    let metrics = Route::Legacy {
        kind: LegacyRoute::NodeMetrics,
        version: "v1beta1",
        name: None,
    };
    let cases = [
        // One nodeSelector for all the caller's tenants: that selector, live.
        (ask("alice", "GET", nodes), "Filter(pool=oil)"),
        (ask("alice", "GET", nodes).groups(&["oilers"]), "Filter(pool=oil)"),
        (ask("alice", "GET", metrics), "Filter(pool=oil)"),
        // An empty nodeSelector selects every node.
        (ask("carol", "GET", nodes), "Filter()"),
        // Different nodeSelectors: the hostname labels of the matching nodes (n3 has none).
        (
            ask("alice", "GET", nodes).groups(&["gassers"]),
            "Filter(kubernetes.io/hostname in (n1,n2-host))",
        ),
        (
            ask("carol", "GET", nodes).groups(&["gassers"]),
            "Filter(kubernetes.io/hostname in (n1,n2-host,n4))",
        ),
        (ask("dan", "GET", nodes).groups(&["wets"]), "Filter(nothing)"),
        (ask("zed", "GET", nodes), "Filter(nothing)"),
        // Other methods on the collection pass through as the caller.
        (ask("alice", "POST", nodes), "PassThrough"),
        (ask("alice", "DELETE", metrics), "PassThrough"),
    ];
    check(&snapshot, cases);
}

#[test]
fn named_nodes() {
    let snapshot = world().snapshot();
    let node = |name| legacy(LegacyRoute::Nodes, Some(name));
    let metrics = |name| Route::Legacy {
        kind: LegacyRoute::NodeMetrics,
        version: "v1beta1",
        name: Some(name),
    };
    let cases = [
        (ask("alice", "GET", node("n1")), "AsProxy"),
        (ask("alice", "GET", node("n3")), "AsProxy"),
        (ask("alice", "GET", node("n2")), r#"404 nodes "n2" not found"#),
        (
            ask("alice", "GET", node("missing")),
            r#"404 nodes "missing" not found"#,
        ),
        (ask("zed", "GET", node("n1")), r#"404 nodes "n1" not found"#),
        // GET needs no operations; writes need a tenant that sees the node and allows the method.
        (ask("bob", "GET", node("n2")), "AsProxy"),
        (ask("bob", "PATCH", node("n2")), "PassThrough"),
        (ask("alice", "PATCH", node("n1")), "AsProxy"),
        (ask("alice", "PUT", node("n1")), "AsProxy"),
        (ask("alice", "DELETE", node("n1")), "PassThrough"),
        (ask("alice", "PATCH", node("n2")), "PassThrough"),
        (ask("alice", "PATCH", node("missing")), "PassThrough"),
        (ask("alice", "POST", node("n1")), "PassThrough"),
        (ask("alice", "GET", metrics("n1")), "AsProxy"),
        (
            ask("alice", "GET", metrics("n2")),
            r#"404 nodes.metrics.k8s.io "n2" not found"#,
        ),
    ];
    check(&snapshot, cases);
}

#[test]
fn persistent_volumes() {
    let snapshot = world().snapshot();
    let list = legacy(LegacyRoute::PersistentVolumes, None);
    let pv = |name| legacy(LegacyRoute::PersistentVolumes, Some(name));
    let cases = [
        (
            ask("alice", "GET", list),
            "Filter(capsule.clastix.io/tenant in (oil))",
        ),
        (
            ask("bob", "GET", list),
            "Filter(capsule.clastix.io/tenant in (gas))",
        ),
        (
            ask("bob", "GET", list).groups(&["oilers"]),
            "Filter(capsule.clastix.io/tenant in (gas))",
        ),
        // No tenant allows persistent volumes: an empty list (Go panics).
        (ask("carol", "GET", list), "Filter(nothing)"),
        (ask("alice", "POST", list), "PassThrough"),
        (ask("alice", "GET", pv("pv-oil")), "AsProxy"),
        (
            ask("alice", "GET", pv("pv-gas")),
            r#"404 persistentvolumes "pv-gas" not found"#,
        ),
        (
            ask("alice", "GET", pv("pv-none")),
            r#"404 persistentvolumes "pv-none" not found"#,
        ),
        (
            ask("carol", "GET", pv("pv-oil")),
            r#"404 persistentvolumes "pv-oil" not found"#,
        ),
        (ask("alice", "DELETE", pv("pv-oil")), "AsProxy"),
        (ask("alice", "PATCH", pv("pv-oil")), "PassThrough"),
        (ask("bob", "DELETE", pv("pv-gas")), "PassThrough"),
        (ask("alice", "DELETE", pv("pv-gas")), "PassThrough"),
    ];
    check(&snapshot, cases);
}
