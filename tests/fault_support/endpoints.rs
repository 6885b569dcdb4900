//! The proxy's side doors as a fault test reads them: `/readyz` on the probe address, `/metrics` on the metrics
//! address, and the certificate its listener presents in a TLS handshake.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::support::proxy::Proxy;
use crate::support::raw::{Conn, client_config, get};

/// One scrape of `/metrics`: series (`name{labels}`, exactly as exposed) → value.
pub struct Scrape(pub BTreeMap<String, f64>);

impl Scrape {
    /// The value of `series`; panics when it is not exposed.
    pub fn value(&self, series: &str) -> f64 {
        *self
            .0
            .get(series)
            .unwrap_or_else(|| panic!("{series} is not exposed: {:?}", self.0.keys().collect::<Vec<_>>()))
    }
}

/// Where the proxy serves its metrics, from its log line `serving metrics addr=…`.
pub async fn metrics_addr(proxy: &Proxy) -> SocketAddr {
    let find = |log: &str| -> Option<SocketAddr> {
        let line = log.lines().find(|l| l.contains("serving metrics"))?;
        line.split("addr=")
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    proxy
        .wait_for_log("the metrics address", |log| find(log).is_some())
        .await;
    find(&proxy.log()).unwrap()
}

/// Scrapes `/metrics` once.
pub async fn scrape(addr: SocketAddr) -> Scrape {
    let response = Conn::plain(addr).await.exchange(&get("/metrics", None)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let values = response
        .text()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect();
    Scrape(values)
}

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
