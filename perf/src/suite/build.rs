//! Building what the suite runs: the release binaries of the workspace, and the Go baseline into the scratch
//! directory (its Go caches there too).

use super::process::output;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (this crate's parent directory).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The release directory of the workspace's target directory (`CARGO_TARGET_DIR` honoured).
pub(crate) fn release_dir() -> PathBuf {
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let target = if target.is_relative() {
        root.join(target)
    } else {
        target
    };
    target.join("release")
}

/// `cargo build --release -p capsule-proxy -p kube-sim -p perf`, its output on this terminal.
pub(crate) fn cargo_build() -> Result<()> {
    eprintln!("==> cargo build --release -p capsule-proxy -p kube-sim -p perf");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--release",
            "-p",
            "capsule-proxy",
            "-p",
            "kube-sim",
            "-p",
            "perf",
        ])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed ({status})");
    }
    Ok(())
}

/// A release binary of the workspace, which must exist.
pub(crate) fn release_binary(name: &str) -> Result<PathBuf> {
    let path = release_dir().join(name);
    if !path.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release` (or drop --no-build)",
            path.display()
        );
    }
    Ok(path)
}

/// `go build` of `perf/baselines/reverseproxy` into `scratch/reverseproxy`, with GOCACHE and GOPATH in `scratch`.
pub(crate) fn go_baseline(scratch: &Path) -> Result<PathBuf> {
    let source = workspace_root().join("perf/baselines/reverseproxy");
    if !source.join("main.go").is_file() {
        bail!("the Go baseline is missing: {}", source.display());
    }
    let binary = scratch.join("reverseproxy");
    eprintln!("==> go build perf/baselines/reverseproxy");
    let mut command = Command::new("go");
    command
        .current_dir(&source)
        .env("GOCACHE", scratch.join("go-cache"))
        .env("GOPATH", scratch.join("go-path"))
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "0")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".");
    output(command).context("building the Go baseline")?;
    Ok(binary)
}
