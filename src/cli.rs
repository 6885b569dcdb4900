//! The command line: the Go capsule-proxy's flags (same names, same defaults, Go-style `--flag=bool` booleans and
//! comma-separated lists) plus the tuning flags only this implementation has.
//!
//! Parsing is done by clap; [`Args::validate`] then checks what clap cannot (flag combinations, files that must
//! exist) and reports the first problem as one line.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Parser, Subcommand, ValueEnum};
use regex::Regex;

use crate::feature_gates::{FeatureGateError, FeatureGates};
use crate::flag_values::parse_go_path;

pub use crate::flag_values::{ProbeAddr, parse_duration, parse_go_bool, parse_probe_addr};

/// A way the proxy authenticates its callers, as spelled by `--auth-preferred-types`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// `Authorization: Bearer <token>`, checked with a TokenReview.
    #[value(name = "BearerToken")]
    BearerToken,
    /// A client certificate presented on the TLS listener.
    #[value(name = "TLSCertificate")]
    TlsCertificate,
    /// A client certificate forwarded by a trusted proxy in the XFCC header. Go spells it `AuthType(3)` (a
    /// stale generated `String()`), which is accepted too.
    #[value(name = "XForwardedClientCert", alias = "AuthType(3)")]
    XForwardedClientCert,
}

impl AuthType {
    /// The flag spelling of this type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BearerToken => "BearerToken",
            Self::TlsCertificate => "TLSCertificate",
            Self::XForwardedClientCert => "XForwardedClientCert",
        }
    }
}

impl std::fmt::Display for AuthType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The data plane's I/O driver, as `--io-driver` spells it.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoDriver {
    /// io_uring when available, else epoll.
    Auto,
    /// io_uring only.
    IoUring,
    /// epoll only.
    Legacy,
}

/// The parsed command line.
///
/// Flags marked "Go compatibility" are accepted with the Go proxy's defaults so the upstream Helm chart's
/// arguments keep working; the features behind them come in later work. Flags marked "no-op" are accepted and
/// ignored (the Go proxy ignores them too); see [`Args::ignored_noop_flags`].
#[derive(Parser, Debug, Clone)]
#[command(
    name = "capsule-proxy",
    version,
    about = "Capsule's tenant-aware reverse proxy for kube-apiserver"
)]
pub struct Args {
    /// What to run instead of the proxy; none runs the proxy with the flags below.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Port the proxy listens on.
    #[arg(long, value_name = "PORT", default_value_t = 9001)]
    pub listening_port: u16,

    /// Address the proxy listens on (the Go proxy always binds 0.0.0.0).
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub listening_address: IpAddr,

    /// Serve TLS on the listener (`--enable-ssl`, `--enable-ssl=true`, `--enable-ssl=false`).
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = ArgAction::Set,
        value_parser = parse_go_bool,
    )]
    pub enable_ssl: bool,

    /// PEM certificate (chain) of the TLS listener; required when TLS is on. An empty value counts as unset.
    #[arg(long, value_name = "PATH", value_parser = parse_go_path)]
    pub ssl_cert_path: Option<PathBuf>,

    /// PEM private key of the TLS listener; required when TLS is on. An empty value counts as unset.
    #[arg(long, value_name = "PATH", value_parser = parse_go_path)]
    pub ssl_key_path: Option<PathBuf>,

    /// PEM bundle of the CAs that sign caller certificates (TLSCertificate authentication).
    #[arg(long, value_name = "PATH")]
    pub client_ca_path: Option<PathBuf>,

    /// Ordered caller authentication methods, first success wins (comma-separated or repeated). Kept as typed;
    /// `Args::auth_types` gives the order without duplicates.
    #[arg(
        long,
        value_name = "TYPES",
        value_delimiter = ',',
        default_values_t = [AuthType::TlsCertificate, AuthType::BearerToken],
    )]
    pub auth_preferred_types: Vec<AuthType>,

    /// CIDRs of the proxies allowed to connect (comma-separated or repeated); when set, every other peer is
    /// refused. Required for XForwardedClientCert. Parsed by the data plane, not here.
    #[arg(long, value_name = "CIDRS", value_delimiter = ',')]
    pub trusted_proxy_cidrs: Vec<String>,

    /// Header holding the forwarded client certificate (XForwardedClientCert authentication).
    #[arg(long, value_name = "NAME", default_value = "X-Forwarded-Client-Cert")]
    pub xfcc_header_name: String,

    /// I/O driver of the data-plane cores: `auto` (io_uring, or epoll with a warning when the kernel or the
    /// seccomp profile forbids it), `io-uring` (fail without it) or `legacy` (epoll).
    #[arg(long, value_name = "DRIVER", value_enum, default_value_t = IoDriver::Auto)]
    pub io_driver: IoDriver,

    /// Number of data-plane cores (threads); defaults to every available core.
    #[arg(long, value_name = "N")]
    pub cores: Option<usize>,

    /// Kubeconfig for the proxy's own connection to kube-apiserver; defaults to `$KUBECONFIG`, then in-cluster, then
    /// `~/.kube/config`.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Time a caller has to send the full request head.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub read_header_timeout: Duration,

    /// Idle time after which a caller's keep-alive connection is closed; 0 keeps it open.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub client_idle_timeout: Duration,

    /// Longest silence while a caller sends a request body; past it the caller gets 408 and is disconnected.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub request_body_idle_timeout: Duration,

    /// Longest time data written to a caller may stay unread (a caller that stopped reading a response or a
    /// stream); past it the connection is dropped. 0 waits forever.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub client_stall_timeout: Duration,

    /// Time a caller has to complete the TLS handshake.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub tls_handshake_timeout: Duration,

    /// Time to open (and secure) a connection to kube-apiserver.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub upstream_connect_timeout: Duration,

    /// Time kube-apiserver has to send a response head.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub upstream_response_header_timeout: Duration,

    /// Idle time after which a pooled kube-apiserver connection is closed.
    #[arg(long, value_name = "DURATION", default_value = "90s", value_parser = parse_duration)]
    pub upstream_idle_timeout: Duration,

    /// Largest request head (request line plus headers) accepted from a caller, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 65536)]
    pub max_header_bytes: usize,

    /// Most headers accepted in one request.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub max_header_count: usize,

    /// Idle kube-apiserver connections kept per core.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub upstream_pool_size: usize,

    /// Where `/healthz` and `/readyz` are served (Go's health probe port); `0` serves none.
    #[arg(long, value_name = "ADDR", default_value = ":8081", value_parser = parse_probe_addr)]
    pub health_probe_addr: ProbeAddr,

    /// How long a reviewed bearer token's identity is reused (never past the token's own expiry).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub token_cache_ttl: Duration,

    /// How long a refused bearer token's refusal is reused.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub token_cache_negative_ttl: Duration,

    /// On SIGTERM: how long in-flight requests may take to finish (streams end at once) before the proxy
    /// exits anyway.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace_period: Duration,

    /// Most time a request waits for a TokenReview, SubjectAccessReview or object read made for it.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub review_timeout: Duration,

    /// Most TokenReviews, SubjectAccessReviews and object reads in flight to the API server at once (more
    /// wait their turn, within --review-timeout).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub review_concurrency: usize,

    /// How long the ownership snapshot may stay stale (a watch of the control plane down, so changes are
    /// missed) before `/readyz` fails and the replica leaves the Service; `0`: readiness does not follow the
    /// watches.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub readiness_stale_after: Duration,

    /// Largest API server response rewritten in memory (SelfSubjectAccessReview, SelfSubjectRulesReview), in
    /// bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_rewrite_bytes: usize,

    /// All-namespaces lists of Capsule users (`kubectl get <resource> -A`, gate ProxyAllNamespaced): most
    /// per-namespace requests of one list in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub all_namespaces_concurrency: usize,

    /// All-namespaces lists: the `limit` of each per-namespace request when the caller sets none (a namespace
    /// is read a page at a time).
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub all_namespaces_page_size: usize,

    /// All-namespaces lists and watches: most time one list, or the opening of one watch, may take.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub all_namespaces_timeout: Duration,

    /// All-namespaces watches: most namespaces one watch may cover (one API server connection each); a
    /// watch of more is answered 429.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub all_namespaces_max_watches: usize,

    /// Go compatibility: name of the cluster-scoped CapsuleConfiguration.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub capsule_configuration_name: String,

    /// Callers in any of these groups skip filtering (comma-separated or repeated).
    #[arg(long, value_name = "GROUPS", value_delimiter = ',')]
    pub ignored_user_group: Vec<String>,

    /// Callers with any of these exact usernames skip filtering (comma-separated or repeated).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub ignored_username: Vec<String>,

    /// Regex fragments (joined with `|`); matching `Impersonate-Group` values are dropped.
    #[arg(long, value_name = "REGEXPS", value_delimiter = ',')]
    pub ignored_impersonation_group: Vec<String>,

    /// If set, only `Impersonate-Group` values matching this regex are considered.
    #[arg(long, value_name = "REGEXP")]
    pub impersonation_group_regexp: Option<String>,

    /// The RoleBinding reflector, as Go's: RoleBindings are watched, and a namespace where the caller is one of
    /// their subjects is in the caller's namespace list and readable.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = ArgAction::Set,
        value_parser = parse_go_bool,
    )]
    pub enable_reflector: bool,

    /// Go compatibility: resync period of the RoleBinding reflector; accepted, without effect (the RoleBinding
    /// watch follows every change as it happens).
    #[arg(long, value_name = "DURATION", default_value = "10h", value_parser = parse_duration)]
    pub rolebindings_resync_period: Duration,

    /// Go compatibility: read live from kube-apiserver instead of from caches.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = ArgAction::Set,
        value_parser = parse_go_bool,
    )]
    pub disable_caching: bool,

    /// Go compatibility: queries per second of the proxy's own kube-apiserver client.
    #[arg(long, value_name = "QPS", default_value_t = 20.0)]
    pub client_connection_qps: f32,

    /// Go compatibility: burst of the proxy's own kube-apiserver client.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub client_connection_burst: i32,

    /// Where Prometheus metrics are served on `/metrics` (`:8080` as in Go; `0` serves none).
    #[arg(long, value_name = "ADDR", default_value = ":8080")]
    pub metrics_addr: String,

    /// Go compatibility: serve pprof-style profiling.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = ArgAction::Set,
        value_parser = parse_go_bool,
    )]
    pub enable_pprof: bool,

    /// Exact paths never filtered, still authenticated and forwarded as the caller (comma-separated or
    /// repeated).
    #[arg(
        long,
        value_name = "PATHS",
        value_delimiter = ',',
        default_values_t = ["/api".to_owned(), "/apis".to_owned(), "/version".to_owned()],
    )]
    pub allowed_paths: Vec<String>,

    /// Feature gates, `Name=bool,...`: ProxyClusterScoped, SkipImpersonationReview, ProxyAllNamespaced
    /// (deprecated, no effect), AllAlpha, AllBeta; all off by default.
    #[arg(long, value_name = "GATES")]
    pub feature_gates: Option<String>,

    /// Log level: `error`, `info`, `debug` (also `warn`; `panic` logs errors), or a zap verbosity N (logr V(N)
    /// enabled): 0 info, 1-4 debug (this project's debug lines only, none per request: the chart's default 4
    /// stays quiet), 5 or more trace (this project's trace lines and every library's debug lines). `RUST_LOG`,
    /// when set, overrides it.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub zap_log_level: String,

    /// Development logging: implies `--zap-encoder=console`; the level stays `--zap-log-level`'s.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = ArgAction::Set,
        value_parser = parse_go_bool,
    )]
    pub zap_devel: bool,

    /// Log encoding: `json` (the default: zap's production lines, `level`, `ts`, `logger`, `msg`, then the
    /// fields) or `console` (text).
    #[arg(long, value_name = "ENCODER")]
    pub zap_encoder: Option<String>,

    /// Go compatibility (`info`, `error`, `panic`): accepted with a warning; stack traces are not logged.
    #[arg(long, value_name = "LEVEL")]
    pub zap_stacktrace_level: Option<String>,

    /// Log timestamps, UTC: `iso8601` (the default, milliseconds), `rfc3339`, `rfc3339nano`, `epoch`
    /// (seconds), `millis` or `nano` (since the Unix epoch).
    #[arg(long, value_name = "ENCODING")]
    pub zap_time_encoding: Option<String>,

    /// No-op (unused by the Go proxy too; Go default `preferred_username`).
    #[arg(long, value_name = "CLAIM")]
    pub oidc_username_claim: Option<String>,

    /// No-op (unused by the Go proxy too; Go default false).
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        action = ArgAction::Set,
        value_parser = parse_go_bool,
    )]
    pub enable_leader_election: Option<bool>,

    /// No-op (unused by the Go proxy too; Go default 9443).
    #[arg(long, value_name = "PORT")]
    pub webhook_port: Option<i32>,
}

/// What the binary runs instead of the proxy.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start kube-sim with the demo cluster and the proxy in front of it, write kubeconfigs for the tenant
    /// owners alice and bob, and run until Ctrl-C.
    Demo(DemoArgs),
    /// Print the ProxySetting and GlobalProxySettings CustomResourceDefinitions (YAML, `---`-separated) and
    /// exit.
    Crds,
}

/// `capsule-proxy demo`'s flags.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct DemoArgs {
    /// Address the proxy listens on.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:9001")]
    pub listen: std::net::SocketAddr,

    /// Where kube-sim's state, the proxy's serving certificate, its log and the kubeconfigs are written.
    #[arg(long, value_name = "DIR", default_value = "target/demo")]
    pub state_dir: PathBuf,

    /// Fixture kube-sim starts from; defaults to the built-in demo cluster (tenants oil and gas).
    #[arg(long, value_name = "PATH")]
    pub fixture: Option<PathBuf>,

    /// More proxy flags, after `--` (e.g. `-- --feature-gates=ProxyClusterScoped=true`).
    #[arg(last = true, value_name = "PROXY_FLAGS")]
    pub proxy_args: Vec<String>,
}

/// Why [`Args::validate`] refused the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    /// TLS is off but a certificate or key path was given.
    #[error("--ssl-cert-path and --ssl-key-path must be empty when --enable-ssl=false")]
    SslPathsWithoutSsl,
    /// TLS is on but the certificate or key path is missing.
    #[error("--enable-ssl requires --ssl-cert-path and --ssl-key-path")]
    SslPathsMissing,
    /// A file flag names something that is not a readable file.
    #[error("{flag} {}: {reason}", path.display())]
    BadPath {
        /// The flag, e.g. `--ssl-cert-path`.
        flag: &'static str,
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Only TLSCertificate authentication is configured, but the listener is plain HTTP.
    #[error(
        "--auth-preferred-types=TLSCertificate needs --enable-ssl=true: client certificates are only seen on \
         a TLS listener"
    )]
    TlsCertificateWithoutSsl,
    /// XForwardedClientCert is configured without trusted proxies.
    #[error(
        "--auth-preferred-types=XForwardedClientCert requires --trusted-proxy-cidrs: the {header} header is \
         only trusted from known proxies"
    )]
    XfccWithoutTrustedProxies {
        /// The configured XFCC header name.
        header: String,
    },
    /// A count flag that must be positive is 0.
    #[error("{flag} must be at least 1")]
    Zero {
        /// The flag, e.g. `--cores`.
        flag: &'static str,
    },
    /// A duration flag that must be positive is 0.
    #[error("{flag} must be longer than 0")]
    ZeroDuration {
        /// The flag, e.g. `--review-timeout`.
        flag: &'static str,
    },
    /// `--feature-gates` names an unknown gate or gives a value that is not a boolean.
    #[error("--feature-gates: {0}")]
    FeatureGates(FeatureGateError),
    /// A regular-expression flag does not compile.
    #[error("{flag} {pattern:?}: {reason}")]
    BadRegex {
        /// The flag, e.g. `--impersonation-group-regexp`.
        flag: &'static str,
        /// The expression as compiled (fragments joined with `|`).
        pattern: String,
        /// What is wrong with it, on one line.
        reason: String,
    },
    /// The `NAMESPACE` environment variable is unset or empty.
    #[error(
        "the NAMESPACE environment variable must name the namespace the proxy runs in (the Helm chart sets it \
         from metadata.namespace)"
    )]
    NamespaceUnset,
}

/// The `Impersonate-Group` filters: `--impersonation-group-regexp` (groups kept) and
/// `--ignored-impersonation-group` (groups dropped, fragments joined with `|`).
#[derive(Debug, Clone)]
pub struct ImpersonationGroupFilters {
    /// Only groups matching it are kept; `None` keeps all.
    pub keep: Option<Regex>,
    /// Groups matching it are dropped; `None` drops none.
    pub drop: Option<Regex>,
}

/// The namespace the proxy runs in, from the value of the `NAMESPACE` environment variable (required, as in
/// the Go proxy).
pub fn proxy_namespace(value: Option<&str>) -> Result<String, CliError> {
    match value {
        Some(namespace) if !namespace.is_empty() => Ok(namespace.to_owned()),
        _ => Err(CliError::NamespaceUnset),
    }
}

impl Args {
    /// Checks what clap cannot: flag combinations and the files that must exist. Returns the first problem.
    ///
    /// `TLSCertificate` with `--enable-ssl=false` is an error only when it is the sole authentication method:
    /// the Go proxy's (and Helm chart's) default list includes it, so refusing it whenever TLS is off would break
    /// plain `--enable-ssl=false`; [`Args::warnings`] reports it instead.
    pub fn validate(&self) -> Result<(), CliError> {
        if self.cores == Some(0) {
            return Err(CliError::Zero { flag: "--cores" });
        }
        if self.max_header_bytes == 0 {
            return Err(CliError::Zero {
                flag: "--max-header-bytes",
            });
        }
        if self.max_header_count == 0 {
            return Err(CliError::Zero {
                flag: "--max-header-count",
            });
        }
        for (flag, value) in [
            ("--max-rewrite-bytes", self.max_rewrite_bytes),
            ("--all-namespaces-concurrency", self.all_namespaces_concurrency),
            ("--all-namespaces-page-size", self.all_namespaces_page_size),
            ("--all-namespaces-max-watches", self.all_namespaces_max_watches),
            ("--review-concurrency", self.review_concurrency),
        ] {
            if value == 0 {
                return Err(CliError::Zero { flag });
            }
        }
        for (flag, duration) in [
            ("--review-timeout", self.review_timeout),
            ("--all-namespaces-timeout", self.all_namespaces_timeout),
            ("--request-body-idle-timeout", self.request_body_idle_timeout),
        ] {
            if duration.is_zero() {
                return Err(CliError::ZeroDuration { flag });
            }
        }
        self.gates()?;
        self.impersonation_group_filters()?;
        let cert = non_empty(self.ssl_cert_path.as_deref());
        let key = non_empty(self.ssl_key_path.as_deref());
        if self.enable_ssl {
            let (Some(cert), Some(key)) = (cert, key) else {
                return Err(CliError::SslPathsMissing);
            };
            check_file("--ssl-cert-path", cert)?;
            check_file("--ssl-key-path", key)?;
        } else if cert.is_some() || key.is_some() {
            return Err(CliError::SslPathsWithoutSsl);
        }
        if let Some(ca) = self.client_ca_path.as_deref() {
            check_file("--client-ca-path", ca)?;
        }
        let types = self.auth_types();
        if !self.enable_ssl && types.iter().all(|t| *t == AuthType::TlsCertificate) {
            return Err(CliError::TlsCertificateWithoutSsl);
        }
        if types.contains(&AuthType::XForwardedClientCert) && self.trusted_proxy_cidrs.is_empty() {
            return Err(CliError::XfccWithoutTrustedProxies {
                header: self.xfcc_header_name.clone(),
            });
        }
        Ok(())
    }

    /// The feature gates of `--feature-gates` (all off without it).
    pub fn gates(&self) -> Result<FeatureGates, CliError> {
        FeatureGates::parse(self.feature_gates.as_deref().unwrap_or("")).map_err(CliError::FeatureGates)
    }

    /// The compiled `Impersonate-Group` filters.
    pub fn impersonation_group_filters(&self) -> Result<ImpersonationGroupFilters, CliError> {
        let keep = match self.impersonation_group_regexp.as_deref() {
            None | Some("") => None,
            Some(pattern) => Some(compile("--impersonation-group-regexp", pattern)?),
        };
        let fragments: Vec<&str> = self
            .ignored_impersonation_group
            .iter()
            .map(String::as_str)
            .filter(|fragment| !fragment.is_empty())
            .collect();
        let drop = if fragments.is_empty() {
            None
        } else {
            Some(compile("--ignored-impersonation-group", &fragments.join("|"))?)
        };
        Ok(ImpersonationGroupFilters { keep, drop })
    }

    /// Non-fatal oddities worth logging at start-up (one line each), the feature gates' warnings included.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.gates().map(|gates| gates.warnings()).unwrap_or_default();
        if !self.enable_ssl && self.auth_types().contains(&AuthType::TlsCertificate) {
            out.push(
                "--auth-preferred-types includes TLSCertificate but --enable-ssl=false: callers cannot present \
                 client certificates, so that method never succeeds"
                    .to_owned(),
            );
        }
        out
    }

    /// The authentication methods in preference order, duplicates removed (first occurrence kept).
    pub fn auth_types(&self) -> Vec<AuthType> {
        let mut out = Vec::with_capacity(self.auth_preferred_types.len());
        for t in &self.auth_preferred_types {
            if !out.contains(t) {
                out.push(*t);
            }
        }
        out
    }

    /// The listener's certificate and key paths when TLS is on and both are set.
    pub fn tls_paths(&self) -> Option<(&Path, &Path)> {
        if !self.enable_ssl {
            return None;
        }
        Some((
            non_empty(self.ssl_cert_path.as_deref())?,
            non_empty(self.ssl_key_path.as_deref())?,
        ))
    }

    /// Number of data-plane cores: `--cores`, else every available core (at least 1).
    pub fn cores(&self) -> usize {
        self.cores
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
            .max(1)
    }

    /// The no-op flags given on the command line, as `--name`, so `main` can warn that they are ignored: Go's
    /// own no-ops when given at all (the upstream Helm chart always passes `--oidc-username-claim` and
    /// `--enable-leader-election`), the flags not built yet when set to anything but their defaults (the chart
    /// passes the defaults).
    pub fn ignored_noop_flags(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.oidc_username_claim.is_some() {
            out.push("--oidc-username-claim");
        }
        if self.enable_leader_election.is_some() {
            out.push("--enable-leader-election");
        }
        if self.webhook_port.is_some() {
            out.push("--webhook-port");
        }
        // Accepted for the chart's sake; asking for anything but their defaults asks for what is not built.
        if self.rolebindings_resync_period != Duration::from_secs(10 * 3600) {
            out.push("--rolebindings-resync-period");
        }
        if self.disable_caching {
            out.push("--disable-caching");
        }
        if (self.client_connection_qps - 20.0).abs() > f32::EPSILON {
            out.push("--client-connection-qps");
        }
        if self.client_connection_burst != 30 {
            out.push("--client-connection-burst");
        }
        if self.enable_pprof {
            out.push("--enable-pprof");
        }
        out
    }
}

/// Compiles `pattern` for `flag`; the error names the flag and says what is wrong on one line.
fn compile(flag: &'static str, pattern: &str) -> Result<Regex, CliError> {
    Regex::new(pattern).map_err(|e| {
        let text = e.to_string();
        let reason = text
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .or_else(|| text.lines().next())
            .unwrap_or("invalid regular expression")
            .trim()
            .to_owned();
        CliError::BadRegex {
            flag,
            pattern: pattern.to_owned(),
            reason,
        }
    })
}

fn non_empty(path: Option<&Path>) -> Option<&Path> {
    path.filter(|p| !p.as_os_str().is_empty())
}

fn check_file(flag: &'static str, path: &Path) -> Result<(), CliError> {
    let bad = |reason: String| CliError::BadPath {
        flag,
        path: path.to_owned(),
        reason,
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(bad("not a regular file".to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(bad("no such file".to_owned())),
        Err(e) => Err(bad(e.to_string())),
    }
}

#[cfg(test)]
mod tests;
