//! Table-style cases for every rule of §2.6 and §2.7.

use super::fixtures::*;
use super::*;
use crate::index::Index;
use crate::model::{
    AllowedList, ClusterResourceRule, LegacyKind, LegacyOperations, SubjectKind, TenantRecord,
};

const SA_BOT: &str = "system:serviceaccount:ns:bot";

fn snapshot_of(tenants: Vec<TenantRecord>) -> Snapshot {
    let mut index = Index::new();
    index.reset_tenants(tenants);
    index.snapshot(1)
}

/// `(name, origin)` of every entry, in order.
fn entries<'a>(tenants: &ProxyTenants<'a>) -> Vec<(&'a str, GrantOrigin)> {
    tenants.iter().map(|t| (t.name(), t.origin())).collect()
}

fn lookup<'a>(snapshot: &'a Snapshot, user: &str, groups: &[&str], gate: bool) -> ProxyTenants<'a> {
    let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
    snapshot.proxy_tenants(user, &groups, gate)
}

#[test]
fn snapshot_is_send_sync_and_empty_is_empty() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Snapshot>();
    assert_send_sync::<Arc<Snapshot>>();

    let empty = Snapshot::empty();
    assert_eq!(empty.generation(), 0);
    assert!(!empty.is_capsule_user("alice", &strings(["g"])));
    assert!(lookup(&empty, "alice", &["g"], true).is_empty());
    assert!(empty.tenant("oil").is_none());
    assert_eq!(empty.tenants().len(), 0);
    assert_eq!(Snapshot::default(), empty);
}

#[test]
fn owner_keys_user_service_account_and_groups() {
    let snapshot = snapshot_of(vec![
        tenant("by-user").owner_user("alice").build(),
        tenant("by-sa").owner_sa(SA_BOT).build(),
        // Kinds must match exactly: a `User` named like a service account is not the service account...
        tenant("user-named-like-sa").owner_user(SA_BOT).build(),
        // ...and a `ServiceAccount` or `Group` named `alice` is not the user `alice`.
        tenant("sa-named-alice").owner_sa("alice").build(),
        tenant("group-named-alice").owner_group("alice").build(),
        tenant("by-devs").owner_group("devs").build(),
        tenant("by-ops").owner_group("ops").build(),
    ]);
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("alice", &[], &["by-user"]),
        (SA_BOT, &[], &["by-sa"]),
        ("bob", &[], &[]),
        ("bob", &["devs"], &["by-devs"]),
        ("bob", &["alice"], &["group-named-alice"]),
        // The user key comes first, then the groups in the order given.
        ("alice", &["ops", "devs"], &["by-user", "by-ops", "by-devs"]),
        (SA_BOT, &["devs", "nobody"], &["by-sa", "by-devs"]),
        // Go does not deduplicate groups, so neither do we.
        ("bob", &["devs", "devs"], &["by-devs", "by-devs"]),
    ];
    for (user, groups, want) in cases {
        let got = lookup(&snapshot, user, groups, false);
        let names: Vec<&str> = got.iter().map(|t| t.name()).collect();
        assert_eq!(&names, want, "user {user:?} groups {groups:?}");
        assert!(got.iter().all(|t| t.origin() == GrantOrigin::TenantOwner));
    }
}

#[test]
fn only_status_owners_grant_tenants() {
    let snapshot = snapshot_of(vec![
        tenant("spec-only").spec_owner(user("alice"), Vec::new()).build(),
        tenant("status-only").status_owner(user("alice")).build(),
        // A key listed twice in `status.owners` still yields one entry.
        tenant("twice")
            .status_owner(user("alice"))
            .status_owner(user("alice"))
            .build(),
    ]);
    let got = lookup(&snapshot, "alice", &[], false);
    assert_eq!(got.tenant_names(), ["status-only", "twice"]);
    assert_eq!(got.len(), 2);
    for t in got.iter() {
        assert_eq!(
            t.legacy_operations(LegacyKind::Nodes),
            LegacyOperations::default()
        );
    }
}

#[test]
fn legacy_settings_come_from_the_exact_spec_owner_entry() {
    let snapshot = snapshot_of(vec![
        tenant("oil")
            .owner_with(user("alice"), vec![legacy(LegacyKind::Nodes, "L")])
            .owner_with(group("alice"), vec![legacy(LegacyKind::Nodes, "LUD")])
            .build(),
        // The last matching `spec.owners` entry wins (Go's loop does not break); within it a kind listed
        // twice gets the union of its operations.
        tenant("gas")
            .owner_with(user("alice"), vec![legacy(LegacyKind::Nodes, "L")])
            .spec_owner(
                user("alice"),
                vec![
                    legacy(LegacyKind::StorageClasses, "L"),
                    legacy(LegacyKind::StorageClasses, "D"),
                ],
            )
            .build(),
    ]);
    let alice = lookup(&snapshot, "alice", &[], false);
    let by_name = |name: &str| alice.iter().find(|t| t.name() == name).unwrap();
    assert_eq!(by_name("oil").legacy_operations(LegacyKind::Nodes), ops("L"));
    assert_eq!(
        by_name("oil").legacy_operations(LegacyKind::StorageClasses),
        ops("")
    );
    assert_eq!(by_name("gas").legacy_operations(LegacyKind::Nodes), ops(""));
    assert_eq!(
        by_name("gas").legacy_operations(LegacyKind::StorageClasses),
        ops("LD")
    );

    let group_alice = lookup(&snapshot, "bob", &["alice"], false);
    let oil = group_alice.iter().next().unwrap();
    assert_eq!(oil.legacy_operations(LegacyKind::Nodes), ops("LUD"));

    // GET on nodes: both alice-as-user and the group entry allow it; DELETE only the group entry.
    let both = lookup(&snapshot, "alice", &["alice"], false);
    let get: Vec<&str> = both
        .legacy_allowed(LegacyKind::Nodes, "GET")
        .map(|t| t.name())
        .collect();
    assert_eq!(get, ["oil", "oil"]);
    assert_eq!(both.legacy_allowed(LegacyKind::Nodes, "DELETE").count(), 1);

    // With the cluster-scoped gate on Go keeps no legacy map: nothing is allowed.
    let gated = lookup(&snapshot, "alice", &["alice"], true);
    assert_eq!(gated.len(), 3);
    assert_eq!(gated.legacy_allowed(LegacyKind::Nodes, "GET").count(), 0);
    assert!(
        gated
            .iter()
            .all(|t| t.legacy_operations(LegacyKind::Nodes) == ops(""))
    );
}

#[test]
fn legacy_operation_semantics() {
    // (operations, method, allowed) — Go's `Operations.IsAllowed`.
    let cases: &[(&str, &str, bool)] = &[
        ("", "GET", false),
        ("L", "GET", true),
        ("UD", "GET", false),
        ("L", "PUT", false),
        ("LU", "PUT", true),
        ("LU", "PATCH", true),
        ("U", "PATCH", false),
        ("LD", "PUT", false),
        ("L", "DELETE", false),
        ("LD", "DELETE", true),
        ("D", "DELETE", false),
        ("LUD", "POST", false),
        ("LUD", "HEAD", false),
        ("LUD", "OPTIONS", false),
        ("LUD", "get", false),
        ("LUD", "", false),
    ];
    for (letters, method, want) in cases {
        assert_eq!(ops(letters).allows_method(method), *want, "{letters} {method}");
        let snapshot = snapshot_of(vec![
            tenant("oil")
                .owner_with(
                    user("alice"),
                    vec![legacy(LegacyKind::PersistentVolumes, letters)],
                )
                .build(),
        ]);
        let got = lookup(&snapshot, "alice", &[], false);
        let t = got.iter().next().unwrap();
        assert_eq!(
            t.legacy_allows(LegacyKind::PersistentVolumes, method),
            *want,
            "{letters} {method}"
        );
        assert!(!t.legacy_allows(LegacyKind::Nodes, method));
    }
}

#[test]
fn proxy_settings_grant_the_tenant_of_their_namespace() {
    let mut index = Index::new();
    index.reset_tenants(vec![
        tenant("oil")
            .owner_user("alice")
            .namespaces(["oil-dev", "oil-prod"])
            .build(),
        tenant("gas").owner_user("carol").namespaces(["gas-dev"]).build(),
    ]);
    index.reset_proxy_settings(vec![
        proxy_setting("oil-dev", "sre")
            .subject_with(
                group("sre"),
                vec![rule("clusterroles")],
                vec![legacy(LegacyKind::Nodes, "L")],
            )
            .subject(user("dave"))
            .build(),
        // No tenant lists this namespace: skipped.
        proxy_setting("kube-system", "stray")
            .subject(group("sre"))
            .build(),
        // A subject listed twice: one entry, with the last entry's settings.
        proxy_setting("gas-dev", "twice")
            .subject_with(user("dave"), vec![rule("first")], Vec::new())
            .subject_with(
                user("dave"),
                vec![rule("second")],
                vec![legacy(LegacyKind::Nodes, "LU")],
            )
            .build(),
    ]);
    let snapshot = index.snapshot(7);
    assert_eq!(snapshot.generation(), 7);

    let bob = lookup(&snapshot, "bob", &["sre"], false);
    assert_eq!(entries(&bob), [("oil", GrantOrigin::ProxySetting)]);
    let oil = bob.iter().next().unwrap();
    // The subject gets all of the tenant's namespaces, not only the ProxySetting's.
    assert_eq!(bob.namespaces(), ["oil-dev", "oil-prod"]);
    assert_eq!(oil.cluster_resources(), [rule("clusterroles")]);
    assert_eq!(oil.legacy_operations(LegacyKind::Nodes), ops("L"));
    assert_eq!(bob.cluster_resources().count(), 1);
    // ProxySetting cluster resources are carried with the gate on as well; legacy operations are not.
    let gated = lookup(&snapshot, "bob", &["sre"], true);
    assert_eq!(
        gated.cluster_resources().cloned().collect::<Vec<_>>(),
        [rule("clusterroles")]
    );
    assert_eq!(
        gated.iter().next().unwrap().legacy_operations(LegacyKind::Nodes),
        ops("")
    );

    let dave = lookup(&snapshot, "dave", &[], false);
    assert_eq!(dave.tenant_names(), ["gas", "oil"]);
    let gas = dave.iter().find(|t| t.name() == "gas").unwrap();
    assert_eq!(gas.cluster_resources(), [rule("second")]);
    assert_eq!(gas.legacy_operations(LegacyKind::Nodes), ops("LU"));
    let oil = dave.iter().find(|t| t.name() == "oil").unwrap();
    assert!(oil.cluster_resources().is_empty());

    // Tenant owners carry no cluster resources; per key the ProxySetting entries come before owned tenants.
    let alice = lookup(&snapshot, "alice", &["sre"], false);
    assert_eq!(
        entries(&alice),
        [
            ("oil", GrantOrigin::TenantOwner),
            ("oil", GrantOrigin::ProxySetting)
        ]
    );
    assert_eq!(alice.tenant_names(), ["oil"]);
    assert_eq!(alice.cluster_resources().count(), 1);
}

#[test]
fn proxy_setting_namespace_listed_by_two_tenants_picks_the_smallest_name() {
    let mut index = Index::new();
    index.reset_tenants(vec![
        tenant("zinc").namespaces(["shared"]).build(),
        tenant("iron").namespaces(["shared", "iron-dev"]).build(),
    ]);
    index.apply_proxy_setting(proxy_setting("shared", "ps").subject(user("bob")).build());
    let snapshot = index.snapshot(1);
    assert_eq!(lookup(&snapshot, "bob", &[], false).tenant_names(), ["iron"]);
    assert_eq!(
        snapshot.tenant_of_namespace("shared").map(TenantView::name),
        Some("iron")
    );
}

#[test]
fn global_proxy_settings_need_the_gate() {
    let mut index = Index::new();
    index.apply_tenant(tenant("oil").owner_user("alice").namespaces(["oil-dev"]).build());
    index.reset_global_proxy_settings(vec![
        global("a-nodes")
            .rule(vec![user("alice"), group("devs")], vec![rule("nodes")])
            .rule(vec![group("devs")], vec![rule("storageclasses")])
            .rule(vec![user("bob")], vec![rule("never-alice")])
            .build(),
        global("b-pvs")
            .rule(vec![user("alice")], vec![rule("persistentvolumes")])
            .build(),
        // Matching rules without resources still give an (empty) `global` entry, as in Go.
        global("c-empty").rule(vec![group("empty")], Vec::new()).build(),
        // Subjects with an empty name are not indexed by Go: they never match.
        global("d-unnamed")
            .rule(vec![user("")], vec![rule("unnamed")])
            .build(),
        // A subject listed twice in a rule adds the rule's resources twice.
        global("e-twice")
            .rule(vec![group("twice"), group("twice")], vec![rule("dup")])
            .build(),
    ]);
    let snapshot = index.snapshot(1);

    let without = lookup(&snapshot, "alice", &["devs"], false);
    assert_eq!(entries(&without), [("oil", GrantOrigin::TenantOwner)]);
    assert_eq!(without.cluster_resources().count(), 0);

    // One `global` entry per GlobalProxySettings object per key: per key after ProxySettings, before owners.
    let with = lookup(&snapshot, "alice", &["devs"], true);
    assert_eq!(
        entries(&with),
        [
            (GLOBAL_TENANT, GrantOrigin::Global),
            (GLOBAL_TENANT, GrantOrigin::Global),
            ("oil", GrantOrigin::TenantOwner),
            (GLOBAL_TENANT, GrantOrigin::Global),
        ]
    );
    let per_entry: Vec<Vec<ClusterResourceRule>> =
        with.iter().map(|t| t.cluster_resources().to_vec()).collect();
    assert_eq!(
        per_entry,
        [
            vec![rule("nodes")],
            vec![rule("persistentvolumes")],
            vec![],
            vec![rule("nodes"), rule("storageclasses")],
        ]
    );
    assert_eq!(with.tenant_names(), ["global", "oil"]);
    assert!(with.contains_tenant("global"));
    assert_eq!(with.namespaces(), ["oil-dev"]);
    let global = with.iter().next().unwrap();
    assert!(global.tenant().is_none());
    assert!(global.namespaces().is_empty());
    assert!(snapshot.tenant(GLOBAL_TENANT).is_none());

    assert_eq!(
        entries(&lookup(&snapshot, "x", &["empty"], true)),
        [(GLOBAL_TENANT, GrantOrigin::Global)]
    );
    assert!(lookup(&snapshot, "", &[], true).is_empty());
    let twice = lookup(&snapshot, "x", &["twice"], true);
    assert_eq!(
        twice.cluster_resources().cloned().collect::<Vec<_>>(),
        [rule("dup"), rule("dup")]
    );
}

#[test]
fn namespaces_and_names_are_unions() {
    let snapshot = snapshot_of(vec![
        tenant("oil")
            .owner_user("alice")
            .owner_group("devs")
            .namespaces(["oil-prod", "oil-dev"])
            .build(),
        tenant("gas").owner_group("devs").namespaces(["gas-dev"]).build(),
        tenant("empty").owner_user("alice").build(),
    ]);
    let got = lookup(&snapshot, "alice", &["devs"], false);
    assert_eq!(got.len(), 4);
    assert_eq!(got.tenant_names(), ["empty", "gas", "oil"]);
    assert_eq!(got.namespaces(), ["gas-dev", "oil-dev", "oil-prod"]);
    assert!(got.contains_tenant("gas"));
    assert!(!got.contains_tenant("global"));
    // A tenant's own namespaces keep Capsule's order (the catch-all reads the first one).
    let oil = got.iter().find(|t| t.name() == "oil").unwrap();
    let first = oil.namespaces().first().map(|ns| &**ns);
    assert_eq!(first, Some("oil-prod"));
}

#[test]
fn tenant_lookups_and_views() {
    let classes = AllowedList {
        allowed: strings(["ceph-rbd"]),
        default: Some("ceph-rbd".to_owned()),
        allowed_regex: Some("^.*-fs$".to_owned()),
        ..AllowedList::default()
    };
    let snapshot = snapshot_of(vec![
        tenant("oil")
            .owner_with(user("alice"), vec![legacy(LegacyKind::Nodes, "L")])
            .status_owner(group("devs"))
            .namespaces(["oil-dev", "oil-prod"])
            .label("env", "prod")
            .node_selector("pool", "oil")
            .storage_classes(classes.clone())
            .build(),
        tenant("gas").namespaces(["gas-dev"]).build(),
    ]);
    let names: Vec<&str> = snapshot.tenants().map(TenantView::name).collect();
    assert_eq!(names, ["gas", "oil"]);

    let oil = snapshot.tenant("oil").unwrap();
    assert_eq!(oil.name(), "oil");
    assert_eq!(oil.labels().get("env").map(String::as_str), Some("prod"));
    assert_eq!(
        oil.labels()
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("oil")
    );
    let namespaces: Vec<&str> = oil.namespaces().iter().map(|ns| &**ns).collect();
    assert_eq!(namespaces, ["oil-dev", "oil-prod"]);
    assert_eq!(oil.node_selector().get("pool").map(String::as_str), Some("oil"));
    assert_eq!(oil.storage_classes(), Some(&classes));
    assert_eq!(oil.ingress_classes(), None);
    assert_eq!(oil.priority_classes(), None);
    assert_eq!(oil.runtime_classes(), None);
    assert_eq!(oil.spec_owners().len(), 1);
    assert_eq!(oil.spec_owners()[0].subject, user("alice"));
    let owners: Vec<(SubjectKind, &str)> = oil.status_owners().collect();
    assert_eq!(
        owners,
        [(SubjectKind::User, "alice"), (SubjectKind::Group, "devs")]
    );

    for (namespace, want) in [
        ("oil-dev", Some("oil")),
        ("oil-prod", Some("oil")),
        ("gas-dev", Some("gas")),
    ] {
        assert_eq!(
            snapshot.tenant_of_namespace(namespace).map(TenantView::name),
            want
        );
    }
    assert!(snapshot.tenant_of_namespace("kube-system").is_none());
    assert!(snapshot.tenant("water").is_none());
    assert!(snapshot.tenant("").is_none());
}

#[test]
fn capsule_users_by_group_and_by_name() {
    let mut index = Index::new();
    index.set_capsule_configuration(Some(capsule_configuration(vec![
        group("projectcapsule.dev"),
        user("bob"),
        sa(SA_BOT),
    ])));
    let snapshot = index.snapshot(1);
    let cases: &[(&str, &[&str], bool)] = &[
        ("alice", &["projectcapsule.dev"], true),
        ("alice", &["other", "projectcapsule.dev"], true),
        ("alice", &["other"], false),
        ("alice", &[], false),
        ("bob", &[], true),
        (SA_BOT, &[], true),
        // A `Group` entry is not a user name and a `User` entry is not a group.
        ("projectcapsule.dev", &[], false),
        ("alice", &["bob"], false),
    ];
    for (user, groups, want) in cases {
        let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        assert_eq!(
            snapshot.is_capsule_user(user, &groups),
            *want,
            "{user} {groups:?}"
        );
    }

    // Deleted (or not yet seen): nobody is a Capsule user.
    index.set_capsule_configuration(None);
    assert!(
        !index
            .snapshot(2)
            .is_capsule_user("bob", &strings(["projectcapsule.dev"]))
    );
}
