//! The module routes: namespaces, tenants, legacy and generic cluster-scoped.

use super::*;

#[test]
fn namespaces_and_tenants_are_get_only_and_come_first() {
    let mut cases: Vec<Case> = Vec::new();
    for gates in [OFF, ON] {
        cases.extend([
            ("GET", "/api/v1/namespaces", "", gates, Route::NamespacesList),
            (
                "GET",
                "/api/v1/namespaces/",
                "watch=1",
                gates,
                Route::NamespacesList,
            ),
            (
                "GET",
                "/api/v1/namespaces/oil-dev",
                "",
                gates,
                Route::NamespaceGet { name: "oil-dev" },
            ),
            ("GET", "/api/v1/namespaces/oil-dev/", "", gates, Route::Other),
            (
                "GET",
                "/api/v1/namespaces/oil-dev/status",
                "",
                gates,
                Route::Other,
            ),
            // A path that matches with another method falls through to the later routes: none takes it.
            ("POST", "/api/v1/namespaces", "", gates, Route::Other),
            ("DELETE", "/api/v1/namespaces/oil-dev", "", gates, Route::Other),
            ("PATCH", "/api/v1/namespaces/oil-dev", "", gates, Route::Other),
            ("get", "/api/v1/namespaces", "", gates, Route::Other),
            ("HEAD", "/api/v1/namespaces", "", gates, Route::Other),
            ("GET", "/api/v2/namespaces", "", gates, Route::Other),
            (
                "GET",
                "/apis/capsule.clastix.io/v1beta2/tenants",
                "",
                gates,
                Route::TenantsList,
            ),
            (
                "GET",
                "/apis/capsule.clastix.io/v1beta2/tenants/",
                "",
                gates,
                Route::TenantsList,
            ),
            (
                "GET",
                "/apis/capsule.clastix.io/v1beta2/tenants/oil",
                "",
                gates,
                Route::TenantGet { name: "oil" },
            ),
            (
                "GET",
                "/apis/capsule.clastix.io/v1beta2/tenants/oil/status",
                "",
                gates,
                Route::Other,
            ),
            (
                "GET",
                "/apis/capsule.clastix.io/v1beta1/tenants",
                "",
                gates,
                Route::Other,
            ),
            (
                "POST",
                "/apis/capsule.clastix.io/v1beta2/tenants",
                "",
                gates,
                Route::Other,
            ),
            (
                "PUT",
                "/apis/capsule.clastix.io/v1beta2/tenants/oil",
                "",
                gates,
                Route::Other,
            ),
        ]);
    }
    check(&cases);
}

#[test]
fn legacy_routes_take_every_method_with_the_gate_off() {
    use LegacyRoute::*;
    let cases: &[Case] = &[
        ("GET", "/api/v1/nodes", "", OFF, legacy(Nodes, "v1", None)),
        ("GET", "/api/v1/nodes/", "", OFF, legacy(Nodes, "v1", None)),
        ("POST", "/api/v1/nodes", "", OFF, legacy(Nodes, "v1", None)),
        (
            "PATCH",
            "/api/v1/nodes/n1",
            "",
            OFF,
            legacy(Nodes, "v1", Some("n1")),
        ),
        ("GET", "/api/v1/nodes/n1/status", "", OFF, Route::Other),
        ("GET", "/api/v1/nodes/n1/", "", OFF, Route::Other),
        (
            "GET",
            "/api/v1/persistentvolumes",
            "",
            OFF,
            legacy(PersistentVolumes, "v1", None),
        ),
        (
            "DELETE",
            "/api/v1/persistentvolumes/pv",
            "",
            OFF,
            legacy(PersistentVolumes, "v1", Some("pv")),
        ),
        (
            "GET",
            "/apis/storage.k8s.io/v1/storageclasses/",
            "",
            OFF,
            legacy(StorageClasses, "v1", None),
        ),
        (
            "GET",
            "/apis/storage.k8s.io/v1/storageclasses/gold",
            "",
            OFF,
            legacy(StorageClasses, "v1", Some("gold")),
        ),
        (
            "GET",
            "/apis/storage.k8s.io/v1beta1/storageclasses",
            "",
            OFF,
            Route::Other,
        ),
        (
            "GET",
            "/apis/networking.k8s.io/v1/ingressclasses",
            "",
            OFF,
            legacy(IngressClasses, "v1", None),
        ),
        (
            "PUT",
            "/apis/networking.k8s.io/v1beta1/ingressclasses/a",
            "",
            OFF,
            legacy(IngressClasses, "v1beta1", Some("a")),
        ),
        (
            "GET",
            "/apis/networking.k8s.io/v9/ingressclasses",
            "",
            OFF,
            legacy(IngressClasses, "v9", None),
        ),
        (
            "GET",
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            "",
            OFF,
            legacy(PriorityClasses, "v1", None),
        ),
        (
            "GET",
            "/apis/node.k8s.io/v1/runtimeclasses/",
            "",
            OFF,
            legacy(RuntimeClasses, "v1", None),
        ),
        (
            "GET",
            "/apis/node.k8s.io/v1/runtimeclasses/gvisor",
            "",
            OFF,
            legacy(RuntimeClasses, "v1", Some("gvisor")),
        ),
        (
            "GET",
            "/apis/metrics.k8s.io/v1beta1/nodes",
            "",
            OFF,
            legacy(NodeMetrics, "v1beta1", None),
        ),
        (
            "GET",
            "/apis/metrics.k8s.io/v1beta1/nodes/n1",
            "",
            OFF,
            legacy(NodeMetrics, "v1beta1", Some("n1")),
        ),
        // With the gate on, the legacy paths are generic routes when discovery has the resource.
        (
            "GET",
            "/api/v1/nodes",
            "",
            ON,
            Route::ClusterScoped {
                gvr: gvr("", "v1", "nodes"),
                name: None,
            },
        ),
        ("GET", "/api/v1/nodes/", "", ON, Route::Other),
        (
            "GET",
            "/apis/networking.k8s.io/v1beta1/ingressclasses",
            "",
            ON,
            Route::Other,
        ),
        (
            "GET",
            "/apis/scheduling.k8s.io/v1/priorityclasses",
            "",
            ON,
            Route::Other,
        ),
    ];
    check(cases);
}

#[test]
fn generic_cluster_scoped_routes_need_the_gate_and_discovery() {
    let clusterroles = gvr("rbac.authorization.k8s.io", "v1", "clusterroles");
    let metrics = gvr("metrics.k8s.io", "v1beta1", "nodes");
    let cases: &[Case] = &[
        (
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "",
            ON,
            Route::ClusterScoped {
                gvr: clusterroles,
                name: None,
            },
        ),
        (
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "",
            ON,
            Route::ClusterScoped {
                gvr: clusterroles,
                name: None,
            },
        ),
        (
            "DELETE",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin",
            "",
            ON,
            Route::ClusterScoped {
                gvr: clusterroles,
                name: Some("admin"),
            },
        ),
        (
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/",
            "",
            ON,
            Route::Other,
        ),
        (
            "GET",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            "",
            OFF,
            Route::Other,
        ),
        (
            "GET",
            "/apis/metrics.k8s.io/v1beta1/nodes/n1",
            "",
            ON,
            Route::ClusterScoped {
                gvr: metrics,
                name: Some("n1"),
            },
        ),
        (
            "GET",
            "/api/v1/componentstatuses",
            "",
            ON,
            Route::ClusterScoped {
                gvr: gvr("", "v1", "componentstatuses"),
                name: None,
            },
        ),
        // Namespaces and tenants keep their own routes; other methods on them pass through.
        ("DELETE", "/api/v1/namespaces/oil-dev", "", ON, Route::Other),
        (
            "POST",
            "/apis/capsule.clastix.io/v1beta2/tenants",
            "",
            ON,
            Route::Other,
        ),
        // Without `get`, or not discovered, or namespaced: not a generic route.
        (
            "GET",
            "/apis/authentication.k8s.io/v1/tokenreviews",
            "",
            ON,
            Route::Other,
        ),
        ("GET", "/apis/example.com/v1/widgets", "", ON, Route::Other),
        ("DELETE", "/apis/apps/v1/deployments", "", ON, Route::Other),
    ];
    check(cases);
}
