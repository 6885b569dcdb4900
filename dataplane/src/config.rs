//! What the data plane is told at start: listener, TLS, authentication, upstream, limits and timeouts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use capsule_proxy_policy::route::Gates;
use capsule_proxy_policy::{ApiCredential, CidrSet};

use crate::codec::Limits;

/// Everything the data plane needs to run.
#[derive(Debug, Clone)]
pub struct DataplaneConfig {
    /// Address every core listens on (`SO_REUSEPORT`); port 0 picks a free port shared by all cores.
    pub listen: SocketAddr,
    /// Number of cores (threads), each with its own runtime and listener.
    pub cores: usize,
    /// Which monoio driver to run.
    pub driver: DriverChoice,
    /// Serving TLS; `None` serves plain HTTP.
    pub tls: Option<ServingTls>,
    /// How callers are authenticated.
    pub auth: AuthConfig,
    /// Where kube-apiserver is and how the proxy talks to it.
    pub upstream: UpstreamConfig,
    /// Head size and count limits.
    pub limits: Limits,
    /// Client-side timeouts.
    pub timeouts: ClientTimeouts,
    /// Which callers and requests are filtered, and how.
    pub filter: FilterConfig,
}

/// Capsule filtering settings: who is never filtered, how caller impersonation is treated, feature gates.
#[derive(Debug, Clone)]
pub struct FilterConfig {
    /// `--ignored-username`: callers with exactly these user names pass through.
    pub ignored_usernames: Vec<String>,
    /// `--ignored-user-group`: callers in any of these groups pass through.
    pub ignored_user_groups: Vec<String>,
    /// `--impersonation-group-regexp`: only `Impersonate-Group` values matching it are kept.
    pub impersonation_group_regexp: Option<regex::Regex>,
    /// `--ignored-impersonation-group`: the fragments joined with `|`; matching `Impersonate-Group` values are
    /// dropped (after the regexp above).
    pub ignored_impersonation_groups: Option<regex::Regex>,
    /// `--allowed-paths`: exact paths never filtered (still authenticated and forwarded as the caller).
    pub allowed_paths: Vec<String>,
    /// Feature gate `ProxyClusterScoped`: generic cluster-scoped routes instead of the legacy ones.
    pub cluster_scoped: bool,
    /// Feature gate `ProxyAllNamespaced`: a Capsule user's all-namespaces list or watch is fanned out to its
    /// namespaces as the caller (off: Go's `capsule.clastix.io/managed-by` filter).
    pub all_namespaced: bool,
    /// Feature gate `SkipImpersonationReview`: caller `Impersonate-*` headers are trusted without review.
    pub skip_impersonation_review: bool,
    /// Most time a request waits for a TokenReview, SubjectAccessReview or object read.
    pub review_timeout: Duration,
    /// How long a core reuses a TokenReview or SubjectAccessReview answer (positive, negative) without asking
    /// the control plane (which caches them longer: a core's copy saves the round trip to it).
    pub answer_cache_ttl: (Duration, Duration),
    /// Largest response body rewritten in memory (SelfSubjectAccessReview / SelfSubjectRulesReview), and
    /// largest page of one namespace an all-namespaces list reads.
    pub max_rewrite_bytes: usize,
    /// The all-namespaces fan-out's limits.
    pub fan_out: FanOutLimits,
}

impl FilterConfig {
    /// The feature gates decisions read.
    pub fn gates(&self) -> Gates {
        Gates {
            cluster_scoped: self.cluster_scoped,
            all_namespaced: self.all_namespaced,
        }
    }
}

/// Limits of the all-namespaces fan-out (a Capsule user's `kubectl get <resource> -A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanOutLimits {
    /// `--all-namespaces-concurrency`: most per-namespace requests of one list in flight at once.
    pub concurrency: usize,
    /// `--all-namespaces-page-size`: the `limit` of each per-namespace request when the caller set none, so no
    /// more than one page of a namespace is held at once.
    pub page_size: usize,
    /// `--all-namespaces-timeout`: most time one all-namespaces list, or the opening of a watch, may take.
    pub timeout: Duration,
    /// `--all-namespaces-max-watches`: most namespaces one all-namespaces watch may watch (one upstream
    /// connection each); more is answered `429`.
    pub max_watches: usize,
}

impl Default for FanOutLimits {
    fn default() -> Self {
        Self {
            concurrency: 16,
            page_size: 500,
            timeout: Duration::from_secs(60),
            max_watches: 256,
        }
    }
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            ignored_usernames: Vec::new(),
            ignored_user_groups: Vec::new(),
            impersonation_group_regexp: None,
            ignored_impersonation_groups: None,
            allowed_paths: Vec::new(),
            cluster_scoped: false,
            all_namespaced: true,
            skip_impersonation_review: false,
            review_timeout: Duration::from_secs(10),
            answer_cache_ttl: (Duration::from_secs(10), Duration::from_secs(2)),
            max_rewrite_bytes: 4 << 20,
            fan_out: FanOutLimits::default(),
        }
    }
}

/// Which I/O driver the cores run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverChoice {
    /// io_uring when the kernel allows it, else epoll (with a warning).
    Auto,
    /// io_uring or fail.
    IoUring,
    /// epoll.
    Legacy,
}

/// The I/O driver the cores run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// io_uring.
    IoUring,
    /// epoll (monoio's legacy driver).
    Legacy,
}

impl Driver {
    /// The name used in logs and start-up output.
    pub fn name(self) -> &'static str {
        match self {
            Self::IoUring => "io_uring",
            Self::Legacy => "epoll",
        }
    }
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The listener's TLS settings.
#[derive(Debug, Clone)]
pub struct ServingTls {
    /// PEM certificate chain, reloaded when it changes.
    pub cert_path: PathBuf,
    /// PEM private key, reloaded when it changes.
    pub key_path: PathBuf,
    /// PEM CA bundle client certificates are verified against; `None` asks for no client certificate.
    pub client_ca_pem: Option<Vec<u8>>,
}

/// Caller authentication methods, as `--auth-preferred-types` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Bearer` (or the WebSocket bearer subprotocol): forwarded with the caller's own token.
    BearerToken,
    /// A client certificate verified during the TLS handshake.
    TlsCertificate,
    /// An `X-Forwarded-Client-Cert` header from a trusted proxy.
    XForwardedClientCert,
}

/// How callers are authenticated.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Methods in preference order; the first that applies wins.
    pub methods: Vec<AuthMethod>,
    /// When not empty, only these peers are served (`--trusted-proxy-cidrs`).
    pub trusted_proxies: CidrSet,
    /// The XFCC header name (`--xfcc-header-name`).
    pub xfcc_header: String,
}

/// Where kube-apiserver is and how to reach it.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// TLS (`https://`) or plain HTTP.
    pub https: bool,
    /// Host name or IP from the server URL (no brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path prefix of the server URL (`""` or e.g. `/k8s`), prepended to every forwarded target.
    pub path_prefix: String,
    /// Name verified in the apiserver's certificate (defaults to `host`).
    pub server_name: Option<String>,
    /// PEM CA bundle the apiserver's certificate is verified against.
    pub ca_pem: Option<Vec<u8>>,
    /// Skip certificate verification (kubeconfig `insecure-skip-tls-verify`).
    pub insecure_skip_verify: bool,
    /// The proxy's credential.
    pub credential: ApiCredential,
    /// Idle keep-alive connections kept per core.
    pub pool_size: usize,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// TLS handshake timeout.
    pub tls_handshake_timeout: Duration,
    /// How long to wait for a response head once the request is sent.
    pub response_header_timeout: Duration,
    /// Idle pooled connections older than this are closed instead of reused.
    pub idle_timeout: Duration,
}

/// Client-side timeouts.
#[derive(Debug, Clone, Copy)]
pub struct ClientTimeouts {
    /// From accept (first request) or first byte (later requests) to a complete head; past it → 408.
    pub read_header: Duration,
    /// Keep-alive connections idle longer than this are closed; `None` keeps them.
    pub idle: Option<Duration>,
    /// Longest silence while a request body is being received; past it → 408 and the connection closes.
    pub request_body_idle: Duration,
    /// Longest time data written to a caller may stay unacknowledged (it stopped reading); past it the
    /// connection is dropped. `None` waits forever.
    pub stall: Option<Duration>,
    /// TLS handshake deadline.
    pub tls_handshake: Duration,
}
