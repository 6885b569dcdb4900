//! Operability: `capsule-proxy crds` prints the ProxySetting and GlobalProxySettings CRDs that an API server
//! accepts, the logs are zap's JSON lines by default (text with `--zap-devel` or `--zap-encoder=console`), and no
//! token or key reaches the log whatever the level.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::process::Stdio;

use serde::Deserialize;
use serde_json::Value;
use support::proxy::Proxy;
use support::raw::{Conn, IO_DEADLINE, get, within};
use support::{Env, ok};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The proxy's `crds` output.
async fn crds_output() -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_capsule-proxy"))
        .arg("crds")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = within(support::KUBECTL_DEADLINE, "capsule-proxy crds", out)
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "capsule-proxy crds failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_prints_two_definitions_that_kube_sim_accepts() {
    let text = crds_output().await;
    let documents: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).unwrap())
        .collect();
    assert_eq!(documents.len(), 2, "{text}");
    let names: Vec<&str> = documents
        .iter()
        .map(|crd| {
            assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
            assert_eq!(crd["kind"], "CustomResourceDefinition");
            crd["metadata"]["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [
            "proxysettings.capsule.clastix.io",
            "globalproxysettings.capsule.clastix.io"
        ]
    );
    assert_eq!(documents[0]["spec"]["scope"], "Namespaced");
    assert_eq!(documents[1]["spec"]["scope"], "Cluster");

    let env = Env::start().await;
    let path = env.file("crds.yaml", &text);
    let path = path.to_str().unwrap();
    let applied = ok(&env.run("admin", &["apply", "-f", path]).await);
    for name in &names {
        assert!(
            applied.contains(&format!("customresourcedefinition.apiextensions.k8s.io/{name}")),
            "{applied}"
        );
    }
    let again = ok(&env.run("admin", &["apply", "-f", path]).await);
    assert_eq!(again.matches("unchanged").count(), 2, "{again}");

    for name in &names {
        let stored: Value =
            serde_json::from_str(&ok(&env.run("admin", &["get", "crd", name, "-o", "json"]).await)).unwrap();
        let established = stored["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        assert!(established, "{name} is not established: {stored}");
    }
    let stored: Value = serde_json::from_str(&ok(&env
        .run(
            "admin",
            &["get", "crd", "proxysettings.capsule.clastix.io", "-o", "json"],
        )
        .await))
    .unwrap();
    assert_eq!(stored["spec"]["names"]["listKind"], "ProxySettingList");
}

/// Makes the proxy log a line naming a fresh connection (a refused TLS handshake is logged at debug with the
/// peer's address) and waits for it, so every line logged before is in the proxy's log file.
async fn sync_log(proxy: &Proxy) {
    let mut tcp = within(IO_DEADLINE, "TCP connect", TcpStream::connect(proxy.addr))
        .await
        .unwrap();
    let peer = tcp.local_addr().unwrap().to_string();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: proxy\r\n\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    // The proxy closes the connection; what (if anything) it sends first does not matter.
    let _ = within(IO_DEADLINE, "the proxy closes", tcp.read_to_end(&mut rest)).await;
    proxy
        .wait_for_log(&format!("the refused handshake of {peer}"), |log| {
            log.contains(&peer)
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_log_lines_are_zap_json() {
    let env = Env::start().await;
    // No `--zap-encoder`: the default, as the Go proxy's zap production encoder writes it.
    let proxy = Proxy::start(&env, &["--zap-log-level=debug"]).await;
    proxy
        .wait_for_log("the start-up line", |log| log.contains("capsule-proxy started"))
        .await;
    sync_log(&proxy).await;
    let log = proxy.log();
    let mut messages = Vec::new();
    for line in log.lines() {
        let object: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}\n{log}"));
        for field in ["level", "ts", "logger", "msg"] {
            assert!(object[field].is_string(), "{field} missing in {line}");
        }
        assert!(
            line.starts_with("{\"level\":") && line.contains(",\"ts\":") && line.contains(",\"logger\":"),
            "zap's keys come first, in zap's order: {line}"
        );
        // The default time encoding: ISO 8601 with milliseconds, UTC (`2006-01-02T15:04:05.000Z`).
        let ts = object["ts"].as_str().unwrap();
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
        messages.push(object["msg"].as_str().unwrap().to_owned());
    }
    assert!(messages.iter().any(|m| m == "capsule-proxy started"), "{log}");
    let started = log.lines().find(|l| l.contains("capsule-proxy started")).unwrap();
    let started: Value = serde_json::from_str(started).unwrap();
    assert_eq!(started["level"], "info");
    assert_eq!(started["cores"], 1, "fields sit beside the message: {started}");
    assert!(
        log.contains("\"level\":\"debug\""),
        "--zap-log-level=debug: debug lines, level \"debug\": {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_logs_with_zap_devel_or_the_console_encoder() {
    let env = Env::start().await;
    for flag in ["--zap-devel", "--zap-encoder=console"] {
        let proxy = Proxy::start(&env, &[flag]).await;
        proxy
            .wait_for_log("the start-up line", |log| log.contains("capsule-proxy started"))
            .await;
        let log = proxy.log();
        let started = log.lines().find(|l| l.contains("capsule-proxy started")).unwrap();
        assert!(
            serde_json::from_str::<Value>(started).is_err() && started.contains("INFO"),
            "{flag}: text lines: {started}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_keys_never_reach_the_debug_log() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &["--zap-log-level=debug"]).await;
    // Bearer callers (filtered and passed-through routes, a refused token) and a client-certificate caller.
    ok(&proxy.run(&env, "alice", &["get", "namespaces"]).await);
    ok(&proxy.run(&env, "alice", &["get", "pods", "-n", "oil-dev"]).await);
    // The answer (yes or no) does not matter here: the review carries alice's identity, not her token.
    let _ = proxy
        .run(&env, "alice", &["auth", "can-i", "list", "namespaces"])
        .await;
    ok(&proxy.run(&env, "alice-cert", &["get", "namespaces"]).await);
    let mut conn = Conn::open(&proxy).await;
    let refused = conn
        .exchange(&get("/api/v1/namespaces", Some("bogus-secret-token-4242")))
        .await;
    assert!(matches!(refused.status, 401 | 403), "refused: {refused:?}");
    sync_log(&proxy).await;
    let log = proxy.log();
    assert!(log.contains("\"level\":\"debug\""), "debug lines are on: {log}");
    for secret in [
        "alice-token",
        "bogus-secret-token-4242",
        "capsule-proxy-token",
        "PRIVATE KEY",
        "Bearer ",
    ] {
        assert!(!log.contains(secret), "the log shows {secret:?}:\n{log}");
    }
}
