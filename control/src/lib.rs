//! # capsule-proxy-control — the control thread
//!
//! One tokio runtime on its own thread: kube-rs watches of CapsuleConfiguration, Tenants, ProxySettings,
//! GlobalProxySettings and the cluster-scoped kinds the filters need, an index that turns them into the
//! `capsule-proxy-policy` snapshot published to every core, and the cached TokenReview / SubjectAccessReview
//! look-ups the data plane asks for.
//!
//! The crate is empty until the control plane lands; it holds no placeholder logic.
