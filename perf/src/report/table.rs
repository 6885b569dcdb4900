//! One scenario's Markdown table: one row per contender, its rate, latency added over `direct`, proxy CPU per
//! unit and its ratio to each baseline, RSS, errors and the scenario's extra columns; the runs' notes below.

use super::figures::{self, Panel};
use super::format::{self, MISSING};
use super::model::{Run, ScenarioResult};

/// KiB in a MiB.
const KIB_PER_MIB: f64 = 1024.0;

/// The scenario's section: heading, description, table, how its latency is shown, notes.
pub(super) fn section(scenario: &ScenarioResult) -> String {
    let mut out = format!("### {}\n\n", format::code(&scenario.name));
    if !scenario.description.trim().is_empty() {
        out.push_str(scenario.description.trim());
        out.push_str("\n\n");
    }
    if scenario.runs.is_empty() {
        out.push_str("No contender ran.\n");
        return out;
    }
    let header = header(scenario);
    out.push_str(&row(&header));
    out.push_str(&row(&header
        .iter()
        .enumerate()
        .map(|(i, _)| align(i))
        .collect::<Vec<_>>()));
    for run in &scenario.runs {
        out.push_str(&row(&cells(scenario, run)));
    }
    out.push('\n');
    out.push_str(&legend(scenario));
    let notes = notes(scenario);
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes);
    }
    out
}

/// The column headers.
fn header(scenario: &ScenarioResult) -> Vec<String> {
    let per = figures::per_unit(scenario.unit);
    let latency = if figures::direct_latency(scenario).is_some() {
        "+ms"
    } else {
        "ms"
    };
    let mut header = vec![
        "contender".to_owned(),
        figures::rate_header(scenario.unit).to_owned(),
    ];
    if has_latency(scenario) {
        header.extend(["p50", "p99", "p99.9"].map(|p| format!("{p} {latency}")));
    }
    header.extend([format!("proxy CPU µs/{per}"), format!("kube-sim CPU µs/{per}")]);
    header.extend(
        figures::baselines_present(scenario)
            .iter()
            .map(|b| format!("CPU ÷ {b}")),
    );
    header.extend(["proxy RSS MiB".to_owned(), "errors".to_owned()]);
    header.extend(figures::extra_keys(scenario).into_iter().map(format::cell));
    header
}

/// One run's cells, in header order.
fn cells(scenario: &ScenarioResult, run: &Run) -> Vec<String> {
    let floor = figures::direct_latency(scenario);
    let latency = |pick: fn(&super::model::Percentiles) -> f64| match (run.latency, floor) {
        (Some(own), Some(floor)) if run.contender != figures::DIRECT => {
            format::signed_millis(Some(pick(&figures::added(own, floor))))
        }
        (Some(own), _) => format::millis(Some(pick(&own))),
        (None, _) => MISSING.to_owned(),
    };
    let mut cells = vec![
        format::cell(&run.contender),
        format::rate(figures::rate(run, scenario.unit)),
    ];
    if has_latency(scenario) {
        cells.extend([
            latency(|p| p.p50_us),
            latency(|p| p.p99_us),
            latency(|p| p.p999_us),
        ]);
    }
    cells.extend([
        format::micros(figures::cpu(run)),
        format::micros(figures::upstream_cpu(run)),
    ]);
    cells.extend(
        figures::baselines_present(scenario)
            .iter()
            .map(|b| format::fixed(figures::cpu_ratio(scenario, run, b), 3)),
    );
    cells.push(format::fixed(
        run.proxy_rss_kib.map(|kib| kib as f64 / KIB_PER_MIB),
        1,
    ));
    cells.push(run.errors.to_string());
    cells.extend(
        figures::extra_keys(scenario)
            .into_iter()
            .map(|key| figures::extra(run, key).map_or_else(|| MISSING.to_owned(), format::cell)),
    );
    cells
}

/// Whether any run measured latency (the latency columns are left out otherwise).
fn has_latency(scenario: &ScenarioResult) -> bool {
    scenario.runs.iter().any(|run| run.latency.is_some())
}

/// The alignment row's cell of column `index`: the contender left, numbers right.
fn align(index: usize) -> String {
    if index == 0 { "---" } else { "---:" }.to_owned()
}

/// One Markdown table row.
fn row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// What the latency and ratio columns mean for this scenario, and whether it is charted.
fn legend(scenario: &ScenarioResult) -> String {
    let mut lines = Vec::new();
    if has_latency(scenario) {
        lines.push(if figures::direct_latency(scenario).is_some() {
            "Latency: ms added over `direct` at each percentile (`direct`'s row: its own).".to_owned()
        } else {
            "Latency: absolute ms (no `direct` run to subtract).".to_owned()
        });
    }
    if !figures::baselines_present(scenario).is_empty() {
        lines.push("CPU ÷ X: our row's proxy CPU per unit over X's; below 1 is cheaper than X.".to_owned());
    }
    match figures::panel(scenario) {
        Some(Panel::Relative) => {}
        Some(Panel::Absolute) => {
            lines.push("No nginx run: charted in absolute µs (second panel).".to_owned())
        }
        None => lines.push("No proxy CPU figures: not charted.".to_owned()),
    }
    if lines.is_empty() {
        String::new()
    } else {
        format!("{}\n", lines.join(" "))
    }
}

/// The runs' notes as a list, `- **contender**: note`.
fn notes(scenario: &ScenarioResult) -> String {
    scenario
        .runs
        .iter()
        .flat_map(|run| run.notes.iter().map(move |note| (run, note)))
        .filter(|(_, note)| !note.trim().is_empty())
        .map(|(run, note)| {
            format!(
                "- **{}**: {}\n",
                format::cell(&run.contender),
                note.trim().replace('\n', " ")
            )
        })
        .collect()
}
