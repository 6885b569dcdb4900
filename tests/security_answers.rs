//! Honest answers: a refused or expired bearer token on a filtered route is a 401 (credential plugins refresh
//! only on 401), `kubectl auth can-i` is told only what the proxy grants Capsule users, a name no object can
//! have is a 404 rather than a 503, and rejections made before a request path is read (408, 431) are counted.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself

mod support;

use support::Env;
use support::capsule::{describe, start_synced};
use support::metrics::{metrics_addr, scrape_until};
use support::raw::{Conn, get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tokens_on_filtered_routes_are_401() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let mut conn = Conn::open(&proxy).await;
    for path in [
        "/api/v1/namespaces",
        "/api/v1/namespaces/oil-dev",
        "/api/v1/nodes",
    ] {
        let r = conn.exchange(&get(path, Some("expired-or-forged"))).await;
        let status = r.expect_status(401);
        assert_eq!(status["reason"], "Unauthorized", "{path}: {status}");
        assert!(!r.closes(), "{path}: {r:?}");
    }
    // kubectl reads it as kube-apiserver's own 401, the answer its credential plugins refresh on.
    let kubeconfig = std::fs::read_to_string(proxy.kubeconfig(&env, "alice"))
        .unwrap()
        .replace("alice-token", "expired-or-forged");
    let path = env.file("forged.kubeconfig", &kubeconfig);
    let out = support::run(
        support::kubectl_with(&path, &env.dir.path().join("forged-cache")).args(["get", "namespaces"]),
    )
    .await;
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // kubectl's words for a 401.
    assert!(
        stderr.contains("the server has asked for the client to provide credentials"),
        "{}",
        describe(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_i_grants_only_what_the_proxy_serves_capsule_users() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    // dave is authenticated but no Capsule user: his list of namespaces is passed through and refused, so
    // can-i must say no.
    let dave = proxy
        .run(&env, "dave", &["auth", "can-i", "list", "namespaces"])
        .await;
    assert_eq!(
        String::from_utf8_lossy(&dave.stdout).trim(),
        "no",
        "{}",
        describe(&dave)
    );
    let listed = proxy.run(&env, "dave", &["get", "namespaces"]).await;
    assert!(!listed.status.success(), "{}", describe(&listed));
    assert!(
        String::from_utf8_lossy(&listed.stderr).contains("Forbidden")
            || String::from_utf8_lossy(&listed.stderr).contains("forbidden"),
        "{}",
        describe(&listed)
    );
    // alice is a Capsule user: the proxy serves her the list, and says so.
    let alice = proxy
        .run(&env, "alice", &["auth", "can-i", "list", "namespaces"])
        .await;
    assert_eq!(
        String::from_utf8_lossy(&alice.stdout).trim(),
        "yes",
        "{}",
        describe(&alice)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_no_object_can_have_are_404() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let mut conn = Conn::open(&proxy).await;
    for path in [
        "/api/v1/namespaces/gas-dev%20",
        "/api/v1/namespaces/Oil-Dev",
        "/apis/capsule.clastix.io/v1beta2/tenants/oil%20",
    ] {
        let r = conn.exchange(&get(path, Some("alice-token"))).await;
        let status = r.expect_status(404);
        assert_eq!(status["reason"], "NotFound", "{path}: {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_before_the_path_is_read_are_counted() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &["--read-header-timeout=300ms", "--max-header-bytes=4096"]).await;
    let metrics = metrics_addr(&proxy).await;
    // A head that never ends: 408.
    let mut slow = Conn::open(&proxy).await;
    slow.send(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: k\r\n").await;
    slow.read_response(false).await.expect_status(408);
    // A head over the limit: 431.
    let mut big = Conn::open(&proxy).await;
    let head = format!(
        "GET /api/v1/namespaces HTTP/1.1\r\nHost: k\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(8192)
    );
    let _ = big.try_send(head.as_bytes()).await;
    big.read_response(false).await.expect_status(431);
    scrape_until(metrics, "the 408 and the 431", |s| {
        s.get(r#"capsule_proxy_requests_total{path="/",status="408"}"#) == 1.0
            && s.get(r#"capsule_proxy_requests_total{path="/",status="431"}"#) == 1.0
    })
    .await;
}
