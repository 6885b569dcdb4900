//! `perf-load get`: N connections each sending `GET <path>` back to back, one request in flight per
//! connection, like `wrk` — plus `--new-connection-per-request`, a fresh TCP + TLS connection per request.

use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use serde::Serialize;
use tokio::io::AsyncWriteExt as _;
use tokio::time::{Instant, sleep, timeout_at};

use crate::conn::{Common, Conn, SharedTarget, Target};
use crate::histogram::Histogram;
use crate::http1::{self, ResponseReader};
use crate::units;

/// Options of `get`.
#[derive(Args, Debug)]
pub(crate) struct GetArgs {
    #[command(flatten)]
    common: Common,
    /// Request path, query included.
    #[arg(long)]
    path: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// How long to measure.
    #[arg(long, default_value = "5s", value_parser = units::duration)]
    duration: Duration,
    /// Load before measuring, not counted.
    #[arg(long, default_value = "0s", value_parser = units::duration)]
    warmup: Duration,
    /// Open a new TCP (+ TLS) connection for every request and send `Connection: close`; latency then
    /// includes the connect and the handshake.
    #[arg(long)]
    new_connection_per_request: bool,
}

impl GetArgs {
    /// The hard deadline of the whole run.
    pub(crate) fn deadline(&self) -> Duration {
        self.warmup + self.duration + Duration::from_secs(10)
    }
}

/// What `get` prints.
#[derive(Serialize, Debug)]
pub(crate) struct GetReport {
    /// Responses received in the measured window, any status.
    requests: u64,
    /// Of those, responses whose status was not 2xx.
    non_2xx: u64,
    /// Requests that failed with a connect, TLS, I/O or framing error (not in `requests`).
    errors: u64,
    /// Length of the measured window.
    seconds: f64,
    /// `requests / seconds`.
    rps: f64,
    /// Response bytes (heads and bodies) read in the window.
    bytes: u64,
    /// Connections opened in the window.
    connects: u64,
    /// Latency quantiles and extremes, microseconds.
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    mean_us: f64,
    /// The first error seen, if any.
    first_error: Option<String>,
}

/// One connection loop's tallies.
#[derive(Default)]
struct Tally {
    requests: u64,
    non_2xx: u64,
    errors: u64,
    bytes: u64,
    connects: u64,
    latency: Histogram,
    first_error: Option<String>,
    /// The first non-2xx status.
    first_status: u16,
}

impl Tally {
    fn error(&mut self, counted: bool, e: anyhow::Error) {
        if counted {
            self.errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(format!("{e:#}"));
        }
    }
}

/// Runs `get` and returns its report; fails when no request got a response.
pub(crate) async fn run(args: GetArgs) -> Result<GetReport> {
    let target = SharedTarget::new(Target::new(&args.common)?);
    if args.connections == 0 {
        bail!("--connections must be at least 1");
    }
    let close = if args.new_connection_per_request {
        "Connection: close"
    } else {
        "Connection: keep-alive"
    };
    let request: std::sync::Arc<[u8]> = http1::request(&target, "GET", &args.path, &[close], b"").into();
    let start = Instant::now() + args.warmup;
    let end = start + args.duration;
    eprintln!(
        "get {}{}: {} connections, {:?} warm-up, {:?}{}",
        args.common.url,
        args.path,
        args.connections,
        args.warmup,
        args.duration,
        if args.new_connection_per_request {
            ", a new connection per request"
        } else {
            ""
        }
    );
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            let target = SharedTarget::clone(&target);
            let request = std::sync::Arc::clone(&request);
            tokio::spawn(worker(
                target,
                request,
                start,
                end,
                args.new_connection_per_request,
            ))
        })
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await?;
        total.requests += tally.requests;
        total.non_2xx += tally.non_2xx;
        total.errors += tally.errors;
        total.bytes += tally.bytes;
        total.connects += tally.connects;
        total.latency.merge(&tally.latency);
        total.first_error = total.first_error.or(tally.first_error);
        if total.first_status == 0 {
            total.first_status = tally.first_status;
        }
    }
    let seconds = args.duration.as_secs_f64();
    if total.requests == 0 {
        bail!(
            "no response in {seconds} s ({} errors){}",
            total.errors,
            total.first_error.map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    if total.non_2xx == total.requests {
        bail!(
            "every response ({}) was non-2xx, the first {}",
            total.requests,
            total.first_status
        );
    }
    let h = &total.latency;
    Ok(GetReport {
        requests: total.requests,
        non_2xx: total.non_2xx,
        errors: total.errors,
        seconds,
        rps: (total.requests as f64 / seconds * 10.0).round() / 10.0,
        bytes: total.bytes,
        connects: total.connects,
        p50_us: h.quantile_us(0.5),
        p90_us: h.quantile_us(0.9),
        p99_us: h.quantile_us(0.99),
        p999_us: h.quantile_us(0.999),
        max_us: h.max_us(),
        mean_us: h.mean_us(),
        first_error: total.first_error,
    })
}

/// One connection's loop until `end`; only what completes in `[start, end)` counts.
async fn worker(
    target: SharedTarget,
    request: std::sync::Arc<[u8]>,
    start: Instant,
    end: Instant,
    fresh: bool,
) -> Tally {
    let mut tally = Tally::default();
    let mut reader = ResponseReader::new(16 * 1024);
    let mut conn: Option<Conn> = None;
    loop {
        let began = Instant::now();
        let counted = began >= start;
        let mut connected = false;
        let outcome = timeout_at(end, async {
            let mut c = match conn.take() {
                Some(c) => c,
                None => {
                    reader = ResponseReader::new(16 * 1024);
                    connected = true;
                    target.connect().await?
                }
            };
            let opened = if fresh { began } else { Instant::now() };
            c.write_all(&request).await?;
            let response = reader.read(&mut c).await?;
            let latency = opened.elapsed();
            anyhow::Ok((c, response, latency))
        })
        .await;
        let Ok(outcome) = outcome else { break };
        let counted = counted || Instant::now() >= start;
        if connected && counted {
            tally.connects += 1;
        }
        match outcome {
            Ok((c, response, latency)) => {
                if counted {
                    tally.requests += 1;
                    tally.bytes += response.bytes;
                    if !(200..300).contains(&response.status) {
                        tally.non_2xx += 1;
                        if tally.first_status == 0 {
                            tally.first_status = response.status;
                        }
                    }
                    tally
                        .latency
                        .record(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX));
                }
                if response.keep_alive && !fresh {
                    conn = Some(c);
                }
            }
            Err(e) => {
                tally.error(counted, e);
                // Do not spin on a server that refuses connections.
                if timeout_at(end, sleep(Duration::from_millis(10))).await.is_err() {
                    break;
                }
            }
        }
    }
    tally
}
