//! A hand-made report for the tests: two scenarios with every baseline and `direct`, one without nginx, one
//! without CPU figures, and values missing here and there.

use super::model::{Machine, Percentiles, Report, Run, ScenarioResult, TargetCheck, Unit};

/// A run with the given CPU µs per unit and p50/p99/p99.9 in µs.
pub(super) fn run(contender: &str, cpu: Option<f64>, latency: Option<(f64, f64, f64)>) -> Run {
    Run {
        contender: contender.to_owned(),
        requests: 100_000,
        seconds: 5.0,
        errors: 0,
        latency: latency.map(|(p50_us, p99_us, p999_us)| Percentiles {
            p50_us,
            p99_us,
            p999_us,
        }),
        proxy_cpu_us_per_req: cpu,
        upstream_cpu_us_per_req: Some(30.0),
        proxy_rss_kib: cpu.map(|_| 20_480),
        extra: Vec::new(),
        notes: Vec::new(),
    }
}

/// The sample report.
pub(super) fn report() -> Report {
    let mut go = run("go", Some(50.0), Some((2500.0, 9000.0, 15000.0)));
    go.errors = 3;
    go.extra = vec![("upstream conns".to_owned(), "812".to_owned())];
    go.notes = vec!["DISTURBED: the machine was 40 % busy".to_owned()];
    let mut ours = run("ours", Some(20.0), Some((1412.0, 5000.0, 8000.0)));
    ours.extra = vec![
        ("fds".to_owned(), "20004".to_owned()),
        ("upstream conns".to_owned(), "16".to_owned()),
    ];
    let mut direct = run("direct", None, Some((1000.0, 4000.0, 6000.0)));
    direct.upstream_cpu_us_per_req = None;
    let small_get = ScenarioResult {
        name: "small-get-c16".to_owned(),
        description: "GET of one pod over TLS, 16 keep-alive connections.".to_owned(),
        unit: Unit::Requests,
        runs: vec![
            direct,
            ours,
            run("ours-epoll", Some(22.5), Some((1500.0, 5200.0, 8100.0))),
            run("nginx", Some(25.0), Some((1300.0, 4800.0, 7000.0))),
            run("haproxy", Some(40.0), None),
            go,
        ],
    };
    let mut exec = run("ours", Some(900.0), None);
    exec.requests = 50 * 1024 * 1024;
    let exec = ScenarioResult {
        name: "exec-<stdin> & \"cat\"".to_owned(),
        description: "kubectl exec cat, 8 streams | bytes echoed.".to_owned(),
        unit: Unit::Bytes,
        runs: vec![exec, run("go", Some(1500.0), None)],
    };
    let idle = ScenarioResult {
        name: "idle-watches-10k".to_owned(),
        description: "10,000 idle watches held open.".to_owned(),
        unit: Unit::Connections,
        runs: vec![run("ours", None, None), run("nginx", None, None)],
    };
    Report {
        started: "2026-12-06T11:28:04Z".to_owned(),
        command: "cargo run --release -p perf -- all".to_owned(),
        machine: Machine {
            cores: 2,
            kernel: "6.1.0-test".to_owned(),
            tools: vec![
                ("nginx".to_owned(), "1.22.1".to_owned()),
                ("go".to_owned(), "go1.19.8".to_owned()),
            ],
        },
        scenarios: vec![small_get, exec, idle],
        targets: vec![
            TargetCheck {
                target: "≤ 0.7× nginx CPU per request on small-get-c16".to_owned(),
                measured: "0.80× nginx".to_owned(),
                met: false,
            },
            TargetCheck {
                target: "RSS per watch ≤ 8 KiB".to_owned(),
                measured: "3.1 KiB".to_owned(),
                met: true,
            },
        ],
    }
}
