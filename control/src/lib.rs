//! # capsule-proxy-control — the control thread
//!
//! One tokio runtime on its own thread: kube-rs watches of CapsuleConfiguration, Tenants, ProxySettings,
//! GlobalProxySettings and (metadata only) namespaces, nodes, classes and persistent volumes, API discovery,
//! an index that turns them into the `capsule-proxy-policy` [`Snapshot`] published to every core, and the
//! cached TokenReview / SubjectAccessReview / object-label look-ups the data plane asks for.
//!
//! ```text
//!  watches (crds → translate, objects) ─Change─▶ index task ──Arc<Snapshot>──▶ publish (one channel per core)
//!  discovery (/api, /apis; again on CRD/APIService change) ─ApiResources─▶ index task
//!  cores ──question──▶ identity service (cache, single-flight) ──TokenReview/SAR/GET──▶ kube-apiserver
//! ```
//!
//! Nothing is published until the Capsule and namespace watches have listed once and discovery has run;
//! afterwards only when the index changed. A failing watch retries with backoff while the last good snapshot
//! stays in place; [`ControlStatus`] tells which watches stream, how long the snapshot may have been out of
//! date, and whether the replica is ready.
//!
//! [`Snapshot`]: capsule_proxy_policy::snapshot::Snapshot

mod backoff;
pub mod crds;
pub mod discovery;
pub mod exec_credential;
pub mod identity;
mod index_events;
pub mod metrics_server;
mod objects;
pub mod probes;
pub mod problems;
mod reviews;
pub mod runtime;
pub mod setting_status;
mod small_http;
pub mod status;
pub mod translate;
mod watch_health;
pub mod watches;

pub use identity::{
    AccessQuestion, IdentityCacheConfig, IdentityClient, IdentityStats, LookupError, ObjectLookup, Pending,
    Reviewer, TokenIdentity,
};
pub use runtime::{ClusterConnection, Control, ControlError, ControlOptions};
pub use status::{ControlStatus, DEFAULT_READINESS_STALE_AFTER, Readiness};
pub use watch_health::{Staleness, WatchStatus};
