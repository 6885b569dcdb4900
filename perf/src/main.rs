//! `perf`: capsule-proxy's performance suite in one command.
//!
//! `cargo run --release -p perf -- all` installs the missing tools (wrk, nginx, HAProxy, Go, openssl, curl),
//! builds the release binaries and the Go baseline, starts kube-sim over TLS with every contender in front of it
//! (capsule-proxy on io_uring and on epoll, nginx, HAProxy, Go's `httputil.ReverseProxy`, and the client
//! talking to kube-sim directly), runs every scenario with CPU accounting from `/proc`, checks the targets,
//! prints a summary and writes `perf/results/<date>.md` and `.svg`. `perf/README.md` explains the scenarios
//! and how to read the numbers.

mod suite;

use clap::Parser as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = suite::options::Cli::parse();
    let command_line = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    match suite::main(cli, format!("cargo run --release -p perf -- {command_line}")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perf: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
