//! capsule-proxy's HTTP/1.1 edge cases on raw sockets: what it answers itself (health, 401/403/408/431/400/
//! 502/504 as Kubernetes `Status` JSON), request framing and smuggling defences, chunked and `Expect:
//! 100-continue` uploads, client-certificate and XFCC authentication, serving certificate hot reload and
//! command-line validation.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself

mod support;

use std::fmt::Write as _;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube_sim::cluster::AuditEntry;
use serde_json::Value;
use support::Env;
use support::proxy::{Proxy, serving_cert};
use support::raw::{Conn, IO_DEADLINE, client_config, get, pem_to_der, poll_until, request, within};

/// The proxy's service account, as kube-sim authenticates it.
const PROXY_SA: &str = "system:serviceaccount:capsule-system:capsule-proxy";
/// alice's pods.
const PODS: &str = "/api/v1/namespaces/oil-dev/pods";
/// alice's ConfigMaps.
const CONFIGMAPS: &str = "/api/v1/namespaces/oil-dev/configmaps";
/// A path only ever requested by smuggled requests.
const SMUGGLED: &str = "/api/v1/namespaces/oil-dev/secrets";
/// A request hidden in a body, to be forwarded only if framing were misread.
const SMUGGLED_REQUEST: &str = "GET /api/v1/namespaces/oil-dev/secrets HTTP/1.1\r\nHost: kubernetes\r\nAuthorization: Bearer alice-token\r\n\r\n";

/// The names of the items of a list.
fn item_names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|item| item["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// kube-sim's audit entries for `path`.
fn audit_for(env: &Env, path: &str) -> Vec<AuditEntry> {
    env.sim.audit().into_iter().filter(|e| e.path == path).collect()
}

fn configmap(name: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","namespace":"oil-dev"}},"data":{{"mode":"blue","size":"large"}}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_without_credentials() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let mut conn = Conn::open(&proxy).await;
    let r = conn.exchange(&get("/_healthz", None)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "ok");
    assert!(
        r.header("content-type").unwrap().starts_with("text/plain"),
        "{r:?}"
    );
    assert!(!r.closes(), "{r:?}");
    // HEAD: the length of `ok`, no body; the connection stays usable.
    let r = conn
        .exchange("HEAD /_healthz HTTP/1.1\r\nHost: kubernetes\r\n\r\n")
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-length"), Some("2"));
    assert!(r.body.is_empty());
    let r = conn.exchange(&get("/_healthz", None)).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // Answered by the proxy itself.
    assert!(audit_for(&env, "/_healthz").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_is_401_and_the_connection_stays_open() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let mut conn = Conn::open(&proxy).await;
    let r = conn.exchange(&get(PODS, None)).await;
    let status = r.expect_status(401);
    assert_eq!(status["reason"], "Unauthorized", "{status}");
    assert!(
        !r.closes(),
        "a 401 to a body-less request keeps the connection: {r:?}"
    );
    // A credential the proxy does not accept is no credential either.
    let r = conn
        .exchange(&request(
            "GET",
            PODS,
            None,
            &["Authorization: Basic YWxpY2U6eA=="],
            "",
        ))
        .await;
    r.expect_status(401);
    // The same connection still carries a real request.
    let r = conn.exchange(&get(PODS, Some("alice-token"))).await;
    let list = r.expect_ok_json(200);
    assert_eq!(list["kind"], "PodList", "{list}");
    // kube-sim never saw an unauthenticated request.
    let unauthenticated: Vec<_> = env
        .sim
        .audit()
        .into_iter()
        .filter(|e| e.user.is_empty())
        .collect();
    assert!(unauthenticated.is_empty(), "{unauthenticated:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_pass_through_with_head_and_pipelining() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let mut conn = Conn::open(&proxy).await;

    let r = conn.exchange(&get(PODS, Some("alice-token"))).await;
    let list = r.expect_ok_json(200);
    assert_eq!(list["kind"], "PodList", "{list}");
    assert_eq!(item_names(&list), ["web"]);
    assert!(r.header("content-type").unwrap().starts_with("application/json"));
    let audit = audit_for(&env, PODS);
    assert!(
        audit
            .iter()
            .any(|e| e.user == "alice" && e.impersonator.is_none() && e.code == 200),
        "alice reached kube-sim as herself: {audit:?}"
    );

    // HEAD: a head, no body, and the connection is in sync for the next request.
    let r = conn
        .exchange(&request("HEAD", PODS, Some("alice-token"), &[], ""))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.is_empty());
    let r = conn.exchange(&get(PODS, Some("alice-token"))).await;
    assert_eq!(r.expect_ok_json(200)["kind"], "PodList");

    // Two requests in one write: both answered, in order.
    let pipelined = format!(
        "{}{}",
        get(PODS, Some("alice-token")),
        get(&format!("{PODS}/web"), Some("alice-token"))
    );
    conn.send(pipelined.as_bytes()).await;
    let first = conn.read_response(false).await.expect_ok_json(200);
    let second = conn.read_response(false).await.expect_ok_json(200);
    assert_eq!(first["kind"], "PodList", "{first}");
    assert_eq!(second["kind"], "Pod", "{second}");
    assert_eq!(second["metadata"]["name"], "web", "{second}");

    // Someone else's token is someone else: bob does not own oil-dev.
    let r = conn.exchange(&get(PODS, Some("bob-token"))).await;
    r.expect_status(403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_get_408_and_are_closed() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &["--read-header-timeout=1s"]).await;
    let partial = "GET /api/v1/namespaces/oil-dev/pods HTTP/1.1\r\nHost: kubernetes\r\nAuthorization: Bearer";

    // A partial first head, then silence.
    let mut conn = Conn::open(&proxy).await;
    let started = Instant::now();
    conn.send(partial.as_bytes()).await;
    let r = within(Duration::from_secs(5), "408", conn.read_response(false)).await;
    r.expect_status(408);
    assert!(r.closes(), "{r:?}");
    within(Duration::from_secs(5), "close after 408", conn.expect_closed()).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A keep-alive connection: the second head is bounded too, from its first byte.
    let mut conn = Conn::open(&proxy).await;
    conn.exchange(&get(PODS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    let started = Instant::now();
    conn.send(partial.as_bytes()).await;
    let r = within(Duration::from_secs(5), "408", conn.read_response(false)).await;
    r.expect_status(408);
    within(Duration::from_secs(5), "close after 408", conn.expect_closed()).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );

    // Trickling a byte every 100 ms does not extend the deadline.
    let mut conn = Conn::open(&proxy).await;
    let started = Instant::now();
    conn.send(partial.as_bytes()).await;
    let r = within(
        Duration::from_secs(5),
        "408 to a trickle",
        conn.trickle_until_response(
            b" alice-token\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
    )
    .await;
    r.expect_status(408);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    within(Duration::from_secs(5), "close after 408", conn.expect_closed()).await;

    // kube-sim saw none of them.
    assert_eq!(
        audit_for(&env, PODS).len(),
        1,
        "only the complete request was forwarded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_get_431() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;

    // A 70 KiB header with the default --max-header-bytes=65536.
    let big = "a".repeat(70 * 1024);
    let mut conn = Conn::open(&proxy).await;
    // The proxy may answer and close before it has read everything: a failed write is fine.
    let _ = conn
        .try_send(request("GET", PODS, Some("alice-token"), &[&format!("X-Big: {big}")], "").as_bytes())
        .await;
    let r = conn.read_response(false).await;
    let status = r.expect_status(431);
    assert_eq!(status["reason"], "BadRequest", "{status}");
    assert_eq!(r.reason, "Request Header Fields Too Large");
    assert!(r.closes(), "{r:?}");
    conn.expect_closed().await;

    // Just under the limit is fine.
    let large = "a".repeat(60 * 1024);
    let mut conn = Conn::open(&proxy).await;
    let r = conn
        .exchange(&request(
            "GET",
            PODS,
            Some("alice-token"),
            &[&format!("X-Large: {large}")],
            "",
        ))
        .await;
    assert_eq!(r.expect_ok_json(200)["kind"], "PodList");

    // More fields than --max-header-count (128).
    let fields: Vec<String> = (0..140).map(|i| format!("X-Field-{i}: {i}")).collect();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let mut conn = Conn::open(&proxy).await;
    let r = conn
        .exchange(&request("GET", PODS, Some("alice-token"), &fields, ""))
        .await;
    r.expect_status(431);
    assert!(r.closes(), "{r:?}");
    conn.expect_closed().await;

    assert_eq!(
        audit_for(&env, PODS).len(),
        1,
        "only the acceptable head was forwarded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_attempts_get_400_and_close() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let head = |fields: &str| {
        format!(
            "POST {CONFIGMAPS} HTTP/1.1\r\nHost: kubernetes\r\nAuthorization: Bearer alice-token\r\n\
             Content-Type: application/json\r\n{fields}\r\n"
        )
    };
    let cases = [
        (
            "Content-Length with Transfer-Encoding",
            format!(
                "{}0\r\n\r\n{SMUGGLED_REQUEST}",
                head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")
            ),
        ),
        (
            "Transfer-Encoding with Content-Length",
            format!(
                "{}0\r\n\r\n{SMUGGLED_REQUEST}",
                head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")
            ),
        ),
        (
            "two different Content-Length",
            format!(
                "{}{{}}\r\n\r\n{SMUGGLED_REQUEST}",
                head("Content-Length: 2\r\nContent-Length: 6\r\n")
            ),
        ),
        (
            "Transfer-Encoding: chunked, identity",
            format!(
                "{}0\r\n\r\n{SMUGGLED_REQUEST}",
                head("Transfer-Encoding: chunked, identity\r\n")
            ),
        ),
        (
            "Transfer-Encoding: xchunked",
            format!(
                "{}0\r\n\r\n{SMUGGLED_REQUEST}",
                head("Transfer-Encoding: xchunked\r\n")
            ),
        ),
        (
            "obs-fold",
            format!(
                "{}0\r\n\r\n{SMUGGLED_REQUEST}",
                head("X-Folded: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")
            ),
        ),
        (
            "bad chunk size in the same write as the head",
            format!(
                "{}zz\r\n{{}}\r\n0\r\n\r\n{SMUGGLED_REQUEST}",
                head("Transfer-Encoding: chunked\r\n")
            ),
        ),
    ];
    for (what, bytes) in &cases {
        let mut conn = Conn::open(&proxy).await;
        let _ = conn.try_send(bytes.as_bytes()).await;
        let r = conn.read_response(false).await;
        assert_eq!(r.status, 400, "{what}: {r:?}");
        let status = r.expect_status(400);
        assert_eq!(status["reason"], "BadRequest", "{what}: {status}");
        assert!(r.closes(), "{what}: {r:?}");
        within(IO_DEADLINE, what, conn.expect_closed()).await;
    }

    // A bad chunk size after the head was accepted and forwarded (the proxy's 100 Continue says so).
    let mut conn = Conn::open(&proxy).await;
    conn.send(head("Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n").as_bytes())
        .await;
    let r = conn.read_response(false).await;
    assert_eq!(r.status, 100, "{r:?}");
    let _ = conn
        .try_send(format!("zz\r\n{{}}\r\n0\r\n\r\n{SMUGGLED_REQUEST}").as_bytes())
        .await;
    let r = conn.read_response(false).await;
    r.expect_status(400);
    assert!(r.closes(), "{r:?}");
    conn.expect_closed().await;

    // A last, valid request, then the audit: nothing smuggled, nothing created.
    let mut conn = Conn::open(&proxy).await;
    let list = conn
        .exchange(&get(CONFIGMAPS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    assert!(item_names(&list).is_empty(), "{list}");
    assert!(audit_for(&env, SMUGGLED).is_empty(), "{:?}", env.sim.audit());
    let created: Vec<_> = audit_for(&env, CONFIGMAPS)
        .into_iter()
        .filter(|e| e.method == "POST" && e.code < 300)
        .collect();
    assert!(created.is_empty(), "{created:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_and_expect_continue_uploads() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let mut conn = Conn::open(&proxy).await;

    // Chunked, in several writes, one chunk with an extension.
    let body = configmap("chunky");
    let (a, rest) = body.split_at(20);
    let (b, c) = rest.split_at(30);
    conn.send(
        format!(
            "POST {CONFIGMAPS} HTTP/1.1\r\nHost: kubernetes\r\nAuthorization: Bearer alice-token\r\n\
             Content-Type: application/json\r\nAccept: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    for (i, part) in [a, b, c].into_iter().enumerate() {
        let ext = if i == 1 { ";note=\"second\"" } else { "" };
        conn.send(format!("{:x}{ext}\r\n{part}\r\n", part.len()).as_bytes())
            .await;
    }
    conn.send(b"0\r\n\r\n").await;
    let created = conn.read_response(false).await.expect_ok_json(201);
    assert_eq!(created["metadata"]["name"], "chunky", "{created}");
    let got = conn
        .exchange(&get(&format!("{CONFIGMAPS}/chunky"), Some("alice-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(got["data"]["size"], "large", "{got}");

    // Expect: 100-continue with Content-Length: the proxy says 100 Continue before the body is sent.
    let body = configmap("expected");
    conn.send(
        format!(
            "POST {CONFIGMAPS} HTTP/1.1\r\nHost: kubernetes\r\nAuthorization: Bearer alice-token\r\n\
             Content-Type: application/json\r\nAccept: application/json\r\nExpect: 100-continue\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await;
    let interim = conn.read_response(false).await;
    assert_eq!(
        (interim.status, interim.reason.as_str()),
        (100, "Continue"),
        "{interim:?}"
    );
    conn.send(body.as_bytes()).await;
    let created = conn.read_response(false).await.expect_ok_json(201);
    assert_eq!(created["metadata"]["name"], "expected", "{created}");
    let list = conn
        .exchange(&get(CONFIGMAPS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    let mut names = item_names(&list);
    names.sort();
    assert_eq!(names, ["chunky", "expected"]);
    let creates: Vec<_> = audit_for(&env, CONFIGMAPS)
        .into_iter()
        .filter(|e| e.method == "POST")
        .collect();
    assert_eq!(creates.len(), 2, "{creates:?}");
    assert!(
        creates.iter().all(|e| e.user == "alice" && e.code == 201),
        "{creates:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_impersonated() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let (cert, key) = env
        .sim
        .pki()
        .unwrap()
        .issue_client_cert("alice", &["projectcapsule.dev".to_string()])
        .unwrap();
    let config = client_config(&[&proxy.ca_pem], Some((&cert, &key)));
    let mut conn = Conn::tls(proxy.addr, config).await;

    let list = conn.exchange(&get(PODS, None)).await.expect_ok_json(200);
    assert_eq!(item_names(&list), ["web"]);
    let audit = audit_for(&env, PODS);
    let entry = audit.last().unwrap();
    assert_eq!(entry.user, "alice", "{audit:?}");
    assert_eq!(entry.impersonator.as_deref(), Some(PROXY_SA), "{audit:?}");
    assert!(
        entry.groups.iter().any(|g| g == "projectcapsule.dev"),
        "{audit:?}"
    );

    // Who am I, according to kube-sim?
    let review = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
    let r = conn
        .exchange(&request(
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            None,
            &[],
            review,
        ))
        .await;
    let review = r.expect_ok_json(201);
    assert_eq!(review["status"]["userInfo"]["username"], "alice", "{review}");
    let groups = review["status"]["userInfo"]["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g == "projectcapsule.dev"), "{review}");

    // The caller's own impersonation is refused, on the same connection.
    let r = conn
        .exchange(&request("GET", PODS, None, &["Impersonate-User: admin"], ""))
        .await;
    let status = r.expect_status(403);
    assert_eq!(status["reason"], "Forbidden", "{status}");
    assert!(!r.closes(), "{r:?}");
    // Any spelling.
    let r = conn
        .exchange(&request(
            "GET",
            PODS,
            None,
            &["impersonate-group: system:masters"],
            "",
        ))
        .await;
    r.expect_status(403);
    assert!(
        !env.sim
            .audit()
            .iter()
            .any(|e| e.user == "admin" || e.groups.iter().any(|g| g == "system:masters")),
        "nothing reached kube-sim as admin"
    );
    // The connection is still good.
    let list = conn.exchange(&get(PODS, None)).await.expect_ok_json(200);
    assert_eq!(list["kind"], "PodList");
}

/// SHA-256 of `data`, lower-case hex (ring's, through rustls).
fn sha256_hex(data: &[u8]) -> String {
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .unwrap();
    let digest = suite.common.hash_provider.hash(data);
    digest.as_ref().iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Go's `url.QueryEscape`.
fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// A certificate (PEM) for CN=`user`, one O per group; the XFCC path does not verify its issuer.
fn xfcc_cert(user: &str, groups: &[&str]) -> String {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, user);
    for group in groups {
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, *group);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn xfcc_value(pem: &str) -> String {
    format!(
        "Hash={};Cert=\"{}\";Subject=\"CN=whatever\"",
        sha256_hex(&pem_to_der(pem)),
        query_escape(pem)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xfcc_from_a_trusted_proxy_is_impersonated() {
    let env = Env::start().await;
    let proxy = Proxy::start(
        &env,
        &[
            "--enable-ssl=false",
            "--auth-preferred-types=XForwardedClientCert",
            "--trusted-proxy-cidrs=127.0.0.0/8",
        ],
    )
    .await;
    let pem = xfcc_cert("alice", &["projectcapsule.dev"]);
    let mut conn = Conn::open(&proxy).await;
    let xfcc = format!("X-Forwarded-Client-Cert: {}", xfcc_value(&pem));
    let list = conn
        .exchange(&request("GET", PODS, None, &[&xfcc], ""))
        .await
        .expect_ok_json(200);
    assert_eq!(item_names(&list), ["web"]);
    let audit = audit_for(&env, PODS);
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].user, "alice", "{audit:?}");
    assert_eq!(audit[0].impersonator.as_deref(), Some(PROXY_SA), "{audit:?}");
    assert!(
        audit[0].groups.iter().any(|g| g == "projectcapsule.dev"),
        "{audit:?}"
    );

    // Unusable XFCC values are no credential.
    let other = xfcc_cert("bob", &["projectcapsule.dev"]);
    let wrong_hash = format!(
        "X-Forwarded-Client-Cert: Hash={};Cert=\"{}\"",
        sha256_hex(&pem_to_der(&other)),
        query_escape(&pem)
    );
    for bad in [
        "X-Forwarded-Client-Cert: garbage".to_string(),
        "X-Forwarded-Client-Cert: Cert=\"-----BEGIN%20CERTIFICATE-----%0Anope%0A-----END%20CERTIFICATE-----\""
            .to_string(),
        wrong_hash,
    ] {
        let r = conn.exchange(&request("GET", PODS, None, &[&bad], "")).await;
        let status = r.expect_status(401);
        assert_eq!(status["reason"], "Unauthorized", "{bad}: {status}");
    }
    // Two XFCC headers are refused too.
    let r = conn
        .exchange(&request("GET", PODS, None, &[&xfcc, &xfcc], ""))
        .await;
    r.expect_status(401);
    // A bearer token is not accepted when only XFCC is.
    let r = conn.exchange(&get(PODS, Some("alice-token"))).await;
    r.expect_status(401);
    assert_eq!(audit_for(&env, PODS).len(), 1, "{:?}", env.sim.audit());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_sources_get_403_but_healthz() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &["--enable-ssl=false", "--trusted-proxy-cidrs=10.0.0.0/8"]).await;
    let mut conn = Conn::open(&proxy).await;
    let r = conn.exchange(&get(PODS, Some("alice-token"))).await;
    let status = r.expect_status(403);
    assert_eq!(status["reason"], "Forbidden", "{status}");
    let r = conn.exchange(&get("/_healthz", None)).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"), "{r:?}");
    assert!(audit_for(&env, PODS).is_empty(), "{:?}", env.sim.audit());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_api_server_is_502_at_once() {
    let mut env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let mut conn = Conn::open(&proxy).await;
    // A first request leaves a pooled upstream connection behind.
    conn.exchange(&get(PODS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    env.sim.stop().await;
    for _ in 0..2 {
        let started = Instant::now();
        let r = within(
            Duration::from_secs(5),
            "502 from a stopped API server",
            conn.exchange(&get(PODS, Some("alice-token"))),
        )
        .await;
        let status = r.expect_status(502);
        assert_eq!(status["reason"], "InternalError", "{status}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!r.closes(), "{r:?}");
    }
    // A new connection too, and a body-carrying request.
    let mut other = Conn::open(&proxy).await;
    let r = other
        .exchange(&request(
            "POST",
            CONFIGMAPS,
            Some("alice-token"),
            &[],
            &configmap("x"),
        ))
        .await;
    r.expect_status(502);
    // Back again: the same client connection recovers.
    env.sim.restart().await.unwrap();
    let list = conn
        .exchange(&get(PODS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(list["kind"], "PodList");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_api_server_is_504() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &["--upstream-response-header-timeout=1s"]).await;
    let mut conn = Conn::open(&proxy).await;
    conn.exchange(&get(PODS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    env.sim.set_latency(Duration::from_secs(4));
    let started = Instant::now();
    let r = within(
        Duration::from_secs(3),
        "504 from a slow API server",
        conn.exchange(&get(PODS, Some("alice-token"))),
    )
    .await;
    let elapsed = started.elapsed();
    let status = r.expect_status(504);
    assert_eq!(status["reason"], "Timeout", "{status}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(!r.closes(), "{r:?}");
    // Without the latency, the same connection works again.
    env.sim.set_latency(Duration::ZERO);
    let list = conn
        .exchange(&get(PODS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(list["kind"], "PodList");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_certificate_is_reloaded() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let (new_cert, new_key) = serving_cert();
    let old_der = pem_to_der(&proxy.ca_pem);
    let new_der = pem_to_der(&new_cert);
    let config = client_config(&[&proxy.ca_pem, &new_cert], None);

    let mut before = Conn::tls(proxy.addr, Arc::clone(&config)).await;
    assert_eq!(before.peer_cert.as_deref(), Some(&old_der[..]));
    before
        .exchange(&get(PODS, Some("alice-token")))
        .await
        .expect_ok_json(200);

    rotate_serving_cert(&proxy, &new_cert, &new_key);
    let served = poll_until(Duration::from_secs(15), || {
        let config = Arc::clone(&config);
        let new_der = new_der.clone();
        async move {
            let conn = Conn::tls(proxy.addr, config).await;
            (conn.peer_cert.as_deref() == Some(&new_der[..])).then_some(conn)
        }
    })
    .await;
    let Some(mut after) = served else {
        panic!(
            "the new certificate was not served within 15 s; proxy log:\n{}",
            proxy.log()
        );
    };
    after
        .exchange(&get(PODS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    // A client trusting only the new certificate connects.
    let only_new = Conn::tls(proxy.addr, client_config(&[&new_cert], None)).await;
    assert_eq!(only_new.peer_cert.as_deref(), Some(&new_der[..]));
    // The connection opened before the swap keeps working.
    let list = before
        .exchange(&get(PODS, Some("alice-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(list["kind"], "PodList");
    assert!(
        proxy.log().contains("serving certificate reloaded"),
        "{}",
        proxy.log()
    );
}

/// Replaces the proxy's `tls.key` and `tls.crt`, each by an atomic rename.
fn rotate_serving_cert(proxy: &Proxy, cert: &str, key: &str) {
    for (name, contents) in [("tls.key", key), ("tls.crt", cert)] {
        let tmp = proxy.dir.join(format!("{name}.tmp"));
        std::fs::write(&tmp, contents).unwrap();
        std::fs::rename(&tmp, proxy.dir.join(name)).unwrap();
    }
}

/// A rotation right after start-up (before the watcher's first look at the files) is still a rotation: the
/// watcher compares with what the cores loaded, not with what it finds first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_right_after_start_is_not_lost() {
    let env = Env::start().await;
    let mut missed = Vec::new();
    for attempt in 0..8 {
        let proxy = Proxy::start(&env, &[]).await;
        let (new_cert, new_key) = serving_cert();
        rotate_serving_cert(&proxy, &new_cert, &new_key);
        let new_der = pem_to_der(&new_cert);
        let config = client_config(&[&proxy.ca_pem, &new_cert], None);
        let served = poll_until(Duration::from_secs(5), || {
            let config = Arc::clone(&config);
            let new_der = new_der.clone();
            async move {
                let conn = Conn::tls(proxy.addr, config).await;
                (conn.peer_cert.as_deref() == Some(&new_der[..])).then_some(())
            }
        })
        .await;
        if served.is_none() {
            missed.push(format!("attempt {attempt}: proxy log:\n{}", proxy.log()));
        }
    }
    assert!(
        missed.is_empty(),
        "{} of 8 rotations were never served:\n{}",
        missed.len(),
        missed.join("\n")
    );
}

/// Runs the proxy binary with `args`; returns (success, stderr lines).
async fn run_cli(args: &[&str]) -> (bool, Vec<String>) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_capsule-proxy"));
    cmd.args(args)
        .env_remove("KUBECONFIG")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let out = within(Duration::from_secs(30), "capsule-proxy exits", cmd.output())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), stderr.lines().map(String::from).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contradictory_command_lines_are_refused_in_one_line() {
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--enable-ssl=false", "--ssl-cert-path", "x"],
            &["--ssl-cert-path", "--enable-ssl=false"],
        ),
        (
            &[
                "--auth-preferred-types=XForwardedClientCert",
                "--enable-ssl=false",
            ],
            &["XForwardedClientCert", "--trusted-proxy-cidrs"],
        ),
        (
            &["--enable-ssl"],
            &["--enable-ssl", "--ssl-cert-path", "--ssl-key-path"],
        ),
        (
            &["--listening-port=0"],
            &["--enable-ssl", "--ssl-cert-path", "--ssl-key-path"],
        ),
    ];
    for (args, mentions) in cases {
        let (success, stderr) = run_cli(args).await;
        assert!(!success, "{args:?} must be refused");
        assert_eq!(stderr.len(), 1, "{args:?}: exactly one line: {stderr:?}");
        for flag in mentions {
            assert!(stderr[0].contains(flag), "{args:?}: {flag} in {stderr:?}");
        }
    }
}
