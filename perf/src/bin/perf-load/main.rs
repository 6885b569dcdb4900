//! `perf-load`: the load generator of the performance suite for what `wrk` cannot drive — thousands of held
//! watches, a steady stream of updates, WebSocket exec sessions — and plain GETs measured the same way.
//!
//! Every subcommand prints its progress on stderr and exactly one JSON object on stdout when it ends (`watch`
//! also prints `{"ready":N,…}` first, once its watches are open); failures print one `perf-load: error: …`
//! line and exit with status 1. The suite runner (`perf -- all`) spawns it as its own process, so its CPU and
//! memory are measured apart from the proxy's.
//!
//! Every subcommand takes `--url https://HOST:PORT` (or `http://`), `--ca FILE`, `--token T` and/or
//! `--cert FILE --key FILE`, `--server-name NAME`, and the global `--threads N` (runtime workers, default 1):
//!
//! - `get --path P [--connections 16] [--duration 5s] [--warmup 0s] [--new-connection-per-request]` →
//!   `requests non_2xx errors seconds rps bytes connects p50_us p90_us p99_us p999_us max_us mean_us
//!   first_error` (`get.rs`).
//! - `watch --path P --count N [--hold 10s] [--until-stdin-closes] [--open-concurrency 256]
//!   [--open-timeout 60s]` → `{"ready","failed","open_seconds","rss_kib"}`, then `watches opened failed ended
//!   open_seconds initial_events events bytes seconds events_per_s latency_samples event_p50_us event_p99_us
//!   event_p999_us event_max_us rss_kib first_error` (`watch.rs`).
//! - `churn --path P [--rate 200] [--duration 10s]` → `updates non_2xx errors seconds rate p50_us p99_us
//!   p999_us max_us` (`churn.rs`).
//! - `exec --path P [--bytes 64MiB] [--message-bytes 32KiB] [--sessions 1] [--protocols …] [--timeout 60s]`
//!   → `bytes seconds mib_per_s sessions errors protocol first_error` (`exec.rs`).

mod churn;
mod conn;
mod events;
mod exec;
mod get;
mod histogram;
mod http1;
mod tls;
mod units;
mod watch;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use serde::Serialize;

/// Load generator for capsule-proxy's performance suite.
#[derive(Parser, Debug)]
#[command(name = "perf-load", version)]
struct Cli {
    /// Runtime worker threads.
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

/// The scenarios.
#[derive(Subcommand, Debug)]
enum Command {
    /// GET a path on N keep-alive connections (or a new connection per request) and report req/s and latency.
    Get(get::GetArgs),
    /// Open N watches, print {"ready":N} once they are all open, hold them and count events.
    Watch(watch::WatchArgs),
    /// Update one object at a steady rate with JSON merge patches carrying a timestamp.
    Churn(churn::ChurnArgs),
    /// Stream bytes through `cat` in WebSocket exec sessions and report the throughput.
    Exec(exec::ExecArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perf-load: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the runtime and runs the subcommand under its hard deadline.
fn run(cli: Cli) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Get(args) => {
                let deadline = args.deadline();
                print_json(&within(deadline, get::run(args)).await?)
            }
            Command::Watch(args) => {
                let deadline = args.deadline();
                print_json(&within(deadline, watch::run(args)).await?)
            }
            Command::Churn(args) => {
                let deadline = args.deadline();
                print_json(&within(deadline, churn::run(args)).await?)
            }
            Command::Exec(args) => {
                let deadline = args.deadline();
                print_json(&within(deadline, exec::run(args)).await?)
            }
        }
    })?;
    // Tasks still blocked (a stdin reader, connections being torn down) must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}

/// Runs `work`, failing if it takes longer than `deadline`.
async fn within<T>(deadline: Duration, work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(deadline, work)
        .await
        .with_context(|| format!("did not finish within its deadline of {deadline:?}"))?
}

/// Prints one JSON object as a line on stdout and flushes it.
pub(crate) fn print_json(value: &impl Serialize) -> Result<()> {
    let line = serde_json::to_string(value).context("serialising the report")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("writing to stdout")
}
