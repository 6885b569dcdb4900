//! Raw HTTP/1.1 over a socket (plain TCP or rustls): requests are written byte for byte and responses parsed
//! by hand, so the tests see exactly what crosses the wire. Every wait is bounded by [`IO_DEADLINE`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::proxy::Proxy;

/// Deadline of one read, write, connect or handshake.
pub const IO_DEADLINE: Duration = Duration::from_secs(10);

/// Runs `fut` within `deadline`, panicking with `what` when it does not finish in time.
pub async fn within<T>(deadline: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(deadline, fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: not done within {deadline:?}"),
    }
}

/// Evaluates `probe` every 50 ms until it returns `Some`, for at most `deadline`; `None` when it never did.
pub async fn poll_until<T, F, Fut>(deadline: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let polling = async {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            if let Some(value) = probe().await {
                return value;
            }
        }
    };
    tokio::time::timeout(deadline, polling).await.ok()
}

/// A byte stream a test can read and write.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A rustls client config trusting `roots` (PEM) with an optional client certificate `(cert PEM, key PEM)`.
pub fn client_config(roots: &[&str], client_cert: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    for pem in roots {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            store.add(cert.unwrap()).unwrap();
        }
    }
    let builder =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store);
    let mut config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The DER of the first certificate of a PEM bundle.
pub fn pem_to_der(pem: &str) -> Vec<u8> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .expect("a CERTIFICATE block")
        .unwrap()
        .to_vec()
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// First value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the response announces `Connection: close`.
    pub fn closes(&self) -> bool {
        self.headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("connection")
                && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    /// Asserts a `status` response carrying a Kubernetes `Status` with the same code; returns its JSON.
    pub fn expect_status(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status: {self:?}");
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "Status has a JSON content type: {self:?}"
        );
        let json = self.json();
        assert_eq!(json["kind"], "Status", "{json}");
        assert_eq!(json["apiVersion"], "v1", "{json}");
        assert_eq!(json["status"], "Failure", "{json}");
        assert_eq!(json["code"], u64::from(status), "{json}");
        assert!(json["message"].is_string(), "{json}");
        json
    }

    /// Asserts a 2xx response with a JSON body; returns the JSON.
    pub fn expect_ok_json(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status: {self:?}");
        self.json()
    }
}

/// A client connection with a read buffer.
pub struct Conn {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    /// The server's leaf certificate (DER), on TLS.
    pub peer_cert: Option<Vec<u8>>,
}

impl Conn {
    /// Plain TCP to `addr`.
    pub async fn plain(addr: SocketAddr) -> Self {
        let tcp = within(IO_DEADLINE, "TCP connect", TcpStream::connect(addr))
            .await
            .unwrap();
        tcp.set_nodelay(true).unwrap();
        Self {
            io: Box::new(tcp),
            buf: Vec::new(),
            peer_cert: None,
        }
    }

    /// TLS to `addr` (server name 127.0.0.1) with `config`.
    pub async fn tls(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Self {
        Self::try_tls(addr, config).await.expect("TLS handshake")
    }

    /// TLS to `addr`, returning a handshake failure instead of panicking.
    pub async fn try_tls(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> io::Result<Self> {
        let tcp = within(IO_DEADLINE, "TCP connect", TcpStream::connect(addr)).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let tls = within(
            IO_DEADLINE,
            "TLS handshake",
            TlsConnector::from(config).connect(name, tcp),
        )
        .await?;
        let peer_cert = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|cert| cert.to_vec());
        Ok(Self {
            io: Box::new(tls),
            buf: Vec::new(),
            peer_cert,
        })
    }

    /// A connection to `proxy`: TLS trusting its serving certificate, or plain.
    pub async fn open(proxy: &Proxy) -> Self {
        if proxy.tls {
            Self::tls(proxy.addr, client_config(&[&proxy.ca_pem], None)).await
        } else {
            Self::plain(proxy.addr).await
        }
    }

    /// Writes all of `bytes` and flushes.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes).await.expect("writing the request");
    }

    /// Writes all of `bytes` and flushes, returning a failure (the server may close early).
    pub async fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        within(IO_DEADLINE, "write", async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        })
        .await
    }

    /// Reads more bytes into the buffer; `0` at end of stream. A reset counts as the end of the stream.
    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        match within(IO_DEADLINE, "read", self.io.read(&mut chunk)).await {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                ) =>
            {
                0
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }

    /// Reads exactly `n` more buffered bytes (panics if the stream ends first).
    async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            if self.fill().await == 0 {
                panic!(
                    "stream ended after {} of {n} bytes: {:?}",
                    self.buf.len(),
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
        self.buf.drain(..n).collect()
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    async fn line(&mut self) -> String {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.take(pos + 2).await;
                return String::from_utf8_lossy(&line[..pos]).into_owned();
            }
            if self.fill().await == 0 {
                panic!(
                    "stream ended inside a line: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        }
    }

    /// Reads one response; `head_request` when it answers a HEAD (no body whatever the framing says).
    pub async fn read_response(&mut self, head_request: bool) -> Response {
        let status_line = self.line().await;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        assert_eq!(version, "HTTP/1.1", "status line {status_line:?}");
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("status line {status_line:?}"));
        let reason = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let line = self.line().await;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("header line {line:?}"));
            headers.push((name.to_string(), value.trim().to_string()));
        }
        let mut response = Response {
            status,
            reason,
            headers,
            body: Vec::new(),
        };
        if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
            return response;
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
        if chunked {
            loop {
                let size_line = self.line().await;
                let size = size_line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size, 16)
                    .unwrap_or_else(|_| panic!("chunk size line {size_line:?}"));
                if size == 0 {
                    while !self.line().await.is_empty() {}
                    break;
                }
                let data = self.take(size).await;
                response.body.extend_from_slice(&data);
                assert_eq!(self.take(2).await, b"\r\n", "chunk data ends with CRLF");
            }
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().unwrap();
            response.body = self.take(len).await;
        } else {
            while self.fill().await > 0 {}
            response.body = std::mem::take(&mut self.buf);
        }
        response
    }

    /// Asserts the server closes the connection without sending anything more.
    pub async fn expect_closed(&mut self) {
        while self.fill().await > 0 {}
        assert!(
            self.buf.is_empty(),
            "unexpected bytes before the close: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
    }

    /// Sends `bytes` one byte every 100 ms until a response starts arriving; returns that response.
    pub async fn trickle_until_response(&mut self, bytes: &[u8]) -> Response {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut sent = 0;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            tokio::select! {
                read = self.io.read(&mut chunk) => {
                    match read {
                        Ok(n) if n > 0 => {
                            self.buf.extend_from_slice(&chunk[..n]);
                            break;
                        }
                        other => panic!("the connection ended without a response: {other:?}"),
                    }
                }
                _ = tick.tick(), if sent < bytes.len() => {
                    // The server may have closed already; its answer is read next.
                    if self.io.write_all(&bytes[sent..=sent]).await.is_ok() {
                        let _ = self.io.flush().await;
                    }
                    sent += 1;
                }
            }
        }
        self.read_response(false).await
    }

    /// One request-response exchange.
    pub async fn exchange(&mut self, request: &str) -> Response {
        self.send(request.as_bytes()).await;
        self.read_response(request.starts_with("HEAD ")).await
    }
}

/// `GET path` with a bearer token (or none), keep-alive.
pub fn get(path: &str, token: Option<&str>) -> String {
    request("GET", path, token, &[], "")
}

/// A request with `Host`, an optional bearer token, extra header lines (`"Name: value"`) and a body sent with
/// `Content-Length` when non-empty.
pub fn request(method: &str, path: &str, token: Option<&str>, extra: &[&str], body: &str) -> String {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: kubernetes\r\nAccept: application/json\r\n");
    if let Some(token) = token {
        out.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for line in extra {
        out.push_str(line);
        out.push_str("\r\n");
    }
    if !body.is_empty() {
        out.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}
