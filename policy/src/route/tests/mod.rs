//! Table tests of [`classify`]: every route, its method rules, and the paths that look alike but are not it.

mod modules;
mod others;

use super::*;
use crate::discovery::ApiResource;

pub(super) fn resource(group: &str, version: &str, name: &str, namespaced: bool, verbs: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        resource: name.into(),
        kind: String::new(),
        namespaced,
        verbs: verbs.split(',').map(str::to_owned).collect(),
    }
}

/// A small discovery: core, apps, storage, rbac, capsule, metrics, authorization and authentication.
pub(super) fn discovery() -> ApiResources {
    const ALL: &str = "get,list,watch,create,update,patch,delete";
    ApiResources::new(
        [
            resource("", "v1", "namespaces", false, ALL),
            resource("", "v1", "nodes", false, ALL),
            resource("", "v1", "persistentvolumes", false, ALL),
            resource("", "v1", "componentstatuses", false, "get,list"),
            resource("", "v1", "pods", true, ALL),
            resource("", "v1", "bindings", true, "create"),
            resource("", "v1", "podtemplates", true, "get,list"),
            resource("apps", "v1", "deployments", true, ALL),
            resource("storage.k8s.io", "v1", "storageclasses", false, ALL),
            resource("rbac.authorization.k8s.io", "v1", "clusterroles", false, ALL),
            resource("capsule.clastix.io", "v1beta2", "tenants", false, ALL),
            resource("metrics.k8s.io", "v1beta1", "nodes", false, "get,list"),
            resource("metrics.k8s.io", "v1beta1", "pods", true, "get,list"),
            resource(
                "authorization.k8s.io",
                "v1",
                "selfsubjectaccessreviews",
                false,
                "create",
            ),
            resource(
                "authorization.k8s.io",
                "v1",
                "selfsubjectrulesreviews",
                false,
                "create",
            ),
            resource("authentication.k8s.io", "v1", "tokenreviews", false, "create"),
            // Not the preferred version: never routed.
            resource("networking.k8s.io", "v1beta1", "ingressclasses", false, ALL),
            resource("networking.k8s.io", "v1", "ingressclasses", false, ALL),
        ],
        [
            ("", "v1"),
            ("apps", "v1"),
            ("storage.k8s.io", "v1"),
            ("rbac.authorization.k8s.io", "v1"),
            ("capsule.clastix.io", "v1beta2"),
            ("metrics.k8s.io", "v1beta1"),
            ("authorization.k8s.io", "v1"),
            ("authentication.k8s.io", "v1"),
            ("networking.k8s.io", "v1"),
        ]
        .map(|(g, v)| (g.to_owned(), v.to_owned())),
    )
}

pub(super) const OFF: Gates = Gates {
    cluster_scoped: false,
    all_namespaced: false,
};
pub(super) const ON: Gates = Gates {
    cluster_scoped: true,
    all_namespaced: false,
};

pub(super) fn gvr<'a>(group: &'a str, version: &'a str, resource: &'a str) -> Gvr<'a> {
    Gvr {
        group,
        version,
        resource,
    }
}

pub(super) fn legacy<'a>(kind: LegacyRoute, version: &'a str, name: Option<&'a str>) -> Route<'a> {
    Route::Legacy { kind, version, name }
}

/// `(method, path, query, gates, route)`, checked one by one.
pub(super) type Case = (&'static str, &'static str, &'static str, Gates, Route<'static>);

pub(super) fn check(cases: &[Case]) {
    let resources = discovery();
    for (method, path, query, gates, want) in cases {
        assert_eq!(
            classify(method, path, query, &resources, *gates),
            *want,
            "{method} {path}?{query} gate {}",
            gates.cluster_scoped
        );
    }
}
