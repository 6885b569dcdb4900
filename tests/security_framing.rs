//! Property: whatever a client sends — random `Connection` tokens (framing fields among them), field-name case,
//! duplicated fields, `Content-Length`, chunked (extensions, trailers) or no body, bodies that look like HTTP,
//! `Expect: 100-continue`, pipelining — the bytes the proxy writes upstream hold exactly the client's messages,
//! one to one, with the same bodies, as an independent reader (`support::wire`) reads them; and the responses
//! the client gets back are exactly the upstream's, in order, framed by what the proxy parsed even when the
//! upstream names its own framing fields in `Connection`.
//!
//! The upstream is `support::recorder`, which records every forwarded request. The case count is
//! `FRAMING_CASES` (default 256).
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use support::proxy::Proxy;
use support::recorder::{ID_FIELD, RESPONSE_FIELD, Recorder, checksum};
use support::wire::{Framing, Message, WireReader};

/// Deadline of one generated sequence.
const CASE_DEADLINE: Duration = Duration::from_secs(20);

/// A request body as the client frames it.
#[derive(Debug, Clone)]
enum Body {
    None,
    Length(Vec<u8>),
    /// Chunks (each non-empty), with an extension on the first and an optional trailer.
    Chunked(Vec<Vec<u8>>, bool),
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::None => Vec::new(),
            Self::Length(b) => b.clone(),
            Self::Chunked(chunks, _) => chunks.concat(),
        }
    }

    fn framing(&self) -> Framing {
        match self {
            Self::None => Framing::None,
            Self::Length(_) => Framing::Length,
            Self::Chunked(..) => Framing::Chunked,
        }
    }
}

/// One generated request.
#[derive(Debug, Clone)]
struct Generated {
    method: &'static str,
    name: u16,
    /// `Connection` tokens, spread over one or two fields.
    connection: Vec<&'static str>,
    two_connection_fields: bool,
    /// Spelling of the framing field names.
    upper_case: bool,
    duplicate_extension: bool,
    expect_continue: bool,
    body: Body,
    response: &'static str,
}

fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"GET /api/v1/namespaces/kube-system/secrets HTTP/1.1\r\nHost: k\r\nX-Ignore: ".to_vec()),
        Just(b"0\r\n\r\n".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        Just(b"{\"kind\":\"ConfigMap\"}".to_vec()),
        vec(any::<u8>(), 1..64),
    ];
    vec(piece, 1..4).prop_map(|pieces| pieces.concat())
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        2 => Just(Body::None),
        1 => Just(Body::Length(Vec::new())),
        3 => body_bytes().prop_map(Body::Length),
        3 => (vec(body_bytes(), 1..4), any::<bool>()).prop_map(|(c, t)| Body::Chunked(c, t)),
    ]
}

fn generated() -> impl Strategy<Value = Generated> {
    let token = prop::sample::select(
        &[
            "keep-alive",
            "Content-Length",
            "content-length",
            "CONTENT-LENGTH",
            "Transfer-Encoding",
            "transfer-encoding",
            "Host",
            "Authorization",
            "X-Ext",
            "X-Test-Response",
            "TE",
            "Keep-Alive",
        ][..],
    );
    (
        prop::sample::select(&["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"][..]),
        any::<u16>(),
        vec(token, 0..5),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        body(),
        prop::sample::select(&["length", "hidden-length", "chunked", "hidden-chunked"][..]),
    )
        .prop_map(
            |(method, name, connection, two, upper, dup, expect, body, response)| Generated {
                method,
                name,
                connection,
                two_connection_fields: two,
                upper_case: upper,
                duplicate_extension: dup,
                // Only with a body to send.
                expect_continue: expect && !matches!(body, Body::None),
                body,
                response,
            },
        )
}

impl Generated {
    fn target(&self) -> String {
        format!("/api/v1/namespaces/oil-dev/configmaps/c{}", self.name)
    }

    /// The request's bytes as the client writes them; `close` adds `Connection: close`.
    fn wire(&self, id: &str, close: bool) -> Vec<u8> {
        let (cl, te) = if self.upper_case {
            ("CONTENT-LENGTH", "TRANSFER-ENCODING")
        } else {
            ("content-length", "Transfer-Encoding")
        };
        let mut tokens = self.connection.clone();
        if close {
            tokens.push("close");
        }
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: kubernetes\r\nAuthorization: Bearer alice-token\r\n{ID_FIELD}: {id}\r\n\
             {RESPONSE_FIELD}: {}\r\nX-Ext: e\r\nKeep-Alive: timeout=5\r\n",
            self.method,
            self.target(),
            self.response
        );
        if self.duplicate_extension {
            head.push_str("X-Ext: again\r\nX-Dup: 1\r\nX-Dup: 2\r\n");
        }
        if !tokens.is_empty() {
            if self.two_connection_fields && tokens.len() > 1 {
                let (a, b) = tokens.split_at(tokens.len() / 2);
                head.push_str(&format!(
                    "Connection: {}\r\nConnection: {}\r\n",
                    a.join(", "),
                    b.join(", ")
                ));
            } else {
                head.push_str(&format!("Connection: {}\r\n", tokens.join(", ")));
            }
        }
        if self.expect_continue {
            head.push_str("Expect: 100-continue\r\n");
        }
        let mut out = match &self.body {
            Body::None => format!("{head}\r\n").into_bytes(),
            Body::Length(bytes) => {
                let mut out = format!("{head}{cl}: {}\r\n\r\n", bytes.len()).into_bytes();
                out.extend_from_slice(bytes);
                out
            }
            Body::Chunked(chunks, trailer) => {
                let mut out = format!("{head}{te}: chunked\r\n\r\n").into_bytes();
                for (i, chunk) in chunks.iter().enumerate() {
                    let ext = if i == 0 { ";name=value" } else { "" };
                    out.extend_from_slice(format!("{:x}{ext}\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                if *trailer {
                    out.extend_from_slice(b"X-Trailer: 1\r\n");
                }
                out.extend_from_slice(b"\r\n");
                out
            }
        };
        out.shrink_to_fit();
        out
    }

    /// The echo the upstream answers when it read exactly this request.
    fn expected_echo(&self, id: &str) -> String {
        let body = self.body.bytes();
        format!(
            "{{\"id\":\"{id}\",\"method\":\"{}\",\"target\":\"{}\",\"length\":{},\"sum\":{}}}",
            self.method,
            self.target(),
            body.len(),
            checksum(&body)
        )
    }
}

/// What the upstream must have read for `sent`.
fn check_forwarded(sent: &Generated, id: &str, got: &[Message]) -> Result<(), String> {
    let [got] = got else {
        return Err(format!(
            "{id}: the API server read {} requests for it, not one",
            got.len()
        ));
    };
    let (method, target) = got.request_line();
    if (method, target) != (sent.method, sent.target().as_str()) {
        return Err(format!("{id}: forwarded as {method} {target}"));
    }
    if got.body != sent.body.bytes() {
        return Err(format!("{id}: the body changed on the way: {:?}", got.body));
    }
    let want_framing = match sent.body {
        Body::None => Framing::None,
        _ => sent.body.framing(),
    };
    if got.framing != want_framing {
        return Err(format!(
            "{id}: framed as {:?}, sent as {want_framing:?}",
            got.framing
        ));
    }
    if got.all("host") != ["kubernetes"] {
        return Err(format!("{id}: Host fields {:?}", got.all("host")));
    }
    if got.all("authorization") != ["Bearer alice-token"] {
        return Err(format!("{id}: Authorization {:?}", got.all("authorization")));
    }
    let nominated = sent.connection.iter().any(|t| t.eq_ignore_ascii_case("x-ext"));
    if nominated != got.all("x-ext").is_empty() {
        return Err(format!(
            "{id}: X-Ext {:?} with Connection {:?}",
            got.all("x-ext"),
            sent.connection
        ));
    }
    for hop in ["connection", "keep-alive", "te", "expect"] {
        if !got.all(hop).is_empty() {
            return Err(format!("{id}: hop-by-hop {hop} forwarded"));
        }
    }
    Ok(())
}

/// Sends one sequence on one connection (pipelined or one by one) and checks both ends.
async fn run_sequence(
    proxy: &Proxy,
    recorder: &Recorder,
    case: usize,
    requests: &[Generated],
    pipelined: bool,
    close_last: bool,
) -> Result<(), String> {
    let stream = TcpStream::connect(proxy.addr).await.map_err(|e| e.to_string())?;
    let (read, mut write) = stream.into_split();
    let mut reader = WireReader::new(read);
    let ids: Vec<String> = (0..requests.len()).map(|i| format!("case{case}-{i}")).collect();
    let wires: Vec<Vec<u8>> = requests
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (r, id))| r.wire(id, close_last && i + 1 == requests.len()))
        .collect();
    if pipelined {
        write
            .write_all(&wires.concat())
            .await
            .map_err(|e| e.to_string())?;
    }
    for ((sent, id), wire) in requests.iter().zip(&ids).zip(&wires) {
        if !pipelined {
            write.write_all(wire).await.map_err(|e| e.to_string())?;
        }
        let response = reader
            .next_response(sent.method)
            .await
            .map_err(|e| format!("{id}: reading the response: {e}"))?;
        if response.status() != 200 {
            return Err(format!(
                "{id}: status {} {:?}",
                response.status(),
                String::from_utf8_lossy(&response.body)
            ));
        }
        if sent.method != "HEAD" && response.body != sent.expected_echo(id).as_bytes() {
            return Err(format!(
                "{id}: the response body is not this request's: {:?}",
                String::from_utf8_lossy(&response.body)
            ));
        }
        if !matches!(
            response.framing,
            Framing::Length | Framing::Chunked | Framing::None
        ) {
            return Err(format!("{id}: response framed {:?}", response.framing));
        }
        check_forwarded(sent, id, &recorder.requests(id))?;
    }
    if close_last && reader.next_request().await.map_err(|e| e.to_string())?.is_some() {
        return Err("bytes after the last response on a closing connection".into());
    }
    if !reader.leftover().is_empty() {
        return Err(format!(
            "unexpected bytes after the responses: {:?}",
            reader.leftover()
        ));
    }
    Ok(())
}

#[test]
fn random_request_sequences_reach_the_api_server_one_to_one() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (recorder, proxy) = runtime.block_on(async {
        let recorder = Recorder::start().await;
        let kubeconfig = recorder.kubeconfig(dir.path());
        let proxy = Proxy::start_with(
            dir.path(),
            &kubeconfig,
            &["--enable-ssl=false", "--auth-preferred-types=BearerToken"],
        )
        .await;
        (recorder, proxy)
    });
    let cases = std::env::var("FRAMING_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let counter = AtomicUsize::new(0);
    let strategy = (vec(generated(), 1..6), any::<bool>(), any::<bool>());
    let result = runner.run(&strategy, |(requests, pipelined, close_last)| {
        let case = counter.fetch_add(1, Ordering::Relaxed);
        let run = run_sequence(&proxy, &recorder, case, &requests, pipelined, close_last);
        let outcome = runtime.block_on(async { tokio::time::timeout(CASE_DEADLINE, run).await });
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(TestCaseError::fail(why)),
            Err(_) => Err(TestCaseError::fail("no answer within the deadline")),
        }
    });
    let sequences = counter.load(Ordering::Relaxed);
    println!(
        "{sequences} sequences, {} requests recorded upstream over {} connections",
        recorder.count_with_prefix("case"),
        recorder.connections()
    );
    if let Err(e) = result {
        panic!("{e}\nproxy log:\n{}", proxy.log());
    }
}
