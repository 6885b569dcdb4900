//! Many watches of one ConfigMap each get its update, and a watch outlives the idle-connection timeout.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod raw_http;

use std::time::Duration;

use kube_sim::{Fixture, KubeSim, SimConfig};
use serde_json::{Value, json};
use tokio::io::BufReader;
use tokio::net::tcp::OwnedReadHalf;

const DEADLINE: Duration = Duration::from_secs(30);
const WATCH: &str = "/api/v1/namespaces/w/configmaps?watch=true";
const IDLE: Duration = Duration::from_millis(200);

async fn start() -> (KubeSim, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Fixture::parse(
        "identities:\n- {name: admin, groups: [system:masters], token: admin-token}\n\
         objects:\n- {apiVersion: v1, kind: Namespace, metadata: {name: w}}\n\
         - {apiVersion: v1, kind: ConfigMap, metadata: {name: tick, namespace: w}, data: {count: '0'}}\n",
    )
    .unwrap();
    let mut config = SimConfig::new(fixture, dir.path().join("state"));
    config.plain_http = true;
    config.options.idle_timeout = IDLE;
    config.options.bookmark_interval = IDLE * 3;
    (KubeSim::start(config).await.unwrap(), dir)
}

fn tick(count: u32) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tick", "namespace": "w"},
           "data": {"count": count.to_string()}})
}

/// The next event of a watch (each event is one chunk, a JSON line).
async fn next_event(reader: &mut BufReader<OwnedReadHalf>) -> Value {
    let chunk = raw_http::read_chunk(reader).await.expect("the watch ended");
    serde_json::from_slice(&chunk).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watches_receive_one_update() {
    const WATCHES: usize = 300;
    raw_http::within(DEADLINE, "many watches", async {
        let (sim, _dir) = start().await;
        let mut watches = Vec::new();
        for _ in 0..WATCHES {
            let (mut reader, writer) = raw_http::open(sim.addr(), "admin-token", WATCH, &[]).await;
            let (status, _) = raw_http::read_head(&mut reader).await;
            assert_eq!(status, 200);
            assert_eq!(next_event(&mut reader).await["type"], "ADDED");
            watches.push((reader, writer));
        }
        sim.apply(tick(1)).unwrap();
        let seen = futures_util::future::join_all(watches.iter_mut().map(|(reader, _)| async {
            let event = next_event(reader).await;
            (event["type"].clone(), event["object"]["data"]["count"].clone())
        }))
        .await;
        assert!(
            seen.iter().all(|s| *s == (json!("MODIFIED"), json!("1"))),
            "{seen:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_idle_timeout_never_closes_a_watch() {
    raw_http::within(DEADLINE, "idle watch", async {
        let (sim, _dir) = start().await;
        let path = format!("{WATCH}&allowWatchBookmarks=true");
        let (mut reader, _writer) = raw_http::open(sim.addr(), "admin-token", &path, &[]).await;
        assert_eq!(raw_http::read_head(&mut reader).await.0, 200);
        assert_eq!(next_event(&mut reader).await["type"], "ADDED");
        // The first bookmark comes three idle timeouts after the watch started, the next three later.
        for _ in 0..2 {
            assert_eq!(next_event(&mut reader).await["type"], "BOOKMARK");
        }
        sim.apply(tick(2)).unwrap();
        let event = next_event(&mut reader).await;
        assert_eq!(event["type"], "MODIFIED");
        assert_eq!(event["object"]["data"]["count"], "2");
    })
    .await;
}
