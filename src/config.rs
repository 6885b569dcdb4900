//! Turns the command line and the cluster access (kubeconfig or in-cluster) into the data plane's config.

use std::net::SocketAddr;
use std::time::Duration;

use capsule_proxy_dataplane::codec::Limits;
use capsule_proxy_dataplane::config::{FanOutLimits, FilterConfig};
use capsule_proxy_dataplane::{
    AuthConfig, AuthMethod, ClientTimeouts, DataplaneConfig, DriverChoice, ServingTls, UpstreamConfig,
};
use capsule_proxy_policy::{ApiCredential, CidrSet};

use capsule_proxy_control::{ClusterConnection, ControlOptions, IdentityCacheConfig};

use crate::cli::{Args, AuthType, CliError, IoDriver};
use crate::kubeconfig::ClusterAccess;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A `--trusted-proxy-cidrs` item is not a CIDR or IP.
    #[error("--trusted-proxy-cidrs: {0}")]
    TrustedProxies(#[from] capsule_proxy_policy::CidrError),
    /// A file could not be read.
    #[error("reading {flag} {path}: {reason}")]
    Read {
        /// The flag naming the file.
        flag: &'static str,
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Client certificates need a CA to verify them against.
    #[error(
        "TLSCertificate authentication needs a CA to verify client certificates: the kubeconfig has none; \
         pass --client-ca-path"
    )]
    NoClientCa,
    /// A flag [`Args::validate`] refuses (feature gates, regular expressions).
    #[error(transparent)]
    Cli(#[from] CliError),
}

/// Longest time a core reuses a positive TokenReview answer before asking the control plane again (which
/// keeps its own, longer cache).
const CORE_TOKEN_TTL: Duration = Duration::from_secs(10);
/// Longest time a core reuses a negative TokenReview answer.
const CORE_TOKEN_NEGATIVE_TTL: Duration = Duration::from_secs(2);

/// The data plane's config for `args` against the apiserver described by `access`.
pub fn dataplane_config(args: &Args, access: &ClusterAccess) -> Result<DataplaneConfig, ConfigError> {
    let methods: Vec<AuthMethod> = args
        .auth_types()
        .into_iter()
        .map(|t| match t {
            AuthType::BearerToken => AuthMethod::BearerToken,
            AuthType::TlsCertificate => AuthMethod::TlsCertificate,
            AuthType::XForwardedClientCert => AuthMethod::XForwardedClientCert,
        })
        .collect();
    let tls = match args.tls_paths() {
        None => None,
        Some((cert, key)) => {
            let client_ca_pem = if methods.contains(&AuthMethod::TlsCertificate) {
                Some(match &args.client_ca_path {
                    Some(path) => std::fs::read(path).map_err(|e| ConfigError::Read {
                        flag: "--client-ca-path",
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?,
                    None => access.ca_pem.clone().ok_or(ConfigError::NoClientCa)?,
                })
            } else {
                None
            };
            Some(ServingTls {
                cert_path: cert.to_path_buf(),
                key_path: key.to_path_buf(),
                client_ca_pem,
            })
        }
    };
    Ok(DataplaneConfig {
        listen: SocketAddr::new(args.listening_address, args.listening_port),
        cores: args.cores(),
        driver: match args.io_driver {
            IoDriver::Auto => DriverChoice::Auto,
            IoDriver::IoUring => DriverChoice::IoUring,
            IoDriver::Legacy => DriverChoice::Legacy,
        },
        tls,
        auth: AuthConfig {
            methods,
            trusted_proxies: CidrSet::parse(&args.trusted_proxy_cidrs)?,
            xfcc_header: args.xfcc_header_name.clone(),
        },
        upstream: UpstreamConfig {
            https: access.server.https,
            host: access.server.host.clone(),
            port: access.server.port,
            path_prefix: access.server.path_prefix.clone(),
            server_name: access.tls_server_name.clone(),
            ca_pem: access.ca_pem.clone(),
            insecure_skip_verify: access.insecure_skip_tls_verify,
            credential: access.credential.clone(),
            pool_size: args.upstream_pool_size,
            connect_timeout: args.upstream_connect_timeout,
            tls_handshake_timeout: args.upstream_connect_timeout,
            response_header_timeout: args.upstream_response_header_timeout,
            idle_timeout: args.upstream_idle_timeout,
        },
        limits: Limits {
            max_head_bytes: args.max_header_bytes,
            max_headers: args.max_header_count,
            ..Limits::default()
        },
        timeouts: ClientTimeouts {
            read_header: args.read_header_timeout,
            idle: (!args.client_idle_timeout.is_zero()).then_some(args.client_idle_timeout),
            request_body_idle: args.request_body_idle_timeout,
            stall: (!args.client_stall_timeout.is_zero()).then_some(args.client_stall_timeout),
            tls_handshake: args.tls_handshake_timeout,
        },
        filter: filter_config(args)?,
    })
}

/// Who is never filtered, how caller impersonation is treated, the feature gates and the review limits.
pub fn filter_config(args: &Args) -> Result<FilterConfig, CliError> {
    let gates = args.gates()?;
    let impersonation = args.impersonation_group_filters()?;
    let non_empty =
        |values: &[String]| -> Vec<String> { values.iter().filter(|v| !v.is_empty()).cloned().collect() };
    Ok(FilterConfig {
        ignored_usernames: non_empty(&args.ignored_username),
        ignored_user_groups: non_empty(&args.ignored_user_group),
        impersonation_group_regexp: impersonation.keep,
        ignored_impersonation_groups: impersonation.drop,
        allowed_paths: non_empty(&args.allowed_paths),
        cluster_scoped: gates.proxy_cluster_scoped,
        all_namespaced: gates.proxy_all_namespaced,
        skip_impersonation_review: gates.skip_impersonation_review,
        review_timeout: args.review_timeout,
        answer_cache_ttl: (
            args.token_cache_ttl.min(CORE_TOKEN_TTL),
            args.token_cache_negative_ttl.min(CORE_TOKEN_NEGATIVE_TTL),
        ),
        max_rewrite_bytes: args.max_rewrite_bytes,
        fan_out: FanOutLimits {
            concurrency: args.all_namespaces_concurrency,
            page_size: args.all_namespaces_page_size,
            timeout: args.all_namespaces_timeout,
            max_watches: args.all_namespaces_max_watches,
        },
    })
}

/// How the control plane reaches the API server: the same place and credential as the data plane's.
pub fn cluster_connection(access: &ClusterAccess) -> ClusterConnection {
    ClusterConnection {
        server_url: access.server.to_string(),
        ca_pem: access.ca_pem.clone(),
        insecure_skip_verify: access.insecure_skip_tls_verify,
        tls_server_name: access.tls_server_name.clone(),
        // With an exec plugin, kube-rs runs it for the control plane's client (and refreshes its token).
        credential: if access.exec.is_some() {
            ApiCredential::None
        } else {
            access.credential.clone()
        },
        exec: access.exec.clone(),
    }
}

/// How long the snapshot may be stale before `/readyz` fails; `None` when readiness does not follow the watches
/// (`--readiness-stale-after=0`).
pub fn readiness_stale_after(args: &Args) -> Option<Duration> {
    (!args.readiness_stale_after.is_zero()).then_some(args.readiness_stale_after)
}

/// What the control plane watches and how it caches identities.
pub fn control_options(args: &Args) -> ControlOptions {
    ControlOptions {
        probe_addr: args.health_probe_addr.0,
        capsule_configuration_name: args.capsule_configuration_name.clone(),
        identity: IdentityCacheConfig {
            token_ttl: args.token_cache_ttl,
            token_negative_ttl: args.token_cache_negative_ttl,
            request_timeout: args.review_timeout,
            max_in_flight: args.review_concurrency,
            ..IdentityCacheConfig::default()
        },
        reflector: args.enable_reflector,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn args(flags: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("capsule-proxy").chain(flags.iter().copied())).unwrap()
    }

    #[test]
    fn filter_config_follows_the_flags() {
        let filter = filter_config(&args(&[
            "--ignored-username=admin",
            "--ignored-user-group=system:masters,ops",
            "--impersonation-group-regexp=^team-",
            "--ignored-impersonation-group=^system:,^oidc:",
            "--allowed-paths=/healthz,/version",
            "--feature-gates=ProxyClusterScoped=true",
            "--review-timeout=3s",
            "--token-cache-ttl=5s",
            "--token-cache-negative-ttl=1m",
            "--max-rewrite-bytes=1024",
        ]))
        .unwrap();
        assert_eq!(filter.ignored_usernames, ["admin"]);
        assert_eq!(filter.ignored_user_groups, ["system:masters", "ops"]);
        assert_eq!(
            filter
                .impersonation_group_regexp
                .map(|r| r.to_string())
                .as_deref(),
            Some("^team-")
        );
        assert_eq!(
            filter
                .ignored_impersonation_groups
                .map(|r| r.to_string())
                .as_deref(),
            Some("^system:|^oidc:")
        );
        assert_eq!(filter.allowed_paths, ["/healthz", "/version"]);
        assert!(filter.cluster_scoped);
        assert!(!filter.skip_impersonation_review);
        assert_eq!(filter.review_timeout, Duration::from_secs(3));
        assert_eq!(
            filter.answer_cache_ttl,
            (Duration::from_secs(5), Duration::from_secs(2))
        );
        assert_eq!(filter.max_rewrite_bytes, 1024);
    }

    #[test]
    fn filter_config_defaults() {
        let filter = filter_config(&args(&[])).unwrap();
        assert!(filter.ignored_usernames.is_empty() && filter.ignored_user_groups.is_empty());
        assert!(filter.impersonation_group_regexp.is_none() && filter.ignored_impersonation_groups.is_none());
        assert_eq!(filter.allowed_paths, ["/api", "/apis", "/version"]);
        assert!(!filter.cluster_scoped && !filter.skip_impersonation_review);
        assert_eq!(filter.review_timeout, Duration::from_secs(10));
        // The cores keep answers at most 10s / 2s; the control plane's caches (2m / 10s) stay behind them.
        assert_eq!(
            filter.answer_cache_ttl,
            (Duration::from_secs(10), Duration::from_secs(2))
        );
        assert_eq!(filter.max_rewrite_bytes, 4 << 20);
        let gates = filter_config(&args(&["--feature-gates=AllAlpha=true"])).unwrap();
        assert!(gates.cluster_scoped && gates.skip_impersonation_review);
        assert!(filter_config(&args(&["--feature-gates=Nope=true"])).is_err());
    }

    #[test]
    fn readiness_follows_the_watches_unless_told_not_to() {
        assert_eq!(
            readiness_stale_after(&args(&[])),
            Some(capsule_proxy_control::DEFAULT_READINESS_STALE_AFTER)
        );
        assert_eq!(
            readiness_stale_after(&args(&["--readiness-stale-after=90s"])),
            Some(Duration::from_secs(90))
        );
        assert_eq!(readiness_stale_after(&args(&["--readiness-stale-after=0"])), None);
    }
}
