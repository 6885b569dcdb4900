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
//! So far it holds who the caller is: the user and groups read from a client certificate
//! ([`identity_from_cert_der`]) or an `X-Forwarded-Client-Cert` header ([`identity_from_xfcc`]), bearer tokens
//! from `Authorization` and WebSocket subprotocols, and the trusted-proxy [`CidrSet`]. The snapshot and route
//! decisions land with the control plane and the filtered routes; there is no placeholder logic.

pub mod bearer;
pub mod cidr;
pub mod identity;
pub mod xfcc;

pub use bearer::{bearer_from_authorization, bearer_from_websocket_protocols};
pub use cidr::{CidrError, CidrSet};
pub use identity::{CallerIdentity, IdentityError, identity_from_cert_der};
pub use xfcc::identity_from_xfcc;
