//! # capsule-proxy-policy — the pure decisions
//!
//! Everything capsule-proxy decides without I/O lives here: the immutable ownership `Snapshot` the control thread
//! builds and every core reads, which route a request is (`RouteKind`), which tenants an identity owns, and the
//! label-selector text a filtered request is rewritten with. No Kubernetes client types, no runtime: plain data
//! and functions, tested with unit and property tests.
//!
//! ```text
//!  control (kube watches) ──▶ Snapshot ──Arc──▶ dataplane core: classify ─▶ decide ─▶ rewrite
//! ```
//!
//! The crate is empty until the control plane and the filtered routes land; it holds no placeholder logic.
