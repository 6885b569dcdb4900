//! The real `kubectl` against kube-sim: every command our users run through the proxy must work against the
//! simulated API server first, with the answers kube-apiserver would give.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use serde_json::{Value, json};
use support::{Env, Streaming, failed, lines, ok};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_namespaces_with_and_without_selectors() {
    let env = Env::start().await;
    let all = ok(&env.run("admin", &["get", "ns", "-o", "name"]).await);
    assert_eq!(
        lines(&all),
        [
            "namespace/capsule-system",
            "namespace/default",
            "namespace/gas-dev",
            "namespace/kube-system",
            "namespace/oil-dev",
            "namespace/oil-prod"
        ]
    );
    let oil = ok(&env
        .run(
            "admin",
            &["get", "ns", "-l", "capsule.clastix.io/tenant=oil", "-o", "name"],
        )
        .await);
    assert_eq!(lines(&oil), ["namespace/oil-dev", "namespace/oil-prod"]);
    let not_oil = ok(&env
        .run(
            "admin",
            &[
                "get",
                "ns",
                "-l",
                "capsule.clastix.io/tenant,capsule.clastix.io/tenant notin (oil)",
                "-o",
                "name",
            ],
        )
        .await);
    assert_eq!(lines(&not_oil), ["namespace/gas-dev"]);
    // Human output goes through server-side Tables.
    let table = ok(&env.run("admin", &["get", "ns", "oil-dev"]).await);
    let mut rows = table.lines();
    let header: Vec<&str> = rows.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "AGE"]);
    assert!(rows.next().unwrap_or("").starts_with("oil-dev"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_nodes_by_label_and_tenants() {
    let env = Env::start().await;
    let nodes = ok(&env
        .run("admin", &["get", "nodes", "-l", "pool=oil", "-o", "name"])
        .await);
    assert_eq!(lines(&nodes), ["node/node-oil-1"]);
    let tenants = ok(&env.run("admin", &["get", "tenants", "-o", "name"]).await);
    assert_eq!(
        lines(&tenants),
        ["tenant.capsule.clastix.io/gas", "tenant.capsule.clastix.io/oil"]
    );
    let oil = ok(&env.run("admin", &["get", "tenant", "oil", "-o", "json"]).await);
    let oil: Value = serde_json::from_str(&oil).unwrap();
    assert_eq!(oil["status"]["namespaces"], json!(["oil-dev", "oil-prod"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_then_updates_then_delete_removes() {
    let env = Env::start().await;
    let manifest = |value: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: oil-dev\n  labels: {{app: web}}\ndata:\n  mode: {value}\n"
        )
    };
    let file = env.file("cm.yaml", &manifest("blue"));
    let created = ok(&env.run("alice", &["apply", "-f", file.to_str().unwrap()]).await);
    assert_eq!(created.trim(), "configmap/settings created");
    let file = env.file("cm.yaml", &manifest("green"));
    let updated = ok(&env.run("alice", &["apply", "-f", file.to_str().unwrap()]).await);
    assert_eq!(updated.trim(), "configmap/settings configured");
    let unchanged = ok(&env.run("alice", &["apply", "-f", file.to_str().unwrap()]).await);
    assert_eq!(unchanged.trim(), "configmap/settings unchanged");

    let cm = ok(&env
        .run("alice", &["get", "cm", "settings", "-n", "oil-dev", "-o", "json"])
        .await);
    let cm: Value = serde_json::from_str(&cm).unwrap();
    assert_eq!(cm["data"]["mode"], "green");
    assert!(cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].is_string());

    let patched = ok(&env
        .run(
            "alice",
            &["label", "cm", "settings", "-n", "oil-dev", "tier=gold"],
        )
        .await);
    assert_eq!(patched.trim(), "configmap/settings labeled");

    // A `kind: List` file is validated against /openapi/v2.
    let list = env.file(
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: extra, namespace: oil-dev}\n",
    );
    let applied = ok(&env.run("alice", &["apply", "-f", list.to_str().unwrap()]).await);
    assert_eq!(applied.trim(), "configmap/extra created");

    let deleted = ok(&env
        .run("alice", &["delete", "cm", "settings", "-n", "oil-dev"])
        .await);
    assert_eq!(deleted.trim(), "configmap \"settings\" deleted");
    let gone = failed(
        &env.run("alice", &["get", "cm", "settings", "-n", "oil-dev"])
            .await,
    );
    assert!(gone.contains("configmaps \"settings\" not found"), "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_pods_watch_streams_an_event_caused_by_the_test() {
    let env = Env::start().await;
    let mut cmd = env.kubectl("alice");
    cmd.args(["get", "pods", "-n", "oil-dev", "-w", "-o", "name"]);
    let mut watch = Streaming::spawn(cmd);
    // The initial list arrives first; the watch then resumes from the list's resourceVersion, so a pod created
    // from now on is delivered whenever the watch connection is actually established.
    assert_eq!(watch.next_line().await.as_deref(), Some("pod/web"));
    env.sim
        .apply(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "late", "namespace": "oil-dev"},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]}}))
        .unwrap();
    watch.until(|l| l == "pod/late").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_receives_streamed_lines() {
    let env = Env::start().await;
    let mut cmd = env.kubectl("alice");
    cmd.args(["logs", "-f", "web", "-n", "oil-dev"]);
    let mut logs = Streaming::spawn(cmd);
    assert_eq!(logs.next_line().await.as_deref(), Some("nginx: starting"));
    assert_eq!(logs.next_line().await.as_deref(), Some("nginx: listening on :80"));
    env.sim.append_log("oil-dev", "web", "GET / 200");
    assert_eq!(logs.next_line().await.as_deref(), Some("GET / 200"));
    // Deleting the pod ends the stream, as the kubelet closing it would.
    env.sim.delete("v1", "Pod", "oil-dev", "web").unwrap();
    assert_eq!(logs.next_line().await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_echo_prints_hi() {
    let env = Env::start().await;
    let out = ok(&env
        .run("alice", &["exec", "web", "-n", "oil-dev", "--", "echo", "hi"])
        .await);
    assert_eq!(out, "hi\n");
    let failing = env
        .run("alice", &["exec", "web", "-n", "oil-dev", "--", "false"])
        .await;
    assert_eq!(
        failing.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failing.stderr)
    );
    // bob owns nothing in oil-dev.
    let denied = failed(
        &env.run("bob", &["exec", "web", "-n", "oil-dev", "--", "echo", "hi"])
            .await,
    );
    assert!(
        denied.contains("Forbidden") || denied.contains("forbidden"),
        "{denied}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_can_i_answers_from_rbac() {
    let env = Env::start().await;
    let yes = ok(&env
        .run("alice", &["auth", "can-i", "list", "pods", "-n", "oil-dev"])
        .await);
    assert_eq!(yes.trim(), "yes");
    let no = env.run("alice", &["auth", "can-i", "list", "nodes"]).await;
    assert_eq!(no.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&no.stdout).trim(), "no");
    let list = ok(&env
        .run("alice", &["auth", "can-i", "--list", "-n", "oil-dev"])
        .await);
    assert!(list.contains("pods"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impersonation_is_allowed_for_the_proxy_and_refused_for_alice() {
    let env = Env::start().await;
    let as_alice = ok(&env
        .run(
            "capsule-proxy",
            &[
                "--as",
                "alice",
                "--as-group",
                "projectcapsule.dev",
                "get",
                "pods",
                "-n",
                "oil-dev",
                "-o",
                "name",
            ],
        )
        .await);
    assert_eq!(lines(&as_alice), ["pod/web"]);
    let entry = env
        .sim
        .audit()
        .into_iter()
        .rev()
        .find(|e| e.resource == "pods")
        .unwrap();
    assert_eq!(entry.user, "alice");
    assert_eq!(
        entry.impersonator.as_deref(),
        Some("system:serviceaccount:capsule-system:capsule-proxy")
    );

    let refused = failed(
        &env.run("alice", &["--as", "bob", "get", "pods", "-n", "gas-dev"])
            .await,
    );
    assert!(
        refused.contains("users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_identity() {
    let env = Env::start().await;
    let whoami = ok(&env.run("carol-cert", &["auth", "whoami", "-o", "json"]).await);
    let whoami: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(whoami["status"]["userInfo"]["username"], "carol");
    assert_eq!(
        whoami["status"]["userInfo"]["groups"],
        json!(["projectcapsule.dev", "gas-ops", "system:authenticated"])
    );
    // The group from the certificate's O grants the gas tenant's admin role.
    let pods = ok(&env
        .run("carol-cert", &["get", "pods", "-n", "gas-dev", "-o", "name"])
        .await);
    assert_eq!(lines(&pods), ["pod/worker"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_list_is_a_403_with_apiserver_wording() {
    let env = Env::start().await;
    let err = failed(&env.run("alice", &["get", "nodes"]).await);
    assert!(
        err.contains(
            "Error from server (Forbidden): nodes is forbidden: User \"alice\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        ),
        "{err}"
    );
    let err = failed(&env.run("alice", &["get", "pods", "-n", "gas-dev"]).await);
    assert!(
        err.contains("cannot list resource \"pods\" in API group \"\" in the namespace \"gas-dev\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_resources_lists_every_kind() {
    let env = Env::start().await;
    let out = ok(&env.run("admin", &["api-resources", "-o", "name"]).await);
    let names = lines(&out);
    for expected in [
        "namespaces",
        "nodes",
        "persistentvolumes",
        "pods",
        "storageclasses.storage.k8s.io",
        "ingressclasses.networking.k8s.io",
        "priorityclasses.scheduling.k8s.io",
        "runtimeclasses.node.k8s.io",
        "nodes.metrics.k8s.io",
        "tenants.capsule.clastix.io",
        "capsuleconfigurations.capsule.clastix.io",
        "proxysettings.capsule.clastix.io",
        "globalproxysettings.capsule.clastix.io",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let version = ok(&env.run("admin", &["version", "-o", "json"]).await);
    let version: Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["serverVersion"]["major"], "1");
}

/// `object` without what the server adds (uid, resourceVersion, creationTimestamp, status, the namespace name
/// label) and without the
/// nulls and empty objects Go's JSON writer leaves in a client-side rendering.
fn as_sent(mut object: Value) -> Value {
    if let Some(meta) = object["metadata"].as_object_mut() {
        for server in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
        ] {
            meta.remove(server);
        }
        // kube-apiserver labels every namespace with its name.
        if let Some(labels) = meta.get_mut("labels").and_then(Value::as_object_mut) {
            labels.remove("kubernetes.io/metadata.name");
            if labels.is_empty() {
                meta.remove("labels");
            }
        }
    }
    if let Some(fields) = object.as_object_mut() {
        fields.remove("status");
        fields.retain(|_, v| !(v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty)));
    }
    object
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_sends_protobuf_and_kube_sim_stores_what_it_meant() {
    let env = Env::start().await;
    let binary = env.file("blob.bin", "");
    std::fs::write(&binary, [0_u8, 159, 146, 150]).unwrap();
    let from_file = format!("--from-file=blob={}", binary.display());
    let cases: Vec<(Vec<&str>, [&str; 3])> = vec![
        (
            vec!["namespace", "made-by-kubectl"],
            ["namespace", "made-by-kubectl", ""],
        ),
        (
            vec![
                "configmap",
                "settings",
                "-n",
                "oil-dev",
                "--from-literal=a=b",
                "--from-literal=empty=",
            ],
            ["configmap", "settings", "oil-dev"],
        ),
        (
            vec!["configmap", "blobs", "-n", "oil-dev", &from_file],
            ["configmap", "blobs", "oil-dev"],
        ),
        (
            vec![
                "secret",
                "generic",
                "token",
                "-n",
                "oil-dev",
                "--from-literal=token=s3cr3t",
                "--type=example.com/t",
            ],
            ["secret", "token", "oil-dev"],
        ),
        (
            vec!["serviceaccount", "robot", "-n", "oil-dev"],
            ["serviceaccount", "robot", "oil-dev"],
        ),
        (
            vec![
                "role",
                "pod-reader",
                "-n",
                "oil-dev",
                "--verb=get,list",
                "--resource=pods,configmaps",
                "--resource-name=web",
            ],
            ["role", "pod-reader", "oil-dev"],
        ),
        (
            vec![
                "clusterrole",
                "metrics-reader",
                "--verb=get",
                "--non-resource-url=/metrics",
            ],
            ["clusterrole", "metrics-reader", ""],
        ),
        (
            vec![
                "rolebinding",
                "alice-views",
                "-n",
                "oil-dev",
                "--clusterrole=view",
                "--user=alice",
                "--group=sre",
                "--serviceaccount=oil-dev:robot",
            ],
            ["rolebinding", "alice-views", "oil-dev"],
        ),
        (
            vec![
                "clusterrolebinding",
                "bob-reads",
                "--clusterrole=metrics-reader",
                "--user=bob",
            ],
            ["clusterrolebinding", "bob-reads", ""],
        ),
        (
            vec![
                "priorityclass",
                "below-zero",
                "--value=-5",
                "--description=last",
                "--preemption-policy=Never",
            ],
            ["priorityclass", "below-zero", ""],
        ),
        (
            vec![
                "quota",
                "small",
                "-n",
                "oil-dev",
                "--hard=cpu=500m,pods=4",
                "--scopes=NotBestEffort",
            ],
            ["resourcequota", "small", "oil-dev"],
        ),
    ];
    for (args, [resource, name, namespace]) in cases {
        let create: Vec<&str> = ["create"].into_iter().chain(args.iter().copied()).collect();
        // What kubectl means to create, rendered by kubectl itself as JSON.
        let dry: Vec<&str> = create
            .iter()
            .copied()
            .chain(["--dry-run=client", "-o", "json"])
            .collect();
        let meant: Value = serde_json::from_str(&ok(&env.run("admin", &dry).await)).unwrap();
        // The real create sends protobuf (client-go's typed clients do for built-in kinds).
        ok(&env.run("admin", &create).await);
        let mut get = vec!["get", resource, name, "-o", "json"];
        if !namespace.is_empty() {
            get.extend(["-n", namespace]);
        }
        let stored: Value = serde_json::from_str(&ok(&env.run("admin", &get).await)).unwrap();
        assert_eq!(as_sent(stored), as_sent(meant), "kubectl {}", create.join(" "));
    }
}
