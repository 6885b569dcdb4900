//! The catch-all, the self reviews, the namespace gate's candidates and everything else.

use super::*;

#[test]
fn catch_all_is_get_of_a_listable_namespaced_collection() {
    let pods = gvr("", "v1", "pods");
    let deployments = gvr("apps", "v1", "deployments");
    let mut cases: Vec<Case> = Vec::new();
    for gates in [OFF, ON] {
        cases.extend([
            (
                "GET",
                "/api/v1/pods",
                "",
                gates,
                Route::NamespacedAll { gvr: pods },
            ),
            (
                "GET",
                "/api/v1/pods",
                "watch=true",
                gates,
                Route::NamespacedAll { gvr: pods },
            ),
            (
                "GET",
                "/apis/apps/v1/deployments",
                "",
                gates,
                Route::NamespacedAll { gvr: deployments },
            ),
            ("GET", "/api/v1/pods/", "", gates, Route::Other),
            ("POST", "/api/v1/pods", "", gates, Route::Other),
            ("GET", "/apis/apps/v1beta1/deployments", "", gates, Route::Other),
            // No watch, no list: not intercepted.
            ("GET", "/api/v1/podtemplates", "", gates, Route::Other),
            ("GET", "/api/v1/bindings", "", gates, Route::Other),
            (
                "GET",
                "/apis/metrics.k8s.io/v1beta1/pods",
                "",
                gates,
                Route::Other,
            ),
            // A namespaced list is not the catch-all.
            ("GET", "/api/v1/namespaces/oil-dev/pods", "", gates, Route::Other),
        ]);
    }
    check(&cases);
}

#[test]
fn self_reviews_are_post_on_exact_paths() {
    let cases: &[Case] = &[
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            "",
            OFF,
            Route::SelfSubjectAccessReview,
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            "",
            ON,
            Route::SelfSubjectRulesReview,
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/",
            "",
            OFF,
            Route::Other,
        ),
        (
            "GET",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            "",
            OFF,
            Route::Other,
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1beta1/selfsubjectaccessreviews",
            "",
            OFF,
            Route::Other,
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            "",
            OFF,
            Route::Other,
        ),
    ];
    check(cases);
}

#[test]
fn named_namespaced_gets_are_gate_candidates() {
    let pods = gvr("", "v1", "pods");
    let widgets = gvr("example.com", "v2", "widgets");
    let cases: &[Case] = &[
        (
            "GET",
            "/api/v1/namespaces/oil-dev/pods/web",
            "",
            OFF,
            Route::NamespacedObjectGet {
                gvr: pods,
                namespace: "oil-dev",
                name: "web",
            },
        ),
        (
            "GET",
            "/api/v1/namespaces/oil-dev/pods/web",
            "watch=false",
            ON,
            Route::NamespacedObjectGet {
                gvr: pods,
                namespace: "oil-dev",
                name: "web",
            },
        ),
        (
            "GET",
            "/apis/example.com/v2/namespaces/x/widgets/w",
            "",
            OFF,
            Route::NamespacedObjectGet {
                gvr: widgets,
                namespace: "x",
                name: "w",
            },
        ),
        (
            "GET",
            "/api/v1/namespaces/oil-dev/pods/web",
            "watch=1",
            OFF,
            Route::Other,
        ),
        (
            "GET",
            "/api/v1/namespaces/oil-dev/pods/web",
            "watch=True",
            OFF,
            Route::Other,
        ),
        (
            "GET",
            "/api/v2/namespaces/oil-dev/pods/web",
            "",
            OFF,
            Route::Other,
        ),
        (
            "PUT",
            "/api/v1/namespaces/oil-dev/pods/web",
            "",
            OFF,
            Route::Other,
        ),
        (
            "GET",
            "/api/v1/namespaces/oil-dev/pods/web/",
            "",
            OFF,
            Route::Other,
        ),
        (
            "GET",
            "/api/v1/namespaces/oil-dev/pods/web/log",
            "",
            OFF,
            Route::Other,
        ),
        (
            "GET",
            "/apis/apps/v1/namespaces/x/deployments/web/scale",
            "",
            OFF,
            Route::Other,
        ),
    ];
    check(cases);
}

#[test]
fn everything_else_is_other() {
    let mut cases: Vec<Case> = Vec::new();
    for gates in [OFF, ON] {
        for path in [
            "/",
            "/api",
            "/apis",
            "/api/v1",
            "/apis/apps/v1",
            "/version",
            "/openapi/v3",
            "/healthz",
            "/apix/v1/nodes",
            "/api/v1/nodes/a/b/c/d/e/f/g",
        ] {
            cases.push(("GET", path, "", gates, Route::Other));
        }
    }
    check(&cases);
}

#[test]
fn undiscovered_resources_route_nothing_generic() {
    let empty = ApiResources::default();
    assert_eq!(classify("GET", "/api/v1/pods", "", &empty, ON), Route::Other);
    assert_eq!(classify("GET", "/api/v1/nodes", "", &empty, ON), Route::Other);
    assert_eq!(
        classify("GET", "/api/v1/nodes", "", &empty, OFF),
        legacy(LegacyRoute::Nodes, "v1", None)
    );
    assert_eq!(
        classify("GET", "/api/v1/namespaces", "", &empty, ON),
        Route::NamespacesList
    );
}

#[test]
fn legacy_routes_name_their_kind_group_and_resource() {
    use LegacyRoute::*;
    let all = [
        Nodes,
        NodeMetrics,
        StorageClasses,
        IngressClasses,
        PriorityClasses,
        RuntimeClasses,
        PersistentVolumes,
    ];
    for route in all {
        let version = if matches!(route, NodeMetrics) {
            "v1beta1"
        } else {
            "v1"
        };
        let path = match route.group() {
            "" => format!("/api/{version}/{}", route.resource()),
            group => format!("/apis/{group}/{version}/{}", route.resource()),
        };
        assert_eq!(
            classify("GET", &path, "", &ApiResources::default(), OFF),
            legacy(route, version, None),
            "{path}"
        );
    }
    assert_eq!(NodeMetrics.kind(), LegacyKind::Nodes);
    assert_eq!(PersistentVolumes.kind(), LegacyKind::PersistentVolumes);
}
