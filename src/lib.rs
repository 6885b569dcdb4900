//! # capsule-proxy — the binary's library half
//!
//! Everything `main` needs that is worth testing on its own: the command line (flag names, defaults and checks
//! compatible with the Go capsule-proxy) and the kubeconfig / in-cluster loading that tells the data plane where
//! kube-apiserver is and how the proxy authenticates to it.

pub mod cli;
pub mod config;
pub mod kubeconfig;
