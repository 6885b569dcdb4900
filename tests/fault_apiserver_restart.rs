//! The API server dies under load and comes back: while it is down every answer through the proxy is a 502 or
//! 503 `Status` (never a hang, never another body) and open watches end; once it is back on the same address,
//! requests succeed again at once, and the proxy's open file descriptors and resident memory return to what
//! they were before.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod fault_support;
mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fault_support::process::rss_kib;
use fault_support::watch_stream::WatchStream;
use support::Env;
use support::capsule::{LogOnFailure, item_names, start_synced};
use support::raw::{Conn, Response, client_config, get, poll_until, within};
use support::sockets::open_fds;

/// Longest wait for any answer through the proxy: an answer later than this is a hang.
const ANSWER_DEADLINE: Duration = Duration::from_secs(5);
/// Deadline for the requests to succeed again after the restart (the target is under a second).
const RECOVERY_DEADLINE: Duration = Duration::from_secs(5);
/// Deadline for a condition on the load or on the process to hold.
const SETTLE_DEADLINE: Duration = Duration::from_secs(15);
/// Pause between two requests of one load client, so the load does not starve the proxy's core.
const PACE: Duration = Duration::from_millis(10);
/// Open file descriptors the proxy may have beyond its count before the fault.
const FD_MARGIN: usize = 8;
/// Resident memory the proxy may have grown by since before the fault, in KiB.
const RSS_MARGIN_KIB: u64 = 16 * 1024;

const PODS: &str = "/api/v1/namespaces/oil-dev/pods";
const NAMESPACES: &str = "/api/v1/namespaces";
/// The proxy's own identity in kube-sim.
const PROXY_USER: &str = "system:serviceaccount:capsule-system:capsule-proxy";

/// What a load client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// alice's pods in oil-dev: passed through with her token.
    PassThrough,
    /// alice's namespaces: filtered by the proxy.
    Filtered,
}

/// One answered request of the load.
#[derive(Debug, Clone, Copy)]
struct Sample {
    route: Route,
    sent: Instant,
    received: Instant,
    status: u16,
}

/// The resources the proxy's own identity watched in kube-sim's audit trail, from entry `from` on.
fn proxy_watches(env: &Env, from: usize) -> BTreeSet<String> {
    env.sim
        .audit()
        .into_iter()
        .skip(from)
        .filter(|entry| entry.verb == "watch" && entry.user == PROXY_USER && entry.code == 200)
        .map(|entry| entry.resource)
        .collect()
}

/// Checks an answer: alice's data, or a 502/503 Status; returns the status.
fn check(route: Route, response: &Response) -> u16 {
    match response.status {
        200 => {
            let list = response.json();
            match route {
                Route::PassThrough => {
                    assert_eq!(list["kind"], "PodList", "{list}");
                    assert_eq!(item_names(&list), ["web"]);
                }
                Route::Filtered => {
                    assert_eq!(list["kind"], "NamespaceList", "{list}");
                    assert_eq!(item_names(&list), ["oil-dev", "oil-prod"]);
                }
            }
        }
        502 | 503 => {
            response.expect_status(response.status);
        }
        other => panic!("{route:?}: unexpected answer {other}: {response:?}"),
    }
    response.status
}

/// Clients looping on requests through the proxy, each on its own kept-alive connection, recording every answer.
struct Load {
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(proxy_addr: std::net::SocketAddr, ca_pem: &str, routes: &[Route]) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let config = client_config(&[ca_pem], None);
        let clients = routes
            .iter()
            .map(|&route| {
                let (samples, stop, config) = (Arc::clone(&samples), Arc::clone(&stop), Arc::clone(&config));
                tokio::spawn(async move {
                    let path = match route {
                        Route::PassThrough => PODS,
                        Route::Filtered => NAMESPACES,
                    };
                    let mut conn: Option<Conn> = None;
                    let mut pace = tokio::time::interval(PACE);
                    while !stop.load(Ordering::Relaxed) {
                        pace.tick().await;
                        let open = match conn.take() {
                            Some(open) => open,
                            None => Conn::tls(proxy_addr, Arc::clone(&config)).await,
                        };
                        let mut open = open;
                        let sent = Instant::now();
                        let what = format!("{route:?}: an answer through the proxy");
                        let response = within(
                            ANSWER_DEADLINE,
                            &what,
                            open.exchange(&get(path, Some("alice-token"))),
                        )
                        .await;
                        let status = check(route, &response);
                        samples.lock().unwrap().push(Sample {
                            route,
                            sent,
                            received: Instant::now(),
                            status,
                        });
                        if !response.closes() {
                            conn = Some(open);
                        }
                    }
                })
            })
            .collect();
        Self {
            samples,
            stop,
            clients,
        }
    }

    fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().clone()
    }

    /// Whether every route has at least `n` answers with `status` sent after `since`.
    fn has(&self, routes: &[Route], status: impl Fn(u16) -> bool, since: Instant, n: usize) -> bool {
        let samples = self.samples();
        routes.iter().all(|route| {
            samples
                .iter()
                .filter(|s| s.route == *route && s.sent >= since && status(s.status))
                .count()
                >= n
        })
    }

    /// Stops the clients and re-raises a client's failure.
    async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            if let Err(e) = within(SETTLE_DEADLINE, "a load client stops", client).await {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        self.samples.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_killed_and_restarted_under_load_and_open_watches() {
    let mut env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let pid = proxy.pid();
    let routes = [
        Route::PassThrough,
        Route::PassThrough,
        Route::PassThrough,
        Route::Filtered,
    ];
    let both = [Route::PassThrough, Route::Filtered];
    let load = Load::start(proxy.addr, &proxy.ca_pem, &routes);
    let began = Instant::now();
    let warm = poll_until(SETTLE_DEADLINE, || async {
        load.has(&both, |s| s == 200, began, 20).then_some(())
    })
    .await;
    assert!(
        warm.is_some(),
        "the load never succeeded: {:?}",
        load.samples().last()
    );
    let fds_before = open_fds(pid);
    let rss_before = rss_kib(pid);

    let mut pods =
        WatchStream::open(&proxy, &format!("{PODS}?watch=1"), "alice-token", ANSWER_DEADLINE).await;
    let mut namespaces = WatchStream::open(
        &proxy,
        &format!("{NAMESPACES}?watch=1"),
        "alice-token",
        ANSWER_DEADLINE,
    )
    .await;
    assert_eq!((pods.status, namespaces.status), (200, 200));
    let pod = pods
        .next_event(ANSWER_DEADLINE)
        .await
        .expect("the pod watch lists web");
    assert_eq!(pod["object"]["metadata"]["name"], "web");
    let namespace = namespaces
        .next_event(ANSWER_DEADLINE)
        .await
        .expect("the namespace watch lists");
    let name = namespace["object"]["metadata"]["name"].as_str().unwrap();
    assert!(["oil-dev", "oil-prod"].contains(&name), "{namespace}");

    let control_watches = proxy_watches(&env, 0);
    env.sim.stop().await;
    let stopped = Instant::now();
    let (pods_end, _) = pods.until_end(SETTLE_DEADLINE).await;
    let (namespaces_end, _) = namespaces.until_end(SETTLE_DEADLINE).await;
    println!(
        "open watches ended {:?} after the stop (pods: {pods_end:?}, namespaces: {namespaces_end:?})",
        stopped.elapsed()
    );
    let failing = poll_until(SETTLE_DEADLINE, || async {
        load.has(&both, |s| s != 200, stopped, 5).then_some(())
    })
    .await;
    assert!(
        failing.is_some(),
        "the load saw no failures while the API server was down"
    );
    // A caller the proxy has not seen yet (bob's token was never reviewed) is answered too, on a new connection.
    let asked = Instant::now();
    let mut fresh = Conn::open(&proxy).await;
    let bob = within(
        ANSWER_DEADLINE,
        "bob's first request",
        fresh.exchange(&get(NAMESPACES, Some("bob-token"))),
    )
    .await;
    assert!(matches!(bob.status, 502 | 503), "{bob:?}");
    bob.expect_status(bob.status);
    println!(
        "a new caller during the outage: {} after {:?}",
        bob.status,
        asked.elapsed()
    );

    let restarting = Instant::now();
    let audited_before_restart = env.sim.audit().len();
    env.sim.restart().await.unwrap();
    let restarted = Instant::now();
    let recovered = poll_until(RECOVERY_DEADLINE, || async {
        let samples = load.samples();
        let first_success = |route| {
            samples
                .iter()
                .filter(|s| s.route == route && s.sent >= restarted && s.status == 200)
                .map(|s| s.received)
                .min()
        };
        Some((
            first_success(Route::PassThrough)?,
            first_success(Route::Filtered)?,
        ))
    })
    .await;
    let (pass_through_at, filtered_at) = recovered.expect("requests succeed again after the restart");
    let recovered_at = pass_through_at.max(filtered_at);
    println!(
        "recovery after the restart: pass-through {:?}, filtered {:?}",
        pass_through_at - restarted,
        filtered_at - restarted
    );
    let steady = poll_until(SETTLE_DEADLINE, || async {
        load.has(&both, |s| s == 200, recovered_at, 20).then_some(())
    })
    .await;
    assert!(
        steady.is_some(),
        "the load did not keep succeeding after the restart"
    );

    // The control plane's watches are back (its connections count among the process's descriptors).
    let rewatched = poll_until(SETTLE_DEADLINE, || async {
        proxy_watches(&env, audited_before_restart)
            .is_superset(&control_watches)
            .then_some(())
    })
    .await;
    assert!(
        rewatched.is_some(),
        "the control plane watches {control_watches:?} again"
    );
    let settled = poll_until(SETTLE_DEADLINE, || async {
        let (fds, rss) = (open_fds(pid), rss_kib(pid));
        (fds <= fds_before + FD_MARGIN && rss <= rss_before + RSS_MARGIN_KIB).then_some((fds, rss))
    })
    .await;
    let (fds_after, rss_after) = (open_fds(pid), rss_kib(pid));
    println!(
        "open fds: {fds_before} before the fault, {fds_after} after; VmRSS: {rss_before} KiB before, {rss_after} KiB after"
    );
    assert!(
        settled.is_some(),
        "fds {fds_before} → {fds_after} (margin {FD_MARGIN}), VmRSS {rss_before} → {rss_after} KiB (margin {RSS_MARGIN_KIB})"
    );

    let samples = load.finish().await;
    for sample in &samples {
        if sample.sent >= stopped && sample.received <= restarting {
            assert_ne!(
                sample.status, 200,
                "an answer while the API server was down: {sample:?}"
            );
        }
        if sample.sent >= recovered_at {
            assert_eq!(sample.status, 200, "a failure after the recovery: {sample:?}");
        }
    }
    let mut outage = std::collections::BTreeMap::new();
    for sample in samples
        .iter()
        .filter(|s| s.sent >= stopped && s.received <= restarting)
    {
        *outage
            .entry(format!("{:?} {}", sample.route, sample.status))
            .or_insert(0) += 1;
    }
    println!(
        "{} answers in all; while the API server was down: {outage:?}",
        samples.len()
    );
}
