//! # kube-sim — a simulated kube-apiserver
//!
//! kube-sim is the upstream of capsule-proxy's tests, demo and perf suite: a faithful, honest subset of
//! kube-apiserver that the real `kubectl`, kube-rs and capsule-proxy talk to over HTTPS (or plain HTTP for perf).
//!
//! ```text
//!  kubectl / proxy ──TLS──▶ server ─▶ authn (token, client cert) ─▶ impersonation ─▶ RBAC authz
//!                                   ─▶ request info (group/version/resource/ns/name/verb)
//!                                   ─▶ store (objects, resourceVersion, watch history)
//!                                   ─▶ reviews (TokenReview, SAR, SSAR, SSRR) │ discovery │ logs │ exec
//! ```
//!
//! What it is not: no admission, no defaulting beyond metadata, no server-side apply, no protobuf, no field
//! selectors beyond `metadata.name`/`metadata.namespace`, strategic-merge patch treated as a JSON merge patch
//! with list-directive keys dropped. Every such request gets a clear `Status` error, never a hang.

pub mod authn;
pub mod clock;
pub mod authz;
pub mod discovery;
pub mod exec;
pub mod fixture;
pub mod identity;
pub mod kinds;
pub mod kubeconfig;
pub mod openapi;
pub mod patch;
pub mod request;
pub mod pki;
pub mod selector;
pub mod store;
pub mod status;
pub mod table;
