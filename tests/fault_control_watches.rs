//! The control plane's watches break while the API server keeps serving requests (kube-sim's watch cache
//! fault): the proxy keeps filtering with the last good ownership snapshot, its metrics show the failing
//! watches and the snapshot's growing age, and once the watches heal a change made meanwhile reaches the owner.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod fault_support;
mod support;

use std::time::{Duration, Instant};

use fault_support::endpoints::{metrics_addr, probe, scrape};
use kube_sim::faults::WatchFault;
use support::Env;
use support::capsule::{LogOnFailure, admin_patch_status, eventually_lines, proxied_lines, start_synced};
use support::raw::poll_until;

/// Deadline for the metrics to show what happened.
const METRICS_DEADLINE: Duration = Duration::from_secs(20);

const RESTARTS: &str = "capsule_proxy_watch_restarts_total";
const GENERATION: &str = "capsule_proxy_snapshot_generation";
const AGE: &str = "capsule_proxy_snapshot_age_seconds";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_control_watches_keep_the_last_snapshot_and_heal() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let metrics = metrics_addr(&proxy).await;
    let probes = proxy.probes.expect("the proxy serves probes");
    let alice_ns = ["get", "namespaces", "-o", "name"];
    let oil = ["namespace/oil-dev", "namespace/oil-prod"];
    assert_eq!(proxied_lines(&proxy, &env, "alice", &alice_ns).await, oil);
    let before = scrape(metrics).await;
    let generation = before.value(GENERATION);
    let restarts = before.value(RESTARTS);

    env.sim.break_watches(
        &["tenants.capsule.clastix.io", "namespaces"],
        // A 500 (etcd timed out): the kube client does not retry it itself, so the watches see the failure.
        WatchFault::EtcdTimeout,
    );
    let broken_at = Instant::now();
    // Both watches ended and failed to start again.
    let failing = poll_until(METRICS_DEADLINE, || async {
        (scrape(metrics).await.value(RESTARTS) >= restarts + 2.0).then_some(())
    })
    .await;
    assert!(failing.is_some(), "{RESTARTS} never counted the broken watches");
    // Capsule makes alice an owner of gas meanwhile; the proxy cannot see it yet.
    admin_patch_status(
        &env,
        "tenants.capsule.clastix.io",
        "gas",
        serde_json::json!({"owners": [
            {"kind": "User", "name": "bob", "clusterRoles": ["admin"]},
            {"kind": "Group", "name": "gas-ops", "clusterRoles": ["admin"]},
            {"kind": "User", "name": "alice", "clusterRoles": ["admin"]},
        ]}),
    )
    .await;
    // Two more failed attempts after the change: the watches really are down, not just slow to see it.
    let restarts_at_change = scrape(metrics).await.value(RESTARTS);
    let retried = poll_until(METRICS_DEADLINE, || async {
        (scrape(metrics).await.value(RESTARTS) >= restarts_at_change + 2.0).then_some(())
    })
    .await;
    assert!(retried.is_some(), "the broken watches were not retried");

    // The last good snapshot still filters: alice sees exactly what she owned before, nothing more, nothing less.
    assert_eq!(proxied_lines(&proxy, &env, "alice", &alice_ns).await, oil);
    let during = scrape(metrics).await;
    assert_eq!(
        during.value(GENERATION),
        generation,
        "no snapshot while the watches are down"
    );
    let broken_for = broken_at.elapsed().as_secs_f64();
    assert!(
        during.value(AGE) >= broken_for,
        "the snapshot is older than the break ({broken_for:.1}s): {AGE} {}",
        during.value(AGE)
    );
    let (ready, ready_body) = probe(probes, "/readyz").await;
    println!(
        "watches broken for {broken_for:.1}s: /readyz {ready} {ready_body:?}, {AGE} {}, {RESTARTS} {} (was {restarts})",
        during.value(AGE),
        during.value(RESTARTS)
    );

    env.sim.heal_watches();
    let healed_at = Instant::now();
    eventually_lines(
        &proxy,
        &env,
        "alice",
        &alice_ns,
        &["namespace/gas-dev", "namespace/oil-dev", "namespace/oil-prod"],
    )
    .await;
    println!(
        "the change reached alice {:?} after the watches healed",
        healed_at.elapsed()
    );
    let after = scrape(metrics).await;
    assert!(
        after.value(GENERATION) > generation,
        "a new snapshot was published"
    );
    assert!(
        after.value(AGE) < healed_at.elapsed().as_secs_f64() + 1.0,
        "the new snapshot is recent: {AGE} {}",
        after.value(AGE)
    );
    let (ready, _) = probe(probes, "/readyz").await;
    assert_eq!(ready, 200, "ready once the watches healed");
}
