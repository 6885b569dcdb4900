//! The command line's parsing and checks.

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

#[test]
fn feature_gates_are_checked() {
    let f = files();
    let a = parse(&[&f.cert, &f.key]);
    assert_eq!(a.gates(), Ok(FeatureGates::default()));
    let a = parse(&[
        &f.cert,
        &f.key,
        "--feature-gates=ProxyClusterScoped=true,SkipImpersonationReview=true",
    ]);
    assert_eq!(a.validate(), Ok(()));
    let gates = a.gates().unwrap();
    assert!(gates.proxy_cluster_scoped && gates.skip_impersonation_review && gates.proxy_all_namespaced);
    assert!(
        a.warnings()
            .iter()
            .any(|w| w.contains("any caller can impersonate any user or group"))
    );
    let a = parse(&[&f.cert, &f.key, "--feature-gates=ProxyAllNamespaced=false"]);
    assert!(
        a.warnings()
            .iter()
            .any(|w| w.contains("ProxyAllNamespaced is off"))
    );
    for (gates, message) in [
        (
            "--feature-gates=Bogus=true",
            "--feature-gates: unrecognized feature gate \"Bogus\"",
        ),
        (
            "--feature-gates=ProxyClusterScoped=maybe",
            "--feature-gates: invalid value of ProxyClusterScoped=maybe (expected true or false)",
        ),
        (
            "--feature-gates=ProxyClusterScoped",
            "--feature-gates: missing bool value for ProxyClusterScoped",
        ),
    ] {
        let err = parse(&[&f.cert, &f.key, gates]).validate().unwrap_err();
        assert!(matches!(err, CliError::FeatureGates(_)));
        assert!(err.to_string().starts_with(message), "{err}");
        assert_eq!(err.to_string().lines().count(), 1);
    }
}

#[test]
fn impersonation_group_regexes_compile() {
    let f = files();
    let a = parse(&[
        &f.cert,
        &f.key,
        "--impersonation-group-regexp=^team-",
        "--ignored-impersonation-group=^system:,^oidc:",
    ]);
    assert_eq!(a.validate(), Ok(()));
    let filters = a.impersonation_group_filters().unwrap();
    let keep = filters.keep.unwrap();
    assert!(keep.is_match("team-a") && !keep.is_match("ops"));
    let drop = filters.drop.unwrap();
    assert_eq!(drop.as_str(), "^system:|^oidc:");
    assert!(drop.is_match("oidc:admins") && drop.is_match("system:masters") && !drop.is_match("team-a"));
    let none = parse(&["--impersonation-group-regexp="])
        .impersonation_group_filters()
        .unwrap();
    assert!(none.keep.is_none() && none.drop.is_none());

    for (arg, flag) in [
        (
            "--impersonation-group-regexp=(team",
            "--impersonation-group-regexp",
        ),
        (
            "--ignored-impersonation-group=ok,[bad",
            "--ignored-impersonation-group",
        ),
    ] {
        let err = parse(&[&f.cert, &f.key, arg]).validate().unwrap_err();
        assert!(matches!(err, CliError::BadRegex { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with(flag), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
    let err = parse(&["--impersonation-group-regexp=(team"])
        .impersonation_group_filters()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--impersonation-group-regexp \"(team\": unclosed group"
    );
}

#[test]
fn namespace_is_required() {
    assert_eq!(
        proxy_namespace(Some("capsule-system")),
        Ok("capsule-system".to_owned())
    );
    for missing in [None, Some("")] {
        let err = proxy_namespace(missing).unwrap_err();
        assert_eq!(err, CliError::NamespaceUnset);
        assert!(
            err.to_string()
                .starts_with("the NAMESPACE environment variable must name")
        );
        assert_eq!(err.to_string().lines().count(), 1);
    }
}

#[test]
fn review_limits() {
    let f = files();
    let a = parse(&[]);
    assert_eq!(a.review_timeout, Duration::from_secs(10));
    assert_eq!(a.max_rewrite_bytes, 4 << 20);
    let a = parse(&["--review-timeout=3s", "--max-rewrite-bytes=1024"]);
    assert_eq!(a.review_timeout, Duration::from_secs(3));
    assert_eq!(a.max_rewrite_bytes, 1024);
    let err = parse(&[&f.cert, &f.key, "--review-timeout=0s"])
        .validate()
        .unwrap_err();
    assert_eq!(err.to_string(), "--review-timeout must be longer than 0");
    let err = parse(&[&f.cert, &f.key, "--max-rewrite-bytes=0"])
        .validate()
        .unwrap_err();
    assert_eq!(err.to_string(), "--max-rewrite-bytes must be at least 1");
}

#[test]
fn readiness_stale_after() {
    assert_eq!(parse(&[]).readiness_stale_after, Duration::from_secs(300));
    assert_eq!(
        parse(&["--readiness-stale-after=1s"]).readiness_stale_after,
        Duration::from_secs(1)
    );
    assert_eq!(
        parse(&["--readiness-stale-after", "0"]).readiness_stale_after,
        Duration::ZERO
    );
    parse_err(&["--readiness-stale-after=5"]);
}

#[test]
fn demo_subcommand() {
    let a = parse(&[]);
    assert_eq!(a.command, None);
    let a = parse(&["demo"]);
    let Some(Command::Demo(demo)) = a.command else {
        panic!("demo expected");
    };
    assert_eq!(demo.listen, "127.0.0.1:9001".parse().unwrap());
    assert_eq!(demo.state_dir, Path::new("target/demo"));
    assert_eq!(demo.fixture, None);
    assert!(demo.proxy_args.is_empty());
    let a = parse(&[
        "demo",
        "--listen=127.0.0.1:0",
        "--state-dir",
        "/tmp/d",
        "--",
        "--feature-gates=ProxyClusterScoped=true",
    ]);
    let Some(Command::Demo(demo)) = a.command else {
        panic!("demo expected");
    };
    assert_eq!(demo.listen.port(), 0);
    assert_eq!(demo.state_dir, Path::new("/tmp/d"));
    assert_eq!(demo.proxy_args, ["--feature-gates=ProxyClusterScoped=true"]);
    // Proxy flags keep working without a subcommand, including Go-style bools before a word.
    let a = parse(&["--enable-ssl=false", "--listening-port=9002"]);
    assert_eq!(a.command, None);
    assert_eq!(a.listening_port, 9002);
    parse_err(&["demo", "--listening-port=1"]);
}

#[test]
fn client_body_and_stall_timeouts() {
    let f = files();
    let a = parse(&[]);
    assert_eq!(a.request_body_idle_timeout, Duration::from_secs(60));
    assert_eq!(a.client_stall_timeout, Duration::from_secs(60));
    let a = parse(&["--request-body-idle-timeout=300ms", "--client-stall-timeout=0"]);
    assert_eq!(a.request_body_idle_timeout, Duration::from_millis(300));
    assert_eq!(a.client_stall_timeout, Duration::ZERO);
    let err = parse(&[&f.cert, &f.key, "--request-body-idle-timeout=0"])
        .validate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--request-body-idle-timeout must be longer than 0"
    );
}

#[test]
fn flags_not_built_yet_warn_only_when_they_ask_for_something() {
    let a = parse(&[
        "--rolebindings-resync-period=1h",
        "--disable-caching",
        "--client-connection-qps=50",
        "--client-connection-burst=100",
        "--enable-pprof=true",
    ]);
    assert_eq!(
        a.ignored_noop_flags(),
        [
            "--rolebindings-resync-period",
            "--disable-caching",
            "--client-connection-qps",
            "--client-connection-burst",
            "--enable-pprof"
        ]
    );
}
