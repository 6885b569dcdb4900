//! `kube-sim`: runs the simulated kube-apiserver from the command line.
//!
//! ```text
//! kube-sim serve --fixture kube-sim/fixtures/demo.yaml --addr 127.0.0.1:6443 --state-dir target/kube-sim [--plain-http]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
    } = command;
    let fixture = Fixture::load(&fixture)?;
    let mut config = SimConfig::new(fixture, state_dir);
    config.addr = addr;
    config.plain_http = plain_http;
    let mut sim = KubeSim::start(config).await?;
    println!("kube-sim ready on {}", sim.url());
    println!("kubeconfigs in {}", sim.state_dir().display());
    wait_for_signal().await?;
    sim.stop().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
