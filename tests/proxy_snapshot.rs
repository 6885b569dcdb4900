//! The running proxy's cores receive the control plane's ownership snapshots: the first once every watch has
//! listed, then one per change in the cluster.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::time::Duration;

use serde_json::json;
use support::Env;
use support::proxy::Proxy;

/// Deadline for a snapshot to reach the cores.
const DEADLINE: Duration = Duration::from_secs(30);

/// Waits until the proxy's log shows core 0 holding a snapshot of at least `generation`.
async fn core_has_generation(proxy: &Proxy, generation: u64) {
    proxy
        .wait_for_log(&format!("core 0 with snapshot {generation}"), |log| {
            log.lines()
                .filter(|l| l.contains("snapshot received") && l.contains("core=0"))
                .filter_map(|l| {
                    l.split("generation=")
                        .nth(1)?
                        .split_whitespace()
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .any(|g| g >= generation)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cores_follow_the_clusters_tenants() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    core_has_generation(&proxy, 1).await;
    env.sim
        .apply(json!({
            "apiVersion": "capsule.clastix.io/v1beta2",
            "kind": "Tenant",
            "metadata": {"name": "wind"},
            "spec": {"owners": [{"kind": "User", "name": "dave"}]},
            "status": {"owners": [{"kind": "User", "name": "dave"}], "namespaces": []},
        }))
        .unwrap();
    core_has_generation(&proxy, 2).await;
    assert!(proxy.log().contains("ownership snapshot published"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_ready_with_the_first_snapshot() {
    let env = Env::start().await;
    // Slow lists: the proxy accepts before the control plane has synced.
    env.sim.set_latency(Duration::from_secs(2));
    let proxy = Proxy::start(&env, &[]).await;
    let probes = proxy.probes.expect("the ready line names the probe address");
    assert_eq!(probe(probes, "/healthz/").await, (200, "ok".to_string()));
    let (code, body) = probe(probes, "/readyz").await;
    assert_eq!(code, 500, "not ready before the first snapshot: {body}");
    env.sim.set_latency(Duration::ZERO);
    // The control plane marks itself ready before it logs the publication.
    proxy
        .wait_for_log("the first snapshot published", |log| {
            log.contains("ownership snapshot published")
        })
        .await;
    assert_eq!(probe(probes, "/readyz/").await, (200, "ok".to_string()));
    assert_eq!(probe(probes, "/other").await.0, 404);
}

/// A plain HTTP/1.1 GET to the probe server: (status, body).
async fn probe(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: probes\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    };
    let response = tokio::time::timeout(DEADLINE, exchange)
        .await
        .expect("the probe answers in time");
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}
