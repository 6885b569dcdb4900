//! The Go proxy's `internal/authorization` cases, over JSON bodies.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::discovery::ApiResource;
use crate::model::{ClusterOperations, LabelSelector};

fn api_resources() -> ApiResources {
    let resource = |name: &str, namespaced: bool, verbs: &[&str]| ApiResource {
        group: String::new(),
        version: "v1".into(),
        resource: name.into(),
        kind: String::new(),
        namespaced,
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
    };
    ApiResources::new(
        [
            resource("pods", true, &["get", "list", "watch", "create"]),
            resource("bindings", true, &["create"]),
            resource("nodes", false, &["get", "list", "watch"]),
        ],
        [(String::new(), "v1".into())],
    )
}

fn cluster_rule(groups: &[&str], resources: &[&str], list: bool, get: bool) -> ClusterResourceRule {
    ClusterResourceRule {
        api_groups: groups.iter().map(|g| g.to_string()).collect(),
        resources: resources.iter().map(|r| r.to_string()).collect(),
        operations: ClusterOperations { list, get },
        selector: LabelSelector {
            match_labels: BTreeMap::from([("shared".to_string(), "true".to_string())]),
            match_expressions: Vec::new(),
        },
    }
}

fn context<'a>(
    has_tenants: bool,
    gate: bool,
    rules: &'a [&'a ClusterResourceRule],
    resources: &'a ApiResources,
) -> ReviewContext<'a> {
    ReviewContext {
        has_tenants,
        cluster_scoped_gate: gate,
        rules,
        resources,
    }
}

fn access_review(attributes: Value) -> Vec<u8> {
    json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": { "creationTimestamp": null },
        "spec": { "resourceAttributes": attributes },
        "status": { "allowed": false, "denied": true, "reason": "no RBAC policy matched" }
    })
    .to_string()
    .into_bytes()
}

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

fn assert_granted(body: &[u8]) {
    let status = &parse(body)["status"];
    assert_eq!(status["allowed"], true, "{status}");
    assert_eq!(status["denied"], false, "{status}");
    assert_eq!(status["reason"], GRANTED_REASON, "{status}");
}

#[test]
fn namespaces_list_is_always_granted() {
    let resources = ApiResources::default();
    let ctx = context(false, false, &[], &resources);
    for verb in ["list", "LIST"] {
        let body = access_review(json!({ "verb": verb, "resource": "namespaces" }));
        assert_granted(&rewrite_access_review(&body, &ctx).unwrap());
    }
    let get = access_review(json!({ "verb": "get", "resource": "namespaces" }));
    assert_eq!(rewrite_access_review(&get, &ctx).unwrap(), get);
}

#[test]
fn non_resource_reviews_are_untouched() {
    let resources = api_resources();
    let rule = cluster_rule(&["*"], &["*"], true, true);
    let rules = [&rule];
    let ctx = context(true, true, &rules, &resources);
    let body = json!({
        "kind": "SelfSubjectAccessReview",
        "spec": { "nonResourceAttributes": { "path": "/healthz", "verb": "get" } },
        "status": { "allowed": true }
    })
    .to_string()
    .into_bytes();
    assert_eq!(rewrite_access_review(&body, &ctx).unwrap(), body);
}

#[test]
fn cross_namespace_lists_are_granted_to_tenant_owners() {
    let resources = api_resources();
    let owner = context(true, false, &[], &resources);
    for verb in ["list", "watch"] {
        let body = access_review(json!({ "verb": verb, "resource": "pods" }));
        assert_granted(&rewrite_access_review(&body, &owner).unwrap());
    }
    let untouched = [
        // Not a tenant owner.
        (false, json!({ "verb": "list", "resource": "pods" })),
        // Namespace-scoped: the API server's answer stands.
        (
            true,
            json!({ "verb": "list", "resource": "pods", "namespace": "oil-dev" }),
        ),
        // Cluster-scoped resource.
        (true, json!({ "verb": "list", "resource": "nodes" })),
        // Namespaced, but not listable and watchable.
        (true, json!({ "verb": "list", "resource": "bindings" })),
        // Not a list verb.
        (true, json!({ "verb": "get", "resource": "pods" })),
        // Another group.
        (
            true,
            json!({ "verb": "list", "group": "apps", "resource": "pods" }),
        ),
    ];
    for (has_tenants, attributes) in untouched {
        let body = access_review(attributes.clone());
        let ctx = context(has_tenants, false, &[], &resources);
        assert_eq!(rewrite_access_review(&body, &ctx).unwrap(), body, "{attributes}");
    }
}

#[test]
fn cluster_resource_operations_decide_get_and_list() {
    let resources = api_resources();
    // (list, get as normalised, verb, granted)
    let cases = [
        (true, true, "get", true),     // default operations
        (true, true, "list", true),    // default operations
        (false, true, "get", true),    // explicit Get
        (true, true, "GET", true),     // legacy List includes Get
        (false, true, "list", false),  // Get-only excludes List
        (true, true, "update", false), // mutations are never granted
    ];
    for (list, get, verb, granted) in cases {
        let rule = cluster_rule(&["storage.k8s.io"], &["storageclasses"], list, get);
        let rules = [&rule];
        let body = access_review(json!({
            "verb": verb, "group": "storage.k8s.io", "version": "v1", "resource": "storageclasses"
        }));
        let answer = rewrite_access_review(&body, &context(false, true, &rules, &resources)).unwrap();
        assert_eq!(
            parse(&answer)["status"]["allowed"],
            granted,
            "verb {verb} list {list} get {get}"
        );
        if granted {
            assert_granted(&answer);
        }
        let gate_off = rewrite_access_review(&body, &context(false, false, &rules, &resources)).unwrap();
        assert_eq!(gate_off, body, "gate off, verb {verb}");
    }
}

#[test]
fn rules_with_empty_selectors_grant_nothing() {
    let resources = api_resources();
    let rule = ClusterResourceRule {
        selector: LabelSelector::default(),
        ..cluster_rule(&[""], &["nodes"], true, true)
    };
    let body = access_review(json!({ "verb": "list", "resource": "nodes" }));
    let rules = [&rule];
    let ctx = context(true, true, &rules, &resources);
    assert_eq!(rewrite_access_review(&body, &ctx).unwrap(), body);
}

#[test]
fn granting_keeps_unknown_fields() {
    let resources = ApiResources::default();
    let ctx = context(false, false, &[], &resources);
    let body = json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": { "annotations": { "a": "b" } },
        "spec": { "resourceAttributes": { "verb": "list", "resource": "namespaces", "future": 1 } },
        "status": { "allowed": false, "evaluationError": "partial" },
        "extension": [1, 2]
    });
    let answer = parse(&rewrite_access_review(body.to_string().as_bytes(), &ctx).unwrap());
    let mut expected = body;
    expected["status"] =
        json!({ "allowed": true, "denied": false, "reason": GRANTED_REASON, "evaluationError": "partial" });
    assert_eq!(answer, expected);
    let no_status = json!({ "spec": { "resourceAttributes": { "verb": "list", "resource": "namespaces" } } });
    assert_granted(&rewrite_access_review(no_status.to_string().as_bytes(), &ctx).unwrap());
}

#[test]
fn other_bodies_are_refused() {
    let resources = ApiResources::default();
    let ctx = context(false, false, &[], &resources);
    let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":401}"#;
    assert!(matches!(
        rewrite_access_review(status, &ctx),
        Err(SelfReviewError::UnexpectedKind { found, .. }) if found == "Status"
    ));
    assert!(matches!(
        rewrite_rules_review(status, &ctx),
        Err(SelfReviewError::UnexpectedKind { .. })
    ));
    let access = access_review(json!({ "verb": "list", "resource": "namespaces" }));
    assert!(matches!(
        rewrite_rules_review(&access, &ctx),
        Err(SelfReviewError::UnexpectedKind { .. })
    ));
    assert!(matches!(
        rewrite_access_review(b"\x0a\x02k8s", &ctx),
        Err(SelfReviewError::Json(_))
    ));
    assert!(matches!(
        rewrite_rules_review(b"[1]", &ctx),
        Err(SelfReviewError::NotAnObject)
    ));
}

fn has_resource_rule(review: &Value, group: &str, resource: &str, verb: &str) -> bool {
    let contains = |list: &Value, wanted: &str| {
        list.as_array()
            .is_some_and(|items| items.iter().any(|item| item == wanted))
    };
    review["status"]["resourceRules"].as_array().is_some_and(|rules| {
        rules.iter().any(|rule| {
            contains(&rule["apiGroups"], group)
                && contains(&rule["resources"], resource)
                && contains(&rule["verbs"], verb)
        })
    })
}

fn rules_review() -> Vec<u8> {
    json!({
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "spec": { "namespace": "oil-dev" },
        "status": {
            "resourceRules": [
                { "verbs": ["get", "list", "watch"], "apiGroups": ["apps"], "resources": ["deployments"] }
            ],
            "nonResourceRules": [{ "verbs": ["get"], "nonResourceURLs": ["/healthz"] }],
            "incomplete": true
        }
    })
    .to_string()
    .into_bytes()
}

#[test]
fn rules_review_appends_namespaces_and_cluster_resources() {
    let resources = ApiResources::default();
    let storage = cluster_rule(&["storage.k8s.io"], &["storageclasses"], true, true);
    let roles = cluster_rule(&["rbac.authorization.k8s.io"], &["clusterroles"], true, false);
    let nodes = ClusterResourceRule {
        selector: LabelSelector::default(),
        ..cluster_rule(&[""], &["nodes"], false, true)
    };
    let rules = [&storage, &roles, &nodes];
    let answer =
        parse(&rewrite_rules_review(&rules_review(), &context(true, true, &rules, &resources)).unwrap());
    assert!(has_resource_rule(&answer, "apps", "deployments", "list"));
    assert!(has_resource_rule(&answer, "", "namespaces", "list"));
    assert!(has_resource_rule(
        &answer,
        "storage.k8s.io",
        "storageclasses",
        "list"
    ));
    assert!(has_resource_rule(
        &answer,
        "storage.k8s.io",
        "storageclasses",
        "get"
    ));
    assert!(has_resource_rule(
        &answer,
        "rbac.authorization.k8s.io",
        "clusterroles",
        "get"
    ));
    assert!(has_resource_rule(&answer, "", "nodes", "get"));
    assert!(!has_resource_rule(&answer, "", "nodes", "list"));
    assert_eq!(
        answer["status"]["resourceRules"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(answer["status"]["incomplete"], true);
    assert_eq!(
        answer["status"]["nonResourceRules"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(answer["spec"]["namespace"], "oil-dev");
}

#[test]
fn rules_review_without_the_gate_adds_only_namespaces() {
    let resources = ApiResources::default();
    let storage = cluster_rule(&["storage.k8s.io"], &["storageclasses"], true, true);
    let rules = [&storage];
    let answer =
        parse(&rewrite_rules_review(&rules_review(), &context(true, false, &rules, &resources)).unwrap());
    assert!(has_resource_rule(&answer, "", "namespaces", "list"));
    assert!(!has_resource_rule(
        &answer,
        "storage.k8s.io",
        "storageclasses",
        "list"
    ));
    assert_eq!(
        answer["status"]["resourceRules"].as_array().map(Vec::len),
        Some(2)
    );

    let empty = br#"{"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1","spec":{}}"#;
    let answer = parse(&rewrite_rules_review(empty, &context(false, false, &[], &resources)).unwrap());
    assert_eq!(
        answer["status"]["resourceRules"],
        json!([{ "verbs": ["list"], "apiGroups": [""], "resources": ["namespaces"] }])
    );
}
