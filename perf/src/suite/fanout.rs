//! fan-out-100 (ours only): erin, owner of 100 namespaces, lists every pod (`GET /api/v1/pods`, the proxy asks
//! each namespace and merges the answers), against the admin's same list passed through as one request.

use super::contenders::Contender;
use super::model::ScenarioResult;
use super::model::Unit;
use super::runner::{Ctx, measured, per, print_run, summarize};
use super::scenarios::Scenario;
use super::wrk;

const PATH: &str = "/api/v1/pods";

/// Runs erin's list and the admin's through `ours`; the second run is named `ours-admin`.
pub(crate) fn run(ctx: &Ctx<'_>, scenario: &Scenario, ours: &mut Contender) -> ScenarioResult {
    let mut runs = Vec::new();
    let mut cpu = Vec::new();
    super::quiet::wait(ctx.args.round_gate_wait(), false, 0.0);
    for (who, name) in [("erin", "ours"), ("admin", "ours-admin")] {
        let result = ctx.token(who).and_then(|token| {
            measured(ctx, ours, || {
                wrk::run(&wrk::WrkRun {
                    url: format!("{}{PATH}", ours.url),
                    token,
                    connections: 4,
                    threads: ctx.wrk_threads,
                    duration: ctx.args.run_length(),
                    script: &ctx.script,
                })
            })
        });
        match result {
            Ok(m) => {
                print_run(&scenario.name, 0, name, &m);
                cpu.push(per(m.cost.proxy_us, m.outcome.requests));
                runs.push(summarize(name, true, &[m], Vec::new(), Unit::Requests));
            }
            Err(e) => {
                eprintln!("    fan-out-100              {name:<10} FAILED: {e:#}");
                runs.push(summarize(
                    name,
                    true,
                    &[],
                    vec![format!("failed: {e:#}")],
                    Unit::Requests,
                ));
            }
        }
    }
    if let ([erin, admin], Some(run)) = (cpu.as_slice(), runs.first_mut()) {
        run.extra
            .push(("× admin CPU".into(), format!("{:.1}", erin / admin)));
    }
    ScenarioResult {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        unit: Unit::Requests,
        runs,
    }
}
