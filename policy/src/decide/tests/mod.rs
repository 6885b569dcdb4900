//! Table tests of [`decide`], one file per route family, on snapshots built through the [`Index`].

mod catch_all;
mod classes;
mod cluster_scoped;
mod impossible_names;
mod legacy;
mod namespaces;
mod tenants;

use std::collections::BTreeMap;

use super::*;
use crate::cluster_objects::{ClusterObjectRecord, ObjectKind, OwnerRecord};
use crate::index::Index;
use crate::model::{
    ClusterOperations, ClusterResourceRule, GlobalProxySettingsRecord, LabelSelector, ProxySettingRecord,
    TenantRecord,
};
use crate::route::{Gvr, LegacyRoute};

pub(super) const OFF: Gates = Gates {
    cluster_scoped: false,
    all_namespaced: false,
};
pub(super) const ON: Gates = Gates {
    cluster_scoped: true,
    all_namespaced: false,
};

/// What the tests build a snapshot from.
#[derive(Default)]
pub(super) struct World {
    pub(super) tenants: Vec<TenantRecord>,
    pub(super) proxy_settings: Vec<ProxySettingRecord>,
    pub(super) globals: Vec<GlobalProxySettingsRecord>,
    pub(super) objects: Vec<(ObjectKind, Vec<ClusterObjectRecord>)>,
    pub(super) role_bindings: Vec<crate::role_bindings::RoleBindingRecord>,
}

impl World {
    pub(super) fn snapshot(self) -> Snapshot {
        let mut index = Index::new();
        index.reset_tenants(self.tenants);
        index.reset_proxy_settings(self.proxy_settings);
        index.reset_global_proxy_settings(self.globals);
        for (kind, objects) in self.objects {
            index.reset_objects(kind, objects);
        }
        index.reset_role_bindings(self.role_bindings);
        index.snapshot(1)
    }
}

/// An object with labels `k=v`.
pub(super) fn object(name: &str, labels: &[(&str, &str)]) -> ClusterObjectRecord {
    ClusterObjectRecord {
        name: name.to_owned(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        owner: None,
    }
}

/// A namespace as Capsule makes it: owned by the Tenant `tenant`, labelled with its name and the tenant's.
pub(super) fn tenant_namespace(name: &str, tenant: &str) -> ClusterObjectRecord {
    ClusterObjectRecord {
        owner: Some(OwnerRecord {
            kind: "Tenant".to_owned(),
            name: tenant.to_owned(),
        }),
        ..object(
            name,
            &[
                ("kubernetes.io/metadata.name", name),
                (crate::snapshot::TENANT_LABEL, tenant),
            ],
        )
    }
}

/// A `clusterResources` rule on `resources` of `groups` selecting `key=value`, with `list` and `get` as given.
pub(super) fn cluster_rule(
    groups: &[&str],
    resources: &[&str],
    (list, get): (bool, bool),
    selector: &[(&str, &str)],
) -> ClusterResourceRule {
    ClusterResourceRule {
        api_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        resources: resources.iter().map(|r| (*r).to_owned()).collect(),
        operations: ClusterOperations { list, get },
        selector: LabelSelector {
            match_labels: selector
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            match_expressions: Vec::new(),
        },
    }
}

/// One request: who asks, how, on which route.
pub(super) struct Ask<'r> {
    pub(super) user: &'static str,
    pub(super) groups: &'static [&'static str],
    pub(super) method: &'static str,
    pub(super) gates: Gates,
    pub(super) route: Route<'r>,
}

/// `user` asks `route` with `method`, no groups, gate off.
pub(super) fn ask<'r>(user: &'static str, method: &'static str, route: Route<'r>) -> Ask<'r> {
    Ask {
        user,
        groups: &[],
        method,
        gates: OFF,
        route,
    }
}

impl<'r> Ask<'r> {
    pub(super) fn gate(self, gates: Gates) -> Self {
        Self { gates, ..self }
    }

    pub(super) fn groups(self, groups: &'static [&'static str]) -> Self {
        Self { groups, ..self }
    }

    pub(super) fn decide(&self, snapshot: &Snapshot) -> Decision {
        let groups: Vec<String> = self.groups.iter().map(|g| (*g).to_owned()).collect();
        let tenants = snapshot.proxy_tenants(self.user, &groups, self.gates.cluster_scoped);
        let input = DecideInput {
            snapshot,
            tenants: &tenants,
            method: self.method,
            user: self.user,
            groups: &groups,
            gates: self.gates,
        };
        decide(&self.route, &input)
    }
}

/// A decision as one line: `Filter(<selector text>)`, `Filter(nothing)`, `ObjectCheck(a | b)`, `404 <message>`,
/// or the variant's name.
pub(super) fn shown(decision: &Decision) -> String {
    match decision {
        Decision::Filter(s) if s.is_nothing() => "Filter(nothing)".to_owned(),
        Decision::Filter(s) => format!("Filter({s})"),
        Decision::ObjectCheck { selectors } => {
            let texts: Vec<String> = selectors.iter().map(ToString::to_string).collect();
            format!("ObjectCheck({})", texts.join(" | "))
        }
        Decision::Respond { code, message } => format!("{code} {message}"),
        other => format!("{other:?}"),
    }
}

/// Checks every `(ask, want)` of a table on `snapshot`.
pub(super) fn check<'r, W: AsRef<str>>(snapshot: &Snapshot, cases: impl IntoIterator<Item = (Ask<'r>, W)>) {
    for (i, (ask, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            shown(&ask.decide(snapshot)),
            want.as_ref(),
            "case {i}: {} {} {:?} as {} {:?} gate {}",
            ask.method,
            ask.route_text(),
            ask.route,
            ask.user,
            ask.groups,
            ask.gates.cluster_scoped
        );
    }
}

impl Ask<'_> {
    fn route_text(&self) -> &'static str {
        match self.route {
            Route::NamespacesList | Route::NamespaceGet { .. } => "namespaces",
            Route::TenantsList | Route::TenantGet { .. } => "tenants",
            Route::Legacy { .. } => "legacy",
            Route::ClusterScoped { .. } => "cluster-scoped",
            Route::NamespacedAll { .. } => "catch-all",
            _ => "other",
        }
    }
}

/// The legacy route `kind` on the collection (`None`) or a named object, version `v1`.
pub(super) fn legacy(kind: LegacyRoute, name: Option<&str>) -> Route<'_> {
    Route::Legacy {
        kind,
        version: "v1",
        name,
    }
}

pub(super) fn gvr<'a>(group: &'a str, version: &'a str, resource: &'a str) -> Gvr<'a> {
    Gvr {
        group,
        version,
        resource,
    }
}

#[test]
fn not_found_reads_like_kube_apiserver() {
    assert_eq!(
        not_found("nodes", "", "n1"),
        (404, r#"nodes "n1" not found"#.to_owned())
    );
    assert_eq!(
        not_found("storageclasses", "storage.k8s.io", "gold"),
        (
            404,
            r#"storageclasses.storage.k8s.io "gold" not found"#.to_owned()
        )
    );
}

#[test]
fn routes_that_are_not_modules_pass_through() {
    let snapshot = World::default().snapshot();
    let routes = [
        Route::Other,
        Route::SelfSubjectAccessReview,
        Route::SelfSubjectRulesReview,
        Route::NamespacedObjectGet {
            gvr: gvr("", "v1", "pods"),
            namespace: "oil-dev",
            name: "web",
        },
    ];
    for route in routes {
        assert_eq!(
            ask("alice", "GET", route).decide(&snapshot),
            Decision::PassThrough
        );
    }
}

#[test]
fn in_selector_drops_values_that_are_not_label_values() {
    let long = "x".repeat(64);
    let selector = in_selector("kubernetes.io/hostname", ["a", long.as_str(), "b c", "b"]);
    assert_eq!(selector.to_string(), "kubernetes.io/hostname in (a,b)");
    assert!(in_selector("kubernetes.io/hostname", [long.as_str()]).is_nothing());
}
