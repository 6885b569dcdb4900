//! kube-sim, the one upstream every contender sits in front of: TLS (its default, as every real cluster), the
//! demo fixture plus the perf objects (`--perf-objects`: big lists, a watched ConfigMap, the 100-namespace tenant).

use super::build::workspace_root;
use super::process::Proc;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The running kube-sim.
pub(crate) struct KubeSim {
    /// The process.
    pub(crate) proc: Proc,
    /// `https://127.0.0.1:PORT`.
    pub(crate) url: String,
    /// Where it wrote `ca.crt` and the kubeconfigs.
    pub(crate) state_dir: PathBuf,
    /// The CA of its serving certificate (and of the client certificates it issued).
    pub(crate) ca: PathBuf,
    /// Whether it serves the perf objects (an older kube-sim does not know `--perf-objects`).
    pub(crate) perf_objects: bool,
}

/// Whether `kube-sim serve --help` lists `flag`.
fn supports(binary: &Path, flag: &str) -> bool {
    Command::new(binary)
        .args(["serve", "--help"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(flag))
}

/// Starts kube-sim from `binary` with its state in `scratch/sim` and its logs in `logs`.
pub(crate) fn start(binary: &Path, scratch: &Path, logs: &Path) -> Result<KubeSim> {
    let state_dir = scratch.join("sim");
    std::fs::create_dir_all(&state_dir)?;
    let perf_objects = supports(binary, "--perf-objects");
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .arg("--fixture")
        .arg(workspace_root().join("kube-sim/fixtures/demo.yaml"))
        .args(["--addr", "127.0.0.1:0", "--idle-timeout", "10m", "--state-dir"])
        .arg(&state_dir);
    if perf_objects {
        command.arg("--perf-objects");
    }
    let mut proc = Proc::spawn("kube-sim", command, logs)?;
    let line = proc.wait_for_line("kube-sim ready on", Duration::from_secs(120))?;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .with_context(|| format!("no https URL in kube-sim's line: {line}"))?
        .to_owned();
    Ok(KubeSim {
        proc,
        url,
        ca: state_dir.join("ca.crt"),
        state_dir,
        perf_objects,
    })
}
