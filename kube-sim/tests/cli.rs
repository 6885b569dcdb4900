//! The `kube-sim serve` command as users run it: the ready line, the kubeconfigs it writes (used by the real
//! `kubectl`), and one clear line with a non-zero exit for bad input.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const DEADLINE: Duration = Duration::from_secs(60);

fn demo_fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.yaml")
}

#[tokio::test]
async fn serve_prints_ready_and_writes_working_kubeconfigs() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .args(["serve", "--addr", "127.0.0.1:0", "--fixture"])
        .arg(demo_fixture())
        .arg("--state-dir")
        .arg(&state)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let url = ready
        .strip_prefix("kube-sim ready on ")
        .unwrap_or_else(|| panic!("unexpected first line: {ready}"));
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    for file in [
        "ca.crt",
        "admin.kubeconfig",
        "alice.kubeconfig",
        "alice-cert.kubeconfig",
        "bob.kubeconfig",
        "capsule-proxy.kubeconfig",
    ] {
        assert!(state.join(file).is_file(), "{file} written");
    }
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let out = tokio::time::timeout(
        DEADLINE,
        Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(state.join("alice-cert.kubeconfig"))
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(["get", "pods", "-n", "oil-dev", "-o", "name"])
            .env_remove("KUBECONFIG")
            .output(),
    )
    .await
    .unwrap()
    .expect("kubectl is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "pod/web");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn bad_fixture_exits_non_zero_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("bad.yaml");
    std::fs::write(
        &fixture,
        "identities:\n- {name: a, token: t}\n- {name: b, token: t}\n",
    )
    .unwrap();
    let out = tokio::time::timeout(
        DEADLINE,
        Command::new(env!("CARGO_BIN_EXE_kube-sim"))
            .args(["serve", "--addr", "127.0.0.1:0", "--fixture"])
            .arg(&fixture)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        stderr.trim(),
        "kube-sim: invalid fixture: identity \"b\" needs a token of its own"
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .args(["serve", "--fixture", "/nonexistent.yaml", "--state-dir"])
        .arg(dir.path().join("state"))
        .output()
        .await
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .starts_with("kube-sim: cannot read fixture /nonexistent.yaml:")
    );
}
