//! The command line: `perf all [options]`, `perf tools`, `perf list`.

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// capsule-proxy's performance suite: every contender in front of the same kube-sim, one report.
#[derive(Parser, Debug)]
#[command(name = "perf", version)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Install what is missing, build, run every scenario through every contender, write the report.
    All(AllArgs),
    /// Check the outside tools (wrk, nginx, haproxy, go, openssl, curl), installing the missing ones.
    Tools {
        /// Only check; fail when one is missing.
        #[arg(long)]
        no_install: bool,
    },
    /// List the scenarios and the contenders.
    List,
}

/// Options of `all`.
#[derive(Args, Debug, Clone)]
pub(crate) struct AllArgs {
    /// A smoke run: 1 round of 1 s each, 500 watches, a small exec.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Rounds of the headline scenarios (small-get-c16, list-10k-tls); the others run once. Default 3.
    #[arg(long)]
    pub(crate) rounds: Option<u32>,
    /// Length of each load run (`5s`, `1500ms`, `1m`). Default 5s.
    #[arg(long, value_parser = parse_duration)]
    pub(crate) duration: Option<Duration>,
    /// Data-plane cores of every proxy (nginx workers, HAProxy threads, GOMAXPROCS).
    #[arg(long, default_value_t = 2)]
    pub(crate) cores: usize,
    /// wrk threads (default: half the machine's cores, at least 1).
    #[arg(long)]
    pub(crate) wrk_threads: Option<usize>,
    /// Only these scenarios (comma-separated names; see `perf list`).
    #[arg(long, value_delimiter = ',')]
    pub(crate) scenarios: Vec<String>,
    /// Only these contenders (comma-separated: ours, ours-before, ours-epoll, nginx, haproxy, go, direct).
    #[arg(long, value_delimiter = ',')]
    pub(crate) contenders: Vec<String>,
    /// Watches held in idle-watches and watch-events (default 10000; 500 with --quick).
    #[arg(long)]
    pub(crate) watches: Option<usize>,
    /// Where the report goes (default: perf/results of the workspace).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Only check the tools; fail when one is missing.
    #[arg(long)]
    pub(crate) no_install: bool,
    /// Use the release binaries as they are.
    #[arg(long)]
    pub(crate) no_build: bool,
    /// Another capsule-proxy binary (the previous release, a build before a change), measured beside ours as the
    /// contender `ours-before`: before and after in one run, on the same machine state.
    #[arg(long)]
    pub(crate) before_binary: Option<PathBuf>,
    /// Keep the scratch directory (configurations, logs, certificates).
    #[arg(long)]
    pub(crate) keep: bool,
}

impl AllArgs {
    /// Rounds of a headline scenario.
    pub(crate) fn headline_rounds(&self) -> u32 {
        if self.quick {
            1
        } else {
            self.rounds.unwrap_or(3).max(1)
        }
    }

    /// Length of each run.
    pub(crate) fn run_length(&self) -> Duration {
        self.duration
            .unwrap_or_else(|| Duration::from_secs(if self.quick { 1 } else { 5 }))
    }

    /// Watches to hold.
    pub(crate) fn watch_count(&self) -> usize {
        self.watches.unwrap_or(if self.quick { 500 } else { 10_000 })
    }

    /// The longest wait for a quiet machine before the first round.
    pub(crate) fn first_gate_wait(&self) -> Duration {
        Duration::from_secs(if self.quick { 10 } else { 120 })
    }

    /// The longest wait for a quiet machine before each later round.
    pub(crate) fn round_gate_wait(&self) -> Duration {
        Duration::from_secs(if self.quick { 4 } else { 30 })
    }

    /// MiB streamed through exec.
    pub(crate) fn exec_mib(&self) -> u64 {
        if self.quick { 8 } else { 64 }
    }
}

/// Parses `5s`, `1500ms`, `2m` or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let Ok(value) = number.parse::<f64>() else {
        bail!("not a duration: {text:?} (say 5s, 1500ms or 1m)");
    };
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        _ => bail!("unknown unit in {text:?} (ms, s or m)"),
    };
    if !(seconds > 0.0 && seconds.is_finite()) {
        bail!("a duration must be positive: {text:?}");
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1500ms").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn the_command_line_parses() {
        let cli = Cli::try_parse_from([
            "perf",
            "all",
            "--quick",
            "--scenarios",
            "small-get-c1,exec",
            "--contenders",
            "ours,nginx",
            "--cores",
            "8",
        ])
        .unwrap();
        let Command::All(args) = cli.command else {
            panic!("not all")
        };
        assert!(args.quick);
        assert_eq!(args.scenarios, ["small-get-c1", "exec"]);
        assert_eq!(args.contenders, ["ours", "nginx"]);
        assert_eq!(args.cores, 8);
        assert_eq!(args.headline_rounds(), 1);
        assert_eq!(args.watch_count(), 500);
    }
}
