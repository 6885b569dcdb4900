//! The metrics server (`--metrics-addr`, Go's `:8080`): `GET /metrics` answers the Prometheus registry it is
//! given, in the text exposition format. It runs on a small thread of its own: gathering may wait for every
//! data-plane core to answer, and that must never delay the control thread's watches and identity look-ups.

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use prometheus::{Encoder, Registry, TextEncoder};

use crate::small_http::{self, text};

/// Why the metrics server did not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsServerError {
    /// The listener could not be bound.
    #[error("listening for metrics on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: io::Error,
    },
    /// The runtime or the thread could not be started.
    #[error("starting the metrics server: {0}")]
    Start(io::Error),
}

/// The running metrics server.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    _thread: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `addr` and serves `registry` on it from a thread of its own, for as long as the process runs.
    pub fn start(addr: SocketAddr, registry: Registry) -> Result<Self, MetricsServerError> {
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| MetricsServerError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| MetricsServerError::Bind { addr, source })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(MetricsServerError::Start)?;
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, registry).await,
                        Err(e) => tracing::error!(error = %e, "cannot serve metrics"),
                    }
                });
            })
            .map_err(MetricsServerError::Start)?;
        Ok(Self {
            addr: bound,
            _thread: thread,
        })
    }

    /// Where the metrics are served (with the actual port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn serve(listener: tokio::net::TcpListener, registry: Registry) {
    small_http::serve(listener, "metrics", move |req| {
        let registry = registry.clone();
        async move { answer(&req, registry).await }
    })
    .await;
}

async fn answer(req: &Request<Incoming>, registry: Registry) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    if req.uri().path() != "/metrics" {
        return text(StatusCode::NOT_FOUND, "404 page not found\n");
    }
    // Gathering blocks (collectors may wait for other threads): off the accepting task.
    match tokio::task::spawn_blocking(move || encode(&registry)).await {
        Ok(Ok(body)) => {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(prometheus::TEXT_FORMAT),
            );
            response
        }
        Ok(Err(e)) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("gathering metrics failed: {e}\n"),
        ),
    }
}

fn encode(registry: &Registry) -> prometheus::Result<Vec<u8>> {
    let mut body = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use prometheus::{IntCounter, Opts};

    use super::*;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn serves_the_registry_in_text_format() {
        let registry = Registry::new();
        let counter = IntCounter::with_opts(Opts::new("test_requests_total", "Requests.")).unwrap();
        registry.register(Box::new(counter.clone())).unwrap();
        counter.inc_by(3);
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), registry).unwrap();
        let response = get(server.local_addr(), "/metrics");
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(
            response.contains("content-type: text/plain; version=0.0.4"),
            "{response}"
        );
        assert!(
            response.contains("# HELP test_requests_total Requests.\n"),
            "{response}"
        );
        assert!(response.contains("\ntest_requests_total 3\n"), "{response}");
    }

    #[test]
    fn other_paths_are_not_found() {
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), Registry::new()).unwrap();
        let response = get(server.local_addr(), "/healthz");
        assert!(response.starts_with("HTTP/1.1 404 Not Found\r\n"), "{response}");
    }

    #[test]
    fn a_taken_port_is_a_start_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = MetricsServer::start(addr, Registry::new()).unwrap_err();
        assert!(matches!(error, MetricsServerError::Bind { .. }), "{error}");
    }
}
