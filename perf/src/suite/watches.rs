//! idle-watches and watch-events, on one set of watches per contender: hold N TLS watches, read the proxy's RSS
//! and fds against before they opened, then update the watched object at a steady rate and charge the proxy's
//! CPU to the events delivered.

use super::contenders::Contender;
use super::load::{self, Watches};
use super::measure;
use super::model::{Percentiles, Run, ScenarioResult, Unit};
use super::procfs;
use super::runner::{Ctx, per};
use super::scenarios::{Scenario, TICK_PATH, WATCH_PATH};
use anyhow::Result;
use std::time::{Duration, Instant};

/// Updates per second of the watched object.
const CHURN_RATE: u32 = 50;

/// What one contender's watches gave.
struct Held {
    idle: Run,
    events: Run,
}

/// Runs both scenarios (either may be absent) through every contender, one after the other.
pub(crate) fn run(
    ctx: &Ctx<'_>,
    idle: Option<&Scenario>,
    events: Option<&Scenario>,
    contenders: &mut [&mut Contender],
) -> Vec<ScenarioResult> {
    let asked = ctx.args.watch_count();
    // A proxy holds two or three descriptors per watch (caller, upstream, and for some a timer or event
    // descriptor): every contender must be able to hold the same count within the open-file limit.
    let count = asked.min(usize::try_from(ctx.nofile.saturating_sub(256) / 3).unwrap_or(usize::MAX));
    let capped = (count < asked).then(|| {
        format!(
            "{asked} watches asked, {count} held: the open-file limit is {} (raise the hard limit)",
            ctx.nofile
        )
    });
    if let Some(note) = &capped {
        eprintln!("    {note}");
    }
    let mut idle_runs = Vec::new();
    let mut event_runs = Vec::new();
    for contender in contenders.iter_mut() {
        super::quiet::wait(ctx.args.round_gate_wait(), false, 0.0);
        match hold(ctx, contender, count, events.is_some()) {
            Ok(held) => {
                idle_runs.push(held.idle);
                event_runs.push(held.events);
            }
            Err(e) => {
                eprintln!("    watches     {:<10} FAILED: {e:#}", contender.name);
                for runs in [&mut idle_runs, &mut event_runs] {
                    runs.push(failed(&contender.name, &format!("failed: {e:#}")));
                }
            }
        }
    }
    if let Some(note) = capped {
        for run in idle_runs.iter_mut().chain(event_runs.iter_mut()) {
            run.notes.push(note.clone());
        }
    }
    let mut results = Vec::new();
    if let Some(s) = idle {
        results.push(ScenarioResult {
            name: s.name.clone(),
            description: format!("{count} {}", s.description),
            unit: Unit::Connections,
            runs: idle_runs,
        });
    }
    if let Some(s) = events {
        results.push(ScenarioResult {
            name: s.name.clone(),
            description: format!(
                "{count} {} at {CHURN_RATE}/s for {:?}",
                s.description,
                ctx.args.run_length()
            ),
            unit: Unit::Events,
            runs: event_runs,
        });
    }
    results
}

/// An empty run with a note.
pub(crate) fn failed(contender: &str, note: &str) -> Run {
    Run {
        contender: contender.to_owned(),
        requests: 0,
        seconds: 0.0,
        errors: 0,
        latency: None,
        proxy_cpu_us_per_req: None,
        upstream_cpu_us_per_req: None,
        proxy_rss_kib: None,
        extra: Vec::new(),
        notes: vec![note.to_owned()],
    }
}

/// Waits until the proxy's and kube-sim's CPU stop moving (the last events delivered), up to 3 s.
fn settle(pids: &[u32], sim_pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = procfs::ticks(pids) + procfs::ticks(&[sim_pid]);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        let now = procfs::ticks(pids) + procfs::ticks(&[sim_pid]);
        if now == last {
            return;
        }
        last = now;
    }
}

fn hold(ctx: &Ctx<'_>, contender: &mut Contender, count: usize, churn: bool) -> Result<Held> {
    let admin = ctx.credential("admin")?;
    let target = load::Target {
        binary: ctx.perf_load()?,
        url: &contender.url,
        ca: &contender.ca,
        credential: admin,
    };
    let pids = contender.pids();
    let sim = [ctx.sim_pid];
    let (rss0, fds0) = (procfs::rss_kib(&pids), procfs::fd_count(&pids));
    let (sim_rss0, sim_fds0) = (procfs::rss_kib(&sim), procfs::fd_count(&sim));
    let (watches, ready) = Watches::open(&target, WATCH_PATH, count, Duration::from_secs(120))?;
    let pids = contender.pids();
    let (rss1, fds1) = (procfs::rss_kib(&pids), procfs::fd_count(&pids));
    let (sim_rss1, sim_fds1) = (procfs::rss_kib(&sim), procfs::fd_count(&sim));
    let n = ready.ready.max(1) as f64;
    let kib_per_watch = rss1.saturating_sub(rss0) as f64 / n;
    let fds_per_watch = fds1.saturating_sub(fds0) as f64 / n;
    eprintln!(
        "    idle-watches             {:<10} {} open in {:.1} s ({} failed): {kib_per_watch:.1} KiB and {fds_per_watch:.2} fds per watch",
        contender.name, ready.ready, ready.open_seconds, ready.failed
    );
    let is_proxy = contender.is_proxy();
    let mut idle = failed(&contender.name, "");
    idle.notes.clear();
    idle.requests = ready.ready;
    idle.seconds = ready.open_seconds;
    idle.errors = ready.failed;
    idle.proxy_rss_kib = is_proxy.then_some(rss1);
    let sim_kib = sim_rss1.saturating_sub(sim_rss0) as f64 / n;
    let sim_fds = sim_fds1.saturating_sub(sim_fds0) as f64 / n;
    idle.extra = if is_proxy {
        vec![
            ("KiB per watch".into(), format!("{kib_per_watch:.1}")),
            ("fds per watch".into(), format!("{fds_per_watch:.2}")),
            ("RSS held KiB".into(), format!("{}", rss1.saturating_sub(rss0))),
            ("kube-sim KiB per watch".into(), format!("{sim_kib:.1}")),
        ]
    } else {
        vec![
            ("kube-sim KiB per watch".into(), format!("{sim_kib:.1}")),
            ("kube-sim fds per watch".into(), format!("{sim_fds:.2}")),
        ]
    };
    let mut events = failed(&contender.name, "");
    events.notes.clear();
    if churn {
        let before = measure::sample(&pids, ctx.sim_pid);
        let length = ctx.args.run_length();
        // The updates go to kube-sim itself: the proxy's CPU is then the events' delivery alone.
        let upstream = load::Target {
            binary: target.binary,
            url: &ctx.sim_url,
            ca: &ctx.sim_ca,
            credential: admin,
        };
        let churned = load::churn(&upstream, TICK_PATH, CHURN_RATE, length);
        settle(&pids, ctx.sim_pid);
        let after = measure::sample(&pids, ctx.sim_pid);
        let cost = measure::cost(&before, &after, ctx.hz);
        let report = watches.close()?;
        let churned = match churned {
            Ok(churned) => churned,
            Err(e) => {
                events.notes.push(format!("failed: the updates failed: {e:#}"));
                return Ok(Held { idle, events });
            }
        };
        let expected = churned.updates * report.opened;
        events.requests = report.events;
        events.seconds = cost.seconds;
        events.errors =
            report.ended + churned.errors + churned.non_2xx + expected.saturating_sub(report.events);
        events.latency = Some(Percentiles {
            p50_us: report.event_p50_us,
            p99_us: report.event_p99_us,
            p999_us: report.event_p999_us,
        });
        events.proxy_cpu_us_per_req = is_proxy
            .then(|| per(cost.proxy_us, report.events))
            .filter(|v| v.is_finite());
        events.upstream_cpu_us_per_req = Some(per(cost.sim_us, report.events)).filter(|v| v.is_finite());
        events.proxy_rss_kib = is_proxy.then(|| procfs::rss_kib(&pids));
        events.extra = vec![
            ("updates".into(), churned.updates.to_string()),
            ("events expected".into(), expected.to_string()),
        ];
        if report.events < expected {
            events
                .notes
                .push(format!("{} of {expected} events delivered", report.events));
        }
        if let Some(e) = report.first_error {
            events.notes.push(format!("first watch error: {e}"));
        }
        eprintln!(
            "    watch-events             {:<10} {} updates → {} events, proxy {:.2} µs/event, sim {:.2} µs/event",
            contender.name,
            churned.updates,
            report.events,
            per(cost.proxy_us, report.events),
            per(cost.sim_us, report.events)
        );
    } else {
        let _ = watches.close()?;
    }
    Ok(Held { idle, events })
}
