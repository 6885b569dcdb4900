//! Randomized tenant isolation through `capsule-proxy`: a cluster drawn from a seed (tenants owned by users,
//! groups and service accounts, their namespaces, nodes, classes and volumes, the CapsuleConfiguration's users)
//! is loaded into kube-sim, the proxy is started once in front of it, and thousands of request variants are sent
//! over raw keep-alive connections — lists, named gets, watches and pages, written with selector, path,
//! impersonation, `Connection:` and XFCC tricks. Every answer must be 2xx, a redirect to a clean path or a 4xx
//! `Status`, never a 5xx, and must name no object outside what the caller's tenants own (computed from the
//! model, not by the proxy's policy crate); a variant without tricks must show exactly that.
//!
//! `ISOLATION_SEED` picks the seed (else a new one each run, printed with the counts); `ISOLATION_VARIANTS`
//! the number of variants (10,000 by default). A million:
//! `ISOLATION_VARIANTS=1000000 ISOLATION_SEED=<n> cargo test --release --test isolation_random -- --nocapture`
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use kube_sim::{KubeSim, SimConfig};
use support::Env;
use support::capsule::start_synced;
use support::isolation::fixture::fixture;
use support::isolation::model::Cluster;
use support::isolation::runner::{Setup, worker};
use support::isolation::tally::Tally;

/// Variants of a run unless `ISOLATION_VARIANTS` says otherwise.
const DEFAULT_VARIANTS: usize = 10_000;
/// Concurrent workers, each with its own connections and random stream.
const WORKERS: usize = 8;
/// Lines of the proxy's log printed when a run fails.
const LOG_TAIL_LINES: usize = 80;

/// The seed: `ISOLATION_SEED`, else one drawn from the clock.
fn seed() -> u64 {
    match std::env::var("ISOLATION_SEED") {
        Ok(text) => text.trim().parse().expect("ISOLATION_SEED is a number"),
        Err(_) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            now.as_secs() ^ u64::from(now.subsec_nanos()).rotate_left(32) ^ u64::from(std::process::id())
        }
    }
}

fn variant_count() -> usize {
    std::env::var("ISOLATION_VARIANTS")
        .map(|text| text.trim().parse().expect("ISOLATION_VARIANTS is a number"))
        .unwrap_or(DEFAULT_VARIANTS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_owner_sees_more_than_its_tenants_own() {
    let seed = seed();
    let count = variant_count();
    println!("isolation: seed {seed}, {count} variants");
    let cluster = Cluster::generate(seed);
    let dir = tempfile::tempdir().unwrap();
    let sim = KubeSim::start(SimConfig::new(fixture(&cluster), dir.path().join("state")))
        .await
        .expect("kube-sim starts with the generated cluster");
    let env = Env { sim, dir };
    let proxy = start_synced(&env, &[]).await;
    let setup = Arc::new(Setup::new(cluster, &env, &proxy));

    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|index| {
            let quota = count / WORKERS + usize::from(index < count % WORKERS);
            tokio::spawn(worker(Arc::clone(&setup), index, quota))
        })
        .collect();
    let mut tally = Tally::default();
    for worker in workers {
        tally.merge(worker.await.expect("a worker finished"));
    }
    let elapsed = started.elapsed();
    println!("{}  wall time: {elapsed:.1?}", tally.summary(seed));

    if !tally.failures.is_empty() {
        let log = proxy.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        eprintln!("--- capsule-proxy log (last {LOG_TAIL_LINES} lines) ---\n{tail}\n--- end of log ---");
        panic!(
            "{} of {} variants broke a rule (seed {seed}):\n{}",
            tally.failures.len(),
            tally.variants,
            tally.failure_report(seed)
        );
    }
    assert_eq!(tally.variants, count, "every variant was sent");
    assert!(
        tally.exact_nonempty > 0 && tally.names_checked > 0,
        "the run compared objects, not only refusals: {}",
        tally.summary(seed)
    );
}
