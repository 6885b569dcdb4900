//! Running request scenarios: every contender in rotated order per round, the quiet-machine gate before each
//! round, CPU and RSS read around each run, medians per contender into the report's `Run`.

use super::contenders::Contender;
use super::load::{self, Credential, Outcome};
use super::measure::{self, Cost, median};
use super::model::{Percentiles, Run, ScenarioResult, Unit};
use super::options::AllArgs;
use super::procfs;
use super::quiet;
use super::scenarios::{Load, Scenario};
use super::wrk;
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// What every scenario run needs.
pub(crate) struct Ctx<'a> {
    /// The command line.
    pub(crate) args: &'a AllArgs,
    /// kube-sim's pid.
    pub(crate) sim_pid: u32,
    /// kube-sim's URL.
    pub(crate) sim_url: String,
    /// The CA of kube-sim's certificate.
    pub(crate) sim_ca: PathBuf,
    /// Clock ticks per second.
    pub(crate) hz: f64,
    /// wrk's `done` script.
    pub(crate) script: PathBuf,
    /// perf-load, when built.
    pub(crate) perf_load: Option<PathBuf>,
    /// Credentials by kube-sim identity (`alice`, `admin`, `erin`, `alice-cert`).
    pub(crate) credentials: HashMap<String, Credential>,
    /// wrk threads.
    pub(crate) wrk_threads: usize,
    /// The open-file limit everything started inherits.
    pub(crate) nofile: u64,
}

impl Ctx<'_> {
    /// The credential of `who`.
    pub(crate) fn credential(&self, who: &str) -> Result<&Credential> {
        self.credentials
            .get(who)
            .with_context(|| format!("no credential for {who} in kube-sim's state directory"))
    }

    /// The bearer token of `who`.
    pub(crate) fn token(&self, who: &str) -> Result<&str> {
        match self.credential(who)? {
            Credential::Token(token) => Ok(token),
            Credential::Cert(..) => bail!("{who} has a client certificate, not a token"),
        }
    }

    /// perf-load's path, or why it is missing.
    pub(crate) fn perf_load(&self) -> Result<&std::path::Path> {
        self.perf_load
            .as_deref()
            .context("perf-load is not built (target/release/perf-load)")
    }
}

/// One load run through one contender.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    /// What the load generator saw.
    pub(crate) outcome: Outcome,
    /// CPU around it.
    pub(crate) cost: Cost,
    /// The proxy's RSS after it, KiB.
    pub(crate) rss_kib: u64,
    /// Whether the machine was quiet before the round.
    pub(crate) quiet_before: bool,
}

/// Runs `load` against `contender` between two CPU samples.
pub(crate) fn measured(
    ctx: &Ctx<'_>,
    contender: &Contender,
    load: impl FnOnce() -> Result<Outcome>,
) -> Result<Measured> {
    let pids = contender.pids();
    let before = measure::sample(&pids, ctx.sim_pid);
    let outcome = load()?;
    let after = measure::sample(&pids, ctx.sim_pid);
    Ok(Measured {
        outcome,
        cost: measure::cost(&before, &after, ctx.hz),
        rss_kib: procfs::rss_kib(&pids),
        quiet_before: true,
    })
}

/// One keep-alive or new-connection GET run of a request scenario.
fn request_run(ctx: &Ctx<'_>, load: &Load, contender: &Contender, length: Duration) -> Result<Outcome> {
    match load {
        Load::Wrk {
            path,
            who,
            connections,
        } => wrk::run(&wrk::WrkRun {
            url: format!("{}{path}", contender.url),
            token: ctx.token(who)?,
            connections: *connections,
            threads: ctx.wrk_threads,
            duration: length,
            script: &ctx.script,
        }),
        Load::Get {
            path,
            who,
            connections,
            new_connection,
        } => {
            let target = load::Target {
                binary: ctx.perf_load()?,
                url: &contender.url,
                ca: &contender.ca,
                credential: ctx.credential(who)?,
            };
            load::get(&target, path, *connections, length, *new_connection)
        }
        other => bail!("{other:?} is not a request scenario"),
    }
}

/// Runs a request scenario (wrk or perf-load get) through `contenders`: rounds, rotated order, medians.
pub(crate) fn request_scenario(
    ctx: &Ctx<'_>,
    scenario: &Scenario,
    contenders: &mut [&mut Contender],
) -> ScenarioResult {
    let rounds = if scenario.headline {
        ctx.args.headline_rounds()
    } else {
        1
    };
    let length = ctx.args.run_length();
    let n = contenders.len();
    let mut results: Vec<Vec<Measured>> = vec![Vec::new(); n];
    let mut failures: Vec<Vec<String>> = vec![Vec::new(); n];
    if !ctx.args.quick {
        for contender in contenders.iter() {
            let _ = request_run(ctx, &scenario.load, contender, Duration::from_secs(1));
        }
    }
    for round in 0..rounds as usize {
        let gate = quiet::wait(ctx.args.round_gate_wait(), false, 0.0);
        for k in 0..n {
            let i = (k + round) % n;
            let contender = &mut *contenders[i];
            let run = measured(ctx, contender, || {
                request_run(ctx, &scenario.load, contender, length)
            });
            match run {
                Ok(mut m) => {
                    m.quiet_before = gate.quiet;
                    print_run(&scenario.name, round, &contender.name, &m);
                    results[i].push(m);
                }
                Err(e) => {
                    let alive = contender
                        .check_alive()
                        .err()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default();
                    eprintln!(
                        "    {:<24} {:<10} FAILED: {e:#}{alive}",
                        scenario.name, contender.name
                    );
                    failures[i].push(format!("round {}: failed: {e:#}{alive}", round + 1));
                }
            }
        }
    }
    let runs = contenders
        .iter()
        .zip(results.iter().zip(failures))
        .map(|(c, (ms, fails))| summarize(&c.name, c.is_proxy(), ms, fails, Unit::Requests))
        .collect();
    ScenarioResult {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        unit: Unit::Requests,
        runs,
    }
}

/// One progress line on stderr.
pub(crate) fn print_run(scenario: &str, round: usize, contender: &str, m: &Measured) {
    let o = &m.outcome;
    eprintln!(
        "    {scenario:<24} r{} {contender:<10} {:>9.0} req/s  p99 {:>8.2} ms  proxy {:>8} µs/req  sim {:>8.1} µs/req  \
         other {:>4.1} %{}",
        round + 1,
        o.requests as f64 / o.seconds.max(1e-9),
        o.latency.map_or(f64::NAN, |l| l.p99_us / 1000.0),
        if contender == "direct" {
            "-".to_owned()
        } else {
            format!("{:.1}", per(m.cost.proxy_us, o.requests))
        },
        per(m.cost.sim_us, o.requests),
        m.cost.other_pct,
        if o.errors > 0 {
            format!("  {} errors", o.errors)
        } else {
            String::new()
        }
    );
}

/// `total / count`, NaN when nothing was counted.
pub(crate) fn per(total: f64, count: u64) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        total / count as f64
    }
}

/// Whether a run was disturbed: the machine was busy before its round, or something else used it during the run.
pub(crate) fn disturbed(m: &Measured) -> bool {
    !m.quiet_before || m.cost.other_pct > quiet::OTHER_MAX_PCT
}

/// A contender's runs of one scenario as one `Run`: medians over its rounds.
pub(crate) fn summarize(
    contender: &str,
    is_proxy: bool,
    ms: &[Measured],
    failures: Vec<String>,
    unit: Unit,
) -> Run {
    let med = |f: &dyn Fn(&Measured) -> f64| median(&ms.iter().map(f).collect::<Vec<_>>());
    let mut notes = failures;
    let disturbed_rounds: Vec<String> = ms
        .iter()
        .enumerate()
        .filter(|(_, m)| disturbed(m))
        .map(|(i, m)| format!("{} ({:.0} % other)", i + 1, m.cost.other_pct))
        .collect();
    if !disturbed_rounds.is_empty() {
        notes.push(format!("DISTURBED rounds: {}", disturbed_rounds.join(", ")));
    }
    if ms.len() > 1 && is_proxy {
        let each: Vec<String> = ms
            .iter()
            .map(|m| format!("{:.1}", per(m.cost.proxy_us, m.outcome.requests)))
            .collect();
        notes.push(format!("proxy µs/req per round: {}", each.join(" / ")));
    }
    let latency = ms.iter().all(|m| m.outcome.latency.is_some()) && !ms.is_empty();
    let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
    Run {
        contender: contender.to_owned(),
        requests: med(&|m| m.outcome.requests as f64).map_or(0, |v| v.round() as u64),
        seconds: med(&|m| m.outcome.seconds).unwrap_or(0.0),
        errors: ms.iter().map(|m| m.outcome.errors).sum(),
        latency: latency.then(|| Percentiles {
            p50_us: med(&|m| m.outcome.latency.map_or(f64::NAN, |l| l.p50_us)).unwrap_or(f64::NAN),
            p99_us: med(&|m| m.outcome.latency.map_or(f64::NAN, |l| l.p99_us)).unwrap_or(f64::NAN),
            p999_us: med(&|m| m.outcome.latency.map_or(f64::NAN, |l| l.p999_us)).unwrap_or(f64::NAN),
        }),
        proxy_cpu_us_per_req: if is_proxy {
            finite(med(&|m| per(m.cost.proxy_us, m.outcome.requests)))
        } else {
            None
        },
        upstream_cpu_us_per_req: finite(med(&|m| per(m.cost.sim_us, m.outcome.requests))),
        proxy_rss_kib: (is_proxy && !ms.is_empty()).then(|| ms.iter().map(|m| m.rss_kib).max().unwrap_or(0)),
        extra: if unit == Unit::Requests && !ms.is_empty() {
            vec![(
                "other %".into(),
                format!("{:.1}", med(&|m| m.cost.other_pct).unwrap_or(0.0)),
            )]
        } else {
            Vec::new()
        },
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(requests: u64, proxy_us: f64, other_pct: f64) -> Measured {
        Measured {
            outcome: Outcome {
                requests,
                errors: 1,
                seconds: 1.0,
                latency: Some(Percentiles {
                    p50_us: 100.0,
                    p99_us: 200.0,
                    p999_us: 300.0,
                }),
            },
            cost: Cost {
                proxy_us,
                sim_us: proxy_us / 2.0,
                seconds: 1.0,
                other_pct,
            },
            rss_kib: 1000,
            quiet_before: true,
        }
    }

    #[test]
    fn medians_over_rounds() {
        let ms = [
            m(1000, 20_000.0, 0.0),
            m(1000, 30_000.0, 9.0),
            m(1000, 10_000.0, 0.0),
        ];
        let run = summarize("ours", true, &ms, vec![], Unit::Requests);
        assert_eq!(run.requests, 1000);
        assert_eq!(run.errors, 3);
        assert_eq!(run.proxy_cpu_us_per_req, Some(20.0));
        assert_eq!(run.upstream_cpu_us_per_req, Some(10.0));
        assert_eq!(run.proxy_rss_kib, Some(1000));
        assert!(run.notes.iter().any(|n| n.starts_with("DISTURBED rounds: 2")));
        let direct = summarize(
            "direct",
            false,
            &ms,
            vec!["round 4: failed: x".into()],
            Unit::Requests,
        );
        assert_eq!(direct.proxy_cpu_us_per_req, None);
        assert_eq!(direct.proxy_rss_kib, None);
        assert_eq!(direct.notes[0], "round 4: failed: x");
    }

    #[test]
    fn nothing_measured() {
        let run = summarize(
            "nginx",
            true,
            &[],
            vec!["round 1: failed: refused".into()],
            Unit::Requests,
        );
        assert_eq!(run.requests, 0);
        assert_eq!(run.proxy_cpu_us_per_req, None);
        assert_eq!(run.latency, None);
    }
}
