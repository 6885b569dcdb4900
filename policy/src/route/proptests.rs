//! Properties of routing over random paths: nothing panics, and [`classify`] picks the route the naive router
//! of the Go route table picks (so no Capsule path is passed through unfiltered, and no other path filtered).

use proptest::prelude::*;

use super::naive_routes::naive_route;
use super::tests::discovery;
use super::*;

/// How many cases the routing property runs.
const ROUTE_CASES: u32 = 10_000;
/// The fewest hits of each route kind among [`ROUTE_CASES`] draws.
const MIN_HITS: usize = 5;

/// Resources of the route table and around it.
const RESOURCES: [&str; 18] = [
    "namespaces",
    "nodes",
    "persistentvolumes",
    "componentstatuses",
    "pods",
    "podtemplates",
    "bindings",
    "deployments",
    "tenants",
    "ingressclasses",
    "storageclasses",
    "priorityclasses",
    "runtimeclasses",
    "clusterroles",
    "selfsubjectaccessreviews",
    "selfsubjectrulesreviews",
    "tokenreviews",
    "x",
];

/// Segments that make the interesting shapes likely, plus arbitrary ones.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(&RESOURCES[..]).prop_map(str::to_owned),
        3 => prop::sample::select(&["status", "x", "v1", "", ".", "..", "%2E%2E", "a%2Fb", "a%20b"][..])
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
            "/api/v1",
            "/api/v2",
            "/apis/apps/v1",
            "/apis/capsule.clastix.io/v1beta2",
            "/apis/capsule.clastix.io/v1beta1",
            "/apis/metrics.k8s.io/v1beta1",
            "/apis/networking.k8s.io/v1",
            "/apis/networking.k8s.io/v1beta1",
            "/apis/networking.k8s.io/v9",
            "/apis/storage.k8s.io/v1",
            "/apis/scheduling.k8s.io/v1",
            "/apis/rbac.authorization.k8s.io/v1",
            "/apis/authorization.k8s.io/v1",
            "/apis/node.k8s.io/v1",
        ][..],
    )
}

/// The group versions and resources of the route table (and the discovery), and some near them.
const API_RESOURCES: [(&str, &str); 23] = [
    ("/api/v1", "namespaces"),
    ("/api/v1", "nodes"),
    ("/api/v1", "persistentvolumes"),
    ("/api/v1", "componentstatuses"),
    ("/api/v1", "pods"),
    ("/api/v1", "podtemplates"),
    ("/api/v1", "bindings"),
    ("/api/v2", "namespaces"),
    ("/apis/apps/v1", "deployments"),
    ("/apis/capsule.clastix.io/v1beta2", "tenants"),
    ("/apis/capsule.clastix.io/v1beta1", "tenants"),
    ("/apis/metrics.k8s.io/v1beta1", "nodes"),
    ("/apis/metrics.k8s.io/v1beta1", "pods"),
    ("/apis/networking.k8s.io/v1", "ingressclasses"),
    ("/apis/networking.k8s.io/v1beta1", "ingressclasses"),
    ("/apis/networking.k8s.io/v9", "ingressclasses"),
    ("/apis/storage.k8s.io/v1", "storageclasses"),
    ("/apis/scheduling.k8s.io/v1", "priorityclasses"),
    ("/apis/node.k8s.io/v1", "runtimeclasses"),
    ("/apis/rbac.authorization.k8s.io/v1", "clusterroles"),
    ("/apis/authorization.k8s.io/v1", "selfsubjectaccessreviews"),
    ("/apis/authorization.k8s.io/v1", "selfsubjectrulesreviews"),
    ("/apis/authentication.k8s.io/v1", "tokenreviews"),
];

/// Paths of the route table's shapes: a prefix and a resource (mostly a pair the table or the discovery
/// knows) as a collection, a named object, a sub-resource or a named object in a namespace; names are
/// sometimes escaped, dotted or empty, and a quarter of the paths end with `/`.
fn shaped_path() -> impl Strategy<Value = String> {
    let resource = || prop::sample::select(&RESOURCES[..]);
    let api_resource = prop_oneof![
        3 => prop::sample::select(&API_RESOURCES[..]),
        1 => (prefix(), resource()),
    ];
    let name = prop_oneof![
        4 => prop::sample::select(&["a", "oil-dev", "n1", "status", "namespaces"][..]).prop_map(str::to_owned),
        1 => prop::sample::select(&["", ".", "..", "%2E", "a%2Fb", "a%20b", "%zz", "%00"][..])
            .prop_map(str::to_owned),
        1 => "[a-z0-9%.-]{1,6}",
    ];
    let shape = prop::sample::select(&["collection", "named", "subresource", "namespaced"][..]);
    let trailing = prop::sample::select(&[false, false, false, true][..]);
    (api_resource, shape, name.clone(), name, resource(), trailing).prop_map(
        |((prefix, resource), shape, first, second, sub, trailing)| {
            let mut path = match shape {
                "collection" => format!("{prefix}/{resource}"),
                "named" => format!("{prefix}/{resource}/{first}"),
                "subresource" => format!("{prefix}/{resource}/{first}/{sub}"),
                _ => format!("{prefix}/namespaces/{first}/{resource}/{second}"),
            };
            if trailing {
                path.push('/');
            }
            path
        },
    )
}

/// Any sequence of segments after a prefix.
fn free_path() -> impl Strategy<Value = String> {
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

fn raw_path() -> impl Strategy<Value = String> {
    prop_oneof![3 => shaped_path(), 1 => free_path()]
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(ROUTE_CASES))]

    #[test]
    fn canonical_path_never_panics_and_is_idempotent(raw in raw_path()) {
        match canonical_path(&raw) {
            Ok(PathForm::Canonical(path)) => {
                prop_assert!(path.starts_with('/'));
                prop_assert!(!path.contains("//"));
                // The decoded, clean path decodes to itself again unless it holds a `%` or a control character
                // (decoded from `%01`: a raw one is refused).
                if !path.contains('%') && !path.bytes().any(|b| b < 0x20 || b == 0x7f) {
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
    fn classify_agrees_with_the_naive_router(
        raw in raw_path(), method in method(), query in query(), gate in any::<bool>()
    ) {
        let resources = discovery();
        let gates = Gates {
            cluster_scoped: gate,
            all_namespaced: false,
        };
        if let Ok(PathForm::Canonical(path)) = canonical_path(&raw) {
            let route = classify(method, &path, query, &resources, gates);
            let naive = naive_route(method, &path, query, &resources, gates);
            prop_assert_eq!(route, naive, "{} {}?{} gate {}", method, path, query, gate);
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

/// The name of a route's kind, legacy routes by their kind: what the reach test counts.
fn kind_name(route: &Route<'_>) -> String {
    match route {
        Route::Legacy { kind, .. } => format!("Legacy::{kind:?}"),
        other => {
            let debug = format!("{other:?}");
            debug.split([' ', '{', '(']).next().unwrap_or_default().to_owned()
        }
    }
}

/// How many of `samples` deterministic draws of the property's inputs are canonical paths, and how often each
/// route kind is hit among them.
fn route_counts(samples: usize) -> (usize, std::collections::BTreeMap<String, usize>) {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let resources = discovery();
    let mut runner = TestRunner::deterministic();
    let strategy = (raw_path(), method(), query(), any::<bool>());
    let mut canonical = 0;
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..samples {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let (raw, method, query, gate) = tree.current();
        if let Ok(PathForm::Canonical(path)) = canonical_path(&raw) {
            canonical += 1;
            let route = classify(
                method,
                &path,
                query,
                &resources,
                Gates {
                    cluster_scoped: gate,
                    all_namespaced: false,
                },
            );
            *counts.entry(kind_name(&route)).or_insert(0) += 1;
        }
    }
    (canonical, counts)
}

/// Over as many draws as the property runs, the generator reaches every route kind (each legacy route too)
/// several times and most paths are canonical, so the property is never vacuous for any route.
#[test]
fn generated_paths_reach_every_route() {
    let (canonical, counts) = route_counts(ROUTE_CASES as usize);
    eprintln!("canonical {canonical} of {ROUTE_CASES}; route hits {counts:?}");
    assert!(
        canonical * 2 >= ROUTE_CASES as usize,
        "only {canonical} canonical paths"
    );
    let want = [
        "ClusterScoped",
        "Legacy::IngressClasses",
        "Legacy::NodeMetrics",
        "Legacy::Nodes",
        "Legacy::PersistentVolumes",
        "Legacy::PriorityClasses",
        "Legacy::RuntimeClasses",
        "Legacy::StorageClasses",
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
    assert_eq!(counts.keys().map(String::as_str).collect::<Vec<_>>(), want);
    for (kind, hits) in &counts {
        assert!(
            *hits >= MIN_HITS,
            "{kind} hit {hits} times in {ROUTE_CASES} draws"
        );
    }
}
