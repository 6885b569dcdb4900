//! `capsule-proxy demo`: the whole picture on one machine. kube-sim serves the demo cluster in this process, the
//! proxy runs in front of it as a child process (this same binary, with the flags a deployment would pass), and
//! kubeconfigs for the tenant owners point `kubectl` at the proxy.
//!
//! ```text
//!  <state dir>/kube-sim/           kube-sim's CA and its own kubeconfigs (admin.kubeconfig talks to it directly)
//!  <state dir>/tls.crt, tls.key    the proxy's self-signed serving certificate
//!  <state dir>/proxy.log           the proxy's log
//!  <state dir>/<owner>.kubeconfig        bearer token, through the proxy
//!  <state dir>/<owner>-cert.kubeconfig   client certificate, through the proxy
//! ```

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kube_sim::{Fixture, KubeSim, SimConfig};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::cli::DemoArgs;

/// The demo cluster: tenants `oil` (owner alice) and `gas` (owner bob), nodes, classes, volumes, pods.
const DEMO_FIXTURE: &str = include_str!("../kube-sim/fixtures/demo.yaml");

/// The namespace the proxy says it runs in (`NAMESPACE`), as the Helm chart would set it.
const PROXY_NAMESPACE: &str = "capsule-system";

/// The identity whose kubeconfig the proxy uses for its own requests.
const PROXY_IDENTITY: &str = "capsule-proxy";

/// The tenant owners kubeconfigs are written for.
const OWNERS: [&str; 2] = ["alice", "bob"];

/// How long the proxy has to print its ready line.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// The first line the proxy prints once every core accepts.
const READY_PREFIX: &str = "capsule-proxy ready on ";

/// Runs the demo until Ctrl-C (or SIGTERM), then stops the proxy and kube-sim.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the demo's runtime")?;
    runtime.block_on(demo(args))
}

async fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    let fixture = match &args.fixture {
        Some(path) => Fixture::load(path).with_context(|| format!("loading {}", path.display()))?,
        None => Fixture::parse(DEMO_FIXTURE).context("loading the built-in demo fixture")?,
    };
    let state_dir = args.state_dir.as_path();
    std::fs::create_dir_all(state_dir).with_context(|| format!("creating {}", state_dir.display()))?;
    let mut sim = KubeSim::start(SimConfig::new(fixture, state_dir.join("kube-sim")))
        .await
        .context("starting kube-sim")?;
    let cert_pem = write_serving_cert(state_dir, args.listen.ip())?;
    let (mut proxy, proxy_url) = match start_proxy(args, &sim).await {
        Ok(started) => started,
        Err(e) => {
            sim.stop().await;
            return Err(e);
        }
    };
    let kubeconfigs = write_owner_kubeconfigs(&sim, state_dir, &proxy_url, &cert_pem)?;
    print_summary(args, &sim, &proxy_url, &kubeconfigs);
    let outcome = wait_for_stop(&mut proxy).await;
    let _ = proxy.start_kill();
    let _ = proxy.wait().await;
    sim.stop().await;
    outcome
}

/// A self-signed serving certificate for loopback (and `listen` when it is a specific address), written to
/// `tls.crt` / `tls.key`; returns the certificate PEM.
fn write_serving_cert(state_dir: &Path, listen: IpAddr) -> anyhow::Result<String> {
    let mut names = vec!["127.0.0.1".to_owned(), "::1".to_owned(), "localhost".to_owned()];
    if !listen.is_loopback() && !listen.is_unspecified() {
        names.push(listen.to_string());
    }
    let mut params = rcgen::CertificateParams::new(names).context("serving certificate names")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "capsule-proxy-demo");
    let key = rcgen::KeyPair::generate().context("generating the serving key")?;
    let cert = params
        .self_signed(&key)
        .context("signing the serving certificate")?;
    write_private(&state_dir.join("tls.key"), &key.serialize_pem())?;
    write_private(&state_dir.join("tls.crt"), &cert.pem())?;
    Ok(cert.pem())
}

/// Starts this binary as the proxy in front of `sim`; returns it once it printed its ready line, with the URL
/// clients use.
async fn start_proxy(args: &DemoArgs, sim: &KubeSim) -> anyhow::Result<(Child, String)> {
    let state_dir = args.state_dir.as_path();
    let log_path = state_dir.join("proxy.log");
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let exe = std::env::current_exe().context("locating the capsule-proxy binary")?;
    let mut command = Command::new(exe);
    command
        .arg(format!("--listening-address={}", args.listen.ip()))
        .arg(format!("--listening-port={}", args.listen.port()))
        .arg("--kubeconfig")
        .arg(sim.kubeconfig(PROXY_IDENTITY))
        .arg("--ssl-cert-path")
        .arg(state_dir.join("tls.crt"))
        .arg("--ssl-key-path")
        .arg(state_dir.join("tls.key"))
        .arg("--health-probe-addr=127.0.0.1:0")
        .arg("--metrics-addr=127.0.0.1:0")
        .args(&args.proxy_args)
        .env("NAMESPACE", PROXY_NAMESPACE)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        // Its own process group: Ctrl-C reaches the demo, which stops the proxy itself.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().context("starting the proxy")?;
    let stdout = child.stdout.take().context("the proxy's output")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(START_DEADLINE, ready_line(&mut lines)).await;
    let exited = matches!(ready, Ok(None));
    let Ok(Some(line)) = ready else {
        let _ = child.start_kill();
        let _ = child.wait().await;
        let what = if exited {
            "exited before it was ready".to_owned()
        } else {
            format!("did not become ready within {}s", START_DEADLINE.as_secs())
        };
        bail!(
            "the proxy {what}; its log ({}) ends with:\n{}",
            log_path.display(),
            log_tail(&log_path, 10)
        );
    };
    // Whatever else the proxy prints goes on to the demo's output.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            println!("{line}");
        }
    });
    let addr = line
        .strip_prefix(READY_PREFIX)
        .and_then(|rest| rest.split_once("://"))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|addr| addr.parse::<SocketAddr>().ok())
        .unwrap_or(args.listen);
    Ok((child, format!("https://{}", client_addr(addr))))
}

/// Reads the proxy's output up to its ready line; `None` when it ends first.
async fn ready_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Option<String> {
    while let Ok(Some(line)) = lines.next_line().await {
        if line.starts_with(READY_PREFIX) {
            return Some(line);
        }
    }
    None
}

/// The address a client dials for a listener on `addr` (loopback for an unspecified address).
fn client_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

/// Copies kube-sim's kubeconfigs of the owners (token and client-certificate variants, when the fixture has
/// them) into the state dir, pointed at the proxy and trusting its certificate. Returns the files written with
/// what they are.
fn write_owner_kubeconfigs(
    sim: &KubeSim,
    state_dir: &Path,
    proxy_url: &str,
    proxy_ca_pem: &str,
) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut written = Vec::new();
    for owner in OWNERS {
        for (file, what) in [
            (owner.to_owned(), format!("{owner}, bearer token")),
            (format!("{owner}-cert"), format!("{owner}, client certificate")),
        ] {
            let source_path = sim.kubeconfig(&file);
            let Ok(source) = std::fs::read_to_string(&source_path) else {
                continue;
            };
            let kubeconfig = point_at_proxy(&source, proxy_url, proxy_ca_pem)
                .with_context(|| format!("rewriting {}", source_path.display()))?;
            let path = state_dir.join(format!("{file}.kubeconfig"));
            write_private(&path, &kubeconfig)?;
            written.push((path, what));
        }
    }
    Ok(written)
}

/// `source` (a kubeconfig) with its cluster's server set to `proxy_url` and its CA to `proxy_ca_pem`.
fn point_at_proxy(source: &str, proxy_url: &str, proxy_ca_pem: &str) -> anyhow::Result<String> {
    let mut config: serde_yaml::Value = serde_yaml::from_str(source)?;
    let cluster = config
        .get_mut("clusters")
        .and_then(|clusters| clusters.get_mut(0))
        .and_then(|entry| entry.get_mut("cluster"))
        .and_then(serde_yaml::Value::as_mapping_mut)
        .context("the kubeconfig has no cluster")?;
    cluster.insert("server".into(), proxy_url.into());
    cluster.insert(
        "certificate-authority-data".into(),
        STANDARD.encode(proxy_ca_pem).into(),
    );
    Ok(serde_yaml::to_string(&config)?)
}

fn print_summary(args: &DemoArgs, sim: &KubeSim, proxy_url: &str, kubeconfigs: &[(PathBuf, String)]) {
    let state_dir = args.state_dir.display();
    println!();
    println!("capsule-proxy demo is running");
    println!(
        "  kube-sim       {}  (admin: {})",
        sim.url(),
        sim.kubeconfig("admin").display()
    );
    println!("  capsule-proxy  {proxy_url}  (log: {state_dir}/proxy.log)");
    println!();
    println!("Kubeconfigs that talk to the proxy:");
    let width = kubeconfigs
        .iter()
        .map(|(path, _)| path.display().to_string().len())
        .max()
        .unwrap_or(0);
    for (path, what) in kubeconfigs {
        println!("  {:<width$}  {what}", path.display().to_string());
    }
    if args.fixture.is_none() {
        println!();
        println!("alice owns tenant oil (oil-dev, oil-prod), bob owns tenant gas. Try:");
    } else {
        println!();
        println!("Try:");
    }
    for owner in OWNERS {
        let kubeconfig = args.state_dir.join(format!("{owner}.kubeconfig"));
        if !kubeconfigs.iter().any(|(path, _)| *path == kubeconfig) {
            continue;
        }
        for command in [
            "get namespaces",
            "get nodes",
            "get storageclasses",
            "auth can-i list namespaces",
        ] {
            println!("  kubectl --kubeconfig {} {command}", kubeconfig.display());
        }
    }
    println!();
    println!("Ctrl-C stops the proxy and kube-sim.");
}

/// Waits for Ctrl-C or SIGTERM; an error when the proxy exits first.
async fn wait_for_stop(proxy: &mut Child) -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.context("listening for Ctrl-C"),
        _ = terminate.recv() => Ok(()),
        status = proxy.wait() => {
            let status = status.context("waiting for the proxy")?;
            bail!("the proxy exited ({status}); see its log")
        }
    }
}

/// Writes `contents` to `path`, readable by the owner only (kubeconfigs and keys hold credentials).
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The last `count` lines of the file at `path` (empty when unreadable).
fn log_tail(path: &Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfigs_are_pointed_at_the_proxy() {
        let source = "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: \
                      https://127.0.0.1:6443\n    certificate-authority-data: b2xk\nusers:\n- name: alice\n  \
                      user:\n    token: alice-token\n";
        let rewritten = point_at_proxy(source, "https://127.0.0.1:9001", "PEM").unwrap();
        let config: serde_yaml::Value = serde_yaml::from_str(&rewritten).unwrap();
        let cluster = &config["clusters"][0]["cluster"];
        assert_eq!(cluster["server"], "https://127.0.0.1:9001");
        assert_eq!(cluster["certificate-authority-data"], STANDARD.encode("PEM"));
        assert_eq!(config["users"][0]["user"]["token"], "alice-token");
        assert!(point_at_proxy("kind: Config\n", "https://x", "PEM").is_err());
    }

    #[test]
    fn unspecified_listeners_are_dialled_on_loopback() {
        let any: SocketAddr = "0.0.0.0:9001".parse().unwrap();
        assert_eq!(client_addr(any), "127.0.0.1:9001".parse().unwrap());
        let any6: SocketAddr = "[::]:9001".parse().unwrap();
        assert_eq!(client_addr(any6), "[::1]:9001".parse().unwrap());
        let specific: SocketAddr = "10.1.2.3:9001".parse().unwrap();
        assert_eq!(client_addr(specific), specific);
    }

    #[test]
    fn the_built_in_fixture_has_the_owners_and_the_proxy() {
        let fixture = Fixture::parse(DEMO_FIXTURE).unwrap();
        for name in OWNERS.iter().chain([&PROXY_IDENTITY]) {
            assert!(fixture.identities.iter().any(|i| i.name == *name), "{name}");
        }
    }
}
