//! apply / delete / reset semantics and change tracking.

use super::*;
use crate::model::LegacyKind;
use crate::snapshot::fixtures::*;

fn tenant_names(snapshot: &Snapshot) -> Vec<&str> {
    snapshot.tenants().map(TenantView::name).collect()
}

#[test]
fn changes_are_tracked_until_the_next_build() {
    let mut index = Index::new();
    assert!(index.changed_since_last_build(), "never built");
    let _ = index.snapshot(1);
    assert!(!index.changed_since_last_build());

    index.apply_tenant(tenant("oil").owner_user("alice").build());
    assert!(index.changed_since_last_build());
    let _ = index.snapshot(2);
    assert!(!index.changed_since_last_build());

    // (what, did it change the index) — run one by one after a build.
    type Step = fn(&mut Index);
    let steps: &[(&str, Step, bool)] = &[
        (
            "identical tenant",
            |i| i.apply_tenant(tenant("oil").owner_user("alice").build()),
            false,
        ),
        (
            "same after parsing",
            |i| {
                i.apply_tenant(
                    tenant("oil")
                        .owner_user("alice")
                        .status_owner(user("alice"))
                        .build(),
                )
            },
            false,
        ),
        (
            "changed tenant",
            |i| i.apply_tenant(tenant("oil").owner_user("bob").build()),
            true,
        ),
        ("delete missing tenant", |i| i.delete_tenant("water"), false),
        (
            "new proxy setting",
            |i| i.apply_proxy_setting(proxy_setting("oil-dev", "ps").subject(user("bob")).build()),
            true,
        ),
        (
            "identical proxy setting",
            |i| i.apply_proxy_setting(proxy_setting("oil-dev", "ps").subject(user("bob")).build()),
            false,
        ),
        (
            "delete missing proxy setting",
            |i| i.delete_proxy_setting("oil-dev", "other"),
            false,
        ),
        (
            "delete proxy setting, missing namespace",
            |i| i.delete_proxy_setting("gas-dev", "ps"),
            false,
        ),
        (
            "new global",
            |i| {
                i.apply_global_proxy_settings(
                    global("g").rule(vec![user("bob")], vec![rule("nodes")]).build(),
                )
            },
            true,
        ),
        (
            "identical global",
            |i| {
                i.apply_global_proxy_settings(
                    global("g").rule(vec![user("bob")], vec![rule("nodes")]).build(),
                )
            },
            false,
        ),
        (
            "delete missing global",
            |i| i.delete_global_proxy_settings("h"),
            false,
        ),
        (
            "capsule configuration",
            |i| i.set_capsule_configuration(Some(capsule_configuration(vec![group("c")]))),
            true,
        ),
        (
            "identical capsule configuration",
            |i| i.set_capsule_configuration(Some(capsule_configuration(vec![group("c")]))),
            false,
        ),
        (
            "capsule configuration deleted",
            |i| i.set_capsule_configuration(None),
            true,
        ),
        (
            "no users is the same as none",
            |i| i.set_capsule_configuration(Some(capsule_configuration(vec![]))),
            false,
        ),
        ("delete tenant", |i| i.delete_tenant("oil"), true),
        (
            "delete proxy setting",
            |i| i.delete_proxy_setting("oil-dev", "ps"),
            true,
        ),
        ("delete global", |i| i.delete_global_proxy_settings("g"), true),
    ];
    for (what, step, want) in steps {
        let revision = index.revision();
        step(&mut index);
        assert_eq!(index.changed_since_last_build(), *want, "{what}: changed flag");
        assert_eq!(index.revision() != revision, *want, "{what}: revision");
        let _ = index.snapshot(3);
    }
    assert_eq!(index.counts(), IndexCounts::default());

    // `take_changed` reports and clears, like a build does.
    index.apply_tenant(tenant("oil").build());
    assert!(index.take_changed());
    assert!(!index.take_changed());
    assert!(!index.changed_since_last_build());
    index.delete_tenant("oil");
    assert!(index.changed_since_last_build());
}

#[test]
fn reset_replaces_everything_of_its_kind() {
    let mut index = Index::new();
    index.apply_tenant(tenant("oil").owner_user("alice").namespaces(["oil-dev"]).build());
    index.apply_tenant(tenant("gas").owner_user("alice").namespaces(["gas-dev"]).build());
    index.apply_proxy_setting(proxy_setting("oil-dev", "a").subject(user("bob")).build());
    index.apply_global_proxy_settings(global("g").rule(vec![user("bob")], vec![rule("nodes")]).build());

    index.reset_tenants(vec![
        tenant("gas").owner_user("alice").namespaces(["gas-dev"]).build(),
        tenant("water").owner_user("alice").build(),
    ]);
    let snapshot = index.snapshot(1);
    assert_eq!(tenant_names(&snapshot), ["gas", "water"]);
    assert!(snapshot.tenant_of_namespace("oil-dev").is_none());
    // The ProxySetting's namespace no longer has a tenant: no grant, but the ProxySetting is kept.
    assert!(snapshot.proxy_tenants("bob", &[], false).is_empty());
    assert_eq!(index.counts().proxy_settings, 1);

    index.reset_proxy_settings(vec![proxy_setting("gas-dev", "b").subject(user("bob")).build()]);
    index.reset_global_proxy_settings(Vec::new());
    let snapshot = index.snapshot(2);
    assert_eq!(snapshot.proxy_tenants("bob", &[], true).tenant_names(), ["gas"]);
    assert_eq!(
        index.counts(),
        IndexCounts {
            tenants: 2,
            proxy_settings: 1,
            global_proxy_settings: 0
        }
    );

    // The same content again, in any order, is no change.
    let revision = index.revision();
    index.reset_tenants(vec![
        tenant("water").owner_user("alice").build(),
        tenant("gas").owner_user("alice").namespaces(["gas-dev"]).build(),
    ]);
    index.reset_proxy_settings(vec![proxy_setting("gas-dev", "b").subject(user("bob")).build()]);
    index.reset_global_proxy_settings(Vec::new());
    assert_eq!(index.revision(), revision);
    assert!(!index.changed_since_last_build());

    // A later duplicate wins, as applying one by one would.
    index.reset_tenants(vec![
        tenant("gas").owner_user("alice").build(),
        tenant("gas").owner_user("carol").build(),
    ]);
    let snapshot = index.snapshot(3);
    assert_eq!(
        snapshot.proxy_tenants("carol", &[], false).tenant_names(),
        ["gas"]
    );
    assert!(snapshot.proxy_tenants("alice", &[], false).is_empty());

    index.reset_tenants(Vec::new());
    assert!(index.changed_since_last_build());
    assert_eq!(index.counts().tenants, 0);
}

#[test]
fn reset_keeps_unchanged_tenants_shared_with_older_snapshots() {
    let mut index = Index::new();
    index.reset_tenants(vec![
        tenant("oil").owner_user("alice").build(),
        tenant("gas").owner_user("bob").build(),
    ]);
    let before = index.snapshot(1);
    index.reset_tenants(vec![
        tenant("oil").owner_user("alice").build(),
        tenant("gas").owner_user("carol").build(),
    ]);
    let after = index.snapshot(2);
    let same = |name: &str| std::ptr::eq(before.tenant(name).unwrap(), after.tenant(name).unwrap());
    assert!(same("oil"));
    assert!(!same("gas"));
}

#[test]
fn ownership_changes_are_visible_in_the_next_snapshot_only() {
    let mut index = Index::new();
    index.apply_tenant(
        tenant("oil")
            .owner_with(user("alice"), vec![legacy(LegacyKind::Nodes, "L")])
            .namespaces(["oil-dev"])
            .build(),
    );
    let first = index.snapshot(1);
    index.apply_tenant(tenant("oil").owner_user("bob").namespaces(["oil-dev"]).build());
    let second = index.snapshot(2);

    assert_eq!(first.proxy_tenants("alice", &[], false).tenant_names(), ["oil"]);
    assert!(first.proxy_tenants("bob", &[], false).is_empty());
    assert!(second.proxy_tenants("alice", &[], false).is_empty());
    assert_eq!(second.proxy_tenants("bob", &[], false).namespaces(), ["oil-dev"]);
    assert_eq!(second.generation(), 2);
}

#[test]
fn namespaces_and_discovery_are_tracked_and_reach_the_snapshot() {
    use std::collections::BTreeMap;

    use crate::cluster_objects::OwnerRecord;
    use crate::discovery::ApiResource;

    let namespace = |name: &str, tenant: Option<&str>| ClusterObjectRecord {
        name: name.into(),
        labels: BTreeMap::from([("kubernetes.io/metadata.name".to_string(), name.to_string())]),
        owner: tenant.map(|t| OwnerRecord {
            kind: "Tenant".into(),
            name: t.into(),
        }),
    };
    let nodes = |verbs: &[&str]| {
        ApiResources::new(
            [ApiResource {
                group: String::new(),
                version: "v1".into(),
                resource: "nodes".into(),
                kind: "Node".into(),
                namespaced: false,
                verbs: verbs.iter().map(|v| v.to_string()).collect(),
            }],
            [(String::new(), "v1".to_string())],
        )
    };
    let mut index = Index::new();
    let empty = index.snapshot(1);
    assert!(!empty.cluster_objects().is_listed(ObjectKind::Namespaces));
    assert!(!empty.api_resources().is_discovered());

    index.reset_objects(ObjectKind::Namespaces, vec![namespace("oil-dev", Some("oil"))]);
    index.set_api_resources(nodes(&["get", "list"]));
    assert!(index.take_changed());
    index.set_api_resources(nodes(&["get", "list"]));
    index.reset_objects(ObjectKind::Namespaces, vec![namespace("oil-dev", Some("oil"))]);
    assert!(!index.take_changed(), "the same list and discovery are no change");

    index.apply_object(ObjectKind::Namespaces, namespace("default", None));
    index.set_api_resources(nodes(&["get", "list", "watch"]));
    let snapshot = index.snapshot(2);
    assert!(snapshot.cluster_objects().is_listed(ObjectKind::Namespaces));
    assert_eq!(
        snapshot
            .namespace("oil-dev")
            .and_then(|n| n.owner.as_ref())
            .map(|o| o.name.as_str()),
        Some("oil")
    );
    assert!(snapshot.namespace("default").is_some_and(|n| n.owner.is_none()));
    assert!(
        snapshot
            .api_resources()
            .get("", "v1", "nodes")
            .is_some_and(|n| n.supports("watch"))
    );
    assert!(
        empty.namespace("oil-dev").is_none(),
        "an older snapshot is unchanged"
    );

    index.delete_object(ObjectKind::Namespaces, "default");
    assert!(index.take_changed());
    index.delete_object(ObjectKind::Namespaces, "default");
    assert!(!index.take_changed());
}
