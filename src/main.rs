//! # capsule-proxy
//!
//! The binary users deploy in front of kube-apiserver. Its command line keeps the Go capsule-proxy's flags, env
//! vars and ports; `main` only parses arguments, loads the cluster access, starts the data-plane cores and the
//! control thread (whose snapshots it forwards to the cores), and waits.

use std::process::ExitCode;

use anyhow::Context;
use capsule_proxy::cli::Args;
use capsule_proxy::{config, kubeconfig};
use capsule_proxy_control::Control;
use capsule_proxy_dataplane::{CoreUpdate, Dataplane};
use clap::Parser;

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("capsule-proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    args.validate()?;
    for warning in args.warnings() {
        tracing::warn!("{warning}");
    }
    for flag in args.ignored_noop_flags() {
        tracing::warn!("{flag} is accepted for compatibility and has no effect");
    }
    let access = kubeconfig::load(args.kubeconfig.as_deref())?;
    let config = config::dataplane_config(args, &access)?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let dataplane = Dataplane::start(config).context("starting the data plane")?;
    let cores = dataplane.broadcast();
    let control = Control::start(
        config::cluster_connection(&access),
        config::control_options(args),
        move |snapshot| cores.send(&CoreUpdate::Snapshot(snapshot)),
    )
    .context("starting the control plane")?;
    if dataplane.driver_fallback() {
        tracing::warn!(
            "io_uring is unavailable (kernel setting or container seccomp profile): the cores run the epoll driver, \
             which costs more CPU per request; allow io_uring_* syscalls in the seccomp profile to use io_uring"
        );
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        cores = dataplane.cores(),
        driver = %dataplane.driver(),
        upstream = %access.server,
        source = %access.source,
        "capsule-proxy started"
    );
    let probes = control
        .probe_addr()
        .map(|addr| format!(", probes http://{addr}"))
        .unwrap_or_default();
    println!(
        "capsule-proxy ready on {scheme}://{} ({} cores, driver {}, upstream {}{probes})",
        dataplane.local_addr(),
        dataplane.cores(),
        dataplane.driver(),
        access.server
    );
    dataplane.wait();
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}
