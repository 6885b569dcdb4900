//! Properties of routing over random paths: nothing panics, and only the listed shapes become module routes.

use proptest::prelude::*;

use super::tests::discovery;
use super::*;

/// Segments that make the interesting shapes likely, plus arbitrary ones.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(
            &[
                "namespaces", "nodes", "pods", "tenants", "ingressclasses", "storageclasses", "clusterroles",
                "selfsubjectaccessreviews", "selfsubjectrulesreviews", "persistentvolumes", "deployments",
                "status", "x", "v1", "", ".", "..",
            ][..]
        )
        .prop_map(str::to_owned),
        1 => "[a-z%./]{0,6}",
        1 => any::<String>(),
    ]
}

/// An API prefix, so that most paths reach the route table.
fn prefix() -> impl Strategy<Value = &'static str> {
    prop::sample::select(
        &[
            "",
            "/api",
            "/apis",
            "/api/v1",
            "/api/v2",
            "/apis/apps/v1",
            "/apis/capsule.clastix.io/v1beta2",
            "/apis/metrics.k8s.io/v1beta1",
            "/apis/networking.k8s.io/v1",
            "/apis/networking.k8s.io/v9",
            "/apis/storage.k8s.io/v1",
            "/apis/rbac.authorization.k8s.io/v1",
            "/apis/authorization.k8s.io/v1",
            "/apis/node.k8s.io/v1",
        ][..],
    )
}

fn raw_path() -> impl Strategy<Value = String> {
    (prefix(), prop::collection::vec(segment(), 0..5), any::<bool>()).prop_map(
        |(prefix, segments, trailing)| {
            let mut path = prefix.to_owned();
            for s in &segments {
                path.push('/');
                path.push_str(s);
            }
            if trailing {
                path.push('/');
            }
            path
        },
    )
}

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just("GET"),
        2 => Just("POST"),
        1 => prop::sample::select(&["PUT", "PATCH", "DELETE", "HEAD", "get"][..]),
    ]
}

fn query() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["", "watch=1", "watch=false", "labelSelector=a%3Db", "watch=%zz"][..])
}

/// The path's segments after its leading `/`, and whether it ends with `/`.
fn segments(path: &str) -> (Vec<&str>, bool) {
    let rest = path.strip_prefix('/').unwrap_or(path);
    match rest.strip_suffix('/') {
        Some(rest) => (rest.split('/').collect(), true),
        None => (rest.split('/').collect(), false),
    }
}

/// Whether the route is one the path's segments allow, read naively from the route list.
fn route_fits(route: &Route<'_>, method: &str, path: &str) -> bool {
    let (segs, trailing) = segments(path);
    let get = method == "GET";
    let non_empty = segs.iter().all(|s| !s.is_empty());
    if !non_empty {
        return matches!(route, Route::Other);
    }
    match *route {
        Route::NamespacesList => get && segs == ["api", "v1", "namespaces"],
        Route::NamespaceGet { name } => get && !trailing && segs == ["api", "v1", "namespaces", name],
        Route::TenantsList => get && segs == ["apis", "capsule.clastix.io", "v1beta2", "tenants"],
        Route::TenantGet { name } => {
            get && !trailing && segs == ["apis", "capsule.clastix.io", "v1beta2", "tenants", name]
        }
        Route::Legacy { kind, version, name } => {
            let mut want = if kind.group().is_empty() {
                vec!["api", version]
            } else {
                vec!["apis", kind.group(), version]
            };
            want.push(kind.resource());
            want.extend(name.iter().copied());
            segs == want && !(trailing && name.is_some())
        }
        Route::ClusterScoped { gvr, name } => {
            let mut want = if gvr.group.is_empty() {
                vec!["api"]
            } else {
                vec!["apis", gvr.group]
            };
            want.extend([gvr.version, gvr.resource]);
            want.extend(name.iter().copied());
            !trailing && segs == want
        }
        Route::NamespacedAll { gvr } => {
            let want = if gvr.group.is_empty() {
                vec!["api", gvr.version, gvr.resource]
            } else {
                vec!["apis", gvr.group, gvr.version, gvr.resource]
            };
            get && !trailing && segs == want
        }
        Route::SelfSubjectAccessReview => {
            method == "POST" && path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        }
        Route::SelfSubjectRulesReview => {
            method == "POST" && path == "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
        }
        Route::NamespacedObjectGet { gvr, namespace, name } => {
            let want = if gvr.group.is_empty() {
                vec!["api", "v1", "namespaces", namespace, gvr.resource, name]
            } else {
                vec![
                    "apis",
                    gvr.group,
                    gvr.version,
                    "namespaces",
                    namespace,
                    gvr.resource,
                    name,
                ]
            };
            get && !trailing && segs == want
        }
        Route::Other => true,
    }
}

proptest! {
    #[test]
    fn canonical_path_never_panics_and_is_idempotent(raw in raw_path()) {
        match canonical_path(&raw) {
            Ok(PathForm::Canonical(path)) => {
                prop_assert!(path.starts_with('/'));
                prop_assert!(!path.contains("//"));
                // The decoded, clean path decodes to a clean path again only if it holds no `%`.
                if !path.contains('%') {
                    prop_assert_eq!(canonical_path(&path), Ok(PathForm::Canonical(path.clone())));
                }
            }
            Ok(PathForm::Redirect(to)) => {
                // Following the redirect lands on a canonical path.
                prop_assert!(matches!(canonical_path(&to), Ok(PathForm::Canonical(_))), "{} → {}", raw, to);
            }
            Err(_) => {}
        }
    }

    #[test]
    fn classify_only_returns_listed_shapes(
        raw in raw_path(), method in method(), query in query(), gate in any::<bool>()
    ) {
        let resources = discovery();
        let gates = Gates { cluster_scoped: gate };
        if let Ok(PathForm::Canonical(path)) = canonical_path(&raw) {
            let route = classify(method, &path, query, &resources, gates);
            prop_assert!(route_fits(&route, method, &path), "{} {} → {:?}", method, path, route);
            if gate {
                prop_assert!(!matches!(route, Route::Legacy { .. }), "{:?}", route);
            } else {
                prop_assert!(!matches!(route, Route::ClusterScoped { .. }), "{:?}", route);
            }
            if is_watch(query) {
                prop_assert!(!matches!(route, Route::NamespacedObjectGet { .. }), "{:?}", route);
            }
        }
        // Raw, unclean input never panics either.
        let _ = classify(method, &raw, query, &resources, gates);
    }

    #[test]
    fn is_watch_never_panics(query in any::<String>()) {
        let _ = is_watch(&query);
    }
}

/// The path generator reaches every route kind, so the properties above are not vacuous.
#[test]
fn generated_paths_reach_every_route() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let resources = discovery();
    let mut runner = TestRunner::deterministic();
    let strategy = (raw_path(), method(), query(), any::<bool>());
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..50_000 {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let (raw, method, query, gate) = tree.current();
        if let Ok(PathForm::Canonical(path)) = canonical_path(&raw) {
            let route = classify(method, &path, query, &resources, Gates { cluster_scoped: gate });
            let name = format!("{route:?}");
            seen.insert(name.split([' ', '{', '(']).next().unwrap_or_default().to_owned());
        }
    }
    let want = [
        "ClusterScoped",
        "Legacy",
        "NamespaceGet",
        "NamespacedAll",
        "NamespacedObjectGet",
        "NamespacesList",
        "Other",
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
        "TenantGet",
        "TenantsList",
    ];
    assert_eq!(seen.iter().map(String::as_str).collect::<Vec<_>>(), want);
}
