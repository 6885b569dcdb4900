//! Request smuggling through pooled upstream connections, as an attacker holding only a tenant owner's
//! credentials would try it: a `Connection` header naming `Content-Length` must not make the proxy forward a
//! body-less head followed by the body, which the API server would read as the start of the next request on
//! that pooled connection — run as the proxy (the next request being a filtered one) or as the next caller.
//! Over TLS with a bearer token, over TLS with a client certificate, and over plain HTTP.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself

mod support;

use serde_json::json;
use support::Env;
use support::capsule::item_names;
use support::proxy::Proxy;
use support::raw::{Conn, client_config, get};

/// The object only the proxy's service account may read.
const SECRET_PATH: &str = "/api/v1/namespaces/kube-system/pods/coredns";
/// bob's pod, which alice tries to delete with bob's credentials.
const BOBS_POD: &str = "/api/v1/namespaces/gas-dev/pods/worker";

/// How the attacker reaches the proxy.
#[derive(Debug, Clone, Copy)]
enum Transport {
    TlsBearer,
    TlsCertificate,
    PlainBearer,
}

impl Transport {
    fn proxy_args(self) -> &'static [&'static str] {
        match self {
            Self::PlainBearer => &["--enable-ssl=false"],
            Self::TlsBearer | Self::TlsCertificate => &[],
        }
    }

    async fn connect(self, env: &Env, proxy: &Proxy) -> Conn {
        match self {
            Self::TlsCertificate => {
                let (cert, key) = env
                    .sim
                    .pki()
                    .unwrap()
                    .issue_client_cert("alice", &["projectcapsule.dev".to_string()])
                    .unwrap();
                Conn::tls(proxy.addr, client_config(&[&proxy.ca_pem], Some((&cert, &key)))).await
            }
            Self::TlsBearer | Self::PlainBearer => Conn::open(proxy).await,
        }
    }

    /// alice's `Authorization` line (none with a certificate).
    fn credentials(self) -> &'static str {
        match self {
            Self::TlsCertificate => "",
            Self::TlsBearer | Self::PlainBearer => "Authorization: Bearer alice-token\r\n",
        }
    }
}

/// A POST whose body is the beginning of another request, its length named in `Connection`.
fn smuggling_post(connection: &str, credentials: &str, hidden: &str) -> String {
    format!(
        "POST /api/v1/namespaces/oil-dev/configmaps HTTP/1.1\r\nHost: kubernetes\r\n{credentials}\
         Content-Type: application/json\r\nConnection: {connection}\r\nContent-Length: {}\r\n\r\n{hidden}",
        hidden.len()
    )
}

async fn smuggle_as_the_proxy(transport: Transport) {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, transport.proxy_args()).await;
    let hidden = format!("GET {SECRET_PATH} HTTP/1.1\r\nX-Ignore: ");
    for connection in [
        "Content-Length",
        "keep-alive, content-length",
        "close, Content-Length",
    ] {
        let closing = connection.starts_with("close");
        let mut conn = transport.connect(&env, &proxy).await;
        // The smuggling request and an ordinary filtered list (forwarded as the proxy), in one write.
        let filtered = format!(
            "GET /api/v1/namespaces HTTP/1.1\r\nHost: kubernetes\r\n{}\r\n",
            transport.credentials()
        );
        let pipelined = if closing {
            smuggling_post(connection, transport.credentials(), &hidden)
        } else {
            smuggling_post(connection, transport.credentials(), &hidden) + &filtered
        };
        conn.send(pipelined.as_bytes()).await;
        // The API server read the POST with its body: not JSON it can decode.
        let post = conn.read_response(false).await;
        assert_eq!(post.status, 400, "{connection}: {post:?}");
        assert_eq!(post.json()["kind"], "Status", "{connection}: {post:?}");
        if closing {
            conn.expect_closed().await;
            conn = transport.connect(&env, &proxy).await;
            conn.send(filtered.as_bytes()).await;
        }
        let list = conn.read_response(false).await.expect_ok_json(200);
        assert_eq!(list["kind"], "NamespaceList", "{connection}: {list}");
        assert_eq!(item_names(&list), ["oil-dev", "oil-prod"], "{connection}");
        // Once more on the same pooled connection: still nothing smuggled.
        let list = conn
            .exchange(&format!(
                "GET /api/v1/namespaces HTTP/1.1\r\nHost: kubernetes\r\n{}\r\n",
                transport.credentials()
            ))
            .await
            .expect_ok_json(200);
        assert_eq!(item_names(&list), ["oil-dev", "oil-prod"], "{connection}");
    }
    let smuggled: Vec<_> = env
        .sim
        .audit()
        .into_iter()
        .filter(|e| e.path == SECRET_PATH)
        .collect();
    assert!(
        smuggled.is_empty(),
        "the API server ran a smuggled request: {smuggled:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_content_length_cannot_smuggle_a_request_run_as_the_proxy_over_tls() {
    smuggle_as_the_proxy(Transport::TlsBearer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_content_length_cannot_smuggle_a_request_run_as_the_proxy_for_certificate_callers() {
    smuggle_as_the_proxy(Transport::TlsCertificate).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_content_length_cannot_smuggle_a_request_run_as_the_proxy_over_plain_http() {
    smuggle_as_the_proxy(Transport::PlainBearer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_connection_cannot_serve_the_next_caller() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let hidden = format!("DELETE {BOBS_POD} HTTP/1.1\r\nX-Ignore: ");
    let mut alice = Conn::open(&proxy).await;
    let post = alice
        .exchange(&smuggling_post(
            "keep-alive, Content-Length",
            "Authorization: Bearer alice-token\r\n",
            &hidden,
        ))
        .await;
    assert_eq!(post.status, 400, "{post:?}");
    // bob, on his own connection, gets the pooled upstream connection alice's request used.
    let mut bob = Conn::open(&proxy).await;
    let pods = bob
        .exchange(&get("/api/v1/namespaces/gas-dev/pods", Some("bob-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(
        pods["kind"], "PodList",
        "bob got another answer than his own: {pods}"
    );
    assert_eq!(item_names(&pods), ["worker"]);
    let deletes: Vec<_> = env
        .sim
        .audit()
        .into_iter()
        .filter(|e| e.method == "DELETE")
        .collect();
    assert!(deletes.is_empty(), "a smuggled DELETE ran: {deletes:?}");
    // The pod is still there.
    let pod = bob
        .exchange(&get(BOBS_POD, Some("bob-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(pod["metadata"]["name"], json!("worker"));
}
