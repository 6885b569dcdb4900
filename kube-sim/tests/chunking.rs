//! JSON answers go out as kube-apiserver's do: with a Content-Length up to 2 KiB, chunked in bounded chunks
//! beyond; `chunk_bytes = 0` sends everything with a Content-Length.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod raw_http;

use std::time::Duration;

use kube_sim::{Fixture, KubeSim, SimConfig};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(20);
const LIST: &str = "/api/v1/namespaces/a/configmaps";
const SMALL: &str = "/api/v1/namespaces/a/configmaps/cm-00";

async fn start(chunk_bytes: usize) -> (KubeSim, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut fixture = Fixture::parse(
        "identities:\n- {name: admin, groups: [system:masters], token: admin-token}\n\
         objects:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n",
    )
    .unwrap();
    // 20 ConfigMaps of about 500 bytes: a list of about 10 KiB.
    fixture.objects.extend((0..20).map(|i| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": format!("cm-{i:02}"), "namespace": "a"},
               "data": {"k": "v".repeat(400)}})
    }));
    let mut config = SimConfig::new(fixture, dir.path().join("state"));
    config.plain_http = true;
    config.options.chunk_bytes = chunk_bytes;
    (KubeSim::start(config).await.unwrap(), dir)
}

#[tokio::test]
async fn large_answers_are_chunked_and_small_ones_are_not() {
    raw_http::within(DEADLINE, "chunking", async {
        let (sim, _dir) = start(kube_sim::chunked::DEFAULT_CHUNK_BYTES).await;
        let list = raw_http::get(sim.addr(), "admin-token", LIST, &[]).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.header("transfer-encoding"), Some("chunked"));
        assert_eq!(list.header("content-length"), None);
        assert_eq!(list.header("content-type"), Some("application/json"));
        assert!(list.body.len() > 8192, "{} bytes", list.body.len());
        assert!(list.chunks.len() > 1, "chunk sizes {:?}", list.chunks);
        assert!(
            list.chunks.iter().all(|&c| c <= 4096),
            "chunk sizes {:?}",
            list.chunks
        );
        let parsed: Value = serde_json::from_slice(&list.body).unwrap();
        assert_eq!(parsed["kind"], "ConfigMapList");
        assert_eq!(parsed["items"].as_array().unwrap().len(), 20);

        let small = raw_http::get(sim.addr(), "admin-token", SMALL, &[]).await;
        assert_eq!(small.status, 200);
        assert_eq!(small.header("transfer-encoding"), None);
        assert_eq!(
            small.header("content-length").unwrap(),
            small.body.len().to_string()
        );
        let parsed: Value = serde_json::from_slice(&small.body).unwrap();
        assert_eq!(parsed["metadata"]["name"], "cm-00");

        // Tables and PartialObjectMetadataLists are chunked the same way; errors keep a Content-Length.
        let metadata = "Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        let partial = raw_http::get(sim.addr(), "admin-token", LIST, &[metadata]).await;
        assert_eq!(partial.header("transfer-encoding"), Some("chunked"));
        let table = "Accept: application/json;as=Table;g=meta.k8s.io;v=v1";
        let table = raw_http::get(
            sim.addr(),
            "admin-token",
            &format!("{LIST}?includeObject=Object"),
            &[table],
        )
        .await;
        assert_eq!(table.header("transfer-encoding"), Some("chunked"));
        let missing = raw_http::get(
            sim.addr(),
            "admin-token",
            "/api/v1/namespaces/a/configmaps/nope",
            &[],
        )
        .await;
        assert_eq!(missing.status, 404);
        assert!(missing.header("content-length").is_some());
    })
    .await;
}

#[tokio::test]
async fn chunk_bytes_zero_sends_content_lengths() {
    raw_http::within(DEADLINE, "no chunking", async {
        let (sim, _dir) = start(0).await;
        let list = raw_http::get(sim.addr(), "admin-token", LIST, &[]).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.header("transfer-encoding"), None);
        assert_eq!(
            list.header("content-length").unwrap(),
            list.body.len().to_string()
        );
        let parsed: Value = serde_json::from_slice(&list.body).unwrap();
        assert_eq!(parsed["items"].as_array().unwrap().len(), 20);
    })
    .await;
}

#[tokio::test]
async fn pages_carry_their_continue_token_in_the_encoded_list() {
    raw_http::within(DEADLINE, "paging", async {
        let (sim, _dir) = start(1024).await;
        let page = raw_http::get(sim.addr(), "admin-token", &format!("{LIST}?limit=15"), &[]).await;
        assert!(page.chunks.iter().all(|&c| c <= 1024));
        let parsed: Value = serde_json::from_slice(&page.body).unwrap();
        assert_eq!(parsed["items"].as_array().unwrap().len(), 15);
        assert_eq!(parsed["metadata"]["remainingItemCount"], 5);
        let token = parsed["metadata"]["continue"].as_str().unwrap();
        let rest = raw_http::get(
            sim.addr(),
            "admin-token",
            &format!("{LIST}?limit=15&continue={token}"),
            &[],
        )
        .await;
        let rest: Value = serde_json::from_slice(&rest.body).unwrap();
        assert_eq!(rest["items"].as_array().unwrap().len(), 5);
        assert_eq!(rest["items"][0]["metadata"]["name"], "cm-15");
        assert!(rest["metadata"].get("continue").is_none());
    })
    .await;
}
