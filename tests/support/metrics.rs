//! The proxy's `/metrics` as tests read them: where it is served, one scrape, and scrapes until a condition
//! holds (cores answer scrapes between requests, at least every 200 ms).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::proxy::Proxy;
use super::raw::{Conn, get, poll_until};

/// Deadline for the metrics to settle.
pub const SETTLE_DEADLINE: Duration = Duration::from_secs(30);

/// One scrape: series (`name{labels}`, exactly as exposed) → value.
#[derive(Debug, Clone)]
pub struct Scrape(pub BTreeMap<String, f64>);

impl Scrape {
    /// The value of `series`, 0 when it is not exposed (yet).
    pub fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }

    /// The value of `series`; panics when it is not exposed.
    pub fn value(&self, series: &str) -> f64 {
        *self
            .0
            .get(series)
            .unwrap_or_else(|| panic!("{series} is not exposed: {:?}", self.0.keys().collect::<Vec<_>>()))
    }

    /// The series of `name` (with their labels), and their values.
    pub fn series(&self, name: &str) -> BTreeMap<&str, f64> {
        let prefix = format!("{name}{{");
        self.0
            .iter()
            .filter(|(series, _)| series.starts_with(&prefix) || *series == name)
            .map(|(series, value)| (series.as_str(), *value))
            .collect()
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
    assert_eq!(response.header("content-type"), Some("text/plain; version=0.0.4"));
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

/// Scrapes until `settled` holds, within [`SETTLE_DEADLINE`]; panics with the last scrape otherwise.
pub async fn scrape_until(addr: SocketAddr, what: &str, settled: impl Fn(&Scrape) -> bool) -> Scrape {
    let found = poll_until(SETTLE_DEADLINE, || async {
        let now = scrape(addr).await;
        settled(&now).then_some(now)
    })
    .await;
    match found {
        Some(scrape) => scrape,
        None => panic!("metrics never showed {what}: {:?}", scrape(addr).await.0),
    }
}
