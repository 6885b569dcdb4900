//! What a request's phases work with on their core: the fixed [`Settings`], and a [`RequestContext`] that
//! lends them the parts of the core's state they read and update — the proxy's token, the control plane's
//! snapshot and look-ups, the upstream pool, the metrics, the open streams — without the core itself (its
//! update loop, listener and memory trimming stay with `runtime`).
//!
//! Everything here is owned by the core's thread: `Rc`, `RefCell`, no locks and no shared atomics.

mod identity;
mod streams;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use capsule_proxy_policy::review::Reviewer;
use capsule_proxy_policy::snapshot::Snapshot;

pub use identity::{AccessCache, AnswerCache, Identity, TokenAnswer, TokenCache};
pub use streams::{StreamRegistry, StreamTicket, WatchEntry};

use crate::codec::Limits;
use crate::config::{AuthConfig, AuthMethod, ClientTimeouts, FilterConfig};
use crate::metrics::CoreMetrics;
use crate::upstream::Pool;

/// Settings a core reads on every request; fixed at start.
#[derive(Debug)]
pub struct Settings {
    /// Head limits.
    pub limits: Limits,
    /// Client timeouts.
    pub timeouts: ClientTimeouts,
    /// Authentication methods and trusted proxies.
    pub auth: AuthConfig,
    /// Whether client certificates are authenticated.
    pub cert_auth: bool,
    /// Prefix of the apiserver URL's path.
    pub path_prefix: String,
    /// How long to wait for the apiserver's response head.
    pub response_header_timeout: Duration,
    /// Impersonated requests carry the proxy's bearer token (a token credential, not a client certificate).
    pub impersonation_needs_token: bool,
    /// Capsule filtering settings.
    pub filter: FilterConfig,
}

impl Settings {
    /// Settings from the parts of the config a core needs.
    pub fn new(
        limits: Limits,
        timeouts: ClientTimeouts,
        auth: AuthConfig,
        path_prefix: String,
        response_header_timeout: Duration,
        impersonation_needs_token: bool,
        filter: FilterConfig,
    ) -> Self {
        let cert_auth = auth.methods.contains(&AuthMethod::TlsCertificate);
        Self {
            limits,
            timeouts,
            auth,
            cert_auth,
            path_prefix,
            response_header_timeout,
            impersonation_needs_token,
            filter,
        }
    }
}

/// The parts of a core's state a request's phases use, lent for one connection (a few references: building
/// one costs nothing).
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'c> {
    /// Index of the core, for logs.
    pub core_id: usize,
    /// Fixed settings.
    pub settings: &'c Settings,
    /// The proxy's bearer token for impersonated and filtered requests.
    pub proxy_token: &'c RefCell<Option<Arc<str>>>,
    /// Upstream connections.
    pub pool: &'c Pool,
    /// The newest ownership snapshot; `None` until the control plane has synced once.
    pub snapshot: &'c RefCell<Option<Arc<Snapshot>>>,
    /// The control plane's look-ups; `None` until it runs.
    pub reviewer: &'c RefCell<Option<Arc<dyn Reviewer>>>,
    /// Recent token answers.
    pub tokens: &'c TokenCache,
    /// Recent access-review answers.
    pub reviews: &'c AccessCache,
    /// Request and connection metrics.
    pub metrics: &'c CoreMetrics,
    /// Open streamed responses.
    pub streams: &'c Rc<StreamRegistry>,
    /// Set on shutdown: when the core stops whatever is still open.
    pub draining: &'c Cell<Option<Instant>>,
}

impl RequestContext<'_> {
    /// Whether the core is shutting down (responses then close their connections).
    pub fn is_draining(&self) -> bool {
        self.draining.get().is_some()
    }

    /// The newest snapshot, shared (a reference count, no copy).
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.snapshot.borrow().clone()
    }

    /// The control plane's look-ups, once they run.
    pub fn reviewer(&self) -> Option<Arc<dyn Reviewer>> {
        self.reviewer.borrow().clone()
    }

    /// What `get` finds on the core, waiting up to the review timeout for it to arrive: the control plane's
    /// first snapshot and look-ups reach the cores a moment after the listeners open.
    pub async fn await_control<T>(&self, get: impl Fn(&Self) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + self.settings.filter.review_timeout;
        loop {
            if let Some(found) = get(self) {
                return Some(found);
            }
            if Instant::now() >= deadline {
                return None;
            }
            monoio::time::sleep(CONTROL_POLL).await;
        }
    }
}

/// How often a request waiting for the control plane's first hand-over looks again.
const CONTROL_POLL: Duration = Duration::from_millis(5);
