//! `kube-sim` command line.
fn main() {}
