//! The contenders: what a client talks to in a scenario. Every proxy sits in front of the same kube-sim with the
//! same serving certificate and the same number of cores; `direct` is the client talking to kube-sim itself.

pub(crate) mod haproxy;
pub(crate) mod nginx;

use super::certs::ServingCert;
use super::kube_sim::KubeSim;
use super::process::{Proc, output};
use super::procfs;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Every contender's name, in the order they start and run.
pub(crate) const NAMES: [&str; 7] = [
    "direct",
    "ours",
    "ours-before",
    "ours-epoll",
    "nginx",
    "haproxy",
    "go",
];

/// One running contender.
pub(crate) struct Contender {
    /// `ours`, `ours-epoll`, `nginx`, `haproxy`, `go` or `direct`.
    pub(crate) name: String,
    /// `https://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// The CA a client trusts to talk to it.
    pub(crate) ca: PathBuf,
    /// What it is, for the report (version, cores, driver).
    pub(crate) description: String,
    proc: Option<Proc>,
}

impl Contender {
    /// Every pid whose CPU counts as the contender's (the main process and its workers); empty for `direct`.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.proc
            .as_ref()
            .map_or_else(Vec::new, |p| procfs::tree(p.pid()))
    }

    /// Whether it is a proxy (not `direct`).
    pub(crate) fn is_proxy(&self) -> bool {
        self.proc.is_some()
    }

    /// Fails when its process has exited.
    pub(crate) fn check_alive(&mut self) -> Result<()> {
        self.proc.as_mut().map_or(Ok(()), Proc::check_alive)
    }

    /// Stops it.
    pub(crate) fn stop(self) {
        if let Some(proc) = self.proc {
            proc.stop();
        }
    }
}

/// What starting a contender needs.
pub(crate) struct Setup<'a> {
    /// Cores each proxy may use.
    pub(crate) cores: usize,
    /// The serving certificate.
    pub(crate) cert: &'a ServingCert,
    /// The upstream.
    pub(crate) sim: &'a KubeSim,
    /// Scratch directory for configuration files.
    pub(crate) scratch: &'a Path,
    /// Where logs go.
    pub(crate) logs: &'a Path,
    /// `target/release/capsule-proxy`.
    pub(crate) proxy_binary: &'a Path,
    /// The capsule-proxy binary of `ours-before` (`--before-binary`), when given.
    pub(crate) before_binary: Option<&'a Path>,
    /// The open-file limit the proxies inherit.
    pub(crate) nofile: u64,
    /// The Go baseline, when built.
    pub(crate) go_binary: Option<&'a Path>,
}

/// Starts the contender `name` and waits until it accepts connections.
pub(crate) fn start(name: &str, setup: &Setup<'_>) -> Result<Contender> {
    match name {
        "direct" => Ok(Contender {
            name: name.into(),
            url: setup.sim.url.clone(),
            ca: setup.sim.ca.clone(),
            description: format!("the client talks to kube-sim at {}", setup.sim.url),
            proc: None,
        }),
        "ours" => start_ours(name, setup, setup.proxy_binary, &[]),
        "ours-before" => match setup.before_binary {
            Some(binary) => start_ours(name, setup, binary, &[]),
            None => bail!("ours-before needs --before-binary"),
        },
        "ours-epoll" => start_ours(name, setup, setup.proxy_binary, &["--io-driver=legacy"]),
        "nginx" => start_nginx(setup),
        "haproxy" => start_haproxy(setup),
        "go" => start_go(setup),
        other => bail!("unknown contender {other}"),
    }
}

fn proxied(name: &str, proc: Proc, port: u16, setup: &Setup<'_>, description: String) -> Contender {
    Contender {
        name: name.into(),
        url: format!("https://127.0.0.1:{port}"),
        ca: setup.cert.ca.clone(),
        description,
        proc: Some(proc),
    }
}

fn start_ours(name: &str, setup: &Setup<'_>, binary: &Path, extra: &[&str]) -> Result<Contender> {
    let mut command = Command::new(binary);
    command
        .env("NAMESPACE", "capsule-system")
        .env("RUST_LOG", "warn")
        .args(["--listening-address=127.0.0.1", "--listening-port=0"])
        .args(["--health-probe-addr=127.0.0.1:0", "--metrics-addr=127.0.0.1:0"])
        .arg(format!("--cores={}", setup.cores))
        .arg("--kubeconfig")
        .arg(setup.sim.state_dir.join("capsule-proxy.kubeconfig"))
        .arg("--ssl-cert-path")
        .arg(&setup.cert.cert)
        .arg("--ssl-key-path")
        .arg(&setup.cert.key)
        .args(extra);
    let mut proc = Proc::spawn(name, command, setup.logs)?;
    let line = proc.wait_for_line("capsule-proxy ready on", Duration::from_secs(60))?;
    let port = port_after(&line, "ready on https://")
        .with_context(|| format!("no address in capsule-proxy's line: {line}"))?;
    let description = line
        .split_once("ready on ")
        .map_or_else(|| line.clone(), |(_, rest)| rest.to_owned());
    Ok(proxied(
        name,
        proc,
        port,
        setup,
        format!("capsule-proxy {description}"),
    ))
}

/// The port of the first `host:port` after `marker` in `line`.
pub(crate) fn port_after(line: &str, marker: &str) -> Option<u16> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let addr: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '/' && *c != ')')
        .collect();
    addr.rsplit(':').next()?.parse().ok()
}

/// A TCP port on 127.0.0.1 with nothing listening, for the proxies that cannot report an ephemeral one.
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Polls until `port` accepts a connection, failing if the process exits first.
fn wait_for_port(proc: &mut Proc, port: u16, workers: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        proc.check_alive()?;
        let ready = procfs::tree(proc.pid()).len() > workers.min(1)
            && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{} does not accept connections on port {port}", proc.name);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// kube-sim's `host:port`.
fn sim_hostport(setup: &Setup<'_>) -> String {
    setup
        .sim
        .url
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned()
}

fn start_nginx(setup: &Setup<'_>) -> Result<Contender> {
    let binary = super::tools::find("nginx").context("nginx is not installed")?;
    let prefix = setup.scratch.join("nginx");
    std::fs::create_dir_all(prefix.join("tmp"))?;
    let port = free_port()?;
    let conf = prefix.join("nginx.conf");
    let error_log = setup.logs.join("nginx-error.log");
    let upstream = sim_hostport(setup);
    let text = nginx::config(&nginx::NginxConfig {
        workers: setup.cores,
        port,
        upstream: &upstream,
        upstream_ca: &setup.sim.ca,
        upstream_name: "localhost",
        cert: &setup.cert.cert,
        key: &setup.cert.key,
        prefix: &prefix,
        error_log: &error_log,
        nofile: setup.nofile,
        as_root: rustix::process::geteuid().is_root(),
    });
    std::fs::write(&conf, text)?;
    std::fs::copy(&conf, setup.logs.join("nginx.conf"))?;
    let args = |command: &mut Command| {
        command
            .arg("-p")
            .arg(&prefix)
            .arg("-e")
            .arg(&error_log)
            .arg("-c")
            .arg(&conf);
    };
    let mut test = Command::new(&binary);
    test.args(["-t", "-q"]);
    args(&mut test);
    output(test).context("nginx rejected its configuration")?;
    let mut command = Command::new(&binary);
    args(&mut command);
    let mut proc = Proc::spawn("nginx", command, setup.logs)?;
    wait_for_port(&mut proc, port, setup.cores)?;
    let version = super::tools::version(super::tools::NGINX, &binary);
    let description = format!("{version}, {} workers, 127.0.0.1:{port}", setup.cores);
    Ok(proxied("nginx", proc, port, setup, description))
}

fn start_haproxy(setup: &Setup<'_>) -> Result<Contender> {
    let binary = super::tools::find("haproxy").context("haproxy is not installed")?;
    let dir = setup.scratch.join("haproxy");
    std::fs::create_dir_all(&dir)?;
    let pem = dir.join("haproxy.pem");
    let both = format!(
        "{}{}",
        std::fs::read_to_string(&setup.cert.cert)?,
        std::fs::read_to_string(&setup.cert.key)?
    );
    std::fs::write(&pem, both)?;
    let port = free_port()?;
    let conf = dir.join("haproxy.cfg");
    let upstream = sim_hostport(setup);
    std::fs::write(
        &conf,
        haproxy::config(&haproxy::HaproxyConfig {
            threads: setup.cores,
            port,
            upstream: &upstream,
            upstream_ca: &setup.sim.ca,
            nofile: setup.nofile,
            pem: &pem,
        }),
    )?;
    std::fs::copy(&conf, setup.logs.join("haproxy.cfg"))?;
    let mut test = Command::new(&binary);
    test.args(["-c", "-q", "-f"]).arg(&conf);
    output(test).context("haproxy rejected its configuration")?;
    let mut command = Command::new(&binary);
    command.args(["-W", "-db", "-f"]).arg(&conf);
    let mut proc = Proc::spawn("haproxy", command, setup.logs)?;
    wait_for_port(&mut proc, port, 1)?;
    let version = super::tools::version(super::tools::HAPROXY, &binary);
    let description = format!("{version}, {} threads, 127.0.0.1:{port}", setup.cores);
    Ok(proxied("haproxy", proc, port, setup, description))
}

fn start_go(setup: &Setup<'_>) -> Result<Contender> {
    let binary = setup.go_binary.context("the Go baseline was not built")?;
    let mut command = Command::new(binary);
    command
        .env("GOMAXPROCS", setup.cores.to_string())
        .args(["--listen", "127.0.0.1:0", "--cert"])
        .arg(&setup.cert.cert)
        .arg("--key")
        .arg(&setup.cert.key)
        .arg("--upstream")
        .arg(&setup.sim.url)
        .arg("--ca")
        .arg(&setup.sim.ca);
    let mut proc = Proc::spawn("go", command, setup.logs)?;
    let line = proc.wait_for_line("ready on", Duration::from_secs(30))?;
    let port = port_after(&line, "ready on ")
        .with_context(|| format!("no address in the Go baseline's line: {line}"))?;
    let description = format!(
        "Go net/http/httputil.ReverseProxy, GOMAXPROCS={}, 127.0.0.1:{port}",
        setup.cores
    );
    Ok(proxied("go", proc, port, setup, description))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_from_ready_lines() {
        assert_eq!(
            port_after(
                "capsule-proxy ready on https://127.0.0.1:41234 (2 cores, driver io_uring, upstream https://127.0.0.1:6443)",
                "ready on https://"
            ),
            Some(41234)
        );
        assert_eq!(port_after("ready on 127.0.0.1:9443", "ready on "), Some(9443));
        assert_eq!(port_after("ready on [::1]:9443", "ready on "), Some(9443));
        assert_eq!(port_after("nothing here", "ready on "), None);
    }
}
