//! kube-sim in-process, over real TLS connections: the API behaviours clients rely on that kubectl tests do not
//! reach directly (status codes, watch edge cases, paging, stop/restart, plain HTTP, review counting).
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use kube_sim::{Fixture, KubeSim, SimConfig};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const DEADLINE: Duration = Duration::from_secs(20);

fn fixture() -> Fixture {
    Fixture::parse(
        "identities:\n\
         - {name: admin, groups: [system:masters], token: admin-token}\n\
         - {name: alice, token: alice-token}\n\
         objects:\n\
         - {apiVersion: v1, kind: Namespace, metadata: {name: a, labels: {team: oil}}}\n\
         - {apiVersion: v1, kind: Namespace, metadata: {name: b, labels: {team: gas}}}\n\
         - {apiVersion: v1, kind: Namespace, metadata: {name: c, labels: {team: oil}}}\n",
    )
    .unwrap()
}

async fn start(plain: bool) -> (KubeSim, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SimConfig::new(fixture(), dir.path().join("state"));
    config.plain_http = plain;
    config.options.bookmark_interval = Duration::from_millis(200);
    (KubeSim::start(config).await.unwrap(), dir)
}

/// Sends one request on a fresh connection and returns the response with its streaming body.
async fn send(
    sim: &KubeSim,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> http::Response<Incoming> {
    send_with(
        sim,
        token,
        method,
        path,
        body.map(|b| ("application/json", b.to_string())),
        &[],
    )
    .await
}

async fn send_with(
    sim: &KubeSim,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<(&str, String)>,
    headers: &[(&str, &str)],
) -> http::Response<Incoming> {
    let tcp = TcpStream::connect(sim.addr()).await.unwrap();
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    if let Some(t) = token {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let body = match body {
        Some((content_type, text)) => {
            builder = builder.header("content-type", content_type);
            Full::new(Bytes::from(text))
        }
        None => Full::new(Bytes::new()),
    };
    let req = builder.body(body).unwrap();
    let fut = async {
        match sim.pki() {
            Some(pki) => {
                let connector = TlsConnector::from(pki.client_config(None).unwrap());
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let tls = connector.connect(name, tcp).await.unwrap();
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                sender.send_request(req).await.unwrap()
            }
            None => {
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                sender.send_request(req).await.unwrap()
            }
        }
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("response before the deadline")
}

/// A request as the admin, answered in full.
async fn admin(sim: &KubeSim, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    json_body(send(sim, Some("admin-token"), method, path, body).await).await
}

async fn json_body(resp: http::Response<Incoming>) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = tokio::time::timeout(DEADLINE, resp.into_body().collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Reads watch events (one JSON object per line) until `n` have arrived or the stream ends.
async fn events(body: &mut Incoming, buf: &mut Vec<u8>, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            out.push(serde_json::from_slice(&line).unwrap());
            if out.len() == n {
                return out;
            }
        }
        match tokio::time::timeout(DEADLINE, body.frame())
            .await
            .expect("event before the deadline")
        {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            _ => return out,
        }
    }
}

#[tokio::test]
async fn unauthenticated_and_unsupported_requests_get_status_errors() {
    let (sim, _dir) = start(false).await;
    let (code, status) = json_body(send(&sim, None, Method::GET, "/api/v1/namespaces", None).await).await;
    assert_eq!(code, 401);
    assert_eq!(
        status,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Unauthorized", "reason": "Unauthorized", "code": 401})
    );
    let (code, _) = json_body(send(&sim, Some("wrong"), Method::GET, "/api/v1/namespaces", None).await).await;
    assert_eq!(code, 401);

    let proto = send_with(
        &sim,
        Some("admin-token"),
        Method::GET,
        "/api/v1/namespaces",
        None,
        &[("accept", "application/vnd.kubernetes.protobuf")],
    )
    .await;
    assert_eq!(json_body(proto).await.0, 406);
    let ssa = send_with(
        &sim,
        Some("admin-token"),
        Method::PATCH,
        "/api/v1/namespaces/a?fieldManager=x",
        Some(("application/apply-patch+yaml", "{}".into())),
        &[],
    )
    .await;
    let (code, status) = json_body(ssa).await;
    assert_eq!(code, 415);
    assert_eq!(status["reason"], "UnsupportedMediaType");
    let (code, status) = admin(&sim, Method::GET, "/api/v1/services", None).await;
    assert_eq!(
        (code.as_u16(), status["reason"].as_str()),
        (404, Some("NotFound"))
    );
    let (code, status) = admin(&sim, Method::GET, "/api/v1/namespaces?labelSelector=a+in+(", None).await;
    assert_eq!(
        (code.as_u16(), status["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    let (code, _) = admin(&sim, Method::GET, "/api/v1/namespaces/nope", None).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn list_pages_with_limit_and_continue() {
    let (sim, _dir) = start(false).await;
    let (code, first) = admin(&sim, Method::GET, "/api/v1/namespaces?limit=2", None).await;
    assert_eq!(code, 200);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["metadata"]["remainingItemCount"], 1);
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    let path = format!("/api/v1/namespaces?limit=2&continue={token}");
    let (_, second) = admin(&sim, Method::GET, &path, None).await;
    let names: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c"]);
    assert!(second["metadata"].get("continue").is_none());
    assert_eq!(
        second["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    // Once the history moved on and was compacted, the token is too old.
    sim.apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}}))
        .unwrap();
    sim.compact();
    let (code, status) = admin(&sim, Method::GET, &path, None).await;
    assert_eq!((code.as_u16(), status["reason"].as_str()), (410, Some("Expired")));
}

#[tokio::test]
async fn watch_streams_selector_transitions_and_bookmarks() {
    let (sim, _dir) = start(false).await;
    let (_, list) = admin(
        &sim,
        Method::GET,
        "/api/v1/namespaces?labelSelector=team%3Doil",
        None,
    )
    .await;
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    let path = format!(
        "/api/v1/namespaces?watch=true&labelSelector=team%3Doil&resourceVersion={rv}&allowWatchBookmarks=true"
    );
    let resp = send(&sim, Some("admin-token"), Method::GET, &path, None).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut buf = Vec::new();

    // b moves into the selection (ADDED), a moves out (DELETED).
    let mut b = (*sim
        .cluster()
        .store
        .get(kube_sim::kinds::lookup("", "v1", "namespaces").unwrap(), "", "b")
        .unwrap())
    .clone();
    b["metadata"]["labels"]["team"] = json!("oil");
    sim.apply(b).unwrap();
    let mut a = (*sim
        .cluster()
        .store
        .get(kube_sim::kinds::lookup("", "v1", "namespaces").unwrap(), "", "a")
        .unwrap())
    .clone();
    a["metadata"]["labels"]["team"] = json!("gas");
    sim.apply(a).unwrap();
    let got: Vec<(String, String)> = events(&mut body, &mut buf, 3)
        .await
        .into_iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(got[0], ("ADDED".to_string(), "b".to_string()));
    assert_eq!(got[1], ("DELETED".to_string(), "a".to_string()));
    assert_eq!(got[2].0, "BOOKMARK");
}

#[tokio::test]
async fn watch_from_a_compacted_version_gets_410_as_an_error_event() {
    let (sim, _dir) = start(false).await;
    sim.compact();
    let resp = send(
        &sim,
        Some("admin-token"),
        Method::GET,
        "/api/v1/namespaces?watch=1&resourceVersion=1",
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let got = events(&mut body, &mut Vec::new(), 2).await;
    assert_eq!(got.len(), 1, "the stream ends after the error: {got:?}");
    assert_eq!(got[0]["type"], "ERROR");
    assert_eq!(got[0]["object"]["code"], 410);
    assert_eq!(got[0]["object"]["reason"], "Expired");
}

#[tokio::test]
async fn stop_ends_open_watches_and_restart_keeps_state() {
    let (mut sim, _dir) = start(false).await;
    let resp = send(
        &sim,
        Some("admin-token"),
        Method::GET,
        "/api/v1/namespaces?watch=true",
        None,
    )
    .await;
    let mut body = resp.into_body();
    let mut buf = Vec::new();
    let initial = events(&mut body, &mut buf, 3).await;
    assert!(initial.iter().all(|e| e["type"] == "ADDED"));
    sim.stop().await;
    // The stream ends (error or end of body), it does not hang.
    let rest = tokio::time::timeout(DEADLINE, async { while let Some(Ok(_)) = body.frame().await {} }).await;
    assert!(rest.is_ok(), "the watch ended when the server stopped");
    assert!(
        TcpStream::connect(sim.addr()).await.is_err(),
        "nothing listens after stop"
    );

    sim.restart().await.unwrap();
    let (code, list) = admin(&sim, Method::GET, "/api/v1/namespaces", None).await;
    assert_eq!(code, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn token_reviews_are_answered_and_counted() {
    let (sim, _dir) = start(false).await;
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": "alice-token"}});
    let (code, answer) = admin(
        &sim,
        Method::POST,
        "/apis/authentication.k8s.io/v1/tokenreviews",
        Some(review.clone()),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(answer["status"]["user"]["username"], "alice");
    // alice may not review tokens.
    let (code, _) = json_body(
        send(
            &sim,
            Some("alice-token"),
            Method::POST,
            "/apis/authentication.k8s.io/v1/tokenreviews",
            Some(review),
        )
        .await,
    )
    .await;
    assert_eq!(code, 403);
    let counted = sim
        .audit()
        .iter()
        .filter(|e| e.resource == "tokenreviews")
        .count();
    assert_eq!(counted, 2);
}

#[tokio::test]
async fn crud_over_plain_http_with_conflicts_and_dry_run() {
    let (sim, _dir) = start(true).await;
    assert!(sim.url().starts_with("http://"));
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "1"}});
    let (code, created) = admin(
        &sim,
        Method::POST,
        "/api/v1/namespaces/a/configmaps",
        Some(cm.clone()),
    )
    .await;
    assert_eq!(code, 201);
    let (code, _) = admin(
        &sim,
        Method::POST,
        "/api/v1/namespaces/a/configmaps",
        Some(cm.clone()),
    )
    .await;
    assert_eq!(code, 409);
    let (code, _) = admin(&sim, Method::POST, "/api/v1/namespaces/zz/configmaps", Some(cm)).await;
    assert_eq!(code, 404);

    let mut stale = created.clone();
    stale["data"]["k"] = json!("2");
    let (code, _) = admin(
        &sim,
        Method::PUT,
        "/api/v1/namespaces/a/configmaps/x",
        Some(stale.clone()),
    )
    .await;
    assert_eq!(code, 200);
    let (code, status) = admin(
        &sim,
        Method::PUT,
        "/api/v1/namespaces/a/configmaps/x",
        Some(stale),
    )
    .await;
    assert_eq!(
        (code.as_u16(), status["reason"].as_str()),
        (409, Some("Conflict"))
    );

    let dry = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}});
    let (code, _) = admin(
        &sim,
        Method::POST,
        "/api/v1/namespaces/a/configmaps?dryRun=All",
        Some(dry),
    )
    .await;
    assert_eq!(code, 201);
    let (code, _) = admin(&sim, Method::GET, "/api/v1/namespaces/a/configmaps/dry", None).await;
    assert_eq!(code, 404);

    let (code, deleted) = admin(&sim, Method::DELETE, "/api/v1/namespaces/a/configmaps/x", None).await;
    assert_eq!(code, 200);
    assert_eq!(deleted["metadata"]["name"], "x");
}

#[tokio::test]
async fn injected_latency_delays_answers_until_cleared() {
    let (sim, _dir) = start(false).await;
    sim.set_latency(Duration::from_secs(3600));
    let slow = tokio::time::timeout(
        Duration::from_millis(300),
        send(&sim, Some("admin-token"), Method::GET, "/api/v1/namespaces", None),
    )
    .await;
    assert!(slow.is_err(), "an hour of latency holds the answer back");
    sim.set_latency(Duration::ZERO);
    let (code, _) = admin(&sim, Method::GET, "/api/v1/namespaces", None).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn request_paths_are_routed_decoded() {
    let (sim, _dir) = start(false).await;
    // `%61` is `a`: the namespace named `a`, as kube-apiserver routes it.
    let (code, namespace) = admin(&sim, Method::GET, "/api/v1/namespaces/%61", None).await;
    assert_eq!(code, 200, "{namespace}");
    assert_eq!(namespace["metadata"]["name"], "a");
    // `%3F` is part of the name, not the start of a query.
    let (code, status) = admin(&sim, Method::GET, "/api/v1/namespaces/a%3Fx", None).await;
    assert_eq!(code, 404, "{status}");
    assert_eq!(status["message"], "namespaces \"a?x\" not found");
}
