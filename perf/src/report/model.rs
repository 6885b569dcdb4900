//! What one run of the suite measured: the data the summary table, `perf/results/<date>.md` and its SVG chart are
//! made from. The runner fills it; the report module only reads it.

/// Latency percentiles of one run, in microseconds, as the load generator saw them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
}

/// One contender measured in one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The contender: `ours`, `ours-epoll`, `nginx`, `haproxy`, `go` or `direct` (client → kube-sim, the floor).
    pub contender: String,
    /// Completed requests (or, for watch scenarios, events delivered; for exec, bytes relayed).
    pub requests: u64,
    /// Wall-clock length of the measured part, in seconds.
    pub seconds: f64,
    /// Failed requests: socket errors, timeouts and non-2xx answers.
    pub errors: u64,
    /// Latency seen by the client, when the scenario measures it.
    pub latency: Option<Percentiles>,
    /// The proxy's CPU time (user + system, all its processes) per request, in µs; `None` for `direct`.
    pub proxy_cpu_us_per_req: Option<f64>,
    /// kube-sim's CPU time per request, in µs.
    pub upstream_cpu_us_per_req: Option<f64>,
    /// The proxy's RSS (summed over its processes) at the end of the run, in KiB.
    pub proxy_rss_kib: Option<u64>,
    /// Scenario-specific figures, in display order: (`"RSS per watch KiB"`, `"31.5"`), (`"fds"`, `"20004"`).
    pub extra: Vec<(String, String)>,
    /// Anything a reader must know about this run (a disturbed machine, a failed check, a skipped contender).
    pub notes: Vec<String>,
}

/// What a scenario's `requests` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// HTTP requests.
    Requests,
    /// Watch events delivered to clients.
    Events,
    /// Bytes relayed (exec).
    Bytes,
    /// Idle connections held (memory scenarios: `requests` is the number held).
    Connections,
}

/// One scenario's results across contenders.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioResult {
    /// Short stable name: `small-get-c16`, `list-10k-tls`, `idle-watches-10k`, …
    pub name: String,
    /// One sentence: what is sent, through what, how many connections.
    pub description: String,
    /// What `Run::requests` counts.
    pub unit: Unit,
    /// One run per contender, in the order they ran.
    pub runs: Vec<Run>,
}

/// A target of the suite checked against this run (`≤ 0.7× nginx CPU per request on list-10k-tls`).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCheck {
    /// The target, in words.
    pub target: String,
    /// The measured value, in words (`0.64× nginx`).
    pub measured: String,
    /// Whether the target is met.
    pub met: bool,
}

/// The machine and tools a run used.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Machine {
    /// `nproc`.
    pub cores: usize,
    /// `uname -r`.
    pub kernel: String,
    /// (tool, version) pairs: nginx, haproxy, go, wrk, openssl, capsule-proxy's I/O driver.
    pub tools: Vec<(String, String)>,
}

/// A whole run of the suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// UTC start time, RFC 3339.
    pub started: String,
    /// The command line that produced it.
    pub command: String,
    /// Where it ran.
    pub machine: Machine,
    /// Scenario results, in the order they ran.
    pub scenarios: Vec<ScenarioResult>,
    /// The suite's targets, checked.
    pub targets: Vec<TargetCheck>,
}
