//! Live object reads against kube-sim ask for the object's exact name: a name holding `?`, `#`, `%`, a space or a
//! non-ASCII letter goes out percent-encoded, so it never reads another object (`open?x` is not `open`) and
//! always makes a valid request (a 404 for a missing object, not a failure to build it).
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use capsule_proxy_control::ObjectLookup;
use serde_json::json;

/// Deadline of one look-up.
const DEADLINE: Duration = Duration::from_secs(30);

const CLUSTER_ROLES: &str = "/apis/rbac.authorization.k8s.io/v1/clusterroles";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_reads_ask_for_the_exact_name() {
    let dir = tempfile::tempdir().unwrap();
    let sim = support::demo_sim(dir.path()).await;
    sim.apply(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "open", "labels": {"team": "oil"}},
        "rules": [],
    }))
    .unwrap();
    // A legal ClusterRole name with `?` in it: read by its exact name, never as `open` with a query.
    sim.apply(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "open?x", "labels": {"team": "gas"}},
        "rules": [],
    }))
    .unwrap();
    let control = support::start_control(&sim, |_| {});
    let reviewer = control.reviewer();
    let cases = [
        ("open", "open"),
        ("open?x", "open%3Fx"),
        ("open#x", "open%23x"),
        ("open x", "open%20x"),
        ("open%20x", "open%2520x"),
        ("op\u{e9}n", "op%C3%A9n"),
        ("100%", "100%25"),
    ];
    let pending: Vec<_> = cases
        .iter()
        .map(|(name, _)| reviewer.object_labels(&format!("{CLUSTER_ROLES}/{name}")))
        .collect();
    let answers = tokio::task::spawn_blocking(move || {
        pending
            .into_iter()
            .map(|p| p.wait(DEADLINE).expect("an answer before the deadline"))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let oil = BTreeMap::from([("team".to_string(), "oil".to_string())]);
    assert_eq!(answers[0], Ok(ObjectLookup::Found(oil)), "open itself is read");
    let gas = BTreeMap::from([("team".to_string(), "gas".to_string())]);
    assert_eq!(
        answers[1],
        Ok(ObjectLookup::Found(gas)),
        "open?x is read by its exact name"
    );
    for ((name, _), answer) in cases.iter().zip(&answers).skip(2) {
        assert_eq!(
            *answer,
            Ok(ObjectLookup::NotFound),
            "{name:?} names no object: neither open's labels nor a failure"
        );
    }
    let read: Vec<String> = sim
        .audit()
        .into_iter()
        .filter(|e| e.path.starts_with(CLUSTER_ROLES) && e.verb == "get")
        .map(|e| e.path)
        .collect();
    for (name, on_the_wire) in cases {
        let path = format!("{CLUSTER_ROLES}/{on_the_wire}");
        assert_eq!(
            read.iter().filter(|p| **p == path).count(),
            1,
            "{name:?} is read as {path}: {read:?}"
        );
    }
}
