//! Names no object of the route's kind can have are answered `404` at once, never looked up: from the raw request
//! path through [`canonical_path`] and [`classify`] to the decision, for every named route kind.

use super::*;
use crate::discovery::{ApiResource, ApiResources};
use crate::model::LegacyKind;
use crate::route::{PathForm, canonical_path, classify};
use crate::snapshot::fixtures::{global, tenant, user};

fn world() -> World {
    let rbac = ["rbac.authorization.k8s.io"];
    World {
        tenants: vec![
            tenant("gas").owner_user("bob").namespaces(["gas-dev"]).build(),
            tenant("oil").owner_user("alice").build(),
        ],
        globals: vec![
            global("shared")
                .rule(
                    vec![user("erin")],
                    vec![
                        cluster_rule(&rbac, &["clusterroles"], (true, true), &[("open", "yes")]),
                        cluster_rule(&[""], &["nodes"], (true, true), &[("open", "yes")]),
                    ],
                )
                .build(),
        ],
        objects: vec![
            (ObjectKind::Namespaces, vec![tenant_namespace("gas-dev", "gas")]),
            (LegacyKind::Nodes.into(), vec![object("n1", &[])]),
        ],
        ..World::default()
    }
}

fn discovery() -> ApiResources {
    let resource = |group: &str, name: &str| ApiResource {
        group: group.to_owned(),
        version: "v1".to_owned(),
        resource: name.to_owned(),
        kind: String::new(),
        namespaced: false,
        verbs: ["get", "list", "watch"].map(str::to_owned).to_vec(),
    };
    ApiResources::new(
        [
            resource("", "namespaces"),
            resource("", "nodes"),
            resource("storage.k8s.io", "storageclasses"),
            resource("rbac.authorization.k8s.io", "clusterroles"),
        ],
        [
            ("", "v1"),
            ("storage.k8s.io", "v1"),
            ("rbac.authorization.k8s.io", "v1"),
        ]
        .map(|(g, v)| (g.to_owned(), v.to_owned())),
    )
}

/// The decision for `user` sending `method raw_path`, or how the path is refused before routing.
fn answer(
    snapshot: &Snapshot,
    user: &'static str,
    method: &'static str,
    raw_path: &str,
    gates: Gates,
) -> String {
    let path = match canonical_path(raw_path) {
        Ok(PathForm::Canonical(path)) => path,
        Ok(PathForm::Redirect(to)) => return format!("301 {to}"),
        Err(e) => return format!("400 {e}"),
    };
    let resources = discovery();
    let route = classify(method, &path, "", &resources, gates);
    let ask = Ask {
        user,
        groups: &[],
        method,
        gates,
        route,
    };
    shown(&ask.decide(snapshot))
}

#[test]
fn impossible_names_are_not_found_at_once() {
    let snapshot = world().snapshot();
    let long_label = "a".repeat(64);
    let longest_label = "a".repeat(63);
    let namespace = |raw: &str| format!("/api/v1/namespaces/{raw}");
    let cases: Vec<(&'static str, &'static str, String, Gates, String)> = vec![
        // Namespaces are DNS-1123 labels.
        ("bob", "GET", namespace("gas-dev"), OFF, "AsProxy".into()),
        (
            "bob",
            "GET",
            namespace("gas-dev%20"),
            OFF,
            r#"404 namespaces "gas-dev " not found"#.into(),
        ),
        (
            "bob",
            "GET",
            namespace("gas-dev%09"),
            OFF,
            r#"404 namespaces "gas-dev\t" not found"#.into(),
        ),
        (
            "bob",
            "GET",
            namespace("%01"),
            ON,
            r#"404 namespaces "\u{1}" not found"#.into(),
        ),
        (
            "bob",
            "GET",
            namespace("GAS-DEV"),
            OFF,
            r#"404 namespaces "GAS-DEV" not found"#.into(),
        ),
        (
            "bob",
            "GET",
            namespace("gas%2Edev"),
            OFF,
            r#"404 namespaces "gas.dev" not found"#.into(),
        ),
        (
            "bob",
            "GET",
            namespace("a%25b"),
            OFF,
            r#"404 namespaces "a%b" not found"#.into(),
        ),
        (
            "bob",
            "GET",
            namespace("%C3%A9"),
            OFF,
            r#"404 namespaces "é" not found"#.into(),
        ),
        (
            "bob",
            "GET",
            namespace("-a"),
            OFF,
            r#"404 namespaces "-a" not found"#.into(),
        ),
        (
            "bob",
            "GET",
            namespace(&long_label),
            OFF,
            format!(r#"404 namespaces "{long_label}" not found"#),
        ),
        // A possible name the snapshot has not seen is still read live.
        (
            "bob",
            "GET",
            namespace(&longest_label),
            OFF,
            "ObjectCheck()".into(),
        ),
        // Refused before routing: an escaped NUL, and dot segments (redirected to the clean path).
        (
            "bob",
            "GET",
            namespace("gas-dev%00"),
            OFF,
            "400 the path holds an escaped NUL byte".into(),
        ),
        ("bob", "GET", namespace(".."), OFF, "301 /api/v1".into()),
        ("bob", "GET", namespace("%2E%2E"), OFF, "301 /api/v1".into()),
        // Tenants are custom resources: DNS-1123 subdomains.
        (
            "alice",
            "GET",
            "/apis/capsule.clastix.io/v1beta2/tenants/oil".into(),
            OFF,
            "AsProxy".into(),
        ),
        (
            "alice",
            "GET",
            "/apis/capsule.clastix.io/v1beta2/tenants/oil%20".into(),
            OFF,
            r#"404 tenants.capsule.clastix.io "oil " not found"#.into(),
        ),
        (
            "alice",
            "GET",
            "/apis/capsule.clastix.io/v1beta2/tenants/OIL".into(),
            ON,
            r#"404 tenants.capsule.clastix.io "OIL" not found"#.into(),
        ),
        // Legacy routes: every kind's names are DNS-1123 subdomains; only a GET is answered.
        ("alice", "GET", "/api/v1/nodes/n1".into(), OFF, "AsProxy".into()),
        (
            "alice",
            "GET",
            "/api/v1/nodes/n1%20".into(),
            OFF,
            r#"404 nodes "n1 " not found"#.into(),
        ),
        (
            "alice",
            "GET",
            "/api/v1/nodes/N1".into(),
            OFF,
            r#"404 nodes "N1" not found"#.into(),
        ),
        (
            "alice",
            "DELETE",
            "/api/v1/nodes/n1%20".into(),
            OFF,
            "PassThrough".into(),
        ),
        (
            "alice",
            "GET",
            "/apis/storage.k8s.io/v1/storageclasses/gold%25".into(),
            OFF,
            r#"404 storageclasses.storage.k8s.io "gold%" not found"#.into(),
        ),
        // Generic routes: nodes are subdomains...
        (
            "erin",
            "GET",
            "/api/v1/nodes/n1".into(),
            ON,
            "ObjectCheck(open=yes)".into(),
        ),
        (
            "erin",
            "GET",
            "/api/v1/nodes/n%201".into(),
            ON,
            r#"404 nodes "n 1" not found"#.into(),
        ),
        // ...cluster roles only path segments: `%` is impossible, a space is not.
        (
            "erin",
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/a%25b".into(),
            ON,
            r#"404 clusterroles.rbac.authorization.k8s.io "a%b" not found"#.into(),
        ),
        (
            "erin",
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:admin".into(),
            ON,
            "ObjectCheck(open=yes)".into(),
        ),
        // A possible name the live read cannot carry as decoded is never checked: the caller's RBAC decides.
        (
            "erin",
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/a%20b".into(),
            ON,
            "PassThrough".into(),
        ),
        (
            "erin",
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/open%3Fx".into(),
            ON,
            "PassThrough".into(),
        ),
        (
            "erin",
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/open%23x".into(),
            ON,
            "PassThrough".into(),
        ),
        // Without rules on the kind, an impossible name is still a 404 and a possible one passes through.
        (
            "alice",
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/a%25b".into(),
            ON,
            r#"404 clusterroles.rbac.authorization.k8s.io "a%b" not found"#.into(),
        ),
        (
            "alice",
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/a%20b".into(),
            ON,
            "PassThrough".into(),
        ),
    ];
    for (user, method, path, gates, want) in cases {
        assert_eq!(
            answer(&snapshot, user, method, &path, gates),
            want,
            "{user} {method} {path} gate {}",
            gates.cluster_scoped
        );
    }
}

/// Names that cannot come out of [`canonical_path`] (a NUL, dot segments, nothing) are refused by the
/// decisions too, and no such name reaches a live read: kinds with DNS names answer 404; cluster roles (path
/// segment names) answer 404 to what the path-segment rule refuses and pass the others through.
#[test]
fn impossible_names_never_reach_a_live_read() {
    let snapshot = world().snapshot();
    let nodes = gvr("", "v1", "nodes");
    let roles = gvr("rbac.authorization.k8s.io", "v1", "clusterroles");
    let not_found = |d: &Decision| matches!(d, Decision::Respond { code: 404, .. });
    for name in ["", ".", "..", "a/b", "%", "gas-dev\0", "a\u{7f}", "a b"] {
        let dns_routes = [
            (Route::NamespaceGet { name }, OFF),
            (Route::TenantGet { name }, OFF),
            (legacy(LegacyRoute::Nodes, Some(name)), OFF),
            (
                Route::ClusterScoped {
                    gvr: nodes,
                    name: Some(name),
                },
                ON,
            ),
        ];
        for (route, gates) in dns_routes {
            let decision = ask("erin", "GET", route).gate(gates).decide(&snapshot);
            assert!(not_found(&decision), "{route:?} → {decision:?}");
        }
        let route = Route::ClusterScoped {
            gvr: roles,
            name: Some(name),
        };
        let decision = ask("erin", "GET", route).gate(ON).decide(&snapshot);
        if crate::object_name::is_path_segment_name(name) {
            assert_eq!(decision, Decision::PassThrough, "{name:?}");
        } else {
            assert!(not_found(&decision), "{name:?} → {decision:?}");
        }
    }
}
