//! The namespaced catch-all (§3.11, fix 6).

use super::*;
use crate::snapshot::fixtures::{global, tenant, user};

fn world() -> World {
    World {
        tenants: vec![
            tenant("oil")
                .owner_user("alice")
                .owner_group("oilers")
                .namespaces(["oil-dev", "oil-prod"])
                .build(),
            tenant("gas").owner_group("devs").namespaces(["gas-1"]).build(),
            tenant("void").owner_user("alice").build(),
        ],
        globals: vec![
            global("everyone")
                .rule(
                    vec![user("alice"), user("erin")],
                    vec![cluster_rule(&["*"], &["*"], (true, true), &[("a", "b")])],
                )
                .build(),
        ],
        ..World::default()
    }
}

fn question(tenant: &str, namespace: &str, groups: &[&str]) -> TenantQuestion {
    TenantQuestion {
        tenant: tenant.to_owned(),
        question: AccessQuestion {
            user: "alice".to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            verb: "list".to_owned(),
            group: "apps".to_owned(),
            version: "v1".to_owned(),
            resource: "deployments".to_owned(),
            subresource: String::new(),
            namespace: namespace.to_owned(),
            name: String::new(),
        },
    }
}

#[test]
fn one_question_per_tenant_with_namespaces() {
    let snapshot = world().snapshot();
    let route = Route::NamespacedAll {
        gvr: gvr("apps", "v1", "deployments"),
    };
    let groups = &["oilers", "devs"];
    for gates in [OFF, ON] {
        // `oil` comes twice (user and group) and `void` has no namespace; `global` is no tenant.
        assert_eq!(
            ask("alice", "GET", route)
                .groups(groups)
                .gate(gates)
                .decide(&snapshot),
            Decision::AccessReviews(vec![
                question("oil", "oil-dev", groups),
                question("gas", "gas-1", groups),
            ])
        );
    }
    check(
        &snapshot,
        [
            (ask("zed", "GET", route), "Filter(nothing)"),
            (ask("erin", "GET", route).gate(ON), "Filter(nothing)"),
        ],
    );
}

#[test]
fn catch_all_selector_selects_allowed_tenants() {
    assert_eq!(
        catch_all_selector(&["oil", "gas", "oil"]).to_string(),
        "capsule.clastix.io/managed-by in (gas,oil)"
    );
    assert!(catch_all_selector(&[]).is_nothing());
}

#[test]
fn with_the_gate_every_namespace_of_the_callers_tenants_and_role_bindings_is_fanned_out_to() {
    use crate::role_bindings::{RoleBindingRecord, subject_of};
    let binding = |namespace: &str, user: &str| RoleBindingRecord {
        namespace: namespace.to_owned(),
        name: "view".to_owned(),
        subjects: subject_of("User", user, None, namespace).into_iter().collect(),
    };
    let snapshot = World {
        role_bindings: vec![
            binding("shared", "alice"),
            binding("oil-dev", "alice"),
            binding("other", "bob"),
        ],
        ..world()
    }
    .snapshot();
    let route = Route::NamespacedAll {
        gvr: gvr("", "v1", "pods"),
    };
    let fan_out = Gates {
        all_namespaced: true,
        ..OFF
    };
    let namespaces = |names: &[&str]| Decision::FanOut {
        namespaces: names.iter().map(|n| (*n).to_owned()).collect(),
    };
    // Her tenants' namespaces (`oil` once although she owns it twice, `void` has none) and her RoleBindings',
    // sorted, each once; `global` (a GlobalProxySettings entry) has no namespace.
    assert_eq!(
        ask("alice", "GET", route).gate(fan_out).decide(&snapshot),
        namespaces(&["oil-dev", "oil-prod", "shared"])
    );
    assert_eq!(
        ask("alice", "GET", route)
            .groups(&["devs"])
            .gate(fan_out)
            .decide(&snapshot),
        namespaces(&["gas-1", "oil-dev", "oil-prod", "shared"])
    );
    // A global-only caller owns no namespace: an empty fan-out (an empty list), never the cluster.
    assert_eq!(
        ask("erin", "GET", route).gate(fan_out).decide(&snapshot),
        namespaces(&[])
    );
}
