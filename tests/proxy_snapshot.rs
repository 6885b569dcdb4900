//! The running proxy's cores receive the control plane's ownership snapshots: the first once every watch has
//! listed, then one per change in the cluster.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::Env;
use support::proxy::Proxy;

/// Deadline for a snapshot to reach the cores.
const DEADLINE: Duration = Duration::from_secs(30);

/// Waits until the proxy's log shows core 0 holding a snapshot of at least `generation`.
async fn core_has_generation(proxy: &Proxy, generation: u64) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let log = proxy.log();
        let newest = log
            .lines()
            .filter(|l| l.contains("snapshot received") && l.contains("core=0"))
            .filter_map(|l| {
                l.split("generation=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .max();
        if newest.is_some_and(|g| g >= generation) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "core 0 never got snapshot {generation}; log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
