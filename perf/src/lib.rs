//! # perf — load scenarios and benchmarks
//!
//! Scenarios that drive capsule-proxy in front of kube-sim (plain-HTTP mode) and report CPU time per request,
//! latency and memory, and micro-benchmarks of the snapshot and decision code. Timings live here, never in tests.
//!
//! The library holds what the benchmarks share (reading this process's memory) and [`report`], which turns a suite
//! run into `perf/results/<date>.md` and its SVG chart. Benchmarks are binaries under `src/bin/` and scripts beside
//! the crate, such as `perf/passthrough-vs-nginx.sh` (a pass-through GET over TLS through capsule-proxy and through
//! nginx in front of the same kube-sim: CPU per request, latency, RSS).
//! `perf/README.md` explains how to run them and read their numbers.

pub mod report;

/// `VmRSS` and `VmHWM` of this process, in KiB (0 when unreadable): what the benchmarks' memory figures are made of.
pub fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
