//! PartialObjectMetadata over HTTP, as kube-rs `metadata_watcher` / `get_metadata` / `list_metadata` ask for it:
//! get, list with paging and selectors, watch (events, bookmarks, errors), both `meta.k8s.io` versions, and the
//! 406s kube-apiserver gives for the wrong one of PartialObjectMetadata and PartialObjectMetadataList.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use kube_sim::{Fixture, KubeSim, SimConfig};
use serde_json::{Value, json};
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(20);
/// What kube-core 5.0.0 sends for `get_metadata`, `watch_metadata` and `patch_metadata`.
const SINGLE: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// What kube-core 5.0.0 sends for `list_metadata`.
const LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const SINGLE_V1BETA1: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1";
const LIST_V1BETA1: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1";

const FIXTURE: &str = "identities:\n\
    - {name: admin, groups: [system:masters], token: admin-token}\n\
    objects:\n\
    - {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n\
    - {apiVersion: v1, kind: ConfigMap, metadata: {name: one, namespace: a, labels: {team: oil}, annotations: {note: x}}, data: {k: '1'}}\n\
    - {apiVersion: v1, kind: ConfigMap, metadata: {name: two, namespace: a, labels: {team: gas}}, data: {k: '2'}}\n\
    - {apiVersion: v1, kind: ConfigMap, metadata: {name: three, namespace: a, labels: {team: oil}}, data: {k: '3'}}\n";

async fn start(fixture: Fixture) -> (KubeSim, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SimConfig::new(fixture, dir.path().join("state"));
    config.plain_http = true;
    config.options.bookmark_interval = Duration::from_millis(100);
    (KubeSim::start(config).await.unwrap(), dir)
}

/// Sends one request as the admin on a fresh plain-HTTP connection; the body streams.
async fn send(
    sim: &KubeSim,
    method: Method,
    path: &str,
    accept: &str,
    body: Option<(&str, Value)>,
) -> http::Response<Incoming> {
    let fut = async {
        let tcp = TcpStream::connect(sim.addr()).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("authorization", "Bearer admin-token")
            .header("accept", accept);
        let body = match body {
            Some((content_type, value)) => {
                req = req.header("content-type", content_type);
                Full::new(Bytes::from(value.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        sender.send_request(req.body(body).unwrap()).await.unwrap()
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("response before the deadline")
}

/// A GET answered in full.
async fn get(sim: &KubeSim, path: &str, accept: &str) -> (StatusCode, Value) {
    let resp = send(sim, Method::GET, path, accept, None).await;
    let status = resp.status();
    let bytes = tokio::time::timeout(DEADLINE, resp.into_body().collect())
        .await
        .expect("body before the deadline")
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The next watch event (one JSON object per line), or `None` when the stream ended.
async fn next_event(body: &mut Incoming, buf: &mut Vec<u8>) -> Option<Value> {
    loop {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            return Some(serde_json::from_slice(&line).unwrap());
        }
        match tokio::time::timeout(DEADLINE, body.frame())
            .await
            .expect("event before the deadline")
        {
            Some(Ok(frame)) => buf.extend_from_slice(&frame.into_data().unwrap_or_default()),
            _ => return None,
        }
    }
}

/// The next event that is not a BOOKMARK.
async fn next_change(body: &mut Incoming, buf: &mut Vec<u8>) -> Value {
    loop {
        let event = next_event(body, buf)
            .await
            .expect("an event, not the end of the stream");
        if event["type"] != "BOOKMARK" {
            return event;
        }
    }
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn get_and_writes_answer_partial_object_metadata() {
    let (sim, _dir) = start(Fixture::parse(FIXTURE).unwrap()).await;
    let path = "/api/v1/namespaces/a/configmaps/one";
    let (code, full) = get(&sim, path, "application/json").await;
    assert_eq!(code, 200);
    let (code, partial) = get(&sim, path, SINGLE).await;
    assert_eq!(code, 200);
    assert_eq!(
        partial,
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": full["metadata"]})
    );
    assert_eq!(partial["metadata"]["annotations"]["note"], "x");
    let (code, beta) = get(&sim, path, SINGLE_V1BETA1).await;
    assert_eq!(code, 200);
    assert_eq!(beta["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(beta["metadata"], full["metadata"]);

    // The list form on a single object is 406, as kube-apiserver answers it; a missing object stays 404.
    let (code, status) = get(&sim, path, LIST).await;
    assert_eq!(
        (code.as_u16(), status["reason"].as_str()),
        (406, Some("NotAcceptable"))
    );
    assert_eq!(
        status["message"],
        "you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)"
    );
    let (code, status) = get(&sim, "/api/v1/namespaces/a/configmaps/nope", SINGLE).await;
    assert_eq!((code.as_u16(), status["kind"].as_str()), (404, Some("Status")));

    // kube-rs `patch_metadata`: the patched object's metadata comes back.
    let patch = json!({"metadata": {"labels": {"extra": "yes"}}});
    let resp = send(
        &sim,
        Method::PATCH,
        path,
        SINGLE,
        Some(("application/merge-patch+json", patch)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let patched: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(patched["kind"], "PartialObjectMetadata");
    assert_eq!(
        patched["metadata"]["labels"],
        json!({"team": "oil", "extra": "yes"})
    );
    assert!(patched.get("data").is_none());
}

#[tokio::test]
async fn list_answers_partial_object_metadata_list_with_paging_and_selectors() {
    let (sim, _dir) = start(Fixture::parse(FIXTURE).unwrap()).await;
    let (code, first) = get(&sim, "/api/v1/namespaces/a/configmaps?limit=2", LIST).await;
    assert_eq!(code, 200);
    assert_eq!(first["kind"], "PartialObjectMetadataList");
    assert_eq!(first["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(first["metadata"]["remainingItemCount"], 1);
    for item in first["items"].as_array().unwrap() {
        assert_eq!(item["kind"], "PartialObjectMetadata");
        assert_eq!(item["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(
            item.as_object().unwrap().len(),
            3,
            "kind, apiVersion, metadata only: {item}"
        );
    }
    let token = first["metadata"]["continue"].as_str().unwrap();
    let (code, second) = get(
        &sim,
        &format!("/api/v1/namespaces/a/configmaps?limit=2&continue={token}"),
        LIST,
    )
    .await;
    assert_eq!(code, 200);
    assert!(second["metadata"].get("continue").is_none());
    assert_eq!(
        second["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    // The pages together are the JSON list, metadata for metadata.
    let (_, full) = get(&sim, "/api/v1/namespaces/a/configmaps", "application/json").await;
    let paged: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|page| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"].clone())
        })
        .collect();
    let whole: Vec<Value> = full["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"].clone())
        .collect();
    assert_eq!(paged, whole);

    let (code, oil) = get(&sim, "/api/v1/configmaps?labelSelector=team%3Doil", LIST_V1BETA1).await;
    assert_eq!(code, 200);
    assert_eq!(oil["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(oil["items"][0]["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(names(&oil), ["one", "three"]);

    // kube-apiserver refuses the single-object form on a list (and does not fall back to later entries).
    for accept in [SINGLE, &format!("{SINGLE},application/json")] {
        let (code, status) = get(&sim, "/api/v1/namespaces/a/configmaps", accept).await;
        assert_eq!(
            (code.as_u16(), status["reason"].as_str()),
            (406, Some("NotAcceptable"))
        );
        assert_eq!(
            status["message"],
            "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)"
        );
    }
}

#[tokio::test]
async fn watch_sends_partial_object_metadata_events_bookmarks_and_errors() {
    let (sim, _dir) = start(Fixture::parse(FIXTURE).unwrap()).await;
    let (_, list) = get(
        &sim,
        "/api/v1/namespaces/a/configmaps?labelSelector=team%3Doil",
        LIST,
    )
    .await;
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap();
    let path = format!(
        "/api/v1/namespaces/a/configmaps?watch=true&labelSelector=team%3Doil&resourceVersion={rv}&allowWatchBookmarks=true"
    );
    let resp = send(&sim, Method::GET, &path, SINGLE, None).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut buf = Vec::new();

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "four", "namespace": "a", "labels": {"team": "oil"}}, "data": {"k": "4"}});
    let created = sim.apply(cm).unwrap();
    let added = next_change(&mut body, &mut buf).await;
    assert_eq!(
        added,
        json!({"type": "ADDED", "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": created["metadata"]}})
    );
    sim.delete("v1", "ConfigMap", "a", "four").unwrap();
    let event = next_change(&mut body, &mut buf).await;
    assert_eq!(event["type"], "DELETED");
    assert_eq!(event["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(event["object"]["metadata"]["name"], "four");
    assert!(event["object"].get("data").is_none());
    // Bookmarks are PartialObjectMetadata carrying only the resourceVersion.
    let bookmark = loop {
        let event = next_event(&mut body, &mut buf).await.unwrap();
        if event["type"] == "BOOKMARK" {
            break event;
        }
    };
    let rv_after = bookmark["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap();
    assert_eq!(
        bookmark["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": rv_after}})
    );
    assert!(rv_after.parse::<u64>().unwrap() > rv.parse::<u64>().unwrap());

    // Without a resourceVersion the current state comes first, here in meta.k8s.io/v1beta1.
    let resp = send(
        &sim,
        Method::GET,
        "/api/v1/namespaces/a/configmaps?watch=true",
        SINGLE_V1BETA1,
        None,
    )
    .await;
    let (mut body, mut buf) = (resp.into_body(), Vec::new());
    for _ in 0..3 {
        let event = next_event(&mut body, &mut buf).await.unwrap();
        assert_eq!(event["type"], "ADDED");
        assert_eq!(event["object"]["apiVersion"], "meta.k8s.io/v1beta1");
        assert!(event["object"].get("data").is_none());
    }

    // A watch asked for the list form gets whole objects: kube-apiserver cannot transform them and sends them as
    // they are.
    let resp = send(
        &sim,
        Method::GET,
        "/api/v1/namespaces/a/configmaps?watch=true",
        LIST,
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (mut body, mut buf) = (resp.into_body(), Vec::new());
    let event = next_event(&mut body, &mut buf).await.unwrap();
    assert_eq!(
        (
            event["object"]["kind"].as_str(),
            event["object"]["data"].is_object()
        ),
        (Some("ConfigMap"), true)
    );

    // ERROR events keep their Status.
    sim.compact();
    let resp = send(
        &sim,
        Method::GET,
        "/api/v1/namespaces/a/configmaps?watch=true&resourceVersion=1",
        SINGLE,
        None,
    )
    .await;
    let (mut body, mut buf) = (resp.into_body(), Vec::new());
    let error = next_event(&mut body, &mut buf).await.unwrap();
    assert_eq!(error["type"], "ERROR");
    assert_eq!(error["object"]["kind"], "Status");
    assert_eq!(error["object"]["code"], 410);
    assert!(next_event(&mut body, &mut buf).await.is_none());
}

#[tokio::test]
async fn every_served_kind_answers_metadata() {
    let fixture = Fixture::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.yaml")).unwrap();
    let (sim, _dir) = start(fixture).await;
    let mut with_items = 0;
    for kind in kube_sim::kinds::KINDS.iter().filter(|k| k.supports("list")) {
        let base = if kind.group.is_empty() {
            format!("/api/{}", kind.version)
        } else {
            format!("/apis/{}/{}", kind.group, kind.version)
        };
        let (code, full) = get(&sim, &format!("{base}/{}", kind.resource), "application/json").await;
        assert_eq!(code, 200, "{}: {full}", kind.resource);
        let (code, list) = get(&sim, &format!("{base}/{}", kind.resource), LIST).await;
        assert_eq!(code, 200, "{}: {list}", kind.resource);
        assert_eq!(list["kind"], "PartialObjectMetadataList");
        let metadata = |l: &Value| -> Vec<Value> {
            l["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"].clone())
                .collect()
        };
        assert_eq!(metadata(&list), metadata(&full), "{}", kind.resource);
        let Some(first) = full["items"].as_array().unwrap().first() else {
            continue;
        };
        with_items += 1;
        let name = first["metadata"]["name"].as_str().unwrap();
        let path = match first["metadata"]["namespace"].as_str() {
            Some(ns) if kind.namespaced => format!("{base}/namespaces/{ns}/{}/{name}", kind.resource),
            _ => format!("{base}/{}/{name}", kind.resource),
        };
        let (code, one) = get(&sim, &path, SINGLE).await;
        assert_eq!(code, 200, "{path}: {one}");
        assert_eq!(
            one,
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": first["metadata"]}),
            "{path}"
        );
    }
    assert!(
        with_items >= 10,
        "the demo cluster has objects of most kinds: {with_items}"
    );
}
