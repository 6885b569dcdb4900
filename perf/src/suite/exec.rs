//! exec: bytes streamed through `cat` in a WebSocket exec session through each contender (perf-load exec);
//! MiB/s and the proxy's CPU per MiB.

use super::contenders::Contender;
use super::load;
use super::measure;
use super::model::{Run, ScenarioResult, Unit};
use super::procfs;
use super::runner::Ctx;
use super::scenarios::{EXEC_PATH, Scenario};
use super::watches::failed;
use anyhow::Result;

/// Runs the exec scenario through every contender. `requests` counts bytes; the CPU columns are per MiB.
pub(crate) fn run(ctx: &Ctx<'_>, scenario: &Scenario, contenders: &mut [&mut Contender]) -> ScenarioResult {
    let mib = ctx.args.exec_mib();
    let runs = contenders
        .iter_mut()
        .map(|c| {
            super::quiet::wait(ctx.args.round_gate_wait(), false, 0.0);
            one(ctx, c, mib).unwrap_or_else(|e| {
                eprintln!("    exec                     {:<10} FAILED: {e:#}", c.name);
                failed(&c.name, &format!("failed: {e:#}"))
            })
        })
        .collect();
    ScenarioResult {
        name: scenario.name.clone(),
        description: format!("{mib} MiB {}; CPU columns are µs per MiB", scenario.description),
        unit: Unit::Bytes,
        runs,
    }
}

fn one(ctx: &Ctx<'_>, contender: &Contender, mib: u64) -> Result<Run> {
    let target = load::Target {
        binary: ctx.perf_load()?,
        url: &contender.url,
        ca: &contender.ca,
        credential: ctx.credential("admin")?,
    };
    let pids = contender.pids();
    let before = measure::sample(&pids, ctx.sim_pid);
    let result = load::exec(&target, EXEC_PATH, mib)?;
    let after = measure::sample(&pids, ctx.sim_pid);
    let cost = measure::cost(&before, &after, ctx.hz);
    let mibs = result.bytes as f64 / (1024.0 * 1024.0);
    let per_mib = |us: f64| if mibs > 0.0 { us / mibs } else { f64::NAN };
    eprintln!(
        "    exec                     {:<10} {:.1} MiB/s, proxy {:.0} µs/MiB, sim {:.0} µs/MiB",
        contender.name,
        result.mib_per_s,
        per_mib(cost.proxy_us),
        per_mib(cost.sim_us)
    );
    let is_proxy = contender.is_proxy();
    let mut run = failed(&contender.name, "");
    run.notes.clear();
    run.requests = result.bytes;
    run.seconds = result.seconds;
    run.errors = result.errors;
    run.proxy_cpu_us_per_req = is_proxy.then(|| per_mib(cost.proxy_us)).filter(|v| v.is_finite());
    run.upstream_cpu_us_per_req = Some(per_mib(cost.sim_us)).filter(|v| v.is_finite());
    run.proxy_rss_kib = is_proxy.then(|| procfs::rss_kib(&pids));
    run.extra = vec![("MiB/s".into(), format!("{:.1}", result.mib_per_s))];
    Ok(run)
}
