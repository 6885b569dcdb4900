//! Broken watches (`KubeSim::break_watches`): an open watch of a broken resource ends cleanly, new watches get
//! kube-apiserver's `Status` (429 with `Retry-After`, 500, 503), other resources' watches and every list keep
//! working, and healing serves watches again.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use kube_sim::faults::WatchFault;
use kube_sim::{Fixture, KubeSim, SimConfig};
use serde_json::Value;
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(20);

async fn start() -> (KubeSim, tempfile::TempDir) {
    let fixture = Fixture::parse(
        "identities:\n- {name: admin, groups: [system:masters], token: admin-token}\n\
         objects:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n\
         - {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: a}}\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = SimConfig::new(fixture, dir.path().join("state"));
    config.plain_http = true;
    (KubeSim::start(config).await.unwrap(), dir)
}

/// `GET path` as the admin on a fresh plain connection; the body streams.
async fn get(sim: &KubeSim, path: &str) -> http::Response<Incoming> {
    let request = Request::get(path)
        .header("host", "localhost")
        .header("authorization", "Bearer admin-token")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let exchange = async {
        let tcp = TcpStream::connect(sim.addr()).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(conn);
        sender.send_request(request).await.unwrap()
    };
    tokio::time::timeout(DEADLINE, exchange)
        .await
        .expect("an answer before the deadline")
}

async fn body_json(response: http::Response<Incoming>) -> Value {
    let bytes = tokio::time::timeout(DEADLINE, response.into_body().collect())
        .await
        .expect("the body before the deadline")
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

/// Reads a watch body to its end; returns the number of events it carried.
async fn events_until_end(body: &mut Incoming) -> usize {
    let mut bytes = Vec::new();
    let reading = async {
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                bytes.extend_from_slice(&data);
            }
        }
    };
    tokio::time::timeout(DEADLINE, reading)
        .await
        .expect("the watch ended before the deadline");
    bytes.iter().filter(|b| **b == b'\n').count()
}

/// Reads the first event of a watch.
async fn first_event(body: &mut Incoming) -> Value {
    let mut bytes = Vec::new();
    let reading = async {
        while !bytes.contains(&b'\n') {
            let frame = body.frame().await.expect("an event before the end").unwrap();
            if let Ok(data) = frame.into_data() {
                bytes.extend_from_slice(&data);
            }
        }
    };
    tokio::time::timeout(DEADLINE, reading)
        .await
        .expect("an event before the deadline");
    let line = bytes.split(|b| *b == b'\n').next().unwrap();
    serde_json::from_slice(line).unwrap()
}

#[tokio::test]
async fn broken_watches_end_refuse_and_heal_while_lists_are_served() {
    let (sim, _dir) = start().await;
    let namespaces = get(&sim, "/api/v1/namespaces?watch=true").await;
    assert_eq!(namespaces.status(), StatusCode::OK);
    let mut namespaces = namespaces.into_body();
    assert_eq!(first_event(&mut namespaces).await["type"], "ADDED");
    let configmaps = get(&sim, "/api/v1/namespaces/a/configmaps?watch=true").await;
    let mut configmaps = configmaps.into_body();
    assert_eq!(first_event(&mut configmaps).await["type"], "ADDED");

    sim.break_watches(&["namespaces"], WatchFault::Initializing);
    // The open namespace watch ends cleanly (no error event); the config-map watch stays open.
    assert_eq!(events_until_end(&mut namespaces).await, 0);
    let refused = get(&sim, "/api/v1/namespaces?watch=true").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "1");
    let status = body_json(refused).await;
    assert_eq!(status["reason"], "TooManyRequests");
    assert_eq!(status["details"]["retryAfterSeconds"], 1);
    let list = get(&sim, "/api/v1/namespaces").await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(body_json(list).await["items"][0]["metadata"]["name"], "a");
    sim.apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d", "namespace": "a"}}))
        .unwrap();
    let event = first_event(&mut configmaps).await;
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["metadata"]["name"], "d");

    sim.break_watches(&["namespaces"], WatchFault::EtcdTimeout);
    assert_eq!(get(&sim, "/api/v1/namespaces?watch=true").await.status(), 500);
    sim.break_watches(&["namespaces"], WatchFault::Unavailable);
    assert_eq!(get(&sim, "/api/v1/namespaces?watch=true").await.status(), 503);

    sim.heal_watches();
    let healed = get(&sim, "/api/v1/namespaces?watch=true").await;
    assert_eq!(healed.status(), StatusCode::OK);
    assert_eq!(first_event(&mut healed.into_body()).await["type"], "ADDED");
}
