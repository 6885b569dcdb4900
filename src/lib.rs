//! # capsule-proxy — the binary's library half
//!
//! Everything `main` needs that is worth testing on its own: the command line (flag names, defaults, feature
//! gates and checks compatible with the Go capsule-proxy), the kubeconfig / in-cluster loading that tells the
//! data plane where kube-apiserver is and how the proxy authenticates to it, the logging set-up from the zap
//! flags, the `crds` command that prints the proxy's CustomResourceDefinitions, and the `demo` command that
//! runs the proxy in front of kube-sim's demo cluster.

pub mod cli;
pub mod config;
pub mod crds_command;
#[cfg(feature = "demo")]
pub mod demo;
pub mod feature_gates;
pub mod flag_values;
pub mod kubeconfig;
pub mod logging;
pub mod metrics;
pub mod signals;
