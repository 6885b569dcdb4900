//! snapshot-scale: runs snapshot-bench (`perf/SNAPSHOT.md`) at 10k tenants / 100k namespaces and puts its key
//! figures into the report as extra columns.

use super::model::{Run, ScenarioResult, Unit};
use super::process::output;
use super::scenarios::Scenario;
use super::watches::failed;
use anyhow::Result;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The rows of snapshot-bench's output taken into the report: (label prefix, column name, which value).
const ROWS: [(&str, &str, usize); 6] = [
    ("snapshot() build", "snapshot build", 0),
    ("1 changed tenant", "1 changed tenant", 0),
    ("relist", "relist", 0),
    ("index + snapshot", "index + snapshot", 0),
    ("capsule? + proxy_tenants + namespaces()", "decision mean", 0),
    (
        "get ns: decide + selector + query (names)",
        "get ns decision mean",
        0,
    ),
];

/// The values after the label of the first line starting (spaces trimmed) with `prefix`: its whitespace-split
/// cells past the 46-character label column.
pub(crate) fn cells(text: &str, prefix: &str) -> Option<Vec<String>> {
    let line = text.lines().find(|l| l.trim_start().starts_with(prefix))?;
    let rest = line.get(46..).unwrap_or("");
    let cells: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
    (!cells.is_empty()).then_some(cells)
}

/// Pairs a cell with its unit (`52.1 ms` prints as two tokens when the value and unit are apart).
fn value(cells: &[String], index: usize) -> Option<String> {
    let joined = cells.join(" ");
    let mut tokens = joined.split_whitespace();
    let mut values = Vec::new();
    while let Some(t) = tokens.next() {
        if t.chars().last().is_some_and(|c| c.is_ascii_digit()) {
            let unit = tokens.next().unwrap_or("");
            values.push(format!("{t} {unit}").trim().to_owned());
        } else {
            values.push(t.to_owned());
        }
    }
    values.get(index).cloned()
}

/// The report's extra columns from snapshot-bench's output.
pub(crate) fn figures(text: &str) -> Vec<(String, String)> {
    ROWS.iter()
        .filter_map(|(prefix, name, index)| {
            let cells = cells(text, prefix)?;
            Some(((*name).to_owned(), value(&cells, *index)?))
        })
        .collect()
}

/// Runs snapshot-bench from `binary`.
pub(crate) fn run(binary: &Path, scenario: &Scenario, quick: bool) -> ScenarioResult {
    let decisions: u64 = if quick { 100_000 } else { 1_000_000 };
    let run = one(binary, decisions, quick).unwrap_or_else(|e| {
        eprintln!("    snapshot-scale           FAILED: {e:#}");
        failed("ours", &format!("failed: {e:#}"))
    });
    ScenarioResult {
        name: scenario.name.clone(),
        description: format!("{}; {decisions} decisions", scenario.description),
        unit: Unit::Requests,
        runs: vec![run],
    }
}

fn one(binary: &Path, decisions: u64, quick: bool) -> Result<Run> {
    let start = Instant::now();
    let mut command = Command::new(binary);
    command
        .args(["--tenants", "10000", "--namespaces", "100000"])
        .args(["--decisions", &decisions.to_string()])
        .args(["--repeat", if quick { "1" } else { "3" }]);
    let text = output(command)?;
    let mut run = failed("ours", "");
    run.notes.clear();
    run.seconds = start.elapsed().as_secs_f64();
    run.extra = figures(&text);
    eprintln!(
        "    snapshot-scale           ours       {}",
        run.extra
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if run.extra.is_empty() {
        run.notes
            .push("snapshot-bench's output had none of the expected rows".into());
    }
    Ok(run)
}
