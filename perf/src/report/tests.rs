//! Tests of the rendered report against the hand-made sample: the tables' ratios and added latencies, missing
//! values, the SVG's well-formedness and bars, and the files written.

use super::model::Report;
use super::sample;
use super::{render_markdown, render_svg, write};

/// The table row of `contender` in the section of `scenario`, split into trimmed cells.
fn row(markdown: &str, scenario: &str, contender: &str) -> Vec<String> {
    let section = markdown
        .split("\n### ")
        .find(|s| s.starts_with(&format!("`{scenario}`\n")))
        .unwrap_or_else(|| panic!("no section {scenario}"));
    let line = section
        .lines()
        .find(|l| l.starts_with(&format!("| {contender} |")))
        .unwrap_or_else(|| panic!("no row {contender} in {scenario}"));
    line.trim_matches('|')
        .split(" | ")
        .map(|c| c.trim().to_owned())
        .collect()
}

/// The header row of `scenario`'s table.
fn header(markdown: &str, scenario: &str) -> Vec<String> {
    row(markdown, scenario, "contender")
}

/// The cell of `contender` under `column` in `scenario`'s table.
fn cell(markdown: &str, scenario: &str, contender: &str, column: &str) -> String {
    let header = header(markdown, scenario);
    let index = header
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column} in {header:?}"));
    row(markdown, scenario, contender)[index].clone()
}

#[test]
fn cpu_ratios_to_every_baseline_present() {
    let md = render_markdown(&sample::report(), "2026-12-06.svg");
    let s = "small-get-c16";
    assert_eq!(cell(&md, s, "ours", "CPU ÷ nginx"), "0.800");
    assert_eq!(cell(&md, s, "ours", "CPU ÷ haproxy"), "0.500");
    assert_eq!(cell(&md, s, "ours", "CPU ÷ go"), "0.400");
    assert_eq!(cell(&md, s, "ours-epoll", "CPU ÷ nginx"), "0.900");
    assert_eq!(cell(&md, s, "nginx", "CPU ÷ nginx"), "–");
    assert_eq!(cell(&md, s, "go", "CPU ÷ haproxy"), "–");
    assert_eq!(cell(&md, s, "ours", "proxy CPU µs/req"), "20.0");
    // The exec scenario has only go as a baseline, and counts CPU per MiB.
    let e = "exec-<stdin> & \"cat\"";
    assert!(!header(&md, e).iter().any(|h| h == "CPU ÷ nginx"));
    assert!(
        !header(&md, e).iter().any(|h| h.starts_with("p50")),
        "no latency columns without latency"
    );
    assert_eq!(cell(&md, e, "ours", "CPU ÷ go"), "0.600");
    assert_eq!(cell(&md, e, "ours", "proxy CPU µs/MiB"), "900.0");
    assert_eq!(cell(&md, e, "ours", "MiB/s"), "10.00");
}

#[test]
fn latency_is_added_over_direct() {
    let md = render_markdown(&sample::report(), "2026-12-06.svg");
    let s = "small-get-c16";
    assert_eq!(cell(&md, s, "ours", "p50 +ms"), "+0.412");
    assert_eq!(cell(&md, s, "ours", "p99 +ms"), "+1.000");
    assert_eq!(cell(&md, s, "ours", "p99.9 +ms"), "+2.000");
    assert_eq!(cell(&md, s, "direct", "p50 +ms"), "1.000");
    assert_eq!(cell(&md, s, "haproxy", "p99 +ms"), "–");
    assert!(md.contains("Latency: ms added over `direct`"));
}

#[test]
fn without_direct_latency_is_absolute() {
    let mut report = sample::report();
    report.scenarios[0].runs.remove(0);
    let md = render_markdown(&report, "x.svg");
    assert_eq!(cell(&md, "small-get-c16", "ours", "p50 ms"), "1.412");
    assert!(md.contains("Latency: absolute ms"));
}

#[test]
fn missing_values_are_dashes_and_extras_are_a_union() {
    let md = render_markdown(&sample::report(), "2026-12-06.svg");
    let s = "small-get-c16";
    let h = header(&md, s);
    let tail: Vec<&str> = h.iter().rev().take(2).rev().map(String::as_str).collect();
    assert_eq!(tail, ["fds", "upstream conns"]);
    assert_eq!(cell(&md, s, "go", "fds"), "–");
    assert_eq!(cell(&md, s, "go", "upstream conns"), "812");
    assert_eq!(cell(&md, s, "direct", "proxy CPU µs/req"), "–");
    assert_eq!(cell(&md, s, "direct", "proxy RSS MiB"), "–");
    assert_eq!(cell(&md, s, "ours", "proxy RSS MiB"), "20.0");
    assert_eq!(cell(&md, s, "go", "errors"), "3");
    assert_eq!(cell(&md, s, "ours", "req/s"), "20000");
    assert_eq!(
        cell(&md, "idle-watches-10k", "ours", "connections held"),
        "100000"
    );
    assert!(md.contains("- **go**: DISTURBED: the machine was 40 % busy\n"));
}

#[test]
fn header_targets_and_chart_link() {
    let md = render_markdown(&sample::report(), "2026-12-06.svg");
    assert!(md.starts_with("# capsule-proxy performance, 2026-12-06\n"));
    assert!(md.contains("| command | `cargo run --release -p perf -- all` |"));
    assert!(md.contains("| cores | 2 |"));
    assert!(md.contains("| nginx | 1.22.1 |"));
    assert!(md.contains("| ≤ 0.7× nginx CPU per request on small-get-c16 | 0.80× nginx | ✘ |"));
    assert!(md.contains("| RSS per watch ≤ 8 KiB | 3.1 KiB | ✔ |"));
    assert!(md.contains("1 of 2 met."));
    assert!(md.contains("](2026-12-06.svg)"));
    assert!(md.contains("in absolute µs (second panel): `exec-<stdin> & \"cat\"`."));
    assert!(md.contains("Left out, no proxy CPU figures: `idle-watches-10k`."));
    // A `|` in a description stays in its paragraph; one in a cell is escaped.
    assert!(md.contains("8 streams | bytes echoed."));
}

/// Checks that `doc` is well-formed XML as the chart writes it: tags balanced, attribute quotes paired, every
/// `&` an entity, no `<` outside markup.
fn assert_well_formed(doc: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = doc;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let after = &rest[open..];
        let close = after
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag at {after:.40}"));
        let tag = &after[1..close];
        assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
        assert_eq!(tag.matches('"').count() % 2, 0, "unpaired quotes: {tag}");
        if tag.starts_with('?') {
            assert!(tag.ends_with('?'));
        } else if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap_or_default());
        }
        rest = &after[close + 1..];
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

/// Text between tags holds only entities after `&`.
fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "bare & in {text}"
        );
    }
}

#[test]
fn the_chart_is_well_formed_svg_with_one_bar_per_run_with_cpu() {
    let report = sample::report();
    let doc = render_svg(&report);
    assert_well_formed(&doc);
    assert!(doc.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"1000\""));
    assert!(doc.contains("viewBox=\"0 0 1000 "));
    let with_cpu = report
        .scenarios
        .iter()
        .flat_map(|s| &s.runs)
        .filter(|r| r.proxy_cpu_us_per_req.is_some())
        .count();
    assert_eq!(doc.matches("class=\"bar\"").count(), with_cpu);
    // Scenario names are escaped; the second panel holds the scenario without nginx, in µs.
    assert!(doc.contains("exec-&lt;stdin&gt; &amp; &quot;cat&quot;"));
    assert!(doc.contains("Scenarios without an nginx run"));
    assert!(doc.contains(">20.0 µs/req (0.80×)</text>"));
    assert!(doc.contains(">900.0 µs/MiB</text>"));
    assert!(doc.contains(">nginx = 1.0</text>") && doc.contains(">target 0.7</text>"));
    assert!(!doc.contains("idle-watches-10k"));
}

#[test]
fn contenders_keep_their_colour_across_scenarios() {
    let doc = render_svg(&sample::report());
    let fills: Vec<&str> = doc
        .lines()
        .filter(|l| l.contains("class=\"bar\"") && l.contains(" · go: "))
        .filter_map(|l| l.split("fill=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(fills.len(), 2);
    assert_eq!(fills[0], fills[1]);
}

#[test]
fn an_empty_report_still_renders() {
    let report = Report {
        scenarios: Vec::new(),
        targets: Vec::new(),
        ..sample::report()
    };
    let doc = render_svg(&report);
    assert_well_formed(&doc);
    assert!(doc.contains("No proxy CPU figures in this run."));
    let md = render_markdown(&report, "x.svg");
    assert!(md.contains("No target was checked."));
    assert!(md.contains("No scenario ran."));
}

#[test]
fn write_names_files_by_date_then_time() {
    let dir = std::env::temp_dir().join(format!("perf-report-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let report = sample::report();
    let (md, svg) = write(&report, &dir).expect("first write");
    assert_eq!(md, dir.join("2026-12-06.md"));
    assert_eq!(svg, dir.join("2026-12-06.svg"));
    let text = std::fs::read_to_string(&md).expect("markdown written");
    assert!(text.contains("](2026-12-06.svg)"));
    let (md, svg) = write(&report, &dir).expect("second write");
    assert_eq!(md, dir.join("2026-12-06-1128.md"));
    assert_eq!(svg, dir.join("2026-12-06-1128.svg"));
    let text = std::fs::read_to_string(&md).expect("markdown written");
    assert!(text.contains("](2026-12-06-1128.svg)"));
    let bad = Report {
        started: "yesterday".to_owned(),
        ..report
    };
    assert!(matches!(
        write(&bad, &dir),
        Err(super::ReportError::Started { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
