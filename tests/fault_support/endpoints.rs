//! The proxy's side doors as a fault test reads them: `/readyz` on the probe address, `/metrics` on the metrics
//! address, and the certificate its listener presents in a TLS handshake.

use std::net::SocketAddr;

use crate::support::proxy::Proxy;
use crate::support::raw::{Conn, client_config, get};

/// The status code and body of `GET path` on the probe address.
pub async fn probe(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = Conn::plain(addr).await.exchange(&get(path, None)).await;
    (response.status, response.text())
}

/// The leaf certificate (DER) the proxy presents to a client trusting `roots` (PEM); the connection then
/// answers `/_healthz`, so the handshake led to a working connection.
pub async fn served_certificate(proxy: &Proxy, roots: &[&str]) -> Vec<u8> {
    let mut conn = Conn::tls(proxy.addr, client_config(roots, None)).await;
    let health = conn.exchange(&get("/_healthz", None)).await;
    assert_eq!(health.status, 200, "{health:?}");
    conn.peer_cert.expect("a TLS connection has a peer certificate")
}
