//! # capsule-proxy
//!
//! The binary users deploy in front of kube-apiserver. Its command line keeps the Go capsule-proxy's flags, env
//! vars and ports; `main` only parses arguments and wires the control thread and the data-plane cores together.
//!
//! The data plane is not built yet: until it is, the binary answers `--help`/`--version` and refuses to run
//! rather than pretend to proxy.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--version" | "-V") => {
            println!("capsule-proxy {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") => {
            println!(
                "capsule-proxy {}: the proxy data plane is not built yet.",
                env!("CARGO_PKG_VERSION")
            );
            println!("Run the simulated API server instead: cargo run -p kube-sim -- serve --help");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("capsule-proxy: the proxy data plane is not built yet; see `capsule-proxy --help`");
            ExitCode::from(2)
        }
    }
}
