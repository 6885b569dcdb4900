//! # capsule-proxy-dataplane — the thread-per-core data plane
//!
//! One monoio runtime per core (io_uring, legacy epoll only when io_uring is unavailable), each accepting on its
//! own `SO_REUSEPORT` listener, terminating TLS with rustls, parsing HTTP/1.1 with a strict I/O-free codec,
//! and relaying requests to kube-apiserver over a per-core pool of keep-alive connections, bodies streamed
//! through reused buffers as they arrive. ARCHITECTURE.md at the repository root has the whole picture; this
//! crate is its "dataplane" box.
//!
//! The folders are the floors of a building, each using only those below it:
//!
//! ```text
//!  runtime/              starts the cores; runtime/connection.rs takes each request through the phases:
//!  phase1_accept/        accept, trusted-proxy check, TLS handshake, client certificate identity
//!  phase2_read_head/     the request head, with limits (408, 431, 400)
//!  phase3_authenticate/  /_healthz, trust, the caller's credential; reviewed identities
//!  phase4_decide/        route, snapshot, reviews: forward (as whom, planned how), answer or redirect
//!  phase5_forward_head/  the upstream head written, sent on a pooled connection with the body
//!  phase6_response/      the response head; namespace gate, rewritten self reviews, upgrades checked
//!  phase7_relay/         bodies, watches and upgraded connections, streamed
//!  phase8_finish/        the connection back to the pool or not; the request counted
//!  ground floor:         client (the connection and the proxy's own answers), context (what phases
//!                        share of their core), codec, io, upstream, metrics, config, status, tls_config
//! ```
//!
//! A phase uses only the phases before it and the ground floor; `.ci/module-cycles` checks that no modules
//! use each other in a circle. A core's state lives on its thread (`Rc`/`RefCell`): no locks and no shared
//! atomics on the request path. Certificate and token rotations reach the cores as [`CoreUpdate`]s sent by the
//! watcher thread; snapshots and the control plane's look-ups through [`CoreBroadcast`].

pub mod client;
pub mod codec;
pub mod config;
pub mod context;
pub mod io;
pub mod metrics;
pub mod status;
pub mod tls_config;
pub mod upstream;

pub mod phase1_accept;
pub mod phase2_read_head;
pub mod phase3_authenticate;
pub mod phase4_decide;
pub mod phase5_forward_head;
pub mod phase6_response;
pub mod phase7_relay;
pub mod phase8_finish;

pub mod runtime;

pub use config::{
    AuthConfig, AuthMethod, ClientTimeouts, DataplaneConfig, Driver, DriverChoice, ServingTls, UpstreamConfig,
};
pub use runtime::{CoreBroadcast, CoreUpdate, Dataplane, Reloader, StartError};
