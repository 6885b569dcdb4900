//! The command line: the Go capsule-proxy's flags (same names, same defaults, Go-style `--flag=bool` booleans and
//! comma-separated lists) plus the tuning flags only this implementation has.
//!
//! Parsing is done by clap; [`Args::validate`] then checks what clap cannot (flag combinations, files that must
//! exist) and reports the first problem as one line.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

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

    /// Kubeconfig for the proxy's own connection to kube-apiserver; defaults to `$KUBECONFIG`, then in-cluster.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Time a caller has to send the full request head.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub read_header_timeout: Duration,

    /// Idle time after which a caller's keep-alive connection is closed; 0 keeps it open.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub client_idle_timeout: Duration,

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

    /// Go compatibility: name of the cluster-scoped CapsuleConfiguration.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub capsule_configuration_name: String,

    /// Go compatibility: callers in any of these groups skip filtering (comma-separated or repeated).
    #[arg(long, value_name = "GROUPS", value_delimiter = ',')]
    pub ignored_user_group: Vec<String>,

    /// Go compatibility: callers with any of these exact usernames skip filtering (comma-separated or repeated).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub ignored_username: Vec<String>,

    /// Go compatibility: regex fragments; matching `Impersonate-Group` values are dropped.
    #[arg(long, value_name = "REGEXPS", value_delimiter = ',')]
    pub ignored_impersonation_group: Vec<String>,

    /// Go compatibility: if set, only `Impersonate-Group` values matching this regex are considered.
    #[arg(long, value_name = "REGEXP")]
    pub impersonation_group_regexp: Option<String>,

    /// Go compatibility: enable the RoleBinding reflector.
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

    /// Go compatibility: resync period of the RoleBinding reflector.
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

    /// Go compatibility: bind address of the metrics server.
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

    /// Go compatibility: paths that skip inspection (comma-separated or repeated).
    #[arg(
        long,
        value_name = "PATHS",
        value_delimiter = ',',
        default_values_t = ["/api".to_owned(), "/apis".to_owned(), "/version".to_owned()],
    )]
    pub allowed_paths: Vec<String>,

    /// Go compatibility: feature gates, `Name=bool,...`.
    #[arg(long, value_name = "GATES")]
    pub feature_gates: Option<String>,

    /// Go compatibility: log level (`debug`, `info`, `error` or a number).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub zap_log_level: String,

    /// Go compatibility: development logging defaults.
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

    /// Go compatibility: log encoding (`json` or `console`).
    #[arg(long, value_name = "ENCODER")]
    pub zap_encoder: Option<String>,

    /// Go compatibility: level from which stack traces are logged.
    #[arg(long, value_name = "LEVEL")]
    pub zap_stacktrace_level: Option<String>,

    /// Go compatibility: log time encoding.
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

    /// Non-fatal oddities worth logging at start-up (one line each).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
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

    /// The no-op flags given explicitly on the command line, as `--name`, so `main` can warn that they are
    /// ignored. (The upstream Helm chart always passes `--oidc-username-claim` and `--enable-leader-election`.)
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
        out
    }
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

/// `--health-probe-addr`: an address, or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeAddr(pub Option<std::net::SocketAddr>);

/// Parses `--health-probe-addr`: `0` (off) or a Go-style listen address (`:8081`, `127.0.0.1:8081`).
pub fn parse_probe_addr(s: &str) -> Result<ProbeAddr, String> {
    if s == "0" {
        return Ok(ProbeAddr(None));
    }
    capsule_proxy_control::probes::parse_listen_addr(s).map(|a| ProbeAddr(Some(a)))
}

/// Parses a boolean the way Go's `strconv.ParseBool` does: `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("invalid boolean {s:?} (expected true or false)")),
    }
}

/// Go's string flags accept an empty value; keep it (as an empty path, treated as unset) instead of refusing it.
fn parse_go_path(s: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(s))
}

/// Parses a duration the way Go's `time.ParseDuration` does: a sequence of decimal numbers, each with an optional
/// fraction and a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `500ms`, `1.5h`, `1m30s`; or a plain `0`.
/// Negative durations are refused.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const MAX_NANOS: u128 = i64::MAX as u128;
    let invalid = |why: &str| format!("invalid duration {s:?}: {why} (expected e.g. 500ms, 5s, 10m, 1h30m)");
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid("empty"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid("expected a number"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3600 * 1_000_000_000,
            "" => return Err(invalid("missing unit")),
            _ => return Err(invalid(&format!("unknown unit {unit:?}"))),
        };
        let mut value: u128 = 0;
        for b in int_part.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(b - b'0')))
                .filter(|v| *v <= MAX_NANOS)
                .ok_or_else(|| invalid("too large"))?;
        }
        let mut nanos = value
            .checked_mul(unit_nanos)
            .ok_or_else(|| invalid("too large"))?;
        // Fraction digits beyond nanosecond precision of the largest unit do not matter; Go truncates too.
        let mut scale: u128 = 1;
        let mut frac: u128 = 0;
        for b in frac_part.bytes().take(20) {
            frac = frac * 10 + u128::from(b - b'0');
            scale *= 10;
        }
        nanos += frac * unit_nanos / scale;
        total = total.saturating_add(nanos);
        if total > MAX_NANOS {
            return Err(invalid("too large"));
        }
        rest = after;
    }
    if negative && total != 0 {
        return Err(invalid("negative"));
    }
    Ok(Duration::from_nanos(
        u64::try_from(total).map_err(|_| invalid("too large"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("capsule-proxy").chain(args.iter().copied())).unwrap()
    }

    fn parse_err(args: &[&str]) -> clap::Error {
        Args::try_parse_from(std::iter::once("capsule-proxy").chain(args.iter().copied())).unwrap_err()
    }

    /// Real files for the TLS paths.
    struct Files {
        _dir: tempfile::TempDir,
        cert: String,
        key: String,
    }

    fn files() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("tls.crt");
        let key = dir.path().join("tls.key");
        std::fs::write(&cert, "cert").unwrap();
        std::fs::write(&key, "key").unwrap();
        Files {
            cert: format!("--ssl-cert-path={}", cert.display()),
            key: format!("--ssl-key-path={}", key.display()),
            _dir: dir,
        }
    }

    #[test]
    fn command_is_well_formed() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_match_go() {
        let a = parse(&[]);
        assert_eq!(a.listening_port, 9001);
        assert_eq!(a.listening_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert!(a.enable_ssl);
        assert_eq!(a.ssl_cert_path, None);
        assert_eq!(a.ssl_key_path, None);
        assert_eq!(
            a.auth_preferred_types,
            [AuthType::TlsCertificate, AuthType::BearerToken]
        );
        assert!(a.trusted_proxy_cidrs.is_empty());
        assert_eq!(a.xfcc_header_name, "X-Forwarded-Client-Cert");
        assert_eq!(a.cores, None);
        assert!(a.cores() >= 1);
        assert_eq!(a.kubeconfig, None);
        assert_eq!(a.client_ca_path, None);
        assert_eq!(a.read_header_timeout, Duration::from_secs(5));
        assert_eq!(a.client_idle_timeout, Duration::from_secs(600));
        assert_eq!(a.tls_handshake_timeout, Duration::from_secs(10));
        assert_eq!(a.upstream_connect_timeout, Duration::from_secs(10));
        assert_eq!(a.upstream_response_header_timeout, Duration::from_secs(60));
        assert_eq!(a.upstream_idle_timeout, Duration::from_secs(90));
        assert_eq!(a.max_header_bytes, 65536);
        assert_eq!(a.max_header_count, 128);
        assert_eq!(a.upstream_pool_size, 128);
        // Go compatibility flags.
        assert_eq!(a.capsule_configuration_name, "default");
        assert!(a.ignored_user_group.is_empty());
        assert!(a.ignored_username.is_empty());
        assert!(a.ignored_impersonation_group.is_empty());
        assert_eq!(a.impersonation_group_regexp, None);
        assert!(!a.enable_reflector);
        assert_eq!(a.rolebindings_resync_period, Duration::from_secs(36_000));
        assert!(!a.disable_caching);
        assert!((a.client_connection_qps - 20.0).abs() < f32::EPSILON);
        assert_eq!(a.client_connection_burst, 30);
        assert_eq!(a.metrics_addr, ":8080");
        assert!(!a.enable_pprof);
        assert_eq!(a.allowed_paths, ["/api", "/apis", "/version"]);
        assert_eq!(a.feature_gates, None);
        assert_eq!(a.zap_log_level, "info");
        assert!(!a.zap_devel);
        assert_eq!(a.zap_encoder, None);
        assert_eq!(a.zap_stacktrace_level, None);
        assert_eq!(a.zap_time_encoding, None);
        assert!(a.ignored_noop_flags().is_empty());
    }

    #[test]
    fn go_style_bools() {
        assert!(parse(&["--enable-ssl"]).enable_ssl);
        assert!(parse(&["--enable-ssl=true"]).enable_ssl);
        assert!(!parse(&["--enable-ssl=false"]).enable_ssl);
        assert!(!parse(&["--enable-ssl=0"]).enable_ssl);
        assert!(parse(&["--enable-ssl=True"]).enable_ssl);
        assert!(parse(&["--disable-caching"]).disable_caching);
        assert!(parse(&["--enable-reflector=true"]).enable_reflector);
        assert!(parse(&["--enable-pprof=1"]).enable_pprof);
        assert!(parse(&["--zap-devel"]).zap_devel);
        // Like pflag, a bool takes its value only after `=`; a separate word is a stray argument.
        parse_err(&["--enable-ssl", "false"]);
        parse_err(&["--enable-ssl=yes"]);
        assert_eq!(
            parse_go_bool("maybe").unwrap_err(),
            "invalid boolean \"maybe\" (expected true or false)"
        );
    }

    #[test]
    fn auth_type_lists() {
        let a = parse(&["--auth-preferred-types=BearerToken,TLSCertificate"]);
        assert_eq!(a.auth_types(), [AuthType::BearerToken, AuthType::TlsCertificate]);
        let a = parse(&[
            "--auth-preferred-types",
            "XForwardedClientCert",
            "--auth-preferred-types=BearerToken,XForwardedClientCert",
        ]);
        assert_eq!(
            a.auth_types(),
            [AuthType::XForwardedClientCert, AuthType::BearerToken]
        );
        // Go's stale spelling of the XFCC type.
        let a = parse(&["--auth-preferred-types=AuthType(3)"]);
        assert_eq!(a.auth_types(), [AuthType::XForwardedClientCert]);
        // Case-sensitive, like Go.
        parse_err(&["--auth-preferred-types=bearertoken"]);
        parse_err(&["--auth-preferred-types=Basic"]);
        assert_eq!(AuthType::TlsCertificate.to_string(), "TLSCertificate");
    }

    #[test]
    fn string_lists() {
        let a = parse(&[
            "--trusted-proxy-cidrs=10.0.0.0/8,192.168.0.0/16",
            "--trusted-proxy-cidrs",
            "fd00::/8",
            "--ignored-user-group=system:masters",
            "--ignored-user-group=ops,admins",
            "--ignored-username=alice",
            "--ignored-impersonation-group=^system:,^oidc:",
            "--allowed-paths=/healthz",
            "--impersonation-group-regexp=^team-",
        ]);
        assert_eq!(
            a.trusted_proxy_cidrs,
            ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]
        );
        assert_eq!(a.ignored_user_group, ["system:masters", "ops", "admins"]);
        assert_eq!(a.ignored_username, ["alice"]);
        assert_eq!(a.ignored_impersonation_group, ["^system:", "^oidc:"]);
        assert_eq!(a.allowed_paths, ["/healthz"]);
        assert_eq!(a.impersonation_group_regexp.as_deref(), Some("^team-"));
    }

    #[test]
    fn helm_chart_args_parse() {
        let f = files();
        let a = parse(&[
            "--listening-port=9001",
            "--capsule-configuration-name=default",
            "--ignored-user-group=system:masters",
            "--zap-log-level=4",
            "--enable-ssl=true",
            "--oidc-username-claim=preferred_username",
            "--rolebindings-resync-period=10h",
            "--disable-caching=false",
            "--auth-preferred-types=BearerToken,TLSCertificate",
            &f.cert,
            &f.key,
            "--client-connection-qps=20",
            "--client-connection-burst=30",
            "--enable-pprof=false",
            "--enable-leader-election=false",
            "--webhook-port=9443",
            "--feature-gates=ProxyClusterScoped=true",
        ]);
        a.validate().unwrap();
        assert_eq!(a.zap_log_level, "4");
        assert_eq!(a.feature_gates.as_deref(), Some("ProxyClusterScoped=true"));
        assert_eq!(
            a.ignored_noop_flags(),
            [
                "--oidc-username-claim",
                "--enable-leader-election",
                "--webhook-port"
            ]
        );
        assert_eq!(a.enable_leader_election, Some(false));
        assert!(a.tls_paths().is_some());
    }

    #[test]
    fn our_flags() {
        let a = parse(&[
            "--listening-address=::1",
            "--cores=3",
            "--kubeconfig=/etc/kc",
            "--client-idle-timeout=0",
            "--upstream-pool-size",
            "16",
            "--max-header-count=64",
        ]);
        assert_eq!(a.listening_address, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(a.cores(), 3);
        assert_eq!(a.kubeconfig.as_deref(), Some(Path::new("/etc/kc")));
        assert_eq!(a.client_idle_timeout, Duration::ZERO);
        assert_eq!(a.upstream_pool_size, 16);
        assert_eq!(a.max_header_count, 64);
        parse_err(&["--read-header-timeout=5"]);
        parse_err(&["--listening-port=70000"]);
    }

    #[test]
    fn valid_tls_setup() {
        let f = files();
        let a = parse(&[&f.cert, &f.key]);
        assert_eq!(a.validate(), Ok(()));
        assert!(a.warnings().is_empty());
        let a = parse(&["--enable-ssl=false", "--auth-preferred-types=BearerToken"]);
        assert_eq!(a.validate(), Ok(()));
        assert_eq!(a.tls_paths(), None);
    }

    #[test]
    fn ssl_paths_without_ssl() {
        let f = files();
        for args in [
            vec!["--enable-ssl=false", &f.cert],
            vec!["--enable-ssl=false", &f.key],
        ] {
            let err = parse(&args).validate().unwrap_err();
            assert_eq!(err, CliError::SslPathsWithoutSsl);
            assert_eq!(
                err.to_string(),
                "--ssl-cert-path and --ssl-key-path must be empty when --enable-ssl=false"
            );
        }
        // Empty values count as unset, as in Go.
        let a = parse(&["--enable-ssl=false", "--ssl-cert-path=", "--ssl-key-path="]);
        assert_eq!(a.validate(), Ok(()));
    }

    #[test]
    fn ssl_paths_missing() {
        let f = files();
        for args in [
            vec![],
            vec![f.cert.as_str()],
            vec![f.key.as_str()],
            vec!["--ssl-cert-path=", &f.key],
        ] {
            let err = parse(&args).validate().unwrap_err();
            assert_eq!(err, CliError::SslPathsMissing);
            assert_eq!(
                err.to_string(),
                "--enable-ssl requires --ssl-cert-path and --ssl-key-path"
            );
        }
    }

    #[test]
    fn ssl_path_does_not_exist() {
        let f = files();
        let err = parse(&["--ssl-cert-path=/nonexistent/tls.crt", &f.key])
            .validate()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--ssl-cert-path /nonexistent/tls.crt: no such file"
        );
        let err = parse(&[&f.cert, "--ssl-key-path=/nonexistent/tls.key"])
            .validate()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--ssl-key-path /nonexistent/tls.key: no such file"
        );
        let dir = f._dir.path().display().to_string();
        let err = parse(&[&f.cert, &format!("--ssl-key-path={dir}")])
            .validate()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("--ssl-key-path {dir}: not a regular file")
        );
        let err = parse(&[&f.cert, &f.key, "--client-ca-path=/nonexistent/ca.crt"])
            .validate()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--client-ca-path /nonexistent/ca.crt: no such file"
        );
    }

    #[test]
    fn tls_certificate_without_ssl() {
        let err = parse(&["--enable-ssl=false", "--auth-preferred-types=TLSCertificate"])
            .validate()
            .unwrap_err();
        assert_eq!(err, CliError::TlsCertificateWithoutSsl);
        assert!(
            err.to_string()
                .starts_with("--auth-preferred-types=TLSCertificate needs --enable-ssl=true")
        );
        // Mixed with another method (the Go and chart defaults): allowed, with a warning.
        let a = parse(&["--enable-ssl=false"]);
        assert_eq!(a.validate(), Ok(()));
        assert_eq!(a.warnings().len(), 1);
        assert!(a.warnings()[0].contains("TLSCertificate"));
    }

    #[test]
    fn xfcc_requires_trusted_proxies() {
        let f = files();
        let err = parse(&[&f.cert, &f.key, "--auth-preferred-types=XForwardedClientCert"])
            .validate()
            .unwrap_err();
        assert!(matches!(err, CliError::XfccWithoutTrustedProxies { .. }));
        assert_eq!(
            err.to_string(),
            "--auth-preferred-types=XForwardedClientCert requires --trusted-proxy-cidrs: the \
             X-Forwarded-Client-Cert header is only trusted from known proxies"
        );
        let a = parse(&[
            "--enable-ssl=false",
            "--auth-preferred-types=AuthType(3)",
            "--trusted-proxy-cidrs=10.0.0.0/8",
        ]);
        assert_eq!(a.validate(), Ok(()));
        // Invalid CIDRs are not this module's business.
        let a = parse(&[
            "--enable-ssl=false",
            "--auth-preferred-types=XForwardedClientCert",
            "--trusted-proxy-cidrs=not-a-cidr",
        ]);
        assert_eq!(a.validate(), Ok(()));
    }

    #[test]
    fn zero_counts() {
        let f = files();
        for (arg, flag) in [
            ("--cores=0", "--cores"),
            ("--max-header-bytes=0", "--max-header-bytes"),
            ("--max-header-count=0", "--max-header-count"),
        ] {
            let err = parse(&[&f.cert, &f.key, arg]).validate().unwrap_err();
            assert_eq!(err, CliError::Zero { flag });
            assert_eq!(err.to_string(), format!("{flag} must be at least 1"));
        }
        parse_err(&["--cores=-1"]);
    }

    #[test]
    fn durations() {
        let ok = |s: &str| parse_duration(s).unwrap();
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("-0"), Duration::ZERO);
        assert_eq!(ok("-0s"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("+5s"), Duration::from_secs(5));
        assert_eq!(ok("10m"), Duration::from_secs(600));
        assert_eq!(ok("1h"), Duration::from_secs(3600));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("10h0m0s"), Duration::from_secs(36_000));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("1.s"), Duration::from_secs(1));
        assert_eq!(ok("100us"), Duration::from_micros(100));
        assert_eq!(ok("100µs"), Duration::from_micros(100));
        assert_eq!(ok("100μs"), Duration::from_micros(100));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("1.000000001s"), Duration::from_nanos(1_000_000_001));
        assert_eq!(
            ok("2h45m1.5s"),
            Duration::from_millis((2 * 3600 + 45 * 60) * 1000 + 1500)
        );
        for bad in [
            "",
            "5",
            "s",
            ".s",
            "5x",
            "1h5",
            "-5s",
            "5 s",
            " 5s",
            "1d",
            "99999999999h",
            ".",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            parse_duration("5").unwrap_err(),
            "invalid duration \"5\": missing unit (expected e.g. 500ms, 5s, 10m, 1h30m)"
        );
    }
}
