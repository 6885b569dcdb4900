//! CustomResourceDefinitions over HTTP: a created definition is established and discovered (legacy and
//! aggregated), its resources get CRUD, list and watch with selectors and PartialObjectMetadata like the
//! built-in kinds, and deleting it deletes its objects and stops serving them.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use kube_sim::{Fixture, KubeSim, SimConfig};
use serde_json::{Value, json};
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(20);
const JSON: &str = "application/json";
const METADATA: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const METADATA_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

const FIXTURE: &str = "identities:\n\
    - {name: admin, groups: [system:masters], token: admin-token}\n\
    objects:\n\
    - {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n";

async fn start() -> (KubeSim, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SimConfig::new(Fixture::parse(FIXTURE).unwrap(), dir.path().join("state"));
    config.plain_http = true;
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

/// A request answered in full.
async fn call(
    sim: &KubeSim,
    method: Method,
    path: &str,
    accept: &str,
    body: Option<(&str, Value)>,
) -> (StatusCode, Value) {
    let resp = send(sim, method, path, accept, body).await;
    let status = resp.status();
    let bytes = tokio::time::timeout(DEADLINE, resp.into_body().collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn get(sim: &KubeSim, path: &str, accept: &str) -> (StatusCode, Value) {
    call(sim, Method::GET, path, accept, None).await
}

async fn post(sim: &KubeSim, path: &str, body: Value) -> (StatusCode, Value) {
    call(sim, Method::POST, path, JSON, Some((JSON, body))).await
}

/// The next watch event (one JSON object per line), or `None` when the stream ends.
async fn next_event(body: &mut Incoming, buf: &mut Vec<u8>) -> Option<Value> {
    loop {
        if let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            return Some(serde_json::from_slice(&line).unwrap());
        }
        match tokio::time::timeout(DEADLINE, body.frame())
            .await
            .expect("an event before the deadline")
        {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            _ => return None,
        }
    }
}

/// `widgets.example.com` (namespaced; v1 with a status subresource, preferred; v1beta1 also served) or
/// `gizmos.example.com` (cluster-scoped, v1alpha1 only).
fn definition(plural: &str) -> Value {
    let (kind, scope, versions) = match plural {
        "widgets" => (
            "Widget",
            "Namespaced",
            json!([
                {"name": "v1beta1", "served": true, "storage": false},
                {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
            ]),
        ),
        _ => (
            "Gizmo",
            "Cluster",
            json!([{"name": "v1alpha1", "served": true, "storage": true}]),
        ),
    };
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.example.com")},
        "spec": {
            "group": "example.com",
            "names": {"plural": plural, "kind": kind, "shortNames": [&plural[..2]]},
            "scope": scope,
            "versions": versions,
        },
    })
}

fn widget(name: &str, team: &str) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": name, "labels": {"team": team}}, "spec": {"size": 1}})
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_created_definition_is_established_and_discovered() {
    let (sim, _dir) = start().await;
    let (code, _) = get(&sim, "/apis/example.com/v1/namespaces/a/widgets", JSON).await;
    assert_eq!(code, 404, "not served before its definition exists");

    let (code, created) = post(&sim, CRDS, definition("widgets")).await;
    assert_eq!(code, 201, "{created}");
    let established = created["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established, "{created}");
    assert_eq!(created["status"]["acceptedNames"]["singular"], "widget");
    let (code, _) = post(&sim, CRDS, definition("gizmos")).await;
    assert_eq!(code, 201);

    let (_, groups) = get(&sim, "/apis", JSON).await;
    let example = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "example.com")
        .unwrap()
        .clone();
    assert_eq!(example["preferredVersion"]["version"], "v1", "{example}");
    let versions: Vec<_> = example["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v1", "v1beta1", "v1alpha1"]);
    let (code, group) = get(&sim, "/apis/example.com", JSON).await;
    assert_eq!((code, group["kind"].as_str()), (StatusCode::OK, Some("APIGroup")));

    let (_, v1) = get(&sim, "/apis/example.com/v1", JSON).await;
    let resources = v1["resources"].as_array().unwrap();
    let widgets = resources.iter().find(|r| r["name"] == "widgets").unwrap();
    assert_eq!(
        (&widgets["kind"], &widgets["namespaced"], &widgets["singularName"]),
        (&json!("Widget"), &json!(true), &json!("widget"))
    );
    assert_eq!(widgets["shortNames"], json!(["wi"]));
    assert!(widgets["verbs"].as_array().unwrap().contains(&json!("watch")));
    assert!(resources.iter().any(|r| r["name"] == "widgets/status"));
    let (_, v1beta1) = get(&sim, "/apis/example.com/v1beta1", JSON).await;
    assert!(
        !v1beta1["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "widgets/status"),
        "only v1 declares the status subresource"
    );
    let (_, v1alpha1) = get(&sim, "/apis/example.com/v1alpha1", JSON).await;
    assert_eq!(v1alpha1["resources"][0]["name"], "gizmos");
    assert_eq!(v1alpha1["resources"][0]["namespaced"], false);

    let (_, aggregated) = get(&sim, "/apis", AGGREGATED).await;
    let example = aggregated["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == "example.com")
        .unwrap()
        .clone();
    assert_eq!(example["versions"][0]["version"], "v1");
    assert_eq!(example["versions"][0]["resources"][0]["scope"], "Namespaced");

    // The definitions themselves list as metadata like any other kind.
    let (code, list) = get(&sim, CRDS, METADATA_LIST).await;
    assert_eq!(code, 200);
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(names(&list), ["gizmos.example.com", "widgets.example.com"]);
}

#[tokio::test]
async fn custom_resources_are_served_like_built_in_kinds() {
    let (sim, _dir) = start().await;
    post(&sim, CRDS, definition("widgets")).await;
    post(&sim, CRDS, definition("gizmos")).await;
    let base = "/apis/example.com/v1/namespaces/a/widgets";

    let watch = send(
        &sim,
        Method::GET,
        "/apis/example.com/v1/widgets?watch=true&labelSelector=team%3Doil",
        METADATA,
        None,
    )
    .await;
    let (mut events, mut buf) = (watch.into_body(), Vec::new());

    let (code, created) = post(&sim, base, widget("w1", "oil")).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["metadata"]["namespace"], "a");
    post(&sim, base, widget("w2", "gas")).await;
    let (code, _) = post(
        &sim,
        "/apis/example.com/v1/namespaces/missing/widgets",
        widget("w3", "oil"),
    )
    .await;
    assert_eq!(code, 404, "the namespace must exist");

    let added = next_event(&mut events, &mut buf).await.unwrap();
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(added["object"]["metadata"]["name"], "w1");

    let (code, one) = get(&sim, &format!("{base}/w1"), JSON).await;
    assert_eq!((code, one["spec"]["size"].clone()), (StatusCode::OK, json!(1)));
    let (code, meta) = get(&sim, &format!("{base}/w1"), METADATA).await;
    assert_eq!(code, 200);
    assert_eq!(meta["metadata"]["labels"], json!({"team": "oil"}));
    let (_, oil) = get(
        &sim,
        "/apis/example.com/v1/widgets?labelSelector=team%3Doil",
        JSON,
    )
    .await;
    assert_eq!(
        (oil["kind"].as_str(), names(&oil)),
        (Some("WidgetList"), vec!["w1".into()])
    );
    let (_, all) = get(&sim, &format!("{base}?labelSelector=team"), METADATA_LIST).await;
    assert_eq!(names(&all), ["w1", "w2"]);

    // A label change moves w2 into the watch's selection; SMP is refused as for any custom resource.
    let (code, _) = call(
        &sim,
        Method::PATCH,
        &format!("{base}/w2"),
        JSON,
        Some((
            "application/merge-patch+json",
            json!({"metadata": {"labels": {"team": "oil"}}}),
        )),
    )
    .await;
    assert_eq!(code, 200);
    let moved = next_event(&mut events, &mut buf).await.unwrap();
    assert_eq!(
        (
            moved["type"].as_str(),
            moved["object"]["metadata"]["name"].as_str()
        ),
        (Some("ADDED"), Some("w2"))
    );
    let (code, _) = call(
        &sim,
        Method::PATCH,
        &format!("{base}/w2"),
        JSON,
        Some(("application/strategic-merge-patch+json", json!({}))),
    )
    .await;
    assert_eq!(code, 415);
    let (code, _) = call(&sim, Method::DELETE, &format!("{base}/w1"), JSON, None).await;
    assert_eq!(code, 200);
    let deleted = next_event(&mut events, &mut buf).await.unwrap();
    assert_eq!(
        (
            deleted["type"].as_str(),
            deleted["object"]["metadata"]["name"].as_str()
        ),
        (Some("DELETED"), Some("w1"))
    );

    // Cluster-scoped: no namespace in the path, and none under one.
    let gizmo = json!({"apiVersion": "example.com/v1alpha1", "kind": "Gizmo",
                       "metadata": {"name": "g1", "labels": {"team": "oil"}}});
    let (code, _) = post(&sim, "/apis/example.com/v1alpha1/gizmos", gizmo).await;
    assert_eq!(code, 201);
    let (code, meta) = get(&sim, "/apis/example.com/v1alpha1/gizmos/g1", METADATA).await;
    assert_eq!(
        (code, meta["metadata"]["labels"]["team"].clone()),
        (StatusCode::OK, json!("oil"))
    );
    let (code, _) = get(&sim, "/apis/example.com/v1alpha1/namespaces/a/gizmos/g1", JSON).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn deleting_a_definition_deletes_its_objects_and_stops_serving_them() {
    let (sim, _dir) = start().await;
    post(&sim, CRDS, definition("widgets")).await;
    sim.apply(json!({"apiVersion": "example.com/v1", "kind": "Widget",
                     "metadata": {"name": "w1", "namespace": "a"}}))
        .unwrap();
    let watch = send(
        &sim,
        Method::GET,
        "/apis/example.com/v1/widgets?watch=true",
        JSON,
        None,
    )
    .await;
    let (mut events, mut buf) = (watch.into_body(), Vec::new());
    let initial = next_event(&mut events, &mut buf).await.unwrap();
    assert_eq!(
        (initial["type"].as_str(), initial["object"]["kind"].as_str()),
        (Some("ADDED"), Some("Widget"))
    );

    let (code, _) = call(
        &sim,
        Method::DELETE,
        &format!("{CRDS}/widgets.example.com"),
        JSON,
        None,
    )
    .await;
    assert_eq!(code, 200);
    let deleted = next_event(&mut events, &mut buf).await.unwrap();
    assert_eq!(
        (
            deleted["type"].as_str(),
            deleted["object"]["metadata"]["name"].as_str()
        ),
        (Some("DELETED"), Some("w1"))
    );
    let (code, _) = get(&sim, "/apis/example.com/v1/widgets", JSON).await;
    assert_eq!(code, 404);
    let (_, groups) = get(&sim, "/apis", JSON).await;
    assert!(
        !groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "example.com")
    );
    assert!(
        sim.apply(json!({"apiVersion": "example.com/v1", "kind": "Widget",
                         "metadata": {"name": "w1", "namespace": "a"}}))
            .is_err()
    );

    // Created again, it serves again, empty.
    post(&sim, CRDS, definition("widgets")).await;
    let (code, list) = get(&sim, "/apis/example.com/v1/widgets", JSON).await;
    assert_eq!((code, list["items"].clone()), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn invalid_definitions_are_refused() {
    let (sim, _dir) = start().await;
    let mut misnamed = definition("widgets");
    misnamed["metadata"]["name"] = json!("widgets.example.org");
    let (code, status) = post(&sim, CRDS, misnamed).await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["reason"], "Invalid");
    let mut no_storage = definition("widgets");
    no_storage["spec"]["versions"] = json!([{"name": "v1", "served": true, "storage": false}]);
    assert_eq!(post(&sim, CRDS, no_storage).await.0, 422);
    let (_, list) = get(&sim, CRDS, JSON).await;
    assert_eq!(list["items"], json!([]), "nothing was stored");
}
