//! Operability: the proxy's own credential from an exec credential plugin (`user.exec` in its kubeconfig, as
//! `aws eks get-token` or `kubelogin` write it). The plugin's token serves the control plane and the cores, and
//! the plugin runs again before the token expires.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::os::unix::fs::PermissionsExt;

use support::proxy::Proxy;
use support::{Env, lines, ok};

/// A plugin printing kube-sim's token of the proxy's service account, valid for two seconds, counting its runs.
fn plugin(env: &Env, token: &str) -> std::path::PathBuf {
    let runs = env.dir.path().join("plugin-runs");
    let script = format!(
        "#!/bin/sh\necho run >> '{}'\nexpires=$(date -u -d \"@$(( $(date +%s) + 2 ))\" +%Y-%m-%dT%H:%M:%SZ)\n\
         printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\
         \"status\":{{\"token\":\"%s\",\"expirationTimestamp\":\"%s\"}}}}' '{token}' \"$expires\"\n",
        runs.display()
    );
    env.file("plugin.sh", &script);
    let path = env.dir.path().join("plugin.sh");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_plugin_token_serves_and_is_refreshed_before_it_expires() {
    let env = Env::start().await;
    // kube-sim's kubeconfig of the proxy's service account, its token replaced by a plugin that prints it.
    let source = std::fs::read_to_string(env.kubeconfig("capsule-proxy")).unwrap();
    let mut config: serde_yaml::Value = serde_yaml::from_str(&source).unwrap();
    let user = &mut config["users"][0]["user"];
    let token = user["token"].as_str().expect("a token user").to_owned();
    let script = plugin(&env, &token);
    *user = serde_yaml::from_str(&format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: {}\n  interactiveMode: Never\n",
        script.display()
    ))
    .unwrap();
    let kubeconfig = env.file("exec.kubeconfig", &serde_yaml::to_string(&config).unwrap());
    assert!(!std::fs::read_to_string(&kubeconfig).unwrap().contains(&token));

    let proxy = Proxy::start_with(env.dir.path(), &kubeconfig, &[]).await;
    // A tenant owner's filtered list: the snapshot (control plane) and the list sent as the proxy (a core) both
    // need the plugin's token.
    let namespaces = ok(&proxy.run(&env, "alice", &["get", "ns", "-o", "name"]).await);
    assert_eq!(lines(&namespaces), ["namespace/oil-dev", "namespace/oil-prod"]);

    // Before the two seconds are over, the plugin runs again and the cores get the new token.
    proxy
        .wait_for_log("the refreshed exec credential", |log| {
            log.contains("exec credential refreshed")
        })
        .await;
    let namespaces = ok(&proxy.run(&env, "alice", &["get", "ns", "-o", "name"]).await);
    assert_eq!(lines(&namespaces), ["namespace/oil-dev", "namespace/oil-prod"]);
    let runs = std::fs::read_to_string(env.dir.path().join("plugin-runs")).unwrap();
    assert!(runs.lines().count() >= 2, "{runs}");
    assert!(!proxy.log().contains(&token), "the token never reaches the log");
}
