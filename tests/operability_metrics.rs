//! `/metrics` of the running proxy counts what really went through it: requests per route template and status
//! (the Go proxy's metric names), their durations, connections, streams, handshakes, bytes, the cores' driver
//! and the control plane's snapshot.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::capsule::{LogOnFailure, proxied_lines, start_synced};
use support::metrics::{metrics_addr, scrape, scrape_until};
use support::proxy::Proxy;
use support::raw::{Conn, get};
use support::{Env, Streaming};

fn requests(path: &str, status: u16) -> String {
    format!("capsule_proxy_requests_total{{path=\"{path}\",status=\"{status}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_traffic_that_went_through() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let addr = metrics_addr(&proxy).await;
    let ready = scrape(addr).await;
    assert!(ready.get("capsule_proxy_snapshot_generation") >= 1.0);
    assert!(ready.0.contains_key("capsule_proxy_snapshot_age_seconds"));
    assert_eq!(
        ready.get("capsule_proxy_cores{driver=\"io_uring\"}")
            + ready.get("capsule_proxy_cores{driver=\"epoll\"}"),
        1.0,
        "one core, running one driver"
    );
    assert!(
        ready.series("capsule_proxy_requests_total").is_empty(),
        "no request yet"
    );

    // Filtered namespace lists, a pass-through list, a watch, and raw requests on one kept-alive connection.
    for _ in 0..3 {
        let names = proxied_lines(&proxy, &env, "alice", &["get", "ns", "-o", "name"]).await;
        assert_eq!(names, ["namespace/oil-dev", "namespace/oil-prod"]);
    }
    let pods = proxied_lines(
        &proxy,
        &env,
        "alice",
        &["get", "pods", "-n", "oil-dev", "-o", "name"],
    )
    .await;
    assert_eq!(pods, ["pod/web"]);

    let mut watch = Streaming::spawn({
        let mut cmd = proxy.kubectl(&env, "alice");
        cmd.args(["get", "pods", "-n", "oil-dev", "-w", "-o", "name"]);
        cmd
    });
    watch.until(|line| line == "pod/web").await;
    scrape_until(addr, "the open watch", |s| {
        s.get("capsule_proxy_open_streams{kind=\"response\"}") == 1.0
    })
    .await;
    watch.child.kill().await.unwrap();

    let mut conn = Conn::open(&proxy).await;
    assert_eq!(conn.exchange(&get("/_healthz", None)).await.status, 200);
    assert_eq!(conn.exchange(&get("/api/v1/namespaces", None)).await.status, 401);
    let missing = get("/api/v1/namespaces/oil-dev/pods/missing", Some("alice-token"));
    assert_eq!(conn.exchange(&missing).await.status, 404);

    // Once every kubectl has gone, only `conn` is open and nothing is in flight: every request was counted.
    let after = scrape_until(addr, "no request in flight and one connection", |s| {
        s.get("capsule_proxy_requests_in_flight") == 0.0
            && s.get("capsule_proxy_client_connections") == 1.0
            && s.get("capsule_proxy_open_streams{kind=\"response\"}") == 0.0
    })
    .await;

    // What the proxy passed through as alice reached kube-sim as alice: the "/" route counts exactly that, plus
    // the 401 the proxy answered itself. The namespace lists were sent as the proxy, filtered.
    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    for entry in env.sim.audit().iter().filter(|e| e.user == "alice") {
        *expected.entry(requests("/", entry.code)).or_default() += 1.0;
    }
    assert!(expected.contains_key(&requests("/", 404)), "{expected:?}");
    *expected.entry(requests("/", 401)).or_default() += 1.0;
    expected.insert(requests("/api/v1/namespaces", 200), 3.0);
    expected.insert(requests("/_healthz", 200), 1.0);
    let counted: BTreeMap<String, f64> = after
        .series("capsule_proxy_requests_total")
        .into_iter()
        .map(|(series, value)| (series.to_string(), value))
        .collect();
    assert_eq!(counted, expected);

    // Each route's histogram counts its requests, every one under +Inf.
    let paths: BTreeSet<&str> = ["/", "/api/v1/namespaces", "/_healthz"].into();
    for path in paths {
        let requests: f64 = counted
            .iter()
            .filter(|(series, _)| series.contains(&format!("path=\"{path}\",")))
            .map(|(_, n)| n)
            .sum();
        let count = after.get(&format!(
            "capsule_proxy_response_time_seconds_count{{path=\"{path}\"}}"
        ));
        let inf = after.get(&format!(
            "capsule_proxy_response_time_seconds_bucket{{path=\"{path}\",le=\"+Inf\"}}"
        ));
        assert_eq!(count, requests, "{path}");
        assert_eq!(inf, requests, "{path}");
        let ten = after.get(&format!(
            "capsule_proxy_response_time_seconds_bucket{{path=\"{path}\",le=\"10\"}}"
        ));
        assert!(ten <= inf, "{path}");
    }

    // Every connection (kubectl's and ours) completed its TLS handshake.
    let accepted = after.get("capsule_proxy_client_connections_total");
    assert!(accepted >= 6.0, "{accepted}");
    assert_eq!(
        after.get("capsule_proxy_tls_handshakes_total{outcome=\"ok\"}"),
        accepted
    );
    assert_eq!(
        after.get("capsule_proxy_tls_handshakes_total{outcome=\"failed\"}"),
        0.0
    );
    assert_eq!(after.get("capsule_proxy_open_streams{kind=\"upgrade\"}"), 0.0);
    assert!(after.get("capsule_proxy_relayed_bytes_total{direction=\"client_to_upstream\"}") > 0.0);
    assert!(after.get("capsule_proxy_relayed_bytes_total{direction=\"upstream_to_client\"}") > 0.0);
    assert!(after.get("capsule_proxy_upstream_idle_connections") >= 1.0);
    assert_eq!(
        after.get("capsule_proxy_upstream_connect_errors_total{kind=\"refused\"}"),
        0.0
    );
    // alice's token was reviewed once, then served from the cache.
    assert!(after.get("capsule_proxy_identity_cache_lookups_total{result=\"miss\"}") >= 1.0);
    assert!(after.get("capsule_proxy_snapshot_generation") >= 1.0);
    assert_eq!(after.get("capsule_proxy_watch_restarts_total"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_server_is_a_connect_error() {
    let mut env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let addr = metrics_addr(&proxy).await;
    env.sim.stop().await;
    let mut conn = Conn::open(&proxy).await;
    let response = conn
        .exchange(&get("/api/v1/namespaces/oil-dev/pods", Some("alice-token")))
        .await;
    assert_eq!(response.status, 502, "{}", response.text());
    let after = scrape_until(addr, "the request counted", |s| s.get(&requests("/", 502)) == 1.0).await;
    assert_eq!(
        after.get("capsule_proxy_upstream_connect_errors_total{kind=\"refused\"}"),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_metrics_sit_beside_ours() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let scraped = scrape(metrics_addr(&proxy).await).await;
    // The names Go's client registers for every process, read from /proc.
    assert!(
        scraped.value("process_resident_memory_bytes") > 1_000_000.0,
        "an RSS of a few MB at least"
    );
    assert!(
        scraped.value("process_open_fds") >= 3.0,
        "stdio, listeners, sockets"
    );
    assert!(scraped.value("process_max_fds") >= scraped.value("process_open_fds"));
    // Counted in clock ticks: a process this young may not have used one yet.
    assert!(scraped.value("process_cpu_seconds_total") >= 0.0);
    let started = scraped.value("process_start_time_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        started > now - 600.0 && started <= now + 1.0,
        "started just now: {started} vs {now}"
    );
    assert!(
        scraped.value("process_threads") >= 3.0,
        "the core, control and metrics threads at least"
    );
}
