//! What the tables and the chart derive from a scenario's runs: rates, latency added over `direct`, CPU ratios
//! to the baselines, the extra columns, and which chart panel a scenario belongs in.

use super::model::{Percentiles, Run, ScenarioResult, Unit};

/// The contender that sends straight to kube-sim: the latency floor.
pub(super) const DIRECT: &str = "direct";

/// The baselines our CPU is compared with, in column order.
pub(super) const BASELINES: [&str; 3] = ["nginx", "haproxy", "go"];

/// The baseline the chart's first panel is relative to.
pub(super) const CHART_BASELINE: &str = "nginx";

/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// Whether a contender is capsule-proxy (`ours`, `ours-epoll`, …).
pub(super) fn is_ours(contender: &str) -> bool {
    contender == "ours" || contender.starts_with("ours-")
}

/// The first run of `contender` in the scenario.
pub(super) fn find<'a>(scenario: &'a ScenarioResult, contender: &str) -> Option<&'a Run> {
    scenario.runs.iter().find(|run| run.contender == contender)
}

/// The proxy's CPU µs per unit of the scenario, when it is a usable number.
pub(super) fn cpu(run: &Run) -> Option<f64> {
    run.proxy_cpu_us_per_req.filter(|v| v.is_finite() && *v >= 0.0)
}

/// kube-sim's CPU µs per unit, when it is a usable number.
pub(super) fn upstream_cpu(run: &Run) -> Option<f64> {
    run.upstream_cpu_us_per_req.filter(|v| v.is_finite() && *v >= 0.0)
}

/// What the rate column shows: per second for requests and events, MiB/s for bytes, the count for connections.
pub(super) fn rate(run: &Run, unit: Unit) -> Option<f64> {
    let count = run.requests as f64;
    let per_second = |n: f64| (run.seconds > 0.0 && run.seconds.is_finite()).then(|| n / run.seconds);
    match unit {
        Unit::Requests | Unit::Events => per_second(count),
        Unit::Bytes => per_second(count / MIB),
        Unit::Connections => Some(count),
    }
}

/// The rate column's header.
pub(super) fn rate_header(unit: Unit) -> &'static str {
    match unit {
        Unit::Requests => "req/s",
        Unit::Events => "events/s",
        Unit::Bytes => "MiB/s",
        Unit::Connections => "connections held",
    }
}

/// What one unit of CPU cost is counted per (`µs/req`, `µs/event`, …).
pub(super) fn per_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Requests => "req",
        Unit::Events => "event",
        Unit::Bytes => "MiB",
        Unit::Connections => "connection",
    }
}

/// The `direct` run's latency, which the other runs' latencies are shown over.
pub(super) fn direct_latency(scenario: &ScenarioResult) -> Option<Percentiles> {
    find(scenario, DIRECT).and_then(|run| run.latency)
}

/// `latency` minus `floor`, percentile by percentile.
pub(super) fn added(latency: Percentiles, floor: Percentiles) -> Percentiles {
    Percentiles {
        p50_us: latency.p50_us - floor.p50_us,
        p99_us: latency.p99_us - floor.p99_us,
        p999_us: latency.p999_us - floor.p999_us,
    }
}

/// The baselines that ran in the scenario with a CPU figure, in column order.
pub(super) fn baselines_present(scenario: &ScenarioResult) -> Vec<&'static str> {
    BASELINES
        .into_iter()
        .filter(|name| find(scenario, name).and_then(cpu).is_some_and(|v| v > 0.0))
        .collect()
}

/// `run`'s CPU per unit over `baseline`'s in the same scenario; only for our runs.
pub(super) fn cpu_ratio(scenario: &ScenarioResult, run: &Run, baseline: &str) -> Option<f64> {
    if !is_ours(&run.contender) {
        return None;
    }
    relative(scenario, run, baseline)
}

/// `run`'s CPU per unit over `baseline`'s in the same scenario, for any run.
pub(super) fn relative(scenario: &ScenarioResult, run: &Run, baseline: &str) -> Option<f64> {
    let base = find(scenario, baseline).and_then(cpu).filter(|v| *v > 0.0)?;
    Some(cpu(run)? / base)
}

/// The extra columns' names over all runs, in first-seen order.
pub(super) fn extra_keys(scenario: &ScenarioResult) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    for (key, _) in scenario.runs.iter().flat_map(|run| &run.extra) {
        if !keys.contains(&key.as_str()) {
            keys.push(key);
        }
    }
    keys
}

/// A run's value of an extra column.
pub(super) fn extra<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.extra.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Where a scenario goes in the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Panel {
    /// Bars relative to nginx's CPU per unit.
    Relative,
    /// No nginx figure: bars in absolute µs.
    Absolute,
}

/// The chart panel of a scenario; `None` when no run has a CPU figure.
pub(super) fn panel(scenario: &ScenarioResult) -> Option<Panel> {
    if !scenario.runs.iter().any(|run| cpu(run).is_some()) {
        None
    } else if find(scenario, CHART_BASELINE)
        .and_then(cpu)
        .is_some_and(|v| v > 0.0)
    {
        Some(Panel::Relative)
    } else {
        Some(Panel::Absolute)
    }
}
