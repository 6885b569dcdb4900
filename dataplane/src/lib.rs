//! # capsule-proxy-dataplane — the thread-per-core data plane
//!
//! One monoio runtime per core (io_uring, legacy epoll only when io_uring is unavailable), each accepting on its
//! own `SO_REUSEPORT` listener, terminating TLS with rustls, parsing HTTP/1.1 with a strict I/O-free codec,
//! and relaying requests to kube-apiserver over a per-core pool of keep-alive connections, bodies streamed
//! through reused buffers as they arrive.
//!
//! ```text
//!  accept ─▶ TLS ─▶ head (codec) ─▶ authenticate (auth) ─▶ rewrite head (forward_head)
//!         ─▶ pooled upstream (upstream) ─▶ relay body / response / upgrade (forward, relay)
//! ```
//!
//! A core's state lives on its thread (`Rc`/`RefCell`): no locks and no shared atomics on the request path.
//! Certificate and token rotations reach the cores as [`core::CoreUpdate`]s sent by the [`watcher`] thread.
//! Capsule routes are decided with the control thread's snapshot and reviews (`decide`); every other request
//! passes through, callers authenticated by client certificate or XFCC forwarded with the proxy's credentials
//! and `Impersonate-*` headers. ARCHITECTURE.md at the repository root has the whole picture.

pub mod auth;
pub mod codec;
pub mod config;
pub mod core;
pub mod decide;
pub mod forward;
pub mod forward_head;
pub mod identity;
pub mod io;
pub mod memory;
pub mod metrics;
pub mod namespace_gate;
pub mod plan;
pub mod relay;
pub mod rewrite;
pub mod runtime;
pub mod serve;
pub mod status;
pub mod tls_config;
pub mod upstream;
pub mod watch_end;
pub mod watcher;

pub use config::{
    AuthConfig, AuthMethod, ClientTimeouts, DataplaneConfig, DriverChoice, ServingTls, UpstreamConfig,
};
pub use core::CoreUpdate;
pub use runtime::{CoreBroadcast, Dataplane, Driver, Reloader, StartError};
