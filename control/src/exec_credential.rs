//! Exec credential plugins (`client.authentication.k8s.io`) for the proxy's own token: `aws eks get-token`,
//! `gke-gcloud-auth-plugin`, `kubelogin` and the like, named by the kubeconfig's `user.exec`.
//!
//! The binary runs the plugin once before the data plane starts (its token is the cores' first); then the
//! control thread runs it again before each token expires ([`crate::Control::refresh_exec_credential`]), and
//! every new token reaches the cores as the same update a rotated token file sends. The control plane's own
//! kube client runs the plugin itself (kube-rs refreshes it). Tokens are never logged.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::config::ExecConfig;

/// Longest a plugin may run before it is killed and counted as failed.
pub const PLUGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// After a failed refresh, the wait before the next attempt (the old token may still be valid).
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// What a plugin answered.
#[derive(Clone)]
pub struct ExecToken {
    /// The bearer token.
    pub token: String,
    /// When it expires; `None`: it does not (the plugin is not run again).
    pub expires: Option<jiff::Timestamp>,
}

impl std::fmt::Debug for ExecToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecToken")
            .field("token", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

/// Why a plugin gave no token. Each message names the command.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The kubeconfig's `exec` has no `command`.
    #[error("exec credential plugin: no command")]
    NoCommand,
    /// The command could not be started.
    #[error("exec credential plugin {command:?} cannot start: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The command ran past [`PLUGIN_TIMEOUT`].
    #[error("exec credential plugin {command:?} did not finish within {after:?}")]
    Timeout {
        /// The command.
        command: String,
        /// How long it ran.
        after: Duration,
    },
    /// The command failed.
    #[error("exec credential plugin {command:?} failed ({status}): {stderr}")]
    Failed {
        /// The command.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The first line of its stderr.
        stderr: String,
    },
    /// The command's output is not an `ExecCredential` with a token.
    #[error("exec credential plugin {command:?}: {message}")]
    Output {
        /// The command.
        command: String,
        /// What is wrong with the output.
        message: String,
    },
}

/// Runs the plugin once and reads its `ExecCredential`.
pub fn run(exec: &ExecConfig, timeout: Duration) -> Result<ExecToken, ExecError> {
    let command = exec
        .command
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or(ExecError::NoCommand)?;
    let mut cmd = Command::new(&command);
    cmd.args(exec.args.iter().flatten());
    for name in exec.drop_env.iter().flatten() {
        cmd.env_remove(name);
    }
    for pair in exec.env.iter().flatten() {
        if let (Some(name), Some(value)) = (pair.get("name"), pair.get("value")) {
            cmd.env(name, value);
        }
    }
    let api_version = exec
        .api_version
        .clone()
        .unwrap_or_else(|| "client.authentication.k8s.io/v1".to_owned());
    let mut spec = serde_json::json!({"interactive": false});
    // Filled from the kubeconfig's cluster when the plugin asked for it (`provideClusterInfo`).
    if let Some(cluster) = exec.cluster.as_ref().filter(|_| exec.provide_cluster_info) {
        spec["cluster"] = serde_json::to_value(cluster).unwrap_or_default();
    }
    let info = serde_json::json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "spec": spec,
    });
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string());
    let (status, stdout, stderr) = run_with_deadline(&mut cmd, &command, timeout)?;
    if !status.success() {
        return Err(ExecError::Failed {
            command,
            status,
            stderr: stderr.lines().next().unwrap_or_default().to_owned(),
        });
    }
    parse(&command, &stdout)
}

/// The token of an `ExecCredential` document.
fn parse(command: &str, stdout: &str) -> Result<ExecToken, ExecError> {
    let output = |message: String| ExecError::Output {
        command: command.to_owned(),
        message,
    };
    let document: serde_json::Value =
        serde_json::from_str(stdout).map_err(|e| output(format!("not a JSON ExecCredential: {e}")))?;
    let status = &document["status"];
    if status.get("clientCertificateData").is_some() {
        return Err(output(
            "returns a client certificate; only token plugins are supported for the proxy's own credentials"
                .to_owned(),
        ));
    }
    let token = status["token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| output("status.token is missing".to_owned()))?
        .to_owned();
    let expires = match status.get("expirationTimestamp").and_then(|v| v.as_str()) {
        None => None,
        Some(text) => Some(
            text.parse::<jiff::Timestamp>()
                .map_err(|e| output(format!("status.expirationTimestamp {text:?}: {e}")))?,
        ),
    };
    Ok(ExecToken { token, expires })
}

/// Runs `cmd` to completion within `timeout`: its exit status, stdout and stderr.
fn run_with_deadline(
    cmd: &mut Command,
    command: &str,
    timeout: Duration,
) -> Result<(std::process::ExitStatus, String, String), ExecError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ExecError::Spawn {
            command: command.to_owned(),
            source,
        })?;
    // Read on their own threads, so a plugin that writes much never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                // std has no wait-with-timeout; a plugin runs rarely, so polling its exit costs nothing.
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExecError::Timeout {
                    command: command.to_owned(),
                    after: timeout,
                });
            }
        }
    };
    Ok((
        status,
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    ))
}

/// How long to wait before running the plugin again: four fifths of the token's remaining life (at least a
/// second), so the new token is in place well before the old one expires; `None` when it does not expire.
pub fn refresh_in(expires: Option<jiff::Timestamp>, now: jiff::Timestamp) -> Option<Duration> {
    let remaining = expires?.duration_since(now);
    let remaining = Duration::try_from(remaining).unwrap_or(Duration::ZERO);
    Some((remaining * 4 / 5).max(Duration::from_secs(1)))
}

/// Runs the plugin again before each token expires, on the control thread's runtime (the plugin itself on a
/// blocking thread, so the watches never wait for it), and hands every new token to `push` (the cores).
pub(crate) async fn refresh(exec: ExecConfig, first: ExecToken, push: impl Fn(Arc<str>)) {
    let Some(mut wait) = refresh_in(first.expires, jiff::Timestamp::now()) else {
        return;
    };
    loop {
        tokio::time::sleep(wait).await;
        let exec = exec.clone();
        let ran = tokio::task::spawn_blocking(move || run(&exec, PLUGIN_TIMEOUT)).await;
        match ran {
            Ok(Ok(token)) => {
                tracing::info!(expires = ?token.expires, "exec credential refreshed");
                push(Arc::from(token.token.as_str()));
                match refresh_in(token.expires, jiff::Timestamp::now()) {
                    Some(next) => wait = next,
                    None => return,
                }
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "exec credential refresh failed; retrying");
                wait = RETRY_AFTER;
            }
            Err(error) => {
                tracing::error!(%error, "exec credential refresh did not finish; retrying");
                wait = RETRY_AFTER;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::{Mutex, MutexGuard};

    /// Serialises the tests that write and run plugin scripts. A script still open for writing in one test
    /// is inherited by a child another test forks at that moment, and exec'ing it then fails with ETXTBSY
    /// ("Text file busy"); only these tests start processes in this crate.
    static SCRIPTS: Mutex<()> = Mutex::new(());

    fn scripts() -> MutexGuard<'static, ()> {
        SCRIPTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn plugin(dir: &std::path::Path, body: &str) -> ExecConfig {
        let path = dir.join("plugin.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        ExecConfig {
            api_version: Some("client.authentication.k8s.io/v1".into()),
            command: Some(path.display().to_string()),
            env: Some(vec![HashMap::from([
                ("name".to_owned(), "GREETING".to_owned()),
                ("value".to_owned(), "hi".to_owned()),
            ])]),
            ..Default::default()
        }
    }

    #[test]
    fn a_token_plugin_is_read_with_its_expiry_and_environment() {
        let _scripts = scripts();
        let dir = tempfile::tempdir().unwrap();
        let exec = plugin(
            dir.path(),
            r#"echo "$KUBERNETES_EXEC_INFO" > "$(dirname "$0")/info"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-%s","expirationTimestamp":"2030-01-02T03:04:05Z"}}' "$GREETING""#,
        );
        let token = run(&exec, PLUGIN_TIMEOUT).unwrap();
        assert_eq!(token.token, "tok-hi");
        assert_eq!(token.expires, Some("2030-01-02T03:04:05Z".parse().unwrap()));
        assert!(!format!("{token:?}").contains("tok-hi"));
        let info = std::fs::read_to_string(dir.path().join("info")).unwrap();
        assert!(info.contains(r#""interactive":false"#), "{info}");
    }

    #[test]
    fn a_plugin_that_asks_is_told_its_cluster() {
        let _scripts = scripts();
        let dir = tempfile::tempdir().unwrap();
        let mut exec = plugin(
            dir.path(),
            r#"echo "$KUBERNETES_EXEC_INFO" > "$(dirname "$0")/info"
echo '{"status":{"token":"t"}}'"#,
        );
        exec.provide_cluster_info = true;
        exec.cluster = Some(kube::config::ExecAuthCluster {
            server: Some("https://api.example:6443".into()),
            certificate_authority_data: Some(b"PEM".to_vec()),
            ..Default::default()
        });
        run(&exec, PLUGIN_TIMEOUT).unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("info")).unwrap()).unwrap();
        let cluster = &info["spec"]["cluster"];
        assert_eq!(cluster["server"], "https://api.example:6443");
        assert_eq!(
            cluster["certificate-authority-data"], "UEVN",
            "base64, as client-go writes it"
        );
        exec.provide_cluster_info = false;
        run(&exec, PLUGIN_TIMEOUT).unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("info")).unwrap()).unwrap();
        assert!(info["spec"].get("cluster").is_none(), "{info}");
    }

    #[test]
    fn failures_name_the_command_and_say_why() {
        let _scripts = scripts();
        let dir = tempfile::tempdir().unwrap();
        let failing = plugin(dir.path(), "echo 'no credentials' >&2; exit 3");
        let err = run(&failing, PLUGIN_TIMEOUT).unwrap_err().to_string();
        assert!(
            err.contains("plugin.sh") && err.contains("no credentials"),
            "{err}"
        );
        let cert = plugin(
            dir.path(),
            r#"echo '{"status":{"clientCertificateData":"x","clientKeyData":"y"}}'"#,
        );
        assert!(
            run(&cert, PLUGIN_TIMEOUT)
                .unwrap_err()
                .to_string()
                .contains("client certificate")
        );
        let garbage = plugin(dir.path(), "echo not-json");
        assert!(
            run(&garbage, PLUGIN_TIMEOUT)
                .unwrap_err()
                .to_string()
                .contains("not a JSON")
        );
        let slow = plugin(dir.path(), "exec sleep 5");
        let err = run(&slow, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, ExecError::Timeout { .. }), "{err}");
        let missing = ExecConfig {
            command: Some(dir.path().join("nope").display().to_string()),
            ..Default::default()
        };
        assert!(matches!(
            run(&missing, PLUGIN_TIMEOUT),
            Err(ExecError::Spawn { .. })
        ));
    }

    #[test]
    fn refresh_comes_before_expiry() {
        let now: jiff::Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
        let in_an_hour: jiff::Timestamp = "2030-01-01T01:00:00Z".parse().unwrap();
        assert_eq!(
            refresh_in(Some(in_an_hour), now),
            Some(Duration::from_secs(48 * 60))
        );
        assert_eq!(refresh_in(Some(now), now), Some(Duration::from_secs(1)));
        let past: jiff::Timestamp = "2029-12-31T00:00:00Z".parse().unwrap();
        assert_eq!(refresh_in(Some(past), now), Some(Duration::from_secs(1)));
        assert_eq!(refresh_in(None, now), None);
    }
}
