//! capsule-proxy binary.
fn main() {}
