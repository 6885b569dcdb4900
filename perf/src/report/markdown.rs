//! The Markdown report: header (date, command, machine, tools), how to read it, the targets, the chart, then
//! one section per scenario.

use super::figures::{self, Panel};
use super::format;
use super::model::{Report, ScenarioResult};
use super::table;

/// How to read the numbers, printed under the header.
const HOW_TO_READ: &str = "**How to read it.** The proxy's CPU time per request (user + system of all its \
processes from `/proc`, divided by what the scenario counts: requests, events, MiB or connections) is the figure \
that compares proxies: on a small shared machine the load generator, kube-sim and the proxy share the cores, so \
req/s is bounded by the whole box and moves with whatever else runs on it, while CPU per request moves much \
less. A ratio below 1 means we spend less CPU than that baseline. Latencies are the client's, with `direct`'s \
(client straight to kube-sim, the floor) subtracted percentile by percentile, so they estimate what the proxy \
adds; read p99 and p99.9 across runs, not from one. `–` means not measured.";

/// The Markdown report; `chart` is the SVG's file name, linked relative to the Markdown file.
pub fn render_markdown(report: &Report, chart: &str) -> String {
    let mut out = format!("# capsule-proxy performance, {}\n\n", date(&report.started));
    out.push_str(&header(report));
    out.push('\n');
    out.push_str(HOW_TO_READ);
    out.push_str("\n\n");
    out.push_str(&targets(report));
    out.push_str(&chart_section(report, chart));
    out.push_str("## Scenarios\n");
    for scenario in &report.scenarios {
        out.push('\n');
        out.push_str(&table::section(scenario));
    }
    if report.scenarios.is_empty() {
        out.push_str("\nNo scenario ran.\n");
    }
    out
}

/// The date part of the start time (the whole string when it has no `T`).
fn date(started: &str) -> &str {
    started.split(['T', 't', ' ']).next().unwrap_or(started)
}

/// The header table: start time, command, machine, tool versions.
fn header(report: &Report) -> String {
    let machine = &report.machine;
    let mut rows = vec![
        ("started".to_owned(), format::cell(&report.started)),
        (
            "command".to_owned(),
            format::code(&report.command).replace('|', "\\|"),
        ),
        ("cores".to_owned(), machine.cores.to_string()),
        ("kernel".to_owned(), format::cell(&machine.kernel)),
    ];
    rows.extend(
        machine
            .tools
            .iter()
            .map(|(tool, version)| (format::cell(tool), format::cell(version))),
    );
    let mut out = String::from("| | |\n|---|---|\n");
    for (key, value) in rows {
        out.push_str(&format!("| {key} | {value} |\n"));
    }
    out
}

/// The targets table, or a line saying there were none.
fn targets(report: &Report) -> String {
    let mut out = String::from("## Targets\n\n");
    if report.targets.is_empty() {
        out.push_str("No target was checked.\n\n");
        return out;
    }
    out.push_str("| target | measured | met |\n|---|---|:---:|\n");
    for target in &report.targets {
        let met = if target.met { "✔" } else { "✘" };
        out.push_str(&format!(
            "| {} | {} | {met} |\n",
            format::cell(&target.target),
            format::cell(&target.measured)
        ));
    }
    let met = report.targets.iter().filter(|t| t.met).count();
    out.push_str(&format!("\n{met} of {} met.\n\n", report.targets.len()));
    out
}

/// The chart's section: the image and which scenarios it shows how.
fn chart_section(report: &Report, chart: &str) -> String {
    let names = |panel: Option<Panel>| -> Vec<String> {
        report
            .scenarios
            .iter()
            .filter(|s| figures::panel(s) == panel)
            .map(|s: &ScenarioResult| format::code(&s.name))
            .collect()
    };
    let mut out = String::from("## Proxy CPU per request\n\n");
    out.push_str(&format!(
        "![Proxy CPU per request, relative to nginx in each scenario]({})\n\n",
        chart.replace(' ', "%20").replace(')', "%29").replace('(', "%28")
    ));
    out.push_str(
        "Bars: each proxy's CPU per unit relative to nginx's in the same scenario (nginx = 1.0, the dashed line \
         at 0.7 is the target), its absolute µs at the end of the bar.",
    );
    let (absolute, left_out) = (names(Some(Panel::Absolute)), names(None));
    if !absolute.is_empty() {
        out.push_str(&format!(
            " Without an nginx run, in absolute µs (second panel): {}.",
            absolute.join(", ")
        ));
    }
    if !left_out.is_empty() {
        out.push_str(&format!(
            " Left out, no proxy CPU figures: {}.",
            left_out.join(", ")
        ));
    }
    out.push_str("\n\n");
    out
}
