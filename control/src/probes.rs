//! The health probe server (`--health-probe-addr`, Go's `:8081`): `/healthz` answers `ok` while the process
//! runs; `/readyz` answers `ok` once the first ownership snapshot has been sent to the cores (the data plane
//! accepts before the control plane starts), else 500 — so a replica takes traffic only when it can filter.
//! It fails again while shutting down, and once the snapshot has been stale (a watch down) for longer than
//! `--readiness-stale-after`: a stale snapshot keeps serving the last known ownership, so an owner removed
//! meanwhile would still see the tenant; past that bound the replica leaves the Service. Both also with the
//! trailing slash the Helm chart uses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};

use crate::small_http::{self, text};
use crate::status::{ControlStatus, Readiness};
use crate::watch_health::Staleness;

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
        "/readyz" | "/readyz/" => match readiness_failure(&status.readiness()) {
            None => text(StatusCode::OK, "ok"),
            Some(why) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("[-]ready failed: {why}\n"),
            ),
        },
        _ => text(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

/// Why `/readyz` fails, or `None` when it passes.
fn readiness_failure(readiness: &Readiness) -> Option<String> {
    match readiness {
        Readiness::Ready => None,
        Readiness::ShuttingDown => Some("shutting down".into()),
        Readiness::NotSynced => Some("the ownership snapshot has not been built yet".into()),
        Readiness::Stale { bound, staleness } => Some(stale(*bound, staleness)),
    }
}

/// `the ownership snapshot has been stale for 12s (--readiness-stale-after 5s); watches down: namespaces for
/// 11s, tenants for 12s`.
fn stale(bound: Duration, staleness: &Staleness) -> String {
    let seconds = |d: Duration| format!("{}s", d.as_secs());
    let down: Vec<String> = staleness
        .down
        .iter()
        .map(|(resource, down_for)| format!("{resource} for {}", seconds(*down_for)))
        .collect();
    format!(
        "the ownership snapshot has been stale for {} (--readiness-stale-after {}); watches down: {}",
        seconds(staleness.stale_for),
        as_flag(bound),
        down.join(", ")
    )
}

/// A bound as the flag spells it: `5m`, `90s`, `1500ms`.
fn as_flag(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
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

    #[test]
    fn readiness_failures_say_why() {
        assert_eq!(readiness_failure(&Readiness::Ready), None);
        assert_eq!(
            readiness_failure(&Readiness::NotSynced).as_deref(),
            Some("the ownership snapshot has not been built yet")
        );
        assert_eq!(
            readiness_failure(&Readiness::ShuttingDown).as_deref(),
            Some("shutting down")
        );
        let stale = Readiness::Stale {
            bound: Duration::from_secs(300),
            staleness: Staleness {
                stale_for: Duration::from_millis(312_400),
                down: vec![
                    ("namespaces".into(), Duration::from_secs(301)),
                    ("tenants".into(), Duration::from_millis(312_400)),
                ],
            },
        };
        assert_eq!(
            readiness_failure(&stale).as_deref(),
            Some(
                "the ownership snapshot has been stale for 312s (--readiness-stale-after 5m); watches down: \
                 namespaces for 301s, tenants for 312s"
            )
        );
        assert_eq!(as_flag(Duration::from_secs(1)), "1s");
        assert_eq!(as_flag(Duration::from_millis(1500)), "1500ms");
    }
}
