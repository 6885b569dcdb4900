//! Namespaces list and get (§3.1, §3.2, fixes 1 and 2).

use super::*;
use crate::snapshot::fixtures::{global, group, proxy_setting, tenant, user};

fn world() -> World {
    let shared = cluster_rule(&[""], &["namespaces"], (true, true), &[("shared", "yes")]);
    let get_only = cluster_rule(&[""], &["namespaces"], (false, true), &[("getonly", "yes")]);
    let own_namespace = cluster_rule(
        &[""],
        &["namespaces"],
        (true, true),
        &[("kubernetes.io/metadata.name", "oil-dev")],
    );
    World {
        tenants: vec![
            tenant("oil")
                .owner_user("alice")
                .namespaces(["oil-dev", "oil-prod"])
                .build(),
            tenant("gas")
                .owner_user("bob")
                .namespaces(["gas-dev", "public", "getonly"])
                .build(),
            tenant("water")
                .owner_group("devs")
                .owner_user("carol")
                .namespaces(["water-1"])
                .build(),
            tenant("global")
                .owner_user("nobody")
                .namespaces(["global-ns"])
                .build(),
        ],
        proxy_settings: vec![
            proxy_setting("oil-dev", "readers")
                .subject_with(user("dave"), vec![shared.clone()], Vec::new())
                .build(),
        ],
        globals: vec![
            global("everyone")
                .rule(vec![user("erin")], vec![shared, get_only])
                .rule(vec![group("auditors")], vec![own_namespace])
                .build(),
        ],
        objects: vec![(
            ObjectKind::Namespaces,
            vec![
                tenant_namespace("oil-dev", "oil"),
                tenant_namespace("oil-prod", "oil"),
                tenant_namespace("gas-dev", "gas"),
                ClusterObjectRecord {
                    labels: BTreeMap::from([("shared".to_owned(), "yes".to_owned())]),
                    ..tenant_namespace("public", "gas")
                },
                ClusterObjectRecord {
                    labels: BTreeMap::from([("getonly".to_owned(), "yes".to_owned())]),
                    ..tenant_namespace("getonly", "gas")
                },
                // Owned by `water` but without Capsule's tenant label: the label is not exact for `water`.
                ClusterObjectRecord {
                    labels: BTreeMap::new(),
                    ..tenant_namespace("water-1", "water")
                },
                tenant_namespace("global-ns", "global"),
                object("kube-system", &[("shared", "yes")]),
                ClusterObjectRecord {
                    owner: Some(OwnerRecord {
                        kind: "Deployment".to_owned(),
                        name: "oil".to_owned(),
                    }),
                    ..object("not-a-tenant", &[])
                },
            ],
        )],
        role_bindings: Vec::new(),
    }
}

#[test]
fn namespaces_list() {
    let snapshot = world().snapshot();
    let list = Route::NamespacesList;
    let by_tenant = |t: &str| format!("Filter(capsule.clastix.io/tenant in ({t}))");
    let by_name = |n: &str| format!("Filter(kubernetes.io/metadata.name in ({n}))");
    let cases = [
        // Tenant namespaces only, and the tenant label is exact: select on it.
        (ask("alice", "GET", list), by_tenant("oil")),
        (ask("alice", "GET", list).gate(ON), by_tenant("oil")),
        // `water-1` lacks the tenant label: names.
        (ask("carol", "GET", list), by_name("water-1")),
        (
            ask("bob", "GET", list).groups(&["devs"]),
            by_name("gas-dev,getonly,public,water-1"),
        ),
        (ask("zed", "GET", list), "Filter(nothing)".to_owned()),
        // GlobalProxySettings rules (gate on): every namespace whose labels match a List rule; a get-only
        // rule lists nothing.
        (ask("erin", "GET", list).gate(ON), by_name("kube-system,public")),
        (ask("erin", "GET", list), "Filter(nothing)".to_owned()),
        // ProxySetting rules add to the tenant's namespaces, only with the gate.
        (
            ask("dave", "GET", list).gate(ON),
            by_name("kube-system,oil-dev,oil-prod,public"),
        ),
        (ask("dave", "GET", list), by_tenant("oil")),
        // A rule that adds nothing beyond the tenants' namespaces keeps the tenant label.
        (
            ask("alice", "GET", list).groups(&["auditors"]).gate(ON),
            by_tenant("oil"),
        ),
    ];
    check(&snapshot, cases);
}

#[test]
fn namespaces_list_uses_names_until_namespaces_are_listed() {
    let snapshot = World {
        objects: Vec::new(),
        ..world()
    }
    .snapshot();
    assert_eq!(
        shown(&ask("alice", "GET", Route::NamespacesList).decide(&snapshot)),
        "Filter(kubernetes.io/metadata.name in (oil-dev,oil-prod))"
    );
}

#[test]
fn namespace_get() {
    let snapshot = world().snapshot();
    let get = |name| Route::NamespaceGet { name };
    let not_found = |name: &str| format!(r#"404 namespaces "{name}" not found"#);
    let cases = [
        (ask("alice", "GET", get("oil-dev")), "AsProxy".to_owned()),
        (ask("alice", "GET", get("gas-dev")), not_found("gas-dev")),
        // Unknown to the snapshot: read live (404 when missing, else the caller's own RBAC decides).
        (ask("alice", "GET", get("brand-new")), "ObjectCheck()".to_owned()),
        (ask("zed", "GET", get("brand-new")), "ObjectCheck()".to_owned()),
        // Not owned by a Tenant: 404 unless a rule selects it (what the list shows, a get returns).
        (ask("alice", "GET", get("kube-system")), not_found("kube-system")),
        (
            ask("erin", "GET", get("kube-system")).gate(ON),
            "AsProxy".to_owned(),
        ),
        (ask("erin", "GET", get("kube-system")), not_found("kube-system")),
        (
            ask("alice", "GET", get("not-a-tenant")),
            not_found("not-a-tenant"),
        ),
        // Labels matching a Get rule (gate on), List rules included.
        (ask("erin", "GET", get("public")).gate(ON), "AsProxy".to_owned()),
        (ask("erin", "GET", get("getonly")).gate(ON), "AsProxy".to_owned()),
        (ask("erin", "GET", get("public")), not_found("public")),
        (ask("erin", "GET", get("gas-dev")).gate(ON), not_found("gas-dev")),
        // The synthetic `global` entry is not the Tenant `global`.
        (
            ask("erin", "GET", get("global-ns")).gate(ON),
            not_found("global-ns"),
        ),
        (ask("nobody", "GET", get("global-ns")), "AsProxy".to_owned()),
        // Through a group.
        (
            ask("zed", "GET", get("water-1")).groups(&["devs"]),
            "AsProxy".to_owned(),
        ),
    ];
    check(&snapshot, cases);
}

/// An owner of 5,000 namespaces: with Capsule's tenant label the selector names the tenant, whatever the count;
/// without it the name list still fits kube-apiserver's 1 MiB head limit, and parses back to itself.
#[test]
fn thousands_of_namespaces_stay_within_apiserver_limits() {
    let names: Vec<String> = (0..5000)
        .map(|i| format!("big-tenant-namespace-{i:05}"))
        .collect();
    let build = |labelled: bool| {
        let objects = names
            .iter()
            .map(|ns| {
                let mut record = tenant_namespace(ns, "big");
                if !labelled {
                    record.labels.remove(crate::snapshot::TENANT_LABEL);
                }
                record
            })
            .collect();
        let mut big = tenant("big").owner_user("alice").build();
        big.namespaces.clone_from(&names);
        World {
            tenants: vec![big],
            objects: vec![(ObjectKind::Namespaces, objects)],
            ..World::default()
        }
        .snapshot()
    };
    for (labelled, expected_prefix) in [
        (true, "capsule.clastix.io/tenant in (big)"),
        (
            false,
            "kubernetes.io/metadata.name in (big-tenant-namespace-00000,",
        ),
    ] {
        let snapshot = build(labelled);
        let tenants = snapshot.proxy_tenants("alice", &[], false);
        let input = DecideInput {
            snapshot: &snapshot,
            tenants: &tenants,
            method: "GET",
            user: "alice",
            groups: &[],
            gates: OFF,
        };
        let Decision::Filter(selector) = decide(&Route::NamespacesList, &input) else {
            panic!("a namespaces list is filtered");
        };
        let text = selector.to_string();
        assert!(
            text.starts_with(expected_prefix),
            "{}",
            &text[..80.min(text.len())]
        );
        assert_eq!(Selector::parse(&text).unwrap(), selector);
        let mut query = String::new();
        crate::selector::rewrite_query("watch=1&labelSelector=team%3Dx", &selector, &mut query).unwrap();
        assert!(query.len() < 1 << 20, "{} bytes", query.len());
        if labelled {
            assert!(query.len() < 100, "{query}");
        }
    }
}
