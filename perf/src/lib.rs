//! # perf — load scenarios and benchmarks
//!
//! Scenarios that drive capsule-proxy in front of kube-sim (plain-HTTP mode) and report CPU time per request,
//! latency and memory, and micro-benchmarks of the snapshot and decision code. Timings live here, never in tests.
//!
//! The crate is empty until there is a proxy to measure; it holds no placeholder scenarios.
