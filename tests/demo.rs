//! `capsule-proxy demo`, the README's first Quick start command: it starts, prints kubeconfigs that work with
//! the real `kubectl` (alice sees her tenant's namespaces, bob his), and stops both processes on Ctrl-C.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::{LINE_DEADLINE, kubectl_with, lines, ok, run};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The demo builds nothing, but starts kube-sim and the proxy: a generous bound.
const START_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_alice_and_bob_until_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("demo");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_capsule-proxy"))
        .args(["demo", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(&state)
        .env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let started = tokio::time::timeout(START_DEADLINE, async {
        while let Some(line) = out.next_line().await.unwrap() {
            let done = line.starts_with("Ctrl-C stops");
            printed.push(line);
            if done {
                return true;
            }
        }
        false
    })
    .await
    .expect("the demo printed its instructions in time");
    assert!(started, "the demo ended early: {printed:#?}");
    let text = printed.join("\n");
    assert!(text.contains("get namespaces"), "{text}");

    let cache = dir.path().join("kube-cache");
    let alice = state.join("alice.kubeconfig");
    assert!(text.contains(&alice.display().to_string()), "{text}");
    let namespaces = ok(&run(kubectl_with(&alice, &cache).args(["get", "ns", "-o", "name"])).await);
    assert_eq!(lines(&namespaces), ["namespace/oil-dev", "namespace/oil-prod"]);
    let bob = state.join("bob-cert.kubeconfig");
    let namespaces = ok(&run(kubectl_with(&bob, &cache).args(["get", "ns", "-o", "name"])).await);
    assert_eq!(lines(&namespaces), ["namespace/gas-dev"]);

    // Ctrl-C (SIGINT to the demo) stops the proxy and kube-sim, and the demo exits cleanly.
    let pid = demo.id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(LINE_DEADLINE, demo.wait())
        .await
        .expect("the demo stopped after Ctrl-C")
        .unwrap();
    assert!(exit.success(), "demo exit: {exit}");
    let after = run(kubectl_with(&alice, &cache).args(["get", "ns", "--request-timeout=2s"])).await;
    assert!(
        !after.status.success(),
        "the proxy still answers after the demo stopped"
    );
}
