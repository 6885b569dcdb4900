//! The end of a run: the suite's targets checked against it, and the summary table printed to stdout.

use super::model::{Report, Run, ScenarioResult, TargetCheck, Unit};

fn find<'a>(report: &'a Report, scenario: &str, contender: &str) -> Option<&'a Run> {
    report
        .scenarios
        .iter()
        .find(|s| s.name == scenario)?
        .runs
        .iter()
        .find(|r| r.contender == contender)
}

fn cpu(report: &Report, scenario: &str, contender: &str) -> Option<f64> {
    find(report, scenario, contender)?.proxy_cpu_us_per_req
}

/// An extra column of a run, as a number.
pub(crate) fn extra(run: &Run, name: &str) -> Option<f64> {
    run.extra.iter().find(|(k, _)| k == name)?.1.parse().ok()
}

fn ratio_target(report: &Report, scenario: &str, max: f64) -> TargetCheck {
    let target = format!("ours ≤ {max}× nginx proxy CPU per request on {scenario}");
    match (cpu(report, scenario, "ours"), cpu(report, scenario, "nginx")) {
        (Some(ours), Some(nginx)) if nginx > 0.0 => TargetCheck {
            target,
            measured: format!("{:.2}× nginx ({ours:.1} vs {nginx:.1} µs/req)", ours / nginx),
            met: ours / nginx <= max,
        },
        _ => not_measured(target),
    }
}

fn not_measured(target: String) -> TargetCheck {
    TargetCheck {
        target,
        measured: "not measured in this run".into(),
        met: false,
    }
}

/// The suite's targets, checked against `report`.
pub(crate) fn targets(report: &Report) -> Vec<TargetCheck> {
    let mut checks = vec![
        ratio_target(report, "list-10k-tls", 0.7),
        ratio_target(report, "small-get-c16", 0.7),
    ];
    let target = "ours ≤ 32 KiB of RSS per idle TLS watch".to_owned();
    checks.push(
        match find(report, "idle-watches", "ours").and_then(|r| extra(r, "KiB per watch")) {
            Some(kib) => TargetCheck {
                target,
                measured: format!("{kib:.1} KiB per watch"),
                met: kib <= 32.0,
            },
            None => not_measured(target),
        },
    );
    let target = "ours namespaces-owner-bearer CPU ≤ 1.1× ours namespaces-admin".to_owned();
    checks.push(
        match (
            cpu(report, "namespaces-owner-bearer", "ours"),
            cpu(report, "namespaces-admin", "ours"),
        ) {
            (Some(owner), Some(admin)) if admin > 0.0 => TargetCheck {
                target,
                measured: format!("{:.2}× ({owner:.1} vs {admin:.1} µs/req)", owner / admin),
                met: owner / admin <= 1.1,
            },
            _ => not_measured(target),
        },
    );
    checks
}

fn unit_rate(unit: Unit) -> &'static str {
    match unit {
        Unit::Requests => "req/s",
        Unit::Events => "events/s",
        Unit::Bytes => "MiB/s",
        Unit::Connections => "held",
    }
}

fn rate(s: &ScenarioResult, r: &Run) -> String {
    if r.requests == 0 {
        return "-".into();
    }
    match s.unit {
        Unit::Connections => r.requests.to_string(),
        Unit::Bytes => format!("{:.1}", r.requests as f64 / 1048576.0 / r.seconds.max(1e-9)),
        _ => format!("{:.0}", r.requests as f64 / r.seconds.max(1e-9)),
    }
}

/// The summary table: one line per (scenario, contender).
pub(crate) fn table(report: &Report) -> String {
    let mut out = format!(
        "{:<24} {:<11} {:>10} {:>9} {:>9} {:>11} {:>8} {:>9}  {}\n",
        "scenario", "contender", "rate", "p99 ms", "+p99 ms", "CPU µs/unit", "×nginx", "RSS MiB", "notes"
    );
    for s in &report.scenarios {
        let direct_p99 = s
            .runs
            .iter()
            .find(|r| r.contender == "direct")
            .and_then(|r| r.latency)
            .map(|l| l.p99_us);
        let nginx = s
            .runs
            .iter()
            .find(|r| r.contender == "nginx")
            .and_then(|r| r.proxy_cpu_us_per_req);
        for r in &s.runs {
            let p99 = r.latency.map(|l| l.p99_us);
            let added = match (p99, direct_p99) {
                (Some(p), Some(d)) if r.contender != "direct" => format!("{:+.2}", (p - d) / 1000.0),
                _ => "-".into(),
            };
            let ratio = match (r.proxy_cpu_us_per_req, nginx) {
                (Some(c), Some(n)) if n > 0.0 => format!("{:.2}", c / n),
                _ => "-".into(),
            };
            let mut notes: Vec<String> = r.extra.iter().map(|(k, v)| format!("{k} {v}")).collect();
            if r.notes.iter().any(|n| n.starts_with("DISTURBED")) {
                notes.push("DISTURBED".into());
            }
            notes.extend(
                r.notes
                    .iter()
                    .filter(|n| n.contains("failed") || n.contains("watches asked"))
                    .map(|n| n.chars().take(120).collect::<String>()),
            );
            if r.errors > 0 {
                notes.push(format!("{} errors", r.errors));
            }
            out.push_str(&format!(
                "{:<24} {:<11} {:>10} {:>9} {:>9} {:>11} {:>8} {:>9}  {}\n",
                s.name,
                r.contender,
                format!(
                    "{} {}",
                    rate(s, r),
                    if r.requests == 0 { "" } else { unit_rate(s.unit) }
                )
                .trim(),
                p99.map_or_else(|| "-".into(), |p| format!("{:.2}", p / 1000.0)),
                added,
                r.proxy_cpu_us_per_req
                    .map_or_else(|| "-".into(), |c| format!("{c:.1}")),
                ratio,
                r.proxy_rss_kib
                    .map_or_else(|| "-".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
                notes.join("; ")
            ));
        }
    }
    out.push('\n');
    for t in &report.targets {
        out.push_str(&format!(
            "{} {}: {}\n",
            if t.met { "MET   " } else { "NOT MET" },
            t.target,
            t.measured
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::model::{Machine, Percentiles};

    fn run(contender: &str, cpu: Option<f64>, extra: Vec<(String, String)>) -> Run {
        Run {
            contender: contender.into(),
            requests: 1000,
            seconds: 1.0,
            errors: 0,
            latency: Some(Percentiles {
                p50_us: 100.0,
                p99_us: 1000.0,
                p999_us: 2000.0,
            }),
            proxy_cpu_us_per_req: cpu,
            upstream_cpu_us_per_req: Some(5.0),
            proxy_rss_kib: cpu.map(|_| 20480),
            extra,
            notes: vec![],
        }
    }

    fn scenario(name: &str, runs: Vec<Run>) -> ScenarioResult {
        ScenarioResult {
            name: name.into(),
            description: String::new(),
            unit: Unit::Requests,
            runs,
        }
    }

    #[test]
    fn targets_and_table() {
        let report = Report {
            started: "2026-12-06T12:00:00Z".into(),
            command: "perf all".into(),
            machine: Machine::default(),
            scenarios: vec![
                scenario(
                    "list-10k-tls",
                    vec![
                        run("direct", None, vec![]),
                        run("ours", Some(6.0), vec![]),
                        run("nginx", Some(10.0), vec![]),
                    ],
                ),
                scenario(
                    "idle-watches",
                    vec![run(
                        "ours",
                        Some(1.0),
                        vec![("KiB per watch".into(), "40.0".into())],
                    )],
                ),
                scenario("namespaces-admin", vec![run("ours", Some(10.0), vec![])]),
                scenario("namespaces-owner-bearer", vec![run("ours", Some(10.5), vec![])]),
            ],
            targets: vec![],
        };
        let checks = targets(&report);
        assert!(checks[0].met, "{:?}", checks[0]);
        assert!(!checks[1].met);
        assert_eq!(checks[1].measured, "not measured in this run");
        assert!(!checks[2].met);
        assert!(checks[3].met);
        let text = table(&report);
        assert!(text.contains("0.60"), "{text}");
        assert!(text.contains("+0.00"), "{text}");
    }
}
