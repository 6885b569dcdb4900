//! The performance suite: `perf all` installs what is missing, builds, starts kube-sim and every contender in
//! front of it, runs the scenarios with CPU accounting from `/proc`, checks the targets, prints a summary and
//! writes the report. `perf tools` and `perf list` are its first step and its catalogue.

mod build;
mod certs;
mod check;
mod clock;
mod contenders;
mod exec;
mod fanout;
mod kube_sim;
mod kubeconfig;
mod load;
mod measure;
pub(crate) mod options;
mod process;
mod procfs;
mod quiet;
mod runner;
mod scenarios;
mod snapshot;
mod summary;
mod tools;
mod watches;
mod wrk;

pub(crate) use perf::report::model;

use anyhow::{Context, Result, bail};
use contenders::{Contender, NAMES};
use load::Credential;
use model::{Machine, Report, Run, ScenarioResult};
use options::{AllArgs, Cli, Command};
use scenarios::{Load, Scenario};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Runs the parsed command line.
pub(crate) fn main(cli: Cli, command_line: String) -> Result<()> {
    match cli.command {
        Command::Tools { no_install } => {
            eprintln!("==> tools");
            tools::ensure(&tools::ALL, no_install).map(drop)
        }
        Command::List => {
            list();
            Ok(())
        }
        Command::All(args) => all(&args, command_line),
    }
}

fn list() {
    println!("scenarios (headline ones run --rounds rounds, the others once):");
    for s in scenarios::all(2) {
        let mut tags = Vec::new();
        if s.headline {
            tags.push("headline");
        }
        if s.ours_only {
            tags.push("ours only");
        }
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", tags.join(", "))
        };
        println!("  {:<24} {}{tags}", s.name, s.description);
    }
    println!("\ncontenders: {}", NAMES.join(", "));
}

/// The scenarios and contenders asked for, in the suite's order.
fn select(args: &AllArgs) -> Result<(Vec<Scenario>, Vec<&'static str>)> {
    let catalogue = scenarios::all(args.cores);
    for name in &args.scenarios {
        if !catalogue.iter().any(|s| &s.name == name) {
            bail!("unknown scenario {name:?} (see `perf list`)");
        }
    }
    for name in &args.contenders {
        if !NAMES.contains(&name.as_str()) {
            bail!("unknown contender {name:?} (one of {})", NAMES.join(", "));
        }
    }
    let scenarios = catalogue
        .into_iter()
        .filter(|s| args.scenarios.is_empty() || args.scenarios.contains(&s.name))
        .collect();
    if args.before_binary.is_none() && args.contenders.iter().any(|c| c == "ours-before") {
        bail!("the contender ours-before needs --before-binary PATH");
    }
    let contenders = NAMES
        .into_iter()
        .filter(|n| args.contenders.is_empty() || args.contenders.iter().any(|c| c == n))
        .filter(|n| *n != "ours-before" || args.before_binary.is_some())
        .collect();
    Ok((scenarios, contenders))
}

fn all(args: &AllArgs, command_line: String) -> Result<()> {
    let started = clock::now();
    let clock = Instant::now();
    if args.cores == 0 {
        bail!("--cores must be at least 1");
    }
    let (selected, names) = select(args)?;
    let mut needed = vec![tools::WRK, tools::OPENSSL, tools::CURL];
    for (name, tool) in [
        ("nginx", tools::NGINX),
        ("haproxy", tools::HAPROXY),
        ("go", tools::GO),
    ] {
        if names.contains(&name) {
            needed.push(tool);
        }
    }
    eprintln!("==> tools");
    let mut machine_tools = tools::ensure(&needed, args.no_install)?;
    if !args.no_build {
        build::cargo_build()?;
    }
    let proxy_binary = build::release_binary("capsule-proxy")?;
    let sim_binary = build::release_binary("kube-sim")?;
    let perf_load = build::release_binary("perf-load").ok();
    let snapshot_bench = build::release_binary("snapshot-bench").ok();

    let scratch = tempfile::Builder::new()
        .prefix("perf-suite.")
        .tempdir()
        .context("creating the scratch directory")?;
    let dir = scratch.path().to_owned();
    process::register_scratch(&dir, args.keep);
    process::install_signal_handler()?;
    let nofile = process::raise_nofile(262_144);
    eprintln!(
        "==> scratch directory {} (open-file limit {nofile})",
        dir.display()
    );
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;

    let mut start_failures: HashMap<String, String> = HashMap::new();
    let go_binary = if names.contains(&"go") {
        match build::go_baseline(&dir) {
            Ok(binary) => Some(binary),
            Err(e) => {
                eprintln!("    go: {e:#}");
                start_failures.insert("go".into(), format!("{e:#}"));
                None
            }
        }
    } else {
        None
    };
    let cert = certs::generate(&dir)?;
    eprintln!("==> starting kube-sim (TLS, perf objects)");
    let mut sim = kube_sim::start(&sim_binary, &dir, &logs)?;
    eprintln!("    {}", sim.url);
    let credentials = credentials(&sim.state_dir, &dir)?;
    let wrk_threads = args.wrk_threads.unwrap_or_else(|| (procfs::cores() / 2).max(1));
    let ctx = runner::Ctx {
        args,
        sim_pid: sim.proc.pid(),
        sim_url: sim.url.clone(),
        sim_ca: sim.ca.clone(),
        hz: procfs::ticks_per_second(),
        script: wrk::write_script(&dir)?,
        perf_load,
        credentials,
        wrk_threads,
        nofile,
    };

    eprintln!("==> waiting for a quiet machine");
    let load_max = (procfs::cores() as f64 * 0.5).max(1.0);
    let first_gate = quiet::wait(args.first_gate_wait(), true, load_max);

    let mut results: Vec<ScenarioResult> = Vec::new();
    let mut descriptions: Vec<(String, String)> = Vec::new();
    let groups = [(args.cores, false), (1, true)];
    for (cores, one_core) in groups {
        let group: Vec<&Scenario> = selected.iter().filter(|s| s.one_core == one_core).collect();
        if group.is_empty() {
            continue;
        }
        if let Some(s) = group.iter().find(|s| s.load == Load::Snapshot) {
            // No contender needed: run it before starting them.
            match &snapshot_bench {
                Some(binary) => results.push(snapshot::run(binary, s, args.quick)),
                None => results.push(ScenarioResult {
                    name: s.name.clone(),
                    description: s.description.clone(),
                    unit: model::Unit::Requests,
                    runs: vec![watches::failed("ours", "failed: snapshot-bench is not built")],
                }),
            }
        }
        let group: Vec<&Scenario> = group.into_iter().filter(|s| s.load != Load::Snapshot).collect();
        if group.is_empty() {
            continue;
        }
        let wanted: Vec<&str> = if group.iter().all(|s| s.ours_only) {
            names.iter().copied().filter(|n| *n == "ours").collect()
        } else {
            names.clone()
        };
        eprintln!(
            "==> starting the contenders with {cores} core(s): {}",
            wanted.join(", ")
        );
        let setup = contenders::Setup {
            cores,
            cert: &cert,
            sim: &sim,
            scratch: &dir,
            logs: &logs,
            proxy_binary: &proxy_binary,
            before_binary: args.before_binary.as_deref(),
            nofile,
            go_binary: go_binary.as_deref(),
        };
        let alice = ctx.token("alice")?.to_owned();
        let mut running: Vec<Contender> = Vec::new();
        let mut failed_now: HashMap<String, String> = HashMap::new();
        for name in &wanted {
            if let Some(why) = start_failures.get(*name) {
                failed_now.insert((*name).to_owned(), why.clone());
                continue;
            }
            match contenders::start(name, &setup).and_then(|mut c| {
                check::answers_200(&mut c, scenarios::SMALL_GET, &alice)?;
                Ok(c)
            }) {
                Ok(c) => {
                    eprintln!(
                        "    {:<10} 200; {} | TLS 1.2: {}",
                        c.name,
                        check::negotiated(&c, "-tls1_3"),
                        check::negotiated(&c, "-tls1_2")
                    );
                    if cores == args.cores {
                        descriptions.push((c.name.clone(), c.description.clone()));
                    }
                    running.push(c);
                }
                Err(e) => {
                    eprintln!("    {name:<10} FAILED its check: {e:#}");
                    failed_now.insert((*name).to_owned(), format!("{e:#}"));
                }
            }
        }
        sim.proc.check_alive()?;
        run_group(&ctx, &group, &mut running, &failed_now, &mut results);
        for c in running {
            c.stop();
        }
        sim.proc.check_alive()?;
    }

    for (name, description) in &descriptions {
        machine_tools.push((name.clone(), description.clone()));
    }
    let objects = if sim.perf_objects {
        "with --perf-objects"
    } else {
        "WITHOUT the perf objects (an older kube-sim)"
    };
    machine_tools.push(("kube-sim".into(), format!("{} (TLS, {objects})", sim.url)));
    if !first_gate.quiet {
        for s in &mut results {
            for r in &mut s.runs {
                r.notes.push(format!(
                    "DISTURBED: the machine was {:.0} % busy (load {:.2}) when the suite started",
                    first_gate.busy_pct, first_gate.load
                ));
            }
        }
    }
    let mut report = Report {
        started,
        command: command_line,
        machine: Machine {
            cores: procfs::cores(),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            tools: machine_tools,
        },
        scenarios: results,
        targets: Vec::new(),
    };
    report.targets = summary::targets(&report);
    sim.proc.stop();
    print!("\n{}", summary::table(&report));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| build::workspace_root().join("perf/results"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let (markdown, chart) = perf::report::write(&report, &out).context("writing the report")?;
    eprintln!("==> report: {} and {}", markdown.display(), chart.display());
    eprintln!("==> the suite took {:.0} s", clock.elapsed().as_secs_f64());
    if args.keep {
        eprintln!("==> kept {}", scratch.keep().display());
    }
    Ok(())
}

/// Runs one group's scenarios (same cores) through its running contenders; contenders that failed to start get
/// a failed run in every scenario they were due in.
fn run_group(
    ctx: &runner::Ctx<'_>,
    group: &[&Scenario],
    running: &mut [Contender],
    failed: &HashMap<String, String>,
    results: &mut Vec<ScenarioResult>,
) {
    let mut watches_done = false;
    for scenario in group {
        eprintln!("==> {}", scenario.name);
        let mut participants: Vec<&mut Contender> = running
            .iter_mut()
            .filter(|c| !scenario.ours_only || c.name == "ours")
            .collect();
        let mut failed_runs: Vec<Run> = failed
            .iter()
            .filter(|(n, _)| !scenario.ours_only || n.as_str() == "ours")
            .map(|(n, why)| watches::failed(n, &format!("failed its start or check: {why}")))
            .collect();
        failed_runs.sort_by(|a, b| a.contender.cmp(&b.contender));
        let mut produced = match &scenario.load {
            Load::Wrk { .. } | Load::Get { .. } => {
                vec![runner::request_scenario(ctx, scenario, &mut participants)]
            }
            Load::IdleWatches | Load::WatchEvents => {
                if watches_done {
                    continue;
                }
                watches_done = true;
                let idle = group.iter().copied().find(|s| s.load == Load::IdleWatches);
                let events = group.iter().copied().find(|s| s.load == Load::WatchEvents);
                watches::run(ctx, idle, events, &mut participants)
            }
            Load::Exec => vec![exec::run(ctx, scenario, &mut participants)],
            Load::FanOut => match participants.into_iter().next() {
                Some(ours) => vec![fanout::run(ctx, scenario, ours)],
                None => vec![ScenarioResult {
                    name: scenario.name.clone(),
                    description: scenario.description.clone(),
                    unit: model::Unit::Requests,
                    runs: Vec::new(),
                }],
            },
            Load::Snapshot => Vec::new(),
        };
        for result in &mut produced {
            result.runs.extend(failed_runs.iter().cloned());
        }
        results.extend(produced);
    }
}

/// Tokens of alice, admin and erin, and alice's client certificate written to `dir`.
fn credentials(state_dir: &Path, dir: &Path) -> Result<HashMap<String, Credential>> {
    let mut map = HashMap::new();
    for who in ["alice", "admin", "erin"] {
        let token = kubeconfig::token(state_dir, who).unwrap_or_else(|_| format!("{who}-token"));
        map.insert(who.to_owned(), Credential::Token(token));
    }
    let (cert, key): (PathBuf, PathBuf) = kubeconfig::client_cert(state_dir, "alice-cert", dir)?;
    map.insert("alice-cert".into(), Credential::Cert(cert, key));
    Ok(map)
}
