//! An API server slower than `--upstream-response-header-timeout`: pass-through and filtered requests get a 504
//! `Status`, the client's connection stays usable, and the late answers never reach a later request.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::time::Duration;

use support::Env;
use support::capsule::{LogOnFailure, item_names, start_synced};
use support::raw::{Conn, get};

/// Longer than the proxy's response-header timeout (1s) by enough that the late answers arrive while the
/// next requests are under way.
const LATENCY: Duration = Duration::from_secs(3);

const PODS: &str = "/api/v1/namespaces/oil-dev/pods";
const CONFIGMAPS: &str = "/api/v1/namespaces/oil-dev/configmaps";
const NAMESPACES: &str = "/api/v1/namespaces";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_api_server_gets_504_and_the_connection_keeps_working() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &["--upstream-response-header-timeout=1s"]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    // alice's token is reviewed (and cached) while the API server is fast.
    let namespaces = conn.exchange(&get(NAMESPACES, Some("alice-token"))).await;
    assert_eq!(
        item_names(&namespaces.expect_ok_json(200)),
        ["oil-dev", "oil-prod"]
    );
    let pods = conn.exchange(&get(PODS, Some("alice-token"))).await;
    assert_eq!(pods.expect_ok_json(200)["kind"], "PodList");

    env.sim.set_latency(LATENCY);
    for path in [PODS, NAMESPACES] {
        let late = conn.exchange(&get(path, Some("alice-token"))).await;
        let status = late.expect_status(504);
        assert_eq!(status["reason"], "Timeout", "{status}");
        assert!(
            !late.closes(),
            "{path}: a 504 keeps the client's connection: {late:?}"
        );
    }

    env.sim.set_latency(Duration::ZERO);
    // Each answer is the one asked for, not a late answer to an earlier request left on a pooled connection.
    for _ in 0..3 {
        let configmaps = conn.exchange(&get(CONFIGMAPS, Some("alice-token"))).await;
        assert_eq!(
            configmaps.expect_ok_json(200)["kind"],
            "ConfigMapList",
            "{configmaps:?}"
        );
        let namespaces = conn.exchange(&get(NAMESPACES, Some("alice-token"))).await;
        let list = namespaces.expect_ok_json(200);
        assert_eq!(list["kind"], "NamespaceList", "{list}");
        assert_eq!(item_names(&list), ["oil-dev", "oil-prod"]);
    }
}
