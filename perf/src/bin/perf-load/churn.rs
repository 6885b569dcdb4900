//! `perf-load churn`: updates one object at a steady rate over one keep-alive connection, each a JSON merge
//! patch `{"data":{"n":"<counter>","ts":"<unix nanos>"}}` — the events `watch` counts, and whose `ts` it
//! compares with its clock to measure delivery latency. A missing ConfigMap is created first.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use serde::Serialize;
use serde_json::json;
use tokio::io::AsyncWriteExt as _;
use tokio::time::{Instant, MissedTickBehavior, interval_at, timeout_at};

use crate::conn::{Common, Conn, Target};
use crate::histogram::Histogram;
use crate::http1::{self, ResponseReader};
use crate::units;

/// Options of `churn`.
#[derive(Args, Debug)]
pub(crate) struct ChurnArgs {
    #[command(flatten)]
    common: Common,
    /// Path of the object to update, e.g. /api/v1/namespaces/perf-watch/configmaps/tick.
    #[arg(long)]
    path: String,
    /// Updates per second (up to about 1,000: the timer ticks in milliseconds).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// How long to update for.
    #[arg(long, default_value = "10s", value_parser = units::duration)]
    duration: Duration,
}

impl ChurnArgs {
    /// The hard deadline of the whole run.
    pub(crate) fn deadline(&self) -> Duration {
        self.duration + Duration::from_secs(10)
    }
}

/// What `churn` prints.
#[derive(Serialize, Debug)]
pub(crate) struct ChurnReport {
    /// Updates answered 2xx.
    updates: u64,
    /// Updates answered with another status.
    non_2xx: u64,
    /// Updates that failed with an I/O error (the connection is then reopened).
    errors: u64,
    /// Length of the run.
    seconds: f64,
    /// Updates sent per second, achieved (below `--rate` when the server is slower).
    rate: f64,
    /// Update latency quantiles, microseconds.
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
}

/// One keep-alive connection and its response reader.
struct Client {
    target: Target,
    conn: Option<Conn>,
    reader: ResponseReader,
}

impl Client {
    /// Sends one request and reads its response (status only), reconnecting if needed.
    async fn send(&mut self, request: &[u8]) -> Result<u16> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => {
                self.reader = ResponseReader::new(8 * 1024);
                self.target.connect().await?
            }
        };
        conn.write_all(request).await.context("writing request")?;
        let response = self.reader.read(&mut conn).await?;
        if response.keep_alive {
            self.conn = Some(conn);
        }
        Ok(response.status)
    }
}

/// The ConfigMap path `/api/v1/namespaces/<ns>/configmaps/<name>` as (collection path, name).
fn configmap_parts(path: &str) -> Option<(&str, &str)> {
    let (collection, name) = path.rsplit_once('/')?;
    (collection.starts_with("/api/v1/namespaces/") && collection.ends_with("/configmaps") && !name.is_empty())
        .then_some((collection, name))
}

/// Unix time in nanoseconds.
pub(crate) fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Runs `churn`; fails when the object cannot be read or created, or no update succeeded.
pub(crate) async fn run(args: ChurnArgs) -> Result<ChurnReport> {
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number");
    }
    let target = Target::new(&args.common)?;
    let mut client = Client {
        conn: None,
        reader: ResponseReader::new(8 * 1024),
        target,
    };
    let get = http1::request(&client.target, "GET", &args.path, &[], b"");
    match client.send(&get).await.context("reading the object")? {
        200 => {}
        404 => {
            let Some((collection, name)) = configmap_parts(&args.path) else {
                bail!(
                    "{} does not exist (404), and only ConfigMaps are created",
                    args.path
                );
            };
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                "data": {"n": "0", "ts": unix_nanos().to_string()}});
            let create = http1::request(
                &client.target,
                "POST",
                collection,
                &["Content-Type: application/json"],
                body.to_string().as_bytes(),
            );
            let status = client.send(&create).await.context("creating the ConfigMap")?;
            if !(200..300).contains(&status) {
                bail!("creating {} answered {status}", args.path);
            }
            eprintln!("churn: created {}", args.path);
        }
        status => bail!("GET {} answered {status}", args.path),
    }
    eprintln!(
        "churn {}{}: {} updates/s for {:?}",
        args.common.url, args.path, args.rate, args.duration
    );
    let start = Instant::now();
    let end = start + args.duration;
    let mut ticks = interval_at(start, Duration::from_secs_f64(1.0 / args.rate));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let (mut updates, mut non_2xx, mut errors, mut latency) = (0u64, 0u64, 0u64, Histogram::new());
    let mut first_error = None;
    for n in 1u64.. {
        if timeout_at(end, ticks.tick()).await.is_err() {
            break;
        }
        let body = json!({"data": {"n": n.to_string(), "ts": unix_nanos().to_string()}}).to_string();
        let patch = http1::request(
            &client.target,
            "PATCH",
            &args.path,
            &["Content-Type: application/merge-patch+json"],
            body.as_bytes(),
        );
        let sent = Instant::now();
        match timeout_at(end, client.send(&patch)).await {
            Err(_) => break,
            Ok(Ok(status)) => {
                latency.record(u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX));
                if (200..300).contains(&status) {
                    updates += 1
                } else {
                    non_2xx += 1
                }
            }
            Ok(Err(e)) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    if updates == 0 {
        bail!(
            "no update succeeded ({non_2xx} non-2xx, {errors} errors){}",
            first_error.map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    Ok(ChurnReport {
        updates,
        non_2xx,
        errors,
        seconds: (seconds * 1000.0).round() / 1000.0,
        rate: ((updates + non_2xx + errors) as f64 / seconds * 10.0).round() / 10.0,
        p50_us: latency.quantile_us(0.5),
        p99_us: latency.quantile_us(0.99),
        p999_us: latency.quantile_us(0.999),
        max_us: latency.max_us(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_paths() {
        assert_eq!(
            configmap_parts("/api/v1/namespaces/perf-watch/configmaps/tick"),
            Some(("/api/v1/namespaces/perf-watch/configmaps", "tick"))
        );
        assert_eq!(configmap_parts("/api/v1/namespaces/a/secrets/tick"), None);
        assert_eq!(configmap_parts("/api/v1/namespaces/a/configmaps/"), None);
    }
}
