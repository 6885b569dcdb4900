//! `kube-sim`: runs the simulated kube-apiserver from the command line.
//!
//! ```text
//! kube-sim serve --fixture kube-sim/fixtures/demo.yaml --addr 127.0.0.1:6443 --state-dir target/kube-sim \
//!     [--plain-http] [--perf-objects] [--chunk-bytes 4096]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kube_sim::fixture::Fixture;
use kube_sim::sim::{KubeSim, SimConfig};

#[derive(Parser)]
#[command(
    name = "kube-sim",
    version,
    about = "A simulated kube-apiserver for tests, demos and load tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API seeded from a fixture until interrupted.
    Serve {
        /// Fixture YAML (identities, objects, pod logs).
        #[arg(long)]
        fixture: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:6443")]
        addr: SocketAddr,
        /// Directory for ca.crt and one kubeconfig per identity.
        #[arg(long)]
        state_dir: PathBuf,
        /// Serve plain HTTP instead of HTTPS (for load tests).
        #[arg(long)]
        plain_http: bool,
        /// Close connections idle this long between requests (`500ms`, `30s`, `5m`).
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        idle_timeout: Duration,
        /// Also serve the perf suite's objects: namespaces perf-1k, perf-10k, perf-1m and perf-20m (ConfigMap
        /// lists of that many bytes), perf-watch (ConfigMap tick), and tenant fan of owner erin with 100
        /// namespaces fan-000…fan-099 of 5 pods each.
        #[arg(long)]
        perf_objects: bool,
        /// Largest chunk of a chunked JSON answer, in bytes: answers over 2 KiB go out chunked, as
        /// kube-apiserver's do. 0 sends every answer with a Content-Length.
        #[arg(long, default_value_t = kube_sim::chunked::DEFAULT_CHUNK_BYTES)]
        chunk_bytes: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kube-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kube-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let Command::Serve {
        fixture,
        addr,
        state_dir,
        plain_http,
        idle_timeout,
        perf_objects,
        chunk_bytes,
    } = command;
    let mut fixture = Fixture::load(&fixture)?;
    if perf_objects {
        fixture.merge(kube_sim::perf_objects::fixture())?;
    }
    let mut config = SimConfig::new(fixture, state_dir);
    config.addr = addr;
    config.plain_http = plain_http;
    config.options.idle_timeout = idle_timeout;
    config.options.chunk_bytes = chunk_bytes;
    let mut sim = KubeSim::start(config).await?;
    println!("kube-sim ready on {}", sim.url());
    println!("kubeconfigs in {}", sim.state_dir().display());
    wait_for_signal().await?;
    sim.stop().await;
    Ok(())
}

/// `<number><unit>` with unit `ms`, `s` or `m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit (ms, s, m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        _ => Err(format!("{text:?}: the unit must be ms, s or m")),
    }
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
