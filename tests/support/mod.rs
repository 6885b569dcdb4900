//! Shared harness of the end-to-end tests: a kube-sim seeded with the demo fixture, and the real `kubectl`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // test harness: each test file uses its own part; panics are failure reports

pub mod capsule;
pub mod chart;
pub mod isolation;
pub mod metrics;
pub mod proxy;
pub mod raw;
pub mod recorder;
pub mod sockets;
pub mod wire;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use kube_sim::cluster::Options;
use kube_sim::{Fixture, KubeSim, SimConfig};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Deadline of one kubectl invocation.
pub const KUBECTL_DEADLINE: Duration = Duration::from_secs(60);
/// Deadline for a streamed line to show up.
pub const LINE_DEADLINE: Duration = Duration::from_secs(30);

/// The demo fixture shipped with kube-sim.
pub fn demo_fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("kube-sim/fixtures/demo.yaml");
    Fixture::load(&path).expect("the demo fixture loads")
}

/// A kube-sim with the demo fixture, its state in a temporary directory.
pub struct Env {
    pub sim: KubeSim,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// A kube-sim with the demo fixture and these server tunables (e.g. a short idle timeout).
    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = SimConfig::new(demo_fixture(), dir.path().join("state"));
        config.options = options;
        let sim = KubeSim::start(config).await.expect("kube-sim starts");
        Self { sim, dir }
    }

    /// The kubeconfig of an identity (`alice`, `alice-cert`, …).
    pub fn kubeconfig(&self, identity: &str) -> PathBuf {
        self.sim.kubeconfig(identity)
    }

    /// A `kubectl` command for `identity`, with a private discovery cache.
    pub fn kubectl(&self, identity: &str) -> Command {
        kubectl_with(&self.kubeconfig(identity), &self.dir.path().join("kube-cache"))
    }

    /// Runs kubectl to completion within the deadline.
    pub async fn run(&self, identity: &str, args: &[&str]) -> Output {
        run(self.kubectl(identity).args(args)).await
    }

    /// Writes a file into the test's temporary directory.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }
}

/// The kubectl binary: `KUBECTL` or `kubectl` on the PATH.
pub fn kubectl_binary() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".to_string())
}

/// A kubectl command with a kubeconfig and a cache dir.
pub fn kubectl_with(kubeconfig: &Path, cache_dir: &Path) -> Command {
    let mut cmd = Command::new(kubectl_binary());
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache_dir)
        .arg("--request-timeout=30s")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs a command with the kubectl deadline.
pub async fn run(cmd: &mut Command) -> Output {
    tokio::time::timeout(KUBECTL_DEADLINE, cmd.output())
        .await
        .expect("kubectl finished before its deadline")
        .expect("kubectl is installed (apt-get install kubernetes-client) and runs")
}

/// Stdout of a successful run; panics with stderr otherwise.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "kubectl failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr of a failed run; panics if it succeeded.
pub fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "kubectl unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Sorted non-empty lines.
pub fn lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// A running kubectl whose stdout is read line by line (`get -w`, `logs -f`).
pub struct Streaming {
    pub child: Child,
    pub stdout: Lines<BufReader<ChildStdout>>,
}

impl Streaming {
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("kubectl spawns");
        let stdout = child.stdout.take().expect("piped stdout");
        Self {
            child,
            stdout: BufReader::new(stdout).lines(),
        }
    }

    /// The next line, within the line deadline.
    pub async fn next_line(&mut self) -> Option<String> {
        tokio::time::timeout(LINE_DEADLINE, self.stdout.next_line())
            .await
            .expect("a line arrived before the deadline")
            .expect("reading kubectl output")
    }

    /// Reads lines until one satisfies `pred`; returns it.
    pub async fn until(&mut self, pred: impl Fn(&str) -> bool) -> String {
        loop {
            match self.next_line().await {
                Some(line) if pred(&line) => return line,
                Some(_) => {}
                None => panic!("kubectl output ended before the expected line"),
            }
        }
    }
}
