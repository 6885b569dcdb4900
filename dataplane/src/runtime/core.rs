//! One core: its runtime-local state and the updates other threads send it.
//!
//! Everything here is owned by the core's thread: `Rc`, `RefCell`, no locks and no shared atomics. Other
//! threads reach a core only through its update channel, which a timer task drains between requests.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capsule_proxy_policy::review::Reviewer;
use capsule_proxy_policy::snapshot::Snapshot;
use crossbeam_channel::{Receiver, Sender};
use rustls::ServerConfig;

use super::memory::BurstTrim;
use crate::context::{AccessCache, RequestContext, Settings, StreamRegistry, TokenCache};
use crate::io::StopSignal;
use crate::metrics::{CoreMetrics, CoreMetricsSnapshot};
use crate::phase4_decide::watch_still_valid;
use crate::upstream::Pool;

/// How often a core drains its update channel.
const UPDATE_POLL: Duration = Duration::from_millis(200);

/// A change pushed to every core by the watcher thread.
#[derive(Debug, Clone)]
pub enum CoreUpdate {
    /// New serving certificate: used for connections accepted from now on.
    ServerTls {
        /// The listener's new config.
        config: Arc<ServerConfig>,
        /// The certificate in words (file and fingerprint), for the log line that says it is served.
        description: Arc<str>,
    },
    /// The proxy's bearer token changed (rotated token file).
    UpstreamToken(Arc<str>),
    /// The apiserver's addresses were re-resolved.
    UpstreamAddrs(Vec<SocketAddr>),
    /// A new ownership snapshot from the control plane.
    Snapshot(Arc<Snapshot>),
    /// The control plane's look-ups (TokenReview, SubjectAccessReview, object reads), once it runs.
    Reviewer(Arc<dyn Reviewer>),
    /// Stop accepting, end streamed responses, finish what is in flight and stop by `deadline`.
    Shutdown {
        /// When the core stops whatever is still open.
        deadline: Instant,
    },
    /// A metrics scrape: the core sends a copy of its metrics back.
    Scrape(Sender<CoreMetricsSnapshot>),
}

/// A core's state.
#[derive(Debug)]
pub struct Core {
    /// Index of the core, for logs.
    pub id: usize,
    /// Fixed settings.
    pub settings: Settings,
    /// The listener's TLS config; `None` serves plain HTTP.
    pub server_tls: RefCell<Option<Arc<ServerConfig>>>,
    /// The proxy's bearer token for impersonated requests.
    pub token: RefCell<Option<Arc<str>>>,
    /// Upstream connections.
    pub pool: Pool,
    /// The newest ownership snapshot; `None` until the control plane has synced once.
    pub snapshot: RefCell<Option<Arc<Snapshot>>>,
    /// The control plane's look-ups; `None` until it runs.
    pub reviewer: RefCell<Option<Arc<dyn Reviewer>>>,
    /// Recent token answers.
    pub tokens: TokenCache,
    /// Recent access-review answers.
    pub reviews: AccessCache,
    /// Request and connection metrics.
    pub metrics: CoreMetrics,
    /// Open streamed responses: all ended on shutdown, filtered watches when ownership changes.
    pub streams: Rc<StreamRegistry>,
    /// Set on shutdown: when the core stops whatever is still open.
    pub draining: Cell<Option<Instant>>,
    /// Ends the accept loop on shutdown.
    pub accept_stop: StopSignal,
    /// Gives memory back to the system after a burst of connections.
    pub burst_trim: BurstTrim,
}

impl Core {
    /// Whether the core is shutting down (responses then close their connections).
    pub fn is_draining(&self) -> bool {
        self.draining.get().is_some()
    }

    /// What a request's phases use of this core.
    pub fn context(&self) -> RequestContext<'_> {
        RequestContext {
            core_id: self.id,
            settings: &self.settings,
            proxy_token: &self.token,
            pool: &self.pool,
            snapshot: &self.snapshot,
            reviewer: &self.reviewer,
            tokens: &self.tokens,
            reviews: &self.reviews,
            metrics: &self.metrics,
            streams: &self.streams,
            draining: &self.draining,
        }
    }

    /// Applies one update.
    pub fn apply(&self, update: CoreUpdate) {
        match update {
            CoreUpdate::ServerTls { config, description } => {
                *self.server_tls.borrow_mut() = Some(config);
                // Logged once the core serves it: from this line on, its handshakes present the new certificate.
                tracing::info!(core = self.id, cert = %description, "serving certificate reloaded");
            }
            CoreUpdate::UpstreamToken(token) => *self.token.borrow_mut() = Some(token),
            CoreUpdate::UpstreamAddrs(addrs) => self.pool.set_addrs(addrs),
            CoreUpdate::Snapshot(snapshot) => {
                tracing::debug!(
                    core = self.id,
                    generation = snapshot.generation(),
                    "snapshot received"
                );
                let filter = &self.settings.filter;
                self.streams
                    .revalidate(|entry| watch_still_valid(&snapshot, entry, filter));
                *self.snapshot.borrow_mut() = Some(snapshot);
            }
            CoreUpdate::Reviewer(reviewer) => *self.reviewer.borrow_mut() = Some(reviewer),
            CoreUpdate::Shutdown { deadline } => {
                if self.draining.get().is_none() {
                    tracing::info!(
                        core = self.id,
                        "shutting down: no new connections, streams end now"
                    );
                    self.draining.set(Some(deadline));
                    self.accept_stop.stop();
                    self.streams.stop_all();
                }
            }
            CoreUpdate::Scrape(reply) => {
                self.pool.reap();
                let _ = reply.send(self.metrics.snapshot(self.pool.idle_count()));
            }
        }
    }
}

/// Drains `updates` into `core` every `UPDATE_POLL` (200 ms) until the sending side is gone; lets go of
/// upstream connections the server closed on the way (see [`Pool::reap`]).
pub async fn apply_updates(core: Rc<Core>, updates: Receiver<CoreUpdate>) {
    loop {
        core.pool.reap();
        // Client connections and pooled upstream ones both hold buffers.
        let connections = core.metrics.connections_open() + core.pool.idle_count() as u64;
        if core.burst_trim.observe(connections, Instant::now()) {
            tracing::debug!(
                core = core.id,
                "a burst of connections ended: free memory returned"
            );
        }
        loop {
            match updates.try_recv() {
                Ok(update) => core.apply(update),
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                Err(crossbeam_channel::TryRecvError::Disconnected) => return,
            }
        }
        monoio::time::sleep(UPDATE_POLL).await;
    }
}
