//! Capsule's cluster-scoped stories with the real `kubectl` through `capsule-proxy`, `ProxyClusterScoped` off
//! (the default): owners see their own Tenants, and the nodes, storage / ingress / priority / runtime classes
//! and persistent volumes their tenants' specs and their legacy `proxySettings` operations open.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use support::Env;
use support::capsule::{
    LogOnFailure, admin, eventually_lines, item_names, proxied_lines, start_synced, stderr_of_failure,
};

/// Asserts that `identity` gets `kubectl get <args>` refused with `(<reason>)` and `message` in kubectl's error.
async fn refused(
    proxy: &support::proxy::Proxy,
    env: &Env,
    identity: &str,
    args: &[&str],
    reason: &str,
    message: &str,
) {
    let err = stderr_of_failure(&proxy.run(env, identity, args).await);
    assert!(
        err.contains(&format!("({reason})")) && err.contains(message),
        "{identity} kubectl {}: expected ({reason}) {message:?}, got: {err}",
        args.join(" ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_list_and_get_only_their_tenants() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for (identity, own, foreign) in [
        ("alice", "oil", "gas"),
        ("alice-cert", "oil", "gas"),
        ("bob", "gas", "oil"),
        ("carol", "gas", "oil"),
    ] {
        let names = proxied_lines(&proxy, &env, identity, &["get", "tenants", "-o", "name"]).await;
        assert_eq!(names, [format!("tenant.capsule.clastix.io/{own}")], "{identity}");
        let got = proxied_lines(&proxy, &env, identity, &["get", "tenant", own, "-o", "name"]).await;
        assert_eq!(got, [format!("tenant.capsule.clastix.io/{own}")], "{identity}");
        let not_found = format!("tenants.capsule.clastix.io \"{foreign}\" not found");
        refused(
            &proxy,
            &env,
            identity,
            &["get", "tenant", foreign],
            "NotFound",
            &not_found,
        )
        .await;
    }
    // Without the proxy, owners may not read Tenants at all.
    let direct = stderr_of_failure(&env.run("alice", &["get", "tenants"]).await);
    assert!(direct.contains("(Forbidden)"), "{direct}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_follow_the_tenant_node_selector() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for (identity, own, foreign) in [
        ("alice", "node-oil-1", ["node-gas-1", "node-shared-1"]),
        ("alice-cert", "node-oil-1", ["node-gas-1", "node-shared-1"]),
        ("bob", "node-gas-1", ["node-oil-1", "node-shared-1"]),
        // A group owner without proxySettings: the node operations are not checked for lists (as in Go).
        ("carol", "node-gas-1", ["node-oil-1", "node-shared-1"]),
    ] {
        let names = proxied_lines(&proxy, &env, identity, &["get", "nodes", "-o", "name"]).await;
        assert_eq!(names, [format!("node/{own}")], "{identity}");
        let got = proxied_lines(&proxy, &env, identity, &["get", "node", own, "-o", "name"]).await;
        assert_eq!(got, [format!("node/{own}")], "{identity}");
        for other in foreign {
            let not_found = format!("nodes \"{other}\" not found");
            refused(
                &proxy,
                &env,
                identity,
                &["get", "node", other],
                "NotFound",
                &not_found,
            )
            .await;
        }
    }
    // Node metrics follow the nodes. metrics-server gives each NodeMetrics its node's labels (the demo
    // fixture's carry none), so a label selector selects them as it selects the nodes.
    for (node, pool) in [
        ("node-oil-1", "oil"),
        ("node-gas-1", "gas"),
        ("node-shared-1", "shared"),
    ] {
        env.sim
            .apply(serde_json::json!({
                "apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
                "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node, "pool": pool}},
                "timestamp": "2026-11-24T00:00:00Z", "window": "20s", "usage": {"cpu": "100m", "memory": "1Gi"},
            }))
            .unwrap();
    }
    let metrics = proxy
        .run(
            &env,
            "alice",
            &["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"],
        )
        .await;
    let metrics: serde_json::Value = serde_json::from_slice(&metrics.stdout).unwrap();
    assert_eq!(item_names(&metrics), ["node-oil-1"], "{metrics}");
    // alice's operations on nodes are [List]: labelling her node is still refused.
    refused(
        &proxy,
        &env,
        "alice",
        &["label", "node", "node-oil-1", "team=oil"],
        "Forbidden",
        "",
    )
    .await;
    let node = admin(
        &env,
        &[
            "get",
            "node",
            "node-oil-1",
            "-o",
            "jsonpath={.metadata.labels.team}",
        ],
    )
    .await;
    assert_eq!(node, "", "the label was not written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classes_follow_the_tenant_spec_and_the_owner_operations() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    // alice may List every class kind: exact names, the default, the regex and label selectors open them.
    for (kind, visible) in [
        (
            "storageclasses",
            &[
                "storageclass.storage.k8s.io/ceph-rbd",
                "storageclass.storage.k8s.io/cephfs-fs",
            ][..],
        ),
        ("ingressclasses", &["ingressclass.networking.k8s.io/nginx"][..]),
        ("priorityclasses", &["priorityclass.scheduling.k8s.io/high"][..]),
        ("runtimeclasses", &["runtimeclass.node.k8s.io/gvisor"][..]),
    ] {
        for identity in ["alice", "alice-cert"] {
            let names = proxied_lines(&proxy, &env, identity, &["get", kind, "-o", "name"]).await;
            assert_eq!(names, visible, "{identity} {kind}");
        }
    }
    // bob may List storage classes only; carol (group owner) none: the other kinds are refused with a 400.
    let names = proxied_lines(&proxy, &env, "bob", &["get", "storageclasses", "-o", "name"]).await;
    assert_eq!(names, ["storageclass.storage.k8s.io/standard"]);
    for (identity, kind) in [
        ("bob", "ingressclasses"),
        ("bob", "priorityclasses"),
        ("bob", "runtimeclasses"),
        ("carol", "storageclasses"),
        ("carol", "ingressclasses"),
    ] {
        refused(
            &proxy,
            &env,
            identity,
            &["get", kind],
            "BadRequest",
            "not allowed",
        )
        .await;
    }
    // Named gets: List implies Get for a visible class; an invisible one is NotFound.
    for (identity, kind, name, visible) in [
        ("alice", "storageclass", "ceph-rbd", true),
        ("alice", "storageclass", "cephfs-fs", true),
        ("alice", "storageclass", "standard", false),
        ("alice", "ingressclass", "nginx", true),
        ("alice", "ingressclass", "haproxy", false),
        ("alice", "priorityclass", "high", true),
        ("alice", "priorityclass", "low", false),
        ("alice", "runtimeclass", "gvisor", true),
        ("alice", "runtimeclass", "kata", false),
        ("bob", "storageclass", "standard", true),
        ("bob", "storageclass", "ceph-rbd", false),
        ("bob", "ingressclass", "nginx", false),
    ] {
        let args = ["get", kind, name, "-o", "jsonpath={.metadata.name}"];
        if visible {
            let out = proxy.run(&env, identity, &args).await;
            assert_eq!(support::ok(&out), name, "{identity} {kind} {name}");
        } else {
            refused(
                &proxy,
                &env,
                identity,
                &args,
                "NotFound",
                &format!("\"{name}\" not found"),
            )
            .await;
        }
    }
    // Without the proxy, owners may not read classes at all.
    let direct = stderr_of_failure(&env.run("alice", &["get", "storageclasses"]).await);
    assert!(direct.contains("(Forbidden)"), "{direct}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_volumes_follow_the_tenant_label_and_operations() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["alice", "alice-cert"] {
        let names = proxied_lines(&proxy, &env, identity, &["get", "pv", "-o", "name"]).await;
        assert_eq!(names, ["persistentvolume/pv-oil-1"], "{identity}");
        let got = proxied_lines(&proxy, &env, identity, &["get", "pv", "pv-oil-1", "-o", "name"]).await;
        assert_eq!(got, ["persistentvolume/pv-oil-1"], "{identity}");
        let not_found = "persistentvolumes \"pv-gas-1\" not found";
        refused(
            &proxy,
            &env,
            identity,
            &["get", "pv", "pv-gas-1"],
            "NotFound",
            not_found,
        )
        .await;
    }
    // bob's operations do not name PersistentVolumes: an empty list (Go panics into a 500), and NotFound.
    let out = proxy.run(&env, "bob", &["get", "pv", "-o", "name"]).await;
    assert_eq!(support::ok(&out), "", "bob sees no volume");
    let not_found = "persistentvolumes \"pv-gas-1\" not found";
    refused(
        &proxy,
        &env,
        "bob",
        &["get", "pv", "pv-gas-1"],
        "NotFound",
        not_found,
    )
    .await;

    // Capsule's admin grants bob List on persistent volumes: his tenant's volume shows, and List implies Get.
    let patch = r#"[{"op":"add","path":"/spec/owners/0/proxySettings/-","value":{"kind":"PersistentVolumes","operations":["List"]}}]"#;
    admin(&env, &["patch", "tenant", "gas", "--type=json", "-p", patch]).await;
    eventually_lines(
        &proxy,
        &env,
        "bob",
        &["get", "pv", "-o", "name"],
        &["persistentvolume/pv-gas-1"],
    )
    .await;
    let got = proxied_lines(&proxy, &env, "bob", &["get", "pv", "pv-gas-1", "-o", "name"]).await;
    assert_eq!(got, ["persistentvolume/pv-gas-1"]);
    let not_found = "persistentvolumes \"pv-oil-1\" not found";
    refused(
        &proxy,
        &env,
        "bob",
        &["get", "pv", "pv-oil-1"],
        "NotFound",
        not_found,
    )
    .await;
}
