//! The `capsule-proxy` binary started in front of a test's kube-sim, with its own serving certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::Env;

/// Deadline for the proxy to print its ready line.
pub const START_DEADLINE: Duration = Duration::from_secs(30);

/// A self-signed serving certificate for 127.0.0.1 / localhost: `(cert_pem, key_pem)`.
pub fn serving_cert() -> (String, String) {
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "capsule-proxy-test");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A running proxy process (killed on drop).
pub struct Proxy {
    pub child: Child,
    pub addr: SocketAddr,
    pub tls: bool,
    /// Directory with the serving certificate (`tls.crt`, `tls.key`), the log and kubeconfigs.
    pub dir: PathBuf,
    pub ca_pem: String,
    /// Where `/healthz` and `/readyz` are served.
    pub probes: Option<SocketAddr>,
    /// Counts the lines copied to `proxy.log`; changes with every new line.
    log_lines: watch::Receiver<u64>,
}

impl Proxy {
    /// Starts the proxy against `env`'s kube-sim with the proxy's service-account kubeconfig, TLS on, on a
    /// free port of 127.0.0.1, one core; `args` are appended (e.g. `--enable-ssl=false`).
    pub async fn start(env: &Env, args: &[&str]) -> Self {
        Self::start_with(env.dir.path(), &env.kubeconfig("capsule-proxy"), args).await
    }

    /// Starts the proxy with its state in a new directory under `parent`, talking to the API server that
    /// `kubeconfig` names (kube-sim's, or a test's own upstream); otherwise as [`Self::start`].
    pub async fn start_with(parent: &Path, kubeconfig: &Path, args: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("proxy-")
            .tempdir_in(parent)
            .unwrap()
            .keep();
        let (cert, key) = serving_cert();
        std::fs::write(dir.join("tls.crt"), &cert).unwrap();
        std::fs::write(dir.join("tls.key"), &key).unwrap();
        let tls = !args.contains(&"--enable-ssl=false");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_capsule-proxy"));
        cmd.arg("--listening-address=127.0.0.1")
            .arg("--listening-port=0")
            .arg("--cores=1")
            .arg("--health-probe-addr=127.0.0.1:0")
            .arg("--metrics-addr=127.0.0.1:0")
            .arg("--kubeconfig")
            .arg(kubeconfig);
        if tls {
            cmd.arg("--ssl-cert-path").arg(dir.join("tls.crt"));
            cmd.arg("--ssl-key-path").arg(dir.join("tls.key"));
        }
        // The tests read the console text; a test that passes any zap flag gets exactly what it asked for
        // (the JSON default included: `operability_logs_crds` checks it).
        if !args.iter().any(|a| a.starts_with("--zap-")) {
            cmd.arg("--zap-encoder=console");
        }
        cmd.args(args)
            .env_remove("KUBECONFIG")
            .env("NAMESPACE", "capsule-system")
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("capsule-proxy starts");
        let log_lines = copy_log(child.stderr.take().unwrap(), dir.join("proxy.log"));
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_DEADLINE, lines.next_line())
            .await
            .expect("capsule-proxy printed its ready line in time")
            .unwrap()
            .unwrap_or_else(|| panic!("capsule-proxy exited: {}", read_log(&dir)));
        let addr = line
            .strip_prefix("capsule-proxy ready on ")
            .and_then(|rest| rest.split_once("://"))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
            .parse()
            .unwrap();
        let probes = line
            .split_once("probes http://")
            .and_then(|(_, rest)| rest.split([')', ',']).next())
            .and_then(|addr| addr.parse().ok());
        Self {
            child,
            addr,
            tls,
            dir,
            ca_pem: cert,
            probes,
            log_lines,
        }
    }

    /// `https://127.0.0.1:PORT` (or `http://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the proxy is running")
    }

    /// Waits until the proxy's log satisfies `pred` (checked at every new line), within the start deadline.
    pub async fn wait_for_log(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let mut lines = self.log_lines.clone();
        let waiting = async {
            loop {
                if pred(&self.log()) {
                    return;
                }
                if lines.changed().await.is_err() {
                    // The proxy exited: its log is complete.
                    assert!(pred(&self.log()), "the proxy exited before its log showed {what}");
                    return;
                }
            }
        };
        if tokio::time::timeout(START_DEADLINE, waiting).await.is_err() {
            panic!("the proxy's log never showed {what}:\n{}", self.log());
        }
    }

    /// The proxy's stderr so far.
    pub fn log(&self) -> String {
        read_log(&self.dir)
    }

    /// A copy of kube-sim's kubeconfig for `identity` (`alice`, `alice-cert`, …) that talks to the proxy.
    pub fn kubeconfig(&self, env: &Env, identity: &str) -> PathBuf {
        let source = std::fs::read_to_string(env.kubeconfig(identity)).unwrap();
        let mut config: serde_yaml::Value = serde_yaml::from_str(&source).unwrap();
        let cluster = &mut config["clusters"][0]["cluster"];
        cluster["server"] = self.url().into();
        if self.tls {
            cluster["certificate-authority-data"] = STANDARD.encode(&self.ca_pem).into();
        } else if let Some(map) = cluster.as_mapping_mut() {
            map.remove("certificate-authority-data");
        }
        let path = self.dir.join(format!("{identity}.kubeconfig"));
        std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
        path
    }

    /// A `kubectl` command for `identity` through the proxy, with the test's discovery cache.
    pub fn kubectl(&self, env: &Env, identity: &str) -> Command {
        super::kubectl_with(&self.kubeconfig(env, identity), &self.dir.join("kube-cache"))
    }

    /// Runs kubectl through the proxy within the deadline.
    pub async fn run(&self, env: &Env, identity: &str, args: &[&str]) -> std::process::Output {
        super::run(self.kubectl(env, identity).args(args)).await
    }

    /// Peak resident set size of the proxy process (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }
}

/// Copies the proxy's stderr into `path` line by line, counting lines in the returned channel.
fn copy_log(stderr: tokio::process::ChildStderr, path: PathBuf) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0);
    let mut file = std::fs::File::create(&path).unwrap();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            use std::io::Write;
            let _ = writeln!(file, "{line}");
            tx.send_modify(|n| *n += 1);
        }
    });
    rx
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default()
}
