//! The health probe server (`--health-probe-addr`, Go's `:8081`): `/healthz` answers `ok` while the process
//! runs; `/readyz` answers `ok` once the first ownership snapshot has been sent to the cores (the data plane
//! accepts before the control plane starts), else 500 — so a replica takes traffic only when it can filter.
//! Both also with the trailing slash the Helm chart uses.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};

use crate::small_http::{self, text};
use crate::status::ControlStatus;

/// Serves the probes on `listener` until the runtime ends.
pub(crate) async fn serve(listener: tokio::net::TcpListener, status: Arc<ControlStatus>) {
    small_http::serve(listener, "probes", move |req| {
        let status = Arc::clone(&status);
        async move { answer(&req, &status) }
    })
    .await;
}

fn answer(req: &Request<Incoming>, status: &ControlStatus) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    match req.uri().path() {
        "/healthz" | "/healthz/" => text(StatusCode::OK, "ok"),
        "/readyz" | "/readyz/" if status.is_shutting_down() => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "[-]ready failed: shutting down\n",
        ),
        "/readyz" | "/readyz/" if status.is_synced() => text(StatusCode::OK, "ok"),
        "/readyz" | "/readyz/" => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "[-]ready failed: the ownership snapshot has not been built yet\n",
        ),
        _ => text(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

/// Parses a Go-style listen address: `:8081` (all interfaces), `127.0.0.1:8081`, `[::1]:8081`.
pub fn parse_listen_addr(addr: &str) -> Result<SocketAddr, String> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    full.parse()
        .map_err(|_| format!("{addr:?} is not a listen address (like :8081 or 127.0.0.1:8081)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_addresses() {
        assert_eq!(
            parse_listen_addr(":8081").unwrap(),
            "0.0.0.0:8081".parse().unwrap()
        );
        assert_eq!(
            parse_listen_addr("127.0.0.1:0").unwrap(),
            "127.0.0.1:0".parse().unwrap()
        );
        assert_eq!(
            parse_listen_addr("[::1]:8081").unwrap(),
            "[::1]:8081".parse().unwrap()
        );
        assert!(parse_listen_addr("8081").is_err());
        assert!(parse_listen_addr("localhost:8081").is_err());
    }
}
