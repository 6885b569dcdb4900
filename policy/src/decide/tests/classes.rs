//! Legacy storage, ingress, priority and runtime classes (§3.5, §3.6, fix 4).

use super::*;
use crate::model::{AllowedList, LegacyKind};
use crate::snapshot::fixtures::{group, legacy as setting, tenant, user};

fn allowed(
    names: &[&str],
    default: Option<&str>,
    regex: Option<&str>,
    labels: &[(&str, &str)],
) -> AllowedList {
    AllowedList {
        allowed: names.iter().map(|n| (*n).to_owned()).collect(),
        default: default.map(str::to_owned),
        allowed_regex: regex.map(str::to_owned),
        selector: cluster_rule(&[], &[], (false, false), labels).selector,
    }
}

fn world() -> World {
    let all = |letters: &str| {
        [
            LegacyKind::StorageClasses,
            LegacyKind::IngressClasses,
            LegacyKind::PriorityClasses,
            LegacyKind::RuntimeClasses,
        ]
        .map(|kind| setting(kind, letters))
        .to_vec()
    };
    let mut oil = tenant("oil").owner_with(user("alice"), all("L")).build();
    oil.spec_owners[0].proxy_settings[3] = setting(LegacyKind::RuntimeClasses, "LU");
    oil.storage_classes = Some(allowed(&["ceph-rbd"], Some("standard"), Some("^.*-fs$"), &[]));
    oil.ingress_classes = Some(allowed(&[], None, None, &[("tier", "public")]));
    oil.priority_classes = Some(allowed(&["low", "high"], None, None, &[]));
    oil.runtime_classes = Some(allowed(&["kata"], None, Some("."), &[("runtime/tenant", "oil")]));

    let gas_settings = vec![
        setting(LegacyKind::StorageClasses, "L"),
        setting(LegacyKind::IngressClasses, "L"),
    ];
    let mut gas = tenant("gas")
        .owner_with(user("bob"), gas_settings.clone())
        .owner_with(group("gassers"), gas_settings)
        .build();
    gas.storage_classes = Some(allowed(&[], None, None, &[("tier", "gold")]));
    gas.ingress_classes = Some(allowed(&[], None, None, &[("tier", "internal")]));

    let storage = vec![setting(LegacyKind::StorageClasses, "L")];
    let bad = tenant("bad")
        .owner_with(user("dan"), storage.clone())
        .storage_classes(allowed(&[], None, Some("("), &[]))
        .build();
    let ab = tenant("ab")
        .owner_with(user("erin"), storage.clone())
        .storage_classes(AllowedList {
            selector: cluster_rule(&[], &[], (false, false), &[("a", "1"), ("b", "2")]).selector,
            ..AllowedList::default()
        })
        .build();
    let c = tenant("c")
        .owner_with(group("ops"), storage)
        .storage_classes(allowed(&[], None, None, &[("c", "3")]))
        .build();
    let bare = tenant("bare")
        .owner_with(user("frank"), vec![setting(LegacyKind::RuntimeClasses, "L")])
        .build();

    World {
        tenants: vec![
            oil,
            gas,
            tenant("water").owner_user("carol").build(),
            bad,
            ab,
            c,
            bare,
        ],
        objects: vec![
            (
                LegacyKind::StorageClasses.into(),
                vec![
                    object("ceph-rbd", &[]),
                    object("standard", &[]),
                    object("nfs-fs", &[]),
                    object("gold-ssd", &[("tier", "gold")]),
                    object("other", &[]),
                    object("ab", &[("a", "1"), ("b", "2")]),
                    object("a-only", &[("a", "1")]),
                    object("c3", &[("c", "3")]),
                ],
            ),
            (
                LegacyKind::IngressClasses.into(),
                vec![
                    object("nginx", &[("tier", "public")]),
                    object("haproxy", &[("tier", "internal")]),
                    object("traefik", &[]),
                ],
            ),
            (
                LegacyKind::PriorityClasses.into(),
                vec![object("high", &[]), object("low", &[]), object("medium", &[])],
            ),
            (
                LegacyKind::RuntimeClasses.into(),
                vec![
                    object("gvisor", &[("runtime/tenant", "oil")]),
                    object("kata", &[]),
                ],
            ),
        ],
        ..World::default()
    }
}

fn ingress<'a>(version: &'a str, name: Option<&'a str>) -> Route<'a> {
    Route::Legacy {
        kind: LegacyRoute::IngressClasses,
        version,
        name,
    }
}

#[test]
fn classes_lists() {
    let snapshot = world().snapshot();
    let storage = legacy(LegacyRoute::StorageClasses, None);
    let priority = legacy(LegacyRoute::PriorityClasses, None);
    let runtime = legacy(LegacyRoute::RuntimeClasses, None);
    let cases = [
        // Exact names, `default` and `allowedRegex`: the visible names.
        (
            ask("alice", "GET", storage),
            "Filter(kubernetes.io/metadata.name in (ceph-rbd,nfs-fs,standard))",
        ),
        // Selectors only: the selector, live.
        (ask("bob", "GET", storage), "Filter(tier=gold)"),
        (
            ask("alice", "GET", storage).groups(&["gassers"]),
            "Filter(kubernetes.io/metadata.name in (ceph-rbd,gold-ssd,nfs-fs,standard))",
        ),
        // No tenant allows the list: 400 as in Go.
        (ask("carol", "GET", storage), "400 not allowed"),
        // An invalid regex opens nothing.
        (ask("dan", "GET", storage), "Filter(nothing)"),
        // Selectors whose OR no selector expresses: the names they match (`a-only` is not one).
        (
            ask("erin", "GET", storage).groups(&["ops"]),
            "Filter(kubernetes.io/metadata.name in (ab,c3))",
        ),
        (ask("erin", "GET", storage), "Filter(a=1,b=2)"),
        (ask("alice", "POST", storage), "PassThrough"),
        (ask("alice", "GET", ingress("v1", None)), "Filter(tier=public)"),
        (
            ask("alice", "GET", ingress("v1beta1", None)).groups(&["gassers"]),
            "Filter(tier in (internal,public))",
        ),
        (
            ask("alice", "GET", ingress("v2", None)),
            "400 ingressClass v2 is not supported",
        ),
        // Several exact names are all found (Go's broken sort missed some).
        (
            ask("alice", "GET", priority),
            "Filter(kubernetes.io/metadata.name in (high,low))",
        ),
        // Runtime classes read only selectors.
        (ask("alice", "GET", runtime), "Filter(runtime/tenant=oil)"),
        (ask("bob", "GET", runtime), "400 not allowed"),
        (ask("frank", "GET", runtime), "Filter(nothing)"),
    ];
    check(&snapshot, cases);
}

#[test]
fn named_classes() {
    let snapshot = world().snapshot();
    let storage = |name| legacy(LegacyRoute::StorageClasses, Some(name));
    let priority = |name| legacy(LegacyRoute::PriorityClasses, Some(name));
    let runtime = |name| legacy(LegacyRoute::RuntimeClasses, Some(name));
    let cases = [
        (ask("alice", "GET", storage("ceph-rbd")), "AsProxy"),
        (ask("alice", "GET", storage("nfs-fs")), "AsProxy"),
        (
            ask("alice", "GET", storage("gold-ssd")),
            r#"404 storageclasses.storage.k8s.io "gold-ssd" not found"#,
        ),
        (ask("bob", "GET", storage("gold-ssd")), "AsProxy"),
        (
            ask("carol", "GET", storage("ceph-rbd")),
            r#"404 storageclasses.storage.k8s.io "ceph-rbd" not found"#,
        ),
        (
            ask("alice", "GET", storage("missing")),
            r#"404 storageclasses.storage.k8s.io "missing" not found"#,
        ),
        // Writes need the method allowed: storage classes are `List` only for alice.
        (ask("alice", "PATCH", storage("ceph-rbd")), "PassThrough"),
        (ask("alice", "GET", priority("low")), "AsProxy"),
        (
            ask("alice", "GET", priority("medium")),
            r#"404 priorityclasses.scheduling.k8s.io "medium" not found"#,
        ),
        (ask("alice", "GET", runtime("gvisor")), "AsProxy"),
        (ask("alice", "PATCH", runtime("gvisor")), "AsProxy"),
        (ask("alice", "DELETE", runtime("gvisor")), "PassThrough"),
        (
            ask("alice", "GET", runtime("kata")),
            r#"404 runtimeclasses.node.k8s.io "kata" not found"#,
        ),
        (
            ask("frank", "GET", runtime("gvisor")),
            r#"404 runtimeclasses.node.k8s.io "gvisor" not found"#,
        ),
        (ask("alice", "GET", ingress("v1beta1", Some("nginx"))), "AsProxy"),
        (
            ask("alice", "GET", ingress("v1", Some("haproxy"))),
            r#"404 ingressclasses.networking.k8s.io "haproxy" not found"#,
        ),
        (
            ask("alice", "GET", ingress("v2", Some("nginx"))),
            "400 ingressClass v2 is not supported",
        ),
    ];
    check(&snapshot, cases);
}
