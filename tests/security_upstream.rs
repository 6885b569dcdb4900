//! The upstream side under the conditions real clusters create: the API server (or a load balancer in front of
//! it) closing idle keep-alive connections, large uploads it refuses before reading them, and callers that stop
//! sending their request body. A pooled connection the server closed is never handed out (not even to a
//! request that cannot be retried), closed connections do not linger in `CLOSE-WAIT`, the API server's early
//! answer reaches the caller instead of a 502, and a stalled body gets a 408 and frees both connections.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself

mod support;

use std::time::Duration;

use kube_sim::cluster::Options;
use support::Env;
use support::capsule::start_synced;
use support::metrics::{metrics_addr, scrape_until};
use support::proxy::Proxy;
use support::raw::{Conn, IO_DEADLINE, get, poll_until, request, within};
use support::sockets::{TcpState, connections_to, open_fds, settled};

/// kube-sim closes connections idle this long (kube-apiserver and cloud load balancers do it too, later).
const SERVER_IDLE: Duration = Duration::from_millis(300);
/// Deadline for the proxy to let go of connections the server closed (it looks once a second).
const REAP_DEADLINE: Duration = Duration::from_secs(5);
const CONFIGMAPS: &str = "/api/v1/namespaces/oil-dev/configmaps";

fn configmap(name: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"oil-dev"}},"data":{{"k":"v"}}}}"#
    )
}

fn create(name: &str) -> String {
    let body = configmap(name);
    request(
        "POST",
        CONFIGMAPS,
        Some("alice-token"),
        &["Content-Type: application/json"],
        &body,
    )
}

async fn env_closing_idle_connections() -> Env {
    Env::start_with(Options {
        idle_timeout: SERVER_IDLE,
        ..Options::default()
    })
    .await
}

/// Waits until the server has closed every idle connection of the proxy's pool: none of them is established any
/// more (the proxy may or may not have noticed yet).
async fn server_closed_idle_connections(sim_port: u16, keep: usize) {
    let closed = poll_until(REAP_DEADLINE, || async {
        // The control plane's watches stay established; the pool's connections do not.
        (connections_to(sim_port, TcpState::Established) <= keep).then_some(())
    })
    .await;
    assert!(closed.is_some(), "kube-sim never closed the idle connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_after_the_server_closed_idle_connections_succeed() {
    let env = env_closing_idle_connections().await;
    let proxy = start_synced(&env, &[]).await;
    let port = env.sim.addr().port();
    let watches = settled(REAP_DEADLINE, || connections_to(port, TcpState::Established)).await;
    let mut conn = Conn::open(&proxy).await;
    // Warm the pool, then let the server close its connection.
    conn.exchange(&get(CONFIGMAPS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    for round in 0..3 {
        server_closed_idle_connections(port, watches).await;
        // A POST cannot be retried: it must get a live connection in the first place.
        let name = format!("after-idle-{round}");
        let created = conn.exchange(&create(&name)).await;
        assert_eq!(created.status, 201, "round {round}: {created:?}");
    }
    let posts: Vec<_> = env
        .sim
        .audit()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path == CONFIGMAPS)
        .collect();
    assert_eq!(posts.len(), 3, "each POST reached the API server once: {posts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_server_closed_do_not_linger_after_a_burst() {
    let env = env_closing_idle_connections().await;
    let proxy = start_synced(&env, &[]).await;
    let metrics = metrics_addr(&proxy).await;
    let port = env.sim.addr().port();
    let watches = settled(REAP_DEADLINE, || connections_to(port, TcpState::Established)).await;
    let baseline_fds = settled(REAP_DEADLINE, || open_fds(proxy.pid())).await;
    // A burst of concurrent callers fills the pool with many upstream connections.
    let burst: Vec<_> = (0..24)
        .map(|_| {
            let proxy_addr = proxy.addr;
            let ca = proxy.ca_pem.clone();
            tokio::spawn(async move {
                let config = support::raw::client_config(&[&ca], None);
                let mut conn = Conn::tls(proxy_addr, config).await;
                for _ in 0..3 {
                    conn.exchange(&get(CONFIGMAPS, Some("alice-token")))
                        .await
                        .expect_ok_json(200);
                }
            })
        })
        .collect();
    for task in burst {
        within(IO_DEADLINE, "a burst client", task).await.unwrap();
    }
    scrape_until(metrics, "pooled connections after the burst", |s| {
        s.get("capsule_proxy_upstream_idle_connections") > 1.0
    })
    .await;
    // kube-sim closes them all; the proxy lets go of every one without a request to notice it.
    let gone = poll_until(REAP_DEADLINE, || async {
        (connections_to(port, TcpState::CloseWait) == 0
            && connections_to(port, TcpState::Established) <= watches)
            .then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "sockets the server closed linger: {} in CLOSE-WAIT, {} established (the control plane's: {watches})",
        connections_to(port, TcpState::CloseWait),
        connections_to(port, TcpState::Established),
    );
    scrape_until(metrics, "no idle connection counted", |s| {
        s.get("capsule_proxy_upstream_idle_connections") == 0.0
    })
    .await;
    let fds = poll_until(REAP_DEADLINE, || async {
        let now = open_fds(proxy.pid());
        (now <= baseline_fds + 4).then_some(now)
    })
    .await;
    assert!(
        fds.is_some(),
        "fds did not return near the baseline {baseline_fds}: {}",
        open_fds(proxy.pid())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_answer_to_a_large_upload_is_relayed() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    // Over kube-apiserver's 3 MiB limit: refused on the declared length, before the body is read.
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(5 << 20));
    for (token, status, reason) in [
        ("alice-token", 413, "RequestEntityTooLarge"),
        ("not-a-token", 401, "Unauthorized"),
    ] {
        let mut conn = Conn::open(&proxy).await;
        let head = format!(
            "POST {CONFIGMAPS} HTTP/1.1\r\nHost: kubernetes\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        // The proxy may stop reading the body once the API server answered: a failed write is fine.
        let _ = conn.try_send(head.as_bytes()).await;
        let _ = conn.try_send(body.as_bytes()).await;
        let r = conn.read_response(false).await;
        assert_eq!(r.status, status, "{token}: {r:?}");
        let json = r.expect_status(status);
        assert_eq!(json["reason"], reason, "{token}: {json}");
    }
    // The proxy still serves.
    Conn::open(&proxy)
        .await
        .exchange(&get(CONFIGMAPS, Some("alice-token")))
        .await
        .expect_ok_json(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_request_bodies_get_408_and_free_both_connections() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &["--request-body-idle-timeout=300ms"]).await;
    let metrics = metrics_addr(&proxy).await;
    let port = env.sim.addr().port();
    // The control plane's watches hold their own connections: what the data plane adds comes on top.
    let before = settled(REAP_DEADLINE, || connections_to(port, TcpState::Established)).await;
    let baseline_fds = settled(REAP_DEADLINE, || open_fds(proxy.pid())).await;
    // Callers that announce a body and stop: with a valid token and with garbage (pass-through either way).
    let mut stalled = Vec::new();
    for i in 0..12 {
        let token = if i % 2 == 0 { "alice-token" } else { "garbage" };
        let mut conn = Conn::open(&proxy).await;
        conn.send(
            format!(
                "POST {CONFIGMAPS} HTTP/1.1\r\nHost: kubernetes\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"partial\":"
            )
            .as_bytes(),
        )
        .await;
        stalled.push(conn);
    }
    for conn in &mut stalled {
        let r = conn.read_response(false).await;
        // The API server may have refused the garbage token before the body stalled: its answer stands.
        assert!(matches!(r.status, 408 | 401), "{r:?}");
        if r.status == 408 {
            assert_eq!(r.expect_status(408)["reason"], "Timeout");
        }
        assert!(r.closes(), "{r:?}");
        within(IO_DEADLINE, "the stalled connection closes", conn.expect_closed()).await;
    }
    let counted = scrape_until(metrics, "the 408 answers", |s| {
        s.get(r#"capsule_proxy_requests_total{path="/",status="408"}"#) >= 6.0
    })
    .await;
    assert!(counted.get(r#"capsule_proxy_requests_total{path="/",status="408"}"#) <= 12.0);
    // No upstream connection stays pinned, and the proxy's fds return to where they were.
    let freed = poll_until(REAP_DEADLINE, || async {
        (connections_to(port, TcpState::Established) <= before && open_fds(proxy.pid()) <= baseline_fds + 4)
            .then_some(())
    })
    .await;
    assert!(
        freed.is_some(),
        "connections stay pinned: {} upstream (before {before}), {} fds (before {baseline_fds})",
        connections_to(port, TcpState::Established),
        open_fds(proxy.pid()),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_stops_reading_is_dropped_and_frees_the_upstream() {
    let env = Env::start().await;
    // A list of about 5 MB: more than the kernel buffers between the proxy and a caller that reads nothing.
    for i in 0..2 {
        env.sim
            .apply(serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("big-{i}"), "namespace": "oil-dev"},
                "data": {"blob": "x".repeat(5 << 19)},
            }))
            .unwrap();
    }
    let proxy = start_synced(&env, &["--enable-ssl=false", "--client-stall-timeout=1s"]).await;
    let metrics = metrics_addr(&proxy).await;
    let port = env.sim.addr().port();
    let before = settled(REAP_DEADLINE, || connections_to(port, TcpState::Established)).await;
    // A caller with a tiny receive buffer that asks for the list and never reads the answer.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = within(IO_DEADLINE, "connect", socket.connect(proxy.addr))
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stalled, get(CONFIGMAPS, Some("alice-token")).as_bytes())
        .await
        .unwrap();
    scrape_until(metrics, "the stalled request in flight", |s| {
        s.get("capsule_proxy_requests_in_flight") == 1.0
    })
    .await;
    // The proxy gives up on it: nothing in flight, no client connection, the upstream connection gone.
    scrape_until(metrics, "the stalled caller dropped", |s| {
        s.get("capsule_proxy_requests_in_flight") == 0.0 && s.get("capsule_proxy_client_connections") == 0.0
    })
    .await;
    let freed = poll_until(REAP_DEADLINE, || async {
        (connections_to(port, TcpState::Established) <= before).then_some(())
    })
    .await;
    assert!(
        freed.is_some(),
        "the upstream connection stays pinned: {} (before {before})",
        connections_to(port, TcpState::Established)
    );
    drop(stalled);
}
