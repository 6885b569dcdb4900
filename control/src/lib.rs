//! # capsule-proxy-control — the control thread
//!
//! One tokio runtime on its own thread: kube-rs watches of CapsuleConfiguration, Tenants, ProxySettings and
//! GlobalProxySettings, an index that turns them into the `capsule-proxy-policy` [`Snapshot`] published to every
//! core, and the cached TokenReview / SubjectAccessReview look-ups the data plane asks for.
//!
//! ```text
//!  watches (crds → translate) ──Change──▶ index task ──Arc<Snapshot>──▶ publish (one channel per core)
//!  cores ──question──▶ identity service (cache, single-flight) ──TokenReview/SAR──▶ kube-apiserver
//! ```
//!
//! Nothing is published until every watch has listed once; afterwards only when the index changed. A failing
//! watch retries with backoff while the last good snapshot stays in place ([`ControlStatus`] tells).
//!
//! [`Snapshot`]: capsule_proxy_policy::snapshot::Snapshot

pub mod crds;
pub mod identity;
pub mod probes;
pub mod runtime;
pub mod status;
pub mod translate;
pub mod watches;

pub use identity::{
    AccessQuestion, IdentityCacheConfig, IdentityClient, IdentityStats, LookupError, Pending, TokenIdentity,
};
pub use runtime::{ClusterConnection, Control, ControlError, ControlOptions};
pub use status::ControlStatus;
