//! # perf — load scenarios and benchmarks
//!
//! Scenarios that drive capsule-proxy in front of kube-sim (plain-HTTP mode) and report CPU time per request,
//! latency and memory, and micro-benchmarks of the snapshot and decision code. Timings live here, never in tests.
//!
//! The library itself holds no scenarios (and no placeholders): benchmarks are binaries under `src/bin/` and
//! scripts beside the crate, such as `perf/passthrough-vs-nginx.sh` (a pass-through GET over TLS through
//! capsule-proxy and through nginx in front of the same kube-sim: CPU per request, latency, RSS). `perf/README.md`
//! explains how to run them and read their numbers.
