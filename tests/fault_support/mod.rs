//! What the fault-injection tests (`tests/fault_*.rs`) share: the proxy process seen from outside (open file
//! descriptors, resident memory, signals), its probe and metrics endpoints, the certificate it presents, and
//! raw watch streams read event by event until they end.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // test harness: each test file uses its own part

pub mod endpoints;
pub mod process;
pub mod watch_stream;
