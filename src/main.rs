//! # capsule-proxy
//!
//! The binary users deploy in front of kube-apiserver. Its command line keeps the Go capsule-proxy's flags, env
//! vars and ports; `main` only parses arguments, loads the cluster access, starts the data-plane cores and the
//! control thread (whose snapshots and look-ups it hands to the cores), and waits. `capsule-proxy demo` runs
//! the proxy in front of kube-sim's demo cluster instead; `capsule-proxy crds` prints its CRDs.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use capsule_proxy::cli::{self, Args, Command, DemoArgs};
use capsule_proxy::signals::{self, SignalActions};
use capsule_proxy::{config, crds_command, kubeconfig, logging, metrics};
use capsule_proxy_control::Control;
use capsule_proxy_control::exec_credential;
use capsule_proxy_dataplane::{CoreUpdate, Dataplane};
use capsule_proxy_policy::ApiCredential;
use capsule_proxy_policy::review::Reviewer;
use clap::Parser;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = logging::init(&args) {
        eprintln!("capsule-proxy: {e}");
        return ExitCode::FAILURE;
    }
    let outcome = match &args.command {
        Some(Command::Demo(demo)) => run_demo(demo),
        Some(Command::Crds) => crds_command::print(&mut std::io::stdout().lock()).map_err(Into::into),
        None => run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("capsule-proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "demo")]
fn run_demo(args: &DemoArgs) -> anyhow::Result<()> {
    capsule_proxy::demo::run(args)
}

#[cfg(not(feature = "demo"))]
fn run_demo(_args: &DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("this capsule-proxy was built without the `demo` feature")
}

fn run(args: &Args) -> anyhow::Result<()> {
    args.validate()?;
    let metrics_addr = metrics::parse_metrics_addr(&args.metrics_addr)
        .map_err(|e| anyhow::anyhow!("--metrics-addr: {e}"))?;
    let namespace = cli::proxy_namespace(std::env::var("NAMESPACE").ok().as_deref())?;
    for warning in args.warnings() {
        tracing::warn!("{warning}");
    }
    for (gate, enabled) in args.gates()?.all() {
        tracing::info!(gate, enabled, "feature gate status");
    }
    for flag in args.ignored_noop_flags() {
        tracing::warn!("{flag} is accepted for compatibility and has no effect");
    }
    let mut access = kubeconfig::load(args.kubeconfig.as_deref())?;
    // An exec credential plugin gives the cores their first token now, and new ones before each expires.
    let exec_token = access
        .exec
        .as_ref()
        .map(|exec| exec_credential::run(exec, exec_credential::PLUGIN_TIMEOUT))
        .transpose()?;
    if let Some(token) = &exec_token {
        tracing::info!(expires = ?token.expires, "exec credential obtained");
        access.credential = ApiCredential::Token(token.token.clone());
    }
    let config = config::dataplane_config(args, &access)?;
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let dataplane = Dataplane::start(config).context("starting the data plane")?;
    let cores = dataplane.broadcast();
    let control = Arc::new(
        Control::start(
            config::cluster_connection(&access),
            config::control_options(args),
            move |snapshot| cores.send(&CoreUpdate::Snapshot(snapshot)),
        )
        .context("starting the control plane")?,
    );
    control
        .status()
        .set_readiness_stale_after(config::readiness_stale_after(args));
    if let (Some(exec), Some(token)) = (access.exec.clone(), exec_token) {
        let cores = dataplane.broadcast();
        control.refresh_exec_credential(exec, token, move |token| {
            cores.send(&CoreUpdate::UpstreamToken(token));
        });
    }
    let metrics = metrics_addr
        .map(|addr| metrics::serve(addr, dataplane.broadcast(), Arc::clone(&control)))
        .transpose()
        .context("serving metrics")?;
    if let Some(metrics) = &metrics {
        tracing::info!(addr = %metrics.local_addr(), "serving metrics");
    }
    let reviewer: Arc<dyn Reviewer> = control.reviewer();
    dataplane.broadcast().send(&CoreUpdate::Reviewer(reviewer));
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
        namespace,
        "capsule-proxy started"
    );
    let probes = control
        .probe_addr()
        .map(|addr| format!(", probes http://{addr}"))
        .unwrap_or_default();
    let metrics_note = metrics
        .as_ref()
        .map(|server| format!(", metrics http://{}", server.local_addr()))
        .unwrap_or_default();
    let cores = dataplane.broadcast();
    let reloader = dataplane.reloader();
    let grace = args.shutdown_grace_period;
    let status = Arc::clone(control.status());
    signals::spawn(SignalActions {
        shutdown: Box::new(move || {
            // Not ready first, so load balancers stop sending; then the cores drain.
            status.set_shutting_down();
            cores.shutdown(grace);
        }),
        reload: Box::new(move || reloader.reload()),
    })?;
    println!(
        "capsule-proxy ready on {scheme}://{} ({} cores, driver {}, upstream {}{probes}{metrics_note})",
        dataplane.local_addr(),
        dataplane.cores(),
        dataplane.driver(),
        access.server
    );
    dataplane.wait();
    tracing::info!("capsule-proxy stopped");
    Ok(())
}
