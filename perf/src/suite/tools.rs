//! The outside tools the suite drives: found on the `PATH` (or `/usr/sbin`), their versions printed, and the
//! missing ones installed with `apt-get` when this process may.

use super::process::output;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One outside tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tool {
    /// Its command name.
    pub(crate) name: &'static str,
    /// Debian packages that provide it, tried in order.
    packages: &'static [&'static str],
    /// Arguments that print its version.
    version_args: &'static [&'static str],
}

/// wrk: keep-alive GET load.
pub(crate) const WRK: Tool = Tool {
    name: "wrk",
    packages: &["wrk"],
    version_args: &["-v"],
};
/// nginx: a contender.
pub(crate) const NGINX: Tool = Tool {
    name: "nginx",
    packages: &["nginx-light", "nginx"],
    version_args: &["-v"],
};
/// HAProxy: a contender.
pub(crate) const HAPROXY: Tool = Tool {
    name: "haproxy",
    packages: &["haproxy"],
    version_args: &["-v"],
};
/// Go: builds the Go baseline.
pub(crate) const GO: Tool = Tool {
    name: "go",
    packages: &["golang-go"],
    version_args: &["version"],
};
/// openssl: the serving certificate and the TLS check.
pub(crate) const OPENSSL: Tool = Tool {
    name: "openssl",
    packages: &["openssl"],
    version_args: &["version"],
};
/// curl: the 200 check.
pub(crate) const CURL: Tool = Tool {
    name: "curl",
    packages: &["curl"],
    version_args: &["--version"],
};

/// Every tool, in the order they are reported.
pub(crate) const ALL: [Tool; 6] = [WRK, NGINX, HAPROXY, GO, OPENSSL, CURL];

/// Where `name` is: on the `PATH`, else in the sbin directories Debian installs daemons to.
pub(crate) fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first line of what `tool` says its version is (some print it on stderr, wrk exits 1 doing so).
pub(crate) fn version(tool: Tool, path: &Path) -> String {
    let Ok(out) = Command::new(path).args(tool.version_args).output() else {
        return "unknown".into();
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    first_version_line(&text)
}

/// The first non-empty line of a version text, without a `nginx version: ` style prefix.
pub(crate) fn first_version_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unknown");
    let line = line.strip_prefix("nginx version: ").unwrap_or(line);
    // Build details and banners after the version say nothing the report needs.
    let end = [" Copyright", " (", " - http"]
        .iter()
        .filter_map(|cut| line.find(cut))
        .min()
        .unwrap_or(line.len());
    line[..end].to_owned()
}

/// Checks `needed`, installs the missing ones unless `no_install`, and returns (tool, version) pairs.
pub(crate) fn ensure(needed: &[Tool], no_install: bool) -> Result<Vec<(String, String)>> {
    let missing: Vec<Tool> = needed
        .iter()
        .copied()
        .filter(|t| find(t.name).is_none())
        .collect();
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|t| t.name).collect();
        let packages: Vec<&str> = missing.iter().map(|t| t.packages[0]).collect();
        let hint = format!("apt-get install -y {}", packages.join(" "));
        if no_install {
            bail!(
                "missing tools: {} (and --no-install was given); install them: {hint}",
                names.join(", ")
            );
        }
        install(&missing, &names, &hint)?;
    }
    let mut versions = Vec::new();
    for tool in needed {
        let Some(path) = find(tool.name) else {
            bail!("{} is still missing after installing it", tool.name);
        };
        let version = version(*tool, &path);
        eprintln!("  {:<8} {version} ({})", tool.name, path.display());
        versions.push((tool.name.to_owned(), version));
    }
    Ok(versions)
}

/// `apt-get install -y` the missing tools, as root or through `sudo -n`.
fn install(missing: &[Tool], names: &[&str], hint: &str) -> Result<()> {
    let root = rustix::process::geteuid().is_root();
    let sudo = !root
        && Command::new("sudo")
            .args(["-n", "true"])
            .output()
            .is_ok_and(|o| o.status.success());
    if find("apt-get").is_none() || !(root || sudo) {
        bail!(
            "missing tools: {}; install them as root: {hint}",
            names.join(", ")
        );
    }
    let apt = |args: &[&str]| -> Result<()> {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        command.env("DEBIAN_FRONTEND", "noninteractive").args(args);
        output(command).map(drop)
    };
    eprintln!("==> installing {} with apt-get", names.join(", "));
    apt(&["update", "-q"])?;
    for tool in missing {
        let mut installed = false;
        for package in tool.packages {
            if apt(&["install", "-y", "-q", package]).is_ok() && find(tool.name).is_some() {
                installed = true;
                break;
            }
        }
        if !installed {
            bail!(
                "could not install {} (tried {})",
                tool.name,
                tool.packages.join(", ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lines() {
        assert_eq!(
            first_version_line("\nnginx version: nginx/1.22.1\n"),
            "nginx/1.22.1"
        );
        assert_eq!(
            first_version_line("wrk 4.1.0 [epoll] Copyright (C) 2012 Will Glozer\nUsage: …"),
            "wrk 4.1.0 [epoll]"
        );
        assert_eq!(
            first_version_line("curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1"),
            "curl 7.88.1"
        );
        assert_eq!(
            first_version_line("HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/"),
            "HAProxy version 2.6.12-1+deb12u4 2026/10/17"
        );
        assert_eq!(first_version_line(""), "unknown");
    }
}
