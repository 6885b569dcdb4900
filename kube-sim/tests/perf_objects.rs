//! `--perf-objects`: the sized ConfigMap lists, the watch target and the fan-out tenant, served on top of the demo
//! fixture without changing what the demo's identities see.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod raw_http;

use std::time::Duration;

use kube_sim::perf_objects::{self, LIST_SIZES};
use kube_sim::{Fixture, KubeSim, SimConfig};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
/// The API server refuses objects over 1 MiB (etcd's request limit, less overhead).
const MAX_OBJECT_BYTES: usize = 1024 * 1024;

async fn start() -> (KubeSim, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo.yaml");
    let mut fixture = Fixture::load(std::path::Path::new(demo)).unwrap();
    fixture.merge(perf_objects::fixture()).unwrap();
    let mut config = SimConfig::new(fixture, dir.path().join("state"));
    config.plain_http = true;
    (KubeSim::start(config).await.unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_lists_have_their_sizes() {
    raw_http::within(DEADLINE, "sized lists", async {
        let (sim, _dir) = start().await;
        for (namespace, count, bytes) in LIST_SIZES {
            let path = format!("/api/v1/namespaces/{namespace}/configmaps");
            let answer = raw_http::get(sim.addr(), "admin-token", &path, &[]).await;
            assert_eq!(answer.status, 200, "{namespace}");
            let len = answer.body.len();
            let off = len.abs_diff(bytes) as f64 / bytes as f64;
            assert!(off <= 0.05, "{namespace}: {len} bytes, not within 5 % of {bytes}");
            let list: Value = serde_json::from_slice(&answer.body).unwrap();
            let items = list["items"].as_array().unwrap();
            assert_eq!(items.len(), count, "{namespace}");
            for item in items {
                assert!(serde_json::to_vec(item).unwrap().len() < MAX_OBJECT_BYTES);
                assert!(item["metadata"]["managedFields"].is_array());
                assert!(!item["data"].as_object().unwrap().is_empty());
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erin_owns_the_fan_tenant_and_the_demo_owners_see_nothing_new() {
    raw_http::within(DEADLINE, "fan tenant", async {
        let (sim, _dir) = start().await;
        let get = |token: &'static str, path: String| {
            let addr = sim.addr();
            async move { raw_http::get(addr, token, &path, &[]).await }
        };
        for n in [0, 42, 99] {
            let ns = perf_objects::fan_namespace_name(n);
            let pods = get("erin-token", format!("/api/v1/namespaces/{ns}/pods")).await;
            assert_eq!(pods.status, 200, "{ns}");
            let list: Value = serde_json::from_slice(&pods.body).unwrap();
            assert_eq!(list["items"].as_array().unwrap().len(), perf_objects::FAN_PODS);
            assert_eq!(list["items"][0]["status"]["phase"], "Running");
            let namespace = get("admin-token", format!("/api/v1/namespaces/{ns}")).await;
            let namespace: Value = serde_json::from_slice(&namespace.body).unwrap();
            assert_eq!(
                namespace["metadata"]["labels"]["capsule.clastix.io/tenant"],
                "fan"
            );
            assert_eq!(namespace["metadata"]["ownerReferences"][0]["name"], "fan");
            for other in ["alice-token", "bob-token"] {
                assert_eq!(
                    get(other, format!("/api/v1/namespaces/{ns}/pods")).await.status,
                    403
                );
            }
        }
        let tenant = get(
            "admin-token",
            "/apis/capsule.clastix.io/v1beta2/tenants/fan".into(),
        )
        .await;
        let tenant: Value = serde_json::from_slice(&tenant.body).unwrap();
        assert_eq!(tenant["spec"]["owners"][0]["name"], "erin");
        assert_eq!(tenant["status"]["namespaces"].as_array().unwrap().len(), 100);
        // erin reads the perf namespaces; the demo's owners do not.
        let tick = "/api/v1/namespaces/perf-watch/configmaps/tick".to_string();
        assert_eq!(get("erin-token", tick.clone()).await.status, 200);
        assert_eq!(get("alice-token", tick).await.status, 403);
        assert_eq!(
            get("erin-token", "/api/v1/namespaces/perf-1m/configmaps".into())
                .await
                .status,
            200
        );
        assert!(sim.kubeconfig("erin").exists());
    })
    .await;
}
