//! ProxySetting and GlobalProxySettings status against kube-sim: `observedGeneration` and a `Ready` condition as
//! the Go proxy writes them, `Ready=False` with reason `InvalidSpec` for rules the proxy cannot use (which take no
//! effect), a new generation observed again, and the proxy's own write not repeated.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::time::{Duration, Instant};

use capsule_proxy_control::crds::{GlobalProxySettings, ProxySetting};
use kube::api::{Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, Resource};
use serde_json::{Value, json};

/// Deadline for a status to be written.
const DEADLINE: Duration = Duration::from_secs(30);
/// Pause between two reads of an object while waiting.
const POLL: Duration = Duration::from_millis(20);

fn proxy_setting(name: &str, selector: Value) -> Value {
    json!({
        "apiVersion": "capsule.clastix.io/v1beta1",
        "kind": "ProxySetting",
        "metadata": {"name": name, "namespace": "oil-dev"},
        "spec": {"subjects": [{
            "kind": "User",
            "name": "alice",
            "clusterResources": [{
                "apiGroups": ["storage.k8s.io"],
                "resources": ["storageclasses"],
                "operations": ["List"],
                "selector": selector,
            }],
        }]},
    })
}

/// The object `name`, once `settled` holds for it.
async fn settled<K>(api: &Api<K>, name: &str, settled: impl Fn(&Value) -> bool) -> Value
where
    K: Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        let object = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
        if settled(&object) {
            return object;
        }
        assert!(
            Instant::now() < deadline,
            "{name} not settled within {DEADLINE:?}: {object}"
        );
        tokio::time::sleep(POLL).await;
    }
}

fn ready(object: &Value) -> &Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_written_as_go_writes_it_and_unusable_rules_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let sim = support::demo_sim(dir.path()).await;
    sim.apply(proxy_setting(
        "readers",
        json!({"matchLabels": {"tier": "shared"}}),
    ))
    .unwrap();
    // `In` without values: apimachinery refuses the selector, so the rule cannot be used.
    let broken = json!({"matchExpressions": [{"key": "tier", "operator": "In"}]});
    sim.apply(proxy_setting("broken", broken)).unwrap();
    sim.apply(json!({
        "apiVersion": "capsule.clastix.io/v1beta1",
        "kind": "GlobalProxySettings",
        "metadata": {"name": "everyone-reads-classes"},
        "spec": {"rules": [{
            "subjects": [{"kind": "Group", "name": "projectcapsule.dev"}],
            "clusterResources": [{"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"]}],
        }]},
    }))
    .unwrap();

    let _control = support::start_control(&sim, |_| {});

    let admin = Kubeconfig::read_from(sim.kubeconfig("admin")).unwrap();
    let config = Config::from_custom_kubeconfig(admin, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = Client::try_from(config).unwrap();
    let settings: Api<ProxySetting> = Api::namespaced(client.clone(), "oil-dev");
    let globals: Api<GlobalProxySettings> = Api::all(client);

    let readers = settled(&settings, "readers", |o| ready(o)["status"] == "True").await;
    assert_eq!(readers["status"]["observedGeneration"], 1);
    let condition = ready(&readers);
    assert_eq!(condition["reason"], "Succeeded");
    assert_eq!(condition["message"], "reconciled");
    assert_eq!(condition["observedGeneration"], 1);
    assert!(condition["lastTransitionTime"].as_str().unwrap().ends_with('Z'));

    let broken = settled(&settings, "broken", |o| ready(o)["status"] == "False").await;
    let condition = ready(&broken);
    assert_eq!(condition["reason"], "InvalidSpec");
    let message = condition["message"].as_str().unwrap();
    assert!(
        message.contains("spec.subjects[0].clusterResources[0].selector"),
        "the message names the rule: {message}"
    );

    let global = settled(&globals, "everyone-reads-classes", |o| {
        ready(o)["status"] == "True"
    })
    .await;
    assert_eq!(global["status"]["observedGeneration"], 1);

    // A new spec is a new generation, observed again; the transition time stays while Ready stays True.
    let written_at = ready(&readers)["lastTransitionTime"].clone();
    let version = readers["metadata"]["resourceVersion"].clone();
    let gold = json!({"spec": {"subjects": [{"kind": "User", "name": "alice", "clusterResources": [{
        "apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "operations": ["List"],
        "selector": {"matchLabels": {"tier": "gold"}},
    }]}]}});
    settings
        .patch("readers", &PatchParams::default(), &Patch::Merge(gold))
        .await
        .unwrap();
    let changed = settled(&settings, "readers", |o| o["status"]["observedGeneration"] == 2).await;
    assert_eq!(ready(&changed)["observedGeneration"], 2);
    assert_eq!(ready(&changed)["lastTransitionTime"], written_at);
    assert_ne!(changed["metadata"]["resourceVersion"], version);

    // A label change is no new generation: the status stays as it is, and no replica writes it again.
    let label = json!({"metadata": {"labels": {"team": "sre"}}});
    settings
        .patch("readers", &PatchParams::default(), &Patch::Merge(label))
        .await
        .unwrap();
    let labelled = settled(&settings, "readers", |o| o["metadata"]["labels"]["team"] == "sre").await;
    assert_eq!(labelled["metadata"]["generation"], 2);
    assert_eq!(labelled["status"], changed["status"]);
}
