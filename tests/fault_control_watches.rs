//! The control plane's watches break while the API server keeps serving requests (kube-sim's watch cache
//! fault), once for every answer kube-sim gives a broken watch (429 with Retry-After, 500, 503). The proxy tells
//! at once: `capsule_proxy_watch_up` drops to 0 for the broken kinds only, `capsule_proxy_snapshot_age_seconds`
//! grows from 0, `/readyz` fails past `--readiness-stale-after` naming the watches down, and one ERROR line
//! names each broken watch. Meanwhile it keeps filtering with the last good ownership snapshot; once the
//! watches heal, the metrics and `/readyz` say so, one INFO line names each healed watch, and a change made
//! while they were broken reaches the owner.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod fault_support;
mod support;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fault_support::endpoints::probe;
use fault_support::process::count_lines;
use kube_sim::faults::WatchFault;
use support::Env;
use support::capsule::{LogOnFailure, admin_patch_status, eventually_lines, proxied_lines, start_synced};
use support::metrics::{Scrape, metrics_addr, scrape};
use support::raw::poll_until;

/// Deadline for the metrics and `/readyz` to show a break.
const BREAK_DEADLINE: Duration = Duration::from_secs(20);
/// Deadline for them to show the heal: the watches' backoff reaches 30 s between attempts.
const HEAL_DEADLINE: Duration = Duration::from_secs(45);

const RESTARTS: &str = "capsule_proxy_watch_restarts_total";
const GENERATION: &str = "capsule_proxy_snapshot_generation";
const AGE: &str = "capsule_proxy_snapshot_age_seconds";

/// Every watch of the control plane, by the resource its gauge is labelled with.
const WATCHED: [&str; 13] = [
    "apiservices",
    "capsuleconfigurations",
    "customresourcedefinitions",
    "globalproxysettings",
    "ingressclasses",
    "namespaces",
    "nodes",
    "persistentvolumes",
    "priorityclasses",
    "proxysettings",
    "runtimeclasses",
    "storageclasses",
    "tenants",
];
/// The watches the tests break (kube-sim's qualified names, then the gauges' resources).
const BROKEN: [&str; 2] = ["tenants.capsule.clastix.io", "namespaces"];
const BROKEN_RESOURCES: [&str; 2] = ["tenants", "namespaces"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_answered_429_with_retry_after_are_reported_and_heal() {
    break_and_heal(WatchFault::Initializing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_answered_500_are_reported_and_heal() {
    break_and_heal(WatchFault::EtcdTimeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_answered_503_are_reported_and_heal() {
    break_and_heal(WatchFault::Unavailable).await;
}

fn watch_up(resource: &str) -> String {
    format!("capsule_proxy_watch_up{{resource=\"{resource}\"}}")
}

/// Scrapes until `holds`, within `deadline`; panics with `what` and the last scrape's control-plane series
/// otherwise.
async fn scrape_until(
    metrics: SocketAddr,
    what: &str,
    deadline: Duration,
    holds: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let last = Mutex::new(String::new());
    let found = poll_until(deadline, || async {
        let scrape = scrape(metrics).await;
        if holds(&scrape) {
            return Some(scrape);
        }
        *last.lock().unwrap() = scrape
            .0
            .iter()
            .filter(|(k, _)| k.contains("watch") || k.contains("snapshot"))
            .map(|(k, v)| format!("{k} {v}\n"))
            .collect();
        None
    })
    .await;
    found.unwrap_or_else(|| {
        panic!(
            "{what}: not within {deadline:?}; last scrape:\n{}",
            last.lock().unwrap()
        )
    })
}

/// `/readyz` until it answers `status`, within `deadline`; returns its body.
async fn readyz_until(probes: SocketAddr, status: u16, deadline: Duration) -> String {
    let found = poll_until(deadline, || async {
        let (code, body) = probe(probes, "/readyz").await;
        (code == status).then_some(body)
    })
    .await;
    found.unwrap_or_else(|| panic!("/readyz never answered {status} within {deadline:?}"))
}

/// Log lines at `level` (as the text log spells it) containing `message` and naming `resource`.
fn logged(log: &str, level: &str, message: &str, resource: &str) -> usize {
    let named = format!("resource={resource} ");
    log.lines()
        .filter(|l| l.contains(level) && l.contains(message) && l.contains(&named))
        .count()
}

async fn break_and_heal(fault: WatchFault) {
    let env = Env::start().await;
    let proxy = start_synced(&env, &["--readiness-stale-after=1s"]).await;
    let _log = LogOnFailure(&proxy);
    let metrics = metrics_addr(&proxy).await;
    let probes = proxy.probes.expect("the proxy serves probes");
    let alice_ns = ["get", "namespaces", "-o", "name"];
    let oil = ["namespace/oil-dev", "namespace/oil-prod"];

    // Every watch streams: all gauges at 1, the snapshot current, the replica ready.
    let before = scrape_until(metrics, "every watch up", BREAK_DEADLINE, |s| {
        WATCHED.iter().all(|r| s.0.get(&watch_up(r)) == Some(&1.0))
    })
    .await;
    let exposed: Vec<&str> = before
        .0
        .keys()
        .filter_map(|k| k.strip_prefix("capsule_proxy_watch_up{resource=\""))
        .filter_map(|k| k.strip_suffix("\"}"))
        .collect();
    assert_eq!(exposed, WATCHED, "one gauge per watch");
    assert_eq!(before.value(AGE), 0.0, "a current snapshot has no age");
    assert_eq!(probe(probes, "/readyz").await.0, 200);
    assert_eq!(proxied_lines(&proxy, &env, "alice", &alice_ns).await, oil);
    let generation = before.value(GENERATION);
    let restarts = before.value(RESTARTS);

    env.sim.break_watches(&BROKEN, fault);
    let broken_at = Instant::now();
    let down = scrape_until(metrics, "the broken watches down", BREAK_DEADLINE, |s| {
        BROKEN_RESOURCES.iter().all(|r| s.value(&watch_up(r)) == 0.0) && s.value(AGE) > 0.0
    })
    .await;
    let seen_down = broken_at.elapsed();
    for resource in WATCHED.iter().filter(|r| !BROKEN_RESOURCES.contains(r)) {
        assert_eq!(down.value(&watch_up(resource)), 1.0, "{resource} still streams");
    }
    assert!(
        down.value(AGE) <= broken_at.elapsed().as_secs_f64(),
        "stale since the break, not before: {AGE} {}",
        down.value(AGE)
    );
    assert!(down.value(RESTARTS) >= restarts + 2.0, "each failure is counted");
    let unready = readyz_until(probes, 500, BREAK_DEADLINE).await;
    let seen_unready = broken_at.elapsed();
    assert!(
        unready.contains("stale") && unready.contains("--readiness-stale-after 1s"),
        "{unready}"
    );
    for resource in BROKEN_RESOURCES {
        assert!(
            unready.contains(&format!("{resource} for ")),
            "{resource} named: {unready}"
        );
    }
    assert!(
        !unready.contains("proxysettings"),
        "only the watches down: {unready}"
    );
    let log = proxy.log();
    for resource in BROKEN_RESOURCES {
        assert_eq!(
            logged(&log, "ERROR", "watch broken", resource),
            1,
            "one ERROR line when {resource}'s watch breaks"
        );
    }
    assert_eq!(count_lines(&log, "watch broken"), 2, "no other watch broke");

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
    // The watches really are down, not slow: more failed attempts after the change.
    let restarts_at_change = scrape(metrics).await.value(RESTARTS);
    let retried = scrape_until(metrics, "the broken watches retried", BREAK_DEADLINE, |s| {
        s.value(RESTARTS) >= restarts_at_change + 2.0
    })
    .await;
    // The last good snapshot still filters: alice sees exactly what she owned before, nothing more, nothing less.
    assert_eq!(proxied_lines(&proxy, &env, "alice", &alice_ns).await, oil);
    let during = scrape(metrics).await;
    assert_eq!(
        during.value(GENERATION),
        generation,
        "no snapshot while the watches are down"
    );
    assert!(
        during.value(AGE) > down.value(AGE) && during.value(AGE) > retried.value(AGE),
        "the age grows while the watches are down: {} then {}",
        down.value(AGE),
        during.value(AGE)
    );
    assert_eq!(probe(probes, "/readyz").await.0, 500, "still not ready");

    env.sim.heal_watches();
    let healed_at = Instant::now();
    let up = scrape_until(metrics, "every watch up again", HEAL_DEADLINE, |s| {
        WATCHED.iter().all(|r| s.value(&watch_up(r)) == 1.0)
    })
    .await;
    let seen_up = healed_at.elapsed();
    assert_eq!(up.value(AGE), 0.0, "current again once every watch streams");
    let ready = readyz_until(probes, 200, HEAL_DEADLINE).await;
    let seen_ready = healed_at.elapsed();
    assert_eq!(ready, "ok");
    eventually_lines(
        &proxy,
        &env,
        "alice",
        &alice_ns,
        &["namespace/gas-dev", "namespace/oil-dev", "namespace/oil-prod"],
    )
    .await;
    let seen_change = healed_at.elapsed();
    let after = scrape(metrics).await;
    assert!(
        after.value(GENERATION) > generation,
        "a new snapshot was published"
    );
    let log = proxy.log();
    for resource in BROKEN_RESOURCES {
        assert_eq!(
            logged(&log, "INFO", "watch healed", resource),
            1,
            "one INFO line when {resource}'s watch heals"
        );
    }
    println!(
        "{fault:?}: after break_watches, watch_up 0 and {AGE} > 0 in {seen_down:?}, /readyz 500 in \
         {seen_unready:?} ({unready:?}); after heal_watches, watch_up 1 and {AGE} 0 in {seen_up:?}, /readyz 200 \
         in {seen_ready:?}, the change reached alice in {seen_change:?}"
    );
}
