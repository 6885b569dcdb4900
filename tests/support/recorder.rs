//! A stand-in API server that records, with the independent reader of [`super::wire`], every request the
//! proxy's data plane forwards (those carrying `X-Test-Id`), and answers each one as its `X-Test-Response`
//! field asks — including framing fields named in `Connection`, to check that the proxy writes the framing it
//! relays from the parsed response. Anything else (the control plane's watches) gets a 404 `Status`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use super::wire::{Message, WireReader};

/// The field naming a test request (never nominated in `Connection` by the tests).
pub const ID_FIELD: &str = "X-Test-Id";
/// The field choosing the answer: `length`, `hidden-length`, `chunked`, `hidden-chunked`.
pub const RESPONSE_FIELD: &str = "X-Test-Response";

/// A running recorder (its tasks end with the test's runtime).
pub struct Recorder {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, Message)>>>,
    /// Connections the proxy opened to it.
    connections: Arc<Mutex<usize>>,
}

impl Recorder {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (task_seen, task_connections) = (Arc::clone(&seen), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *task_connections.lock().unwrap() += 1;
                tokio::spawn(serve(stream, Arc::clone(&task_seen)));
            }
        });
        Self {
            addr,
            seen,
            connections,
        }
    }

    /// A kubeconfig for the proxy pointing at the recorder over plain HTTP with a bearer token.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("recorder.kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: recorder\n  cluster:\n    server: http://{}\n\
             users:\n- name: proxy\n  user:\n    token: proxy-token\ncontexts:\n- name: recorder\n  context:\n    \
             cluster: recorder\n    user: proxy\ncurrent-context: recorder\n",
            self.addr
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The recorded requests with this id, in arrival order.
    pub fn requests(&self, id: &str) -> Vec<Message> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(seen, _)| seen == id)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// How many recorded requests carry an id starting with `prefix`.
    pub fn count_with_prefix(&self, prefix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| id.starts_with(prefix))
            .count()
    }

    /// How many connections were opened to the recorder.
    pub fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// The body of the answer to a request: what the recorder read, so the client can check it end to end.
pub fn echo(id: &str, message: &Message) -> String {
    let (method, target) = message.request_line();
    format!(
        "{{\"id\":\"{id}\",\"method\":\"{method}\",\"target\":\"{target}\",\"length\":{},\"sum\":{}}}",
        message.body.len(),
        checksum(&message.body)
    )
}

/// A cheap order-sensitive checksum of a body (FNV-1a).
pub fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

async fn serve(stream: tokio::net::TcpStream, seen: Arc<Mutex<Vec<(String, Message)>>>) {
    let (read, mut write) = stream.into_split();
    let mut reader = WireReader::new(read);
    loop {
        // The end of the connection, or a request this reader refuses: either way the exchange stops here and
        // the test sees its request missing.
        let Ok(Some(message)) = reader.next_request().await else {
            return;
        };
        let answer = match message.one(ID_FIELD) {
            Some(id) => {
                let id = id.to_string();
                let body = echo(&id, &message);
                let mode = message.one(RESPONSE_FIELD).unwrap_or("length").to_string();
                let head_only = message.request_line().0 == "HEAD";
                seen.lock().unwrap().push((id, message));
                answer(&mode, &body, head_only)
            }
            None => {
                let status = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#;
                format!(
                    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{status}",
                    status.len()
                )
                .into_bytes()
            }
        };
        if write.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// The answer bytes for `mode`.
fn answer(mode: &str, body: &str, head_only: bool) -> Vec<u8> {
    let (chunked, hidden) = match mode {
        "chunked" => (true, false),
        "hidden-chunked" => (true, true),
        "hidden-length" => (false, true),
        _ => (false, false),
    };
    let mut out = String::from("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
    if hidden {
        // A server naming its own framing in `Connection`: the framing still holds for this message.
        out.push_str("Connection: keep-alive, Content-Length, Transfer-Encoding, X-Junk\r\nX-Junk: 1\r\n");
    }
    if chunked {
        out.push_str("Transfer-Encoding: chunked\r\n\r\n");
        if !head_only {
            // In pieces, as Go's encoder writes them.
            let (first, rest) = body.split_at(body.len() / 2);
            for piece in [first, rest] {
                out.push_str(&format!("{:x};ext=1\r\n{piece}\r\n", piece.len()));
            }
            out.push_str("0\r\nX-Trailer: t\r\n\r\n");
        }
    } else {
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        if !head_only {
            out.push_str(body);
        }
    }
    out.into_bytes()
}
