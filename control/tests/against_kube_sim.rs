//! The control plane against an in-process kube-sim: snapshots follow the cluster (Capsule objects,
//! namespaces, legacy kinds, API discovery, CRDs created later), nothing is published before the first sync,
//! a broken watch keeps the last snapshot and recovers, and token and object-label look-ups are single-flight.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use capsule_proxy_control::{Control, ObjectLookup};
use capsule_proxy_policy::cluster_objects::{ObjectKind, OwnerRecord};
use capsule_proxy_policy::snapshot::Snapshot;
use kube_sim::KubeSim;
use serde_json::json;

/// Deadline for a snapshot to show a change.
const DEADLINE: Duration = Duration::from_secs(30);

struct Setup {
    sim: KubeSim,
    control: Control,
    snapshots: Receiver<Arc<Snapshot>>,
    _dir: tempfile::TempDir,
}

async fn setup(latency: Option<Duration>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let sim = support::demo_sim(dir.path()).await;
    if let Some(latency) = latency {
        sim.set_latency(latency);
    }
    let (tx, snapshots) = std::sync::mpsc::channel();
    let control = support::start_control(&sim, move |snapshot| {
        let _ = tx.send(snapshot);
    });
    Setup {
        sim,
        control,
        snapshots,
        _dir: dir,
    }
}

/// The next published snapshot satisfying `pred`, within the deadline (earlier ones are skipped).
fn wait_for(
    snapshots: &Receiver<Arc<Snapshot>>,
    what: &str,
    pred: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match snapshots.recv_timeout(left) {
            Ok(snapshot) if pred(&snapshot) => return snapshot,
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => panic!("no snapshot where {what} within {DEADLINE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the control plane stopped"),
        }
    }
}

fn tenant_json(name: &str, owner: &str, namespaces: &[&str]) -> serde_json::Value {
    json!({
        "apiVersion": "capsule.clastix.io/v1beta2",
        "kind": "Tenant",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"owners": [{"kind": "User", "name": owner}]},
        "status": {"owners": [{"kind": "User", "name": owner}], "namespaces": namespaces},
    })
}

fn alice_namespaces(snapshot: &Snapshot) -> Vec<String> {
    let tenants = snapshot.proxy_tenants("alice", &["projectcapsule.dev".into()], false);
    tenants.namespaces().into_iter().map(String::from).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_published_before_the_first_sync() {
    // Every list takes a while: the first snapshot must still hold the whole cluster, never an empty one.
    let setup = setup(Some(Duration::from_secs(1))).await;
    assert!(
        !setup.control.status().is_synced(),
        "not synced before the lists returned"
    );
    let first = setup.snapshots.recv_timeout(DEADLINE).expect("a first snapshot");
    assert_eq!(first.generation(), 1);
    assert!(
        first.tenant("oil").is_some() && first.tenant("gas").is_some(),
        "{first:?}"
    );
    assert!(first.is_capsule_user("alice", &["projectcapsule.dev".into()]));
    assert_eq!(alice_namespaces(&first), ["oil-dev", "oil-prod"]);
    assert!(first.cluster_objects().is_listed(ObjectKind::Namespaces));
    assert!(first.namespace("oil-dev").is_some());
    assert!(first.api_resources().is_discovered());
    // The status follows right after the cores got the snapshot.
    let deadline = Instant::now() + DEADLINE;
    while !setup.control.status().is_synced() {
        assert!(Instant::now() < deadline, "synced after the first publish");
        tokio::task::yield_now().await;
    }
    assert_eq!(setup.control.status().generation(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_added_changed_and_deleted_reach_the_snapshot() {
    let setup = setup(None).await;
    wait_for(&setup.snapshots, "oil is known", |s| s.tenant("oil").is_some());

    setup
        .sim
        .apply(tenant_json("wind", "dave", &["wind-dev"]))
        .unwrap();
    let added = wait_for(&setup.snapshots, "wind is added", |s| s.tenant("wind").is_some());
    let dave = added.proxy_tenants("dave", &[], false);
    assert_eq!(dave.tenant_names(), ["wind"]);
    assert_eq!(
        added
            .tenant_of_namespace("wind-dev")
            .map(|t| t.name().to_string())
            .as_deref(),
        Some("wind")
    );

    setup
        .sim
        .apply(tenant_json("wind", "dave", &["wind-dev", "wind-prod"]))
        .unwrap();
    let changed = wait_for(&setup.snapshots, "wind has two namespaces", |s| {
        s.proxy_tenants("dave", &[], false).namespaces().len() == 2
    });
    assert!(changed.generation() > added.generation());

    setup
        .sim
        .delete("capsule.clastix.io/v1beta2", "Tenant", "", "wind")
        .unwrap();
    let deleted = wait_for(&setup.snapshots, "wind is gone", |s| s.tenant("wind").is_none());
    assert!(deleted.proxy_tenants("dave", &[], false).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_watch_keeps_the_last_snapshot_and_recovers() {
    let mut setup = setup(None).await;
    let before = wait_for(&setup.snapshots, "oil is known", |s| s.tenant("oil").is_some());
    setup.sim.stop().await;
    // While the API server is down nothing new is published and the status keeps the last snapshot.
    assert!(matches!(
        setup.snapshots.recv_timeout(Duration::from_millis(500)),
        Err(RecvTimeoutError::Timeout)
    ));
    assert!(setup.control.status().is_synced());
    assert_eq!(setup.control.status().generation(), before.generation());

    setup.sim.restart().await.unwrap();
    setup
        .sim
        .apply(tenant_json("solar", "dave", &["solar-dev"]))
        .unwrap();
    let after = wait_for(&setup.snapshots, "solar is added after the restart", |s| {
        s.tenant("solar").is_some()
    });
    assert!(after.tenant("oil").is_some(), "the rest of the state survived");
    assert!(setup.control.status().watch_restarts() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_of_one_new_token_make_one_token_review() {
    let setup = setup(Some(Duration::from_millis(100))).await;
    let identity = setup.control.identity().clone();
    let pending: Vec<_> = (0..1000).map(|_| identity.review_token("carol-token")).collect();
    let answers: Vec<_> = tokio::task::spawn_blocking(move || {
        pending
            .into_iter()
            .map(|p| p.wait(DEADLINE).expect("an answer before the deadline"))
            .collect()
    })
    .await
    .unwrap();
    for answer in &answers {
        let identity = answer.as_ref().expect("carol's token is valid");
        assert_eq!(identity.user, "carol");
        assert!(identity.groups.contains(&"gas-ops".to_string()), "{identity:?}");
    }
    let reviews = setup
        .sim
        .audit()
        .iter()
        .filter(|e| e.resource == "tokenreviews")
        .count();
    assert_eq!(reviews, 1, "one TokenReview for 1,000 concurrent look-ups");
    let stats = setup.control.identity_stats();
    assert_eq!(stats.misses, 1);
    assert_eq!(stats.hits + stats.joined, 999);

    // A cached answer does not ask again; an invalid token is refused and cached negatively.
    let again = identity.review_token("carol-token").wait(DEADLINE).unwrap();
    assert!(again.is_ok());
    let bad = identity.review_token("not-a-token").wait(DEADLINE).unwrap();
    assert!(bad.is_err());
    let bad_again = identity.review_token("not-a-token").wait(DEADLINE).unwrap();
    assert!(bad_again.is_err());
    let reviews = setup
        .sim
        .audit()
        .iter()
        .filter(|e| e.resource == "tokenreviews")
        .count();
    assert_eq!(reviews, 2, "one more review, for the invalid token only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_labels_of_nodes_classes_and_volumes_are_watched() {
    use capsule_proxy_policy::model::LegacyKind;
    let setup = setup(None).await;
    let all_listed = |s: &Snapshot| LegacyKind::ALL.iter().all(|k| s.cluster_objects().is_listed(*k));
    let snapshot = wait_for(&setup.snapshots, "every kind is listed", all_listed);
    let objects = snapshot.cluster_objects();
    let node = objects.get(LegacyKind::Nodes, "node-oil-1").expect("node-oil-1");
    assert_eq!(node.labels.get("pool").map(String::as_str), Some("oil"));
    assert!(objects.get(LegacyKind::StorageClasses, "ceph-rbd").is_some());
    assert!(objects.get(LegacyKind::PersistentVolumes, "pv-oil-1").is_some());

    setup
        .sim
        .apply(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-new", "labels": {"pool": "gas"}}}))
        .unwrap();
    let added = wait_for(&setup.snapshots, "node-new is known", |s| {
        s.cluster_objects().get(LegacyKind::Nodes, "node-new").is_some()
    });
    assert_eq!(
        added
            .cluster_objects()
            .get(LegacyKind::Nodes, "node-new")
            .unwrap()
            .labels
            .get("pool")
            .map(String::as_str),
        Some("gas")
    );
    // Nodes are watched from the API server, not taken from the fixture file.
    let audit = setup.sim.audit();
    assert!(audit.iter().any(|e| e.path == "/api/v1/nodes"), "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_are_watched_with_labels_and_owners() {
    let setup = setup(None).await;
    let snapshot = wait_for(&setup.snapshots, "oil-dev is known", |s| {
        s.namespace("oil-dev").is_some()
    });
    let oil_dev = snapshot.namespace("oil-dev").unwrap();
    assert_eq!(
        oil_dev
            .labels
            .get("capsule.clastix.io/tenant")
            .map(String::as_str),
        Some("oil")
    );
    assert_eq!(
        oil_dev.owner,
        Some(OwnerRecord {
            kind: "Tenant".into(),
            name: "oil".into()
        })
    );
    assert_eq!(snapshot.namespace("kube-system").unwrap().owner, None);

    setup
        .sim
        .apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": "gas-new", "labels": {"team": "gas"},
            "ownerReferences": [{"apiVersion": "capsule.clastix.io/v1beta2", "kind": "Tenant", "name": "gas",
                                 "uid": "6d1e7a0c-0000-4000-8000-00000000022b"}]}}))
        .unwrap();
    let added = wait_for(&setup.snapshots, "gas-new is known", |s| {
        s.namespace("gas-new").is_some()
    });
    let gas_new = added.namespace("gas-new").unwrap();
    assert_eq!(gas_new.labels.get("team").map(String::as_str), Some("gas"));
    assert_eq!(
        gas_new
            .labels
            .get("kubernetes.io/metadata.name")
            .map(String::as_str),
        Some("gas-new")
    );
    assert_eq!(gas_new.owner.as_ref().map(|o| o.name.as_str()), Some("gas"));

    setup.sim.delete("v1", "Namespace", "", "gas-new").unwrap();
    wait_for(&setup.snapshots, "gas-new is gone", |s| {
        s.namespace("gas-new").is_none()
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_the_preferred_resources() {
    let setup = setup(None).await;
    let snapshot = wait_for(&setup.snapshots, "discovery ran", |s| {
        s.api_resources().is_discovered()
    });
    let resources = snapshot.api_resources();
    let nodes = resources.get("", "v1", "nodes").expect("nodes");
    assert!(!nodes.namespaced && nodes.supports("get") && nodes.supports("list"));
    assert_eq!(nodes.kind, "Node");
    let pods = resources.get("", "v1", "pods").expect("pods");
    assert!(pods.namespaced && pods.supports("watch"));
    assert!(resources.get("", "v1", "pods/log").is_none(), "no subresources");
    let storage = resources.get("storage.k8s.io", "v1", "storageclasses").unwrap();
    assert!(!storage.namespaced);
    assert!(
        resources
            .get("capsule.clastix.io", "v1beta2", "tenants")
            .is_some()
    );
    assert!(resources.is_preferred("capsule.clastix.io", "v1beta2"));
    assert!(!resources.is_preferred("capsule.clastix.io", "v1beta1"));
    assert!(
        resources
            .get("capsule.clastix.io", "v1beta1", "proxysettings")
            .is_none(),
        "only preferred versions"
    );
    let metrics = resources.get("metrics.k8s.io", "v1beta1", "nodes").unwrap();
    assert_eq!(metrics.verbs, ["get", "list"]);
    assert!(
        resources
            .get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_created_later_reaches_the_api_resources() {
    let setup = setup(None).await;
    let before = wait_for(&setup.snapshots, "discovery ran", |s| {
        s.api_resources().is_discovered()
    });
    assert!(
        before
            .api_resources()
            .get("example.com", "v1", "widgets")
            .is_none()
    );
    let crd = |plural: &str, kind: &str, scope: &str| {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.example.com")},
            "spec": {
                "group": "example.com",
                "names": {"plural": plural, "kind": kind},
                "scope": scope,
                "versions": [
                    {"name": "v1", "served": true, "storage": true},
                    {"name": "v1alpha1", "served": true, "storage": false},
                ],
            },
        })
    };
    setup.sim.apply(crd("widgets", "Widget", "Cluster")).unwrap();
    setup.sim.apply(crd("gadgets", "Gadget", "Namespaced")).unwrap();
    let after = wait_for(&setup.snapshots, "widgets and gadgets are discovered", |s| {
        let resources = s.api_resources();
        resources.get("example.com", "v1", "widgets").is_some()
            && resources.get("example.com", "v1", "gadgets").is_some()
    });
    let resources = after.api_resources();
    let widgets = resources.get("example.com", "v1", "widgets").unwrap();
    assert!(!widgets.namespaced && widgets.supports("list"));
    assert_eq!(widgets.kind, "Widget");
    assert!(resources.get("example.com", "v1", "gadgets").unwrap().namespaced);
    assert!(resources.get("example.com", "v1alpha1", "widgets").is_none());

    setup
        .sim
        .delete(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            "widgets.example.com",
        )
        .unwrap();
    wait_for(&setup.snapshots, "widgets are no longer discovered", |s| {
        s.api_resources().get("example.com", "v1", "widgets").is_none()
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_labels_are_read_live_and_single_flight() {
    let setup = setup(Some(Duration::from_millis(100))).await;
    let reviewer = setup.control.reviewer();
    let path = "/api/v1/nodes/node-oil-1";
    let pending: Vec<_> = (0..100).map(|_| reviewer.object_labels(path)).collect();
    let missing = reviewer.object_labels("/api/v1/nodes/no-such-node");
    let (answers, missing) = tokio::task::spawn_blocking(move || {
        let answers: Vec<_> = pending
            .into_iter()
            .map(|p| p.wait(DEADLINE).expect("an answer before the deadline"))
            .collect();
        (
            answers,
            missing.wait(DEADLINE).expect("an answer before the deadline"),
        )
    })
    .await
    .unwrap();
    for answer in answers {
        let Ok(ObjectLookup::Found(labels)) = answer else {
            panic!("node-oil-1 is found: {answer:?}");
        };
        assert_eq!(labels.get("pool").map(String::as_str), Some("oil"));
    }
    assert_eq!(missing, Ok(ObjectLookup::NotFound));
    let reads: Vec<_> = setup.sim.audit().into_iter().filter(|e| e.path == path).collect();
    assert_eq!(reads.len(), 1, "one GET for 100 concurrent look-ups: {reads:?}");
    assert_eq!(
        (reads[0].user.as_str(), reads[0].verb.as_str()),
        ("system:serviceaccount:capsule-system:capsule-proxy", "get")
    );
}
