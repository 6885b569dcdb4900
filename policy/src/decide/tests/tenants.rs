//! Tenants list and get (§3.3, fix 3).

use super::*;
use crate::snapshot::fixtures::{global, tenant, user};

fn world() -> World {
    let capsule = ["capsule.clastix.io"];
    World {
        tenants: vec![
            tenant("oil").owner_user("alice").label("tier", "gold").build(),
            tenant("gas").owner_user("bob").label("tier", "gold").build(),
            tenant("water")
                .owner_user("nobody")
                .label("tier", "silver")
                .build(),
            tenant("global")
                .owner_user("nobody")
                .label("tier", "bronze")
                .build(),
        ],
        globals: vec![
            global("readers")
                .rule(
                    vec![user("erin")],
                    vec![
                        cluster_rule(&capsule, &["tenants"], (true, true), &[("tier", "gold")]),
                        cluster_rule(&capsule, &["tenants"], (false, true), &[("tier", "silver")]),
                    ],
                )
                .rule(
                    vec![user("frank")],
                    vec![cluster_rule(
                        &["capsule.clastix.io/v1beta1"],
                        &["tenants"],
                        (true, true),
                        &[("tier", "gold")],
                    )],
                )
                .build(),
        ],
        ..World::default()
    }
}

#[test]
fn tenants_list() {
    let snapshot = world().snapshot();
    let list = Route::TenantsList;
    let names = |n: &str| format!("Filter(kubernetes.io/metadata.name in ({n}))");
    let nothing = "Filter(nothing)".to_owned();
    let cases = [
        (ask("alice", "GET", list), names("oil")),
        (ask("alice", "GET", list).gate(ON), names("oil")),
        (ask("zed", "GET", list), nothing.clone()),
        // Rules with op List select by labels; a Get-only rule lists nothing; `global` is no tenant name.
        (ask("erin", "GET", list).gate(ON), names("gas,oil")),
        (ask("erin", "GET", list), nothing.clone()),
        // A rule for another version does not apply.
        (ask("frank", "GET", list).gate(ON), nothing),
        (ask("nobody", "GET", list), names("global,water")),
    ];
    check(&snapshot, cases);
}

#[test]
fn tenant_get() {
    let snapshot = world().snapshot();
    let get = |name| Route::TenantGet { name };
    let not_found = |name: &str| format!(r#"404 tenants.capsule.clastix.io "{name}" not found"#);
    let cases = [
        (ask("alice", "GET", get("oil")), "AsProxy".to_owned()),
        (ask("alice", "GET", get("gas")), not_found("gas")),
        (ask("erin", "GET", get("gas")).gate(ON), "AsProxy".to_owned()),
        (ask("erin", "GET", get("water")).gate(ON), "AsProxy".to_owned()),
        (ask("erin", "GET", get("gas")), not_found("gas")),
        // The synthetic `global` entry does not open the Tenant `global`.
        (ask("erin", "GET", get("global")).gate(ON), not_found("global")),
        (ask("nobody", "GET", get("global")), "AsProxy".to_owned()),
        (ask("erin", "GET", get("missing")).gate(ON), not_found("missing")),
    ];
    check(&snapshot, cases);
}
