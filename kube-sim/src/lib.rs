//! # kube-sim — a simulated kube-apiserver
//!
//! kube-sim is the upstream of capsule-proxy's tests, demo and perf suite: a faithful, honest subset of
//! kube-apiserver that the real `kubectl`, kube-rs and capsule-proxy talk to over HTTPS (or plain HTTP for perf).
//!
//! ```text
//!  kubectl / proxy ─TLS─▶ server ─▶ handler: authn (client cert, token) ─▶ impersonation ─▶ RBAC
//!                                     │
//!                                     ├─▶ discovery, openapi          (non-resource paths)
//!                                     ├─▶ resources ─▶ store          (get/list/create/update/patch/delete)
//!                                     ├─▶ reviews                     (TokenReview, SAR, SSAR, SSRR)
//!                                     └─▶ streams                     (watch, logs -f, exec over WebSocket)
//! ```
//!
//! Start it in-process with [`sim::KubeSim::start`], or from the command line with `kube-sim serve`.
//!
//! It answers as kube-apiserver does under load: object and list answers over 2 KiB go out chunked in chunks of at
//! most [`cluster::Options::chunk_bytes`] ([`chunked`]); every stored object keeps its JSON encoding, so a list
//! copies bytes rather than serializing objects, and a watch event is encoded once for all its watchers
//! ([`encoded`]). `kube-sim serve --perf-objects` adds the perf suite's objects ([`perf_objects`]).
//!
//! CustomResourceDefinitions work: creating one serves its resources (discovery, CRUD, list/watch with
//! selectors, PartialObjectMetadata) through the same store; see [`crd`] for what is not modelled.
//!
//! What it does not do, on purpose: admission (beyond "the namespace must exist"), defaulting beyond metadata,
//! server-side apply, protobuf, SPDY, ClusterRole aggregation, graceful deletion and finalizers, field selectors
//! beyond the common ones, consistent-snapshot paging. Strategic-merge patch is a documented subset. Every
//! unsupported request gets a clear `Status` error, never a hang.

pub mod authn;
pub mod authz;
pub mod catalog;
pub mod chunked;
pub mod clock;
pub mod cluster;
pub mod connection;
pub mod crd;
pub mod discovery;
pub mod encoded;
pub mod exec;
pub mod faults;
pub mod fixture;
pub mod handler;
pub mod identity;
pub mod kinds;
pub mod kubeconfig;
pub mod logs;
pub mod metadata;
pub mod openapi;
pub mod params;
pub mod patch;
pub mod perf_objects;
pub mod pki;
pub mod protobuf;
pub mod protobuf_objects;
pub mod request;
pub mod resources;
pub mod response;
pub mod reviews;
pub mod selector;
pub mod server;
pub mod sim;
pub mod status;
pub mod store;
pub mod streams;
pub mod table;
pub mod watch;

pub use fixture::Fixture;
pub use sim::{KubeSim, SimConfig};
