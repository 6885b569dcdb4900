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
//! It holds who the caller is: the user and groups read from a client certificate ([`identity_from_cert_der`]) or
//! an `X-Forwarded-Client-Cert` header ([`identity_from_xfcc`]), bearer tokens from `Authorization` and
//! WebSocket subprotocols, and the trusted-proxy [`CidrSet`]; and who owns what: the plain [`model`] records the
//! control plane reads from Capsule's objects, the [`Index`] its watches update, and the immutable [`Snapshot`]
//! that answers "is this a Capsule user" and "which tenants does this caller own" ([`ProxyTenants`]), and the
//! route decisions (`decide`). ARCHITECTURE.md at the repository root has the whole picture; kube-sim reads label
//! selectors with this crate's grammar too.

pub mod bearer;
pub mod cidr;
pub mod cluster_objects;
pub mod cluster_rules;
pub mod credential;
pub mod decide;
pub mod discovery;
pub mod fan_out;
pub mod identity;
pub mod index;
pub mod model;
pub mod object_name;
pub mod review;
pub mod role_bindings;
pub mod route;
pub mod selector;
pub mod self_review;
pub mod snapshot;
pub mod xfcc;

pub use bearer::{bearer_from_authorization, bearer_from_websocket_protocols};
pub use cidr::{CidrError, CidrSet};
pub use cluster_objects::{ClusterObjectRecord, ClusterObjects};
pub use credential::ApiCredential;
pub use identity::{CallerIdentity, IdentityError, identity_from_cert_der};
pub use index::{Index, IndexCounts};
pub use model::{
    AllowedList, CapsuleConfigurationRecord, ClusterOperations, ClusterResourceRule,
    GlobalProxySettingsRecord, GlobalRule, LabelSelector, LegacyKind, LegacyOperations, LegacyProxySetting,
    ProxySettingRecord, ProxySubject, SelectorOperator, SelectorRequirement, Subject, SubjectKind,
    TenantOwnerSpec, TenantRecord,
};
pub use snapshot::{GLOBAL_TENANT, GrantOrigin, ProxyTenant, ProxyTenants, Snapshot, TenantView};
pub use xfcc::identity_from_xfcc;
