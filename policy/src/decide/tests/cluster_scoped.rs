//! Generic cluster-scoped routes (§3.9, fix 5).

use super::*;
use crate::snapshot::fixtures::{global, proxy_setting, tenant, user};

fn world() -> World {
    let rbac = ["rbac.authorization.k8s.io"];
    let storage = ["storage.k8s.io"];
    World {
        tenants: vec![tenant("oil").owner_user("alice").namespaces(["oil-dev"]).build()],
        proxy_settings: vec![
            proxy_setting("oil-dev", "sre")
                .subject_with(
                    user("dave"),
                    vec![
                        cluster_rule(
                            &rbac,
                            &["clusterroles"],
                            (true, true),
                            &[("tenant-visible", "true")],
                        ),
                        cluster_rule(&rbac, &["clusterroles"], (false, true), &[("extra", "yes")]),
                    ],
                    Vec::new(),
                )
                .build(),
        ],
        globals: vec![
            global("shared")
                .rule(
                    vec![user("erin")],
                    vec![
                        cluster_rule(&[""], &["nodes"], (true, true), &[("pool", "shared")]),
                        cluster_rule(&["*"], &["nodes"], (true, true), &[("pool", "gpu")]),
                        cluster_rule(
                            &storage,
                            &["storageclasses"],
                            (true, true),
                            &[("a", "1"), ("b", "2")],
                        ),
                        cluster_rule(&storage, &["*"], (true, true), &[("c", "3")]),
                        // An empty selector opens nothing.
                        cluster_rule(&["*"], &["*"], (true, true), &[]),
                    ],
                )
                .build(),
        ],
        ..World::default()
    }
}

#[test]
fn cluster_scoped_routes() {
    let snapshot = world().snapshot();
    let nodes = gvr("", "v1", "nodes");
    let storage = gvr("storage.k8s.io", "v1", "storageclasses");
    let roles = gvr("rbac.authorization.k8s.io", "v1", "clusterroles");
    let list = |gvr| Route::ClusterScoped { gvr, name: None };
    let named = |gvr, name| Route::ClusterScoped {
        gvr,
        name: Some(name),
    };
    let cases = [
        // The OR of the List rules when one selector expresses it...
        (
            ask("erin", "GET", list(nodes)).gate(ON),
            "Filter(pool in (gpu,shared))",
        ),
        // ...else their AND: never more than the rules open.
        (ask("erin", "GET", list(storage)).gate(ON), "Filter(a=1,b=2,c=3)"),
        (ask("erin", "GET", list(roles)).gate(ON), "Filter(nothing)"),
        (ask("alice", "GET", list(nodes)).gate(ON), "Filter(nothing)"),
        (ask("erin", "POST", list(nodes)).gate(ON), "PassThrough"),
        (ask("alice", "DELETE", list(roles)).gate(ON), "PassThrough"),
        // Get-only rules do not list.
        (
            ask("dave", "GET", list(roles)).gate(ON),
            "Filter(tenant-visible=true)",
        ),
        // Named GET with Get rules: check the object's labels.
        (
            ask("dave", "GET", named(roles, "admin")).gate(ON),
            "ObjectCheck(tenant-visible=true | extra=yes)",
        ),
        (
            ask("erin", "GET", named(nodes, "n1")).gate(ON),
            "ObjectCheck(pool=shared | pool=gpu)",
        ),
        (
            ask("dave", "DELETE", named(roles, "admin")).gate(ON),
            "PassThrough",
        ),
        (ask("erin", "GET", named(roles, "admin")).gate(ON), "PassThrough"),
        (ask("alice", "GET", named(nodes, "n1")).gate(ON), "PassThrough"),
    ];
    check(&snapshot, cases);
}
