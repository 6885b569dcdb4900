//! `perf-load watch`: opens N watches, each on its own connection, at a bounded concurrency; prints
//! `{"ready":N,…}` on stdout once every response head arrived (so the runner can measure memory while they are
//! held), holds them counting events until `--hold` expires or stdin closes, then prints the report.
//!
//! Per watch: one task holding its connection, a 1 KiB read buffer, a chunked decoder and an event scanner —
//! a few bytes besides the TLS state. Counters are shared atomics; the tasks are aborted at the end.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep, timeout_at};

use crate::churn::unix_nanos;
use crate::conn::{Common, Conn, SharedTarget, Target};
use crate::events::EventScanner;
use crate::histogram::SharedHistogram;
use crate::http1::{self, BodyKind, ChunkedDecoder};
use crate::units;

/// Options of `watch`.
#[derive(Args, Debug)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    common: Common,
    /// Watch path, `watch=true` included, e.g. /api/v1/namespaces/perf-watch/configmaps?watch=true.
    #[arg(long)]
    path: String,
    /// Watches to open, one connection each.
    #[arg(long)]
    count: usize,
    /// How long to hold the watches once open (default 10s; 1h with --until-stdin-closes).
    #[arg(long, value_parser = units::duration)]
    hold: Option<Duration>,
    /// Hold until stdin reaches end of file (or --hold expires).
    #[arg(long)]
    until_stdin_closes: bool,
    /// Watches being opened at once.
    #[arg(long, default_value_t = 256)]
    open_concurrency: usize,
    /// Give up on watches not open after this long.
    #[arg(long, default_value = "60s", value_parser = units::duration)]
    open_timeout: Duration,
}

impl WatchArgs {
    fn hold(&self) -> Duration {
        self.hold
            .unwrap_or_else(|| Duration::from_secs(if self.until_stdin_closes { 3600 } else { 10 }))
    }

    /// The hard deadline of the whole run.
    pub(crate) fn deadline(&self) -> Duration {
        self.open_timeout + self.hold() + Duration::from_secs(10)
    }
}

/// The line printed once every watch is open (or failed).
#[derive(Serialize, Debug)]
struct Ready {
    /// Watches open.
    ready: u64,
    /// Watches that failed to open.
    failed: u64,
    /// Time taken to open them.
    open_seconds: f64,
    /// This process's resident memory, KiB (Linux).
    rss_kib: Option<u64>,
}

/// What `watch` prints at the end.
#[derive(Serialize, Debug)]
pub(crate) struct WatchReport {
    /// Watches asked for.
    watches: u64,
    /// Watches that got a 200 head.
    opened: u64,
    /// Watches that failed to open (connect, TLS, non-200, timeout).
    failed: u64,
    /// Open watches whose stream ended (server closed, error) while held.
    ended: u64,
    /// Time taken to open them.
    open_seconds: f64,
    /// Events received before the watches were all open, or stamped (`ts`) before that: the initial
    /// ADDED events.
    initial_events: u64,
    /// Events received while held.
    events: u64,
    /// Body bytes received while held.
    bytes: u64,
    /// Length of the hold.
    seconds: f64,
    /// `events / seconds`.
    events_per_s: f64,
    /// Held events carrying a `ts` stamp (written by `churn`), whose delivery latency is below.
    latency_samples: u64,
    /// Latency from the update's stamp to the end of the event's line, microseconds.
    event_p50_us: f64,
    event_p99_us: f64,
    event_p999_us: f64,
    event_max_us: f64,
    /// Resident memory while held (just before closing), KiB (Linux).
    rss_kib: Option<u64>,
    /// The first failure, if any.
    first_error: Option<String>,
}

/// State shared by every watch task.
#[derive(Default)]
struct Shared {
    opened: AtomicU64,
    failed: AtomicU64,
    ended: AtomicU64,
    holding: AtomicBool,
    /// Unix nanoseconds when the hold began: events stamped earlier are initial states, not updates.
    hold_start: AtomicU64,
    initial_events: AtomicU64,
    events: AtomicU64,
    bytes: AtomicU64,
    latency: SharedHistogram,
    first_error: Mutex<Option<String>>,
}

impl Shared {
    fn error(&self, e: &anyhow::Error) {
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert_with(|| format!("{e:#}"));
        }
    }
}

/// Runs `watch`; fails when no watch could be opened.
pub(crate) async fn run(args: WatchArgs) -> Result<WatchReport> {
    if args.count == 0 || args.open_concurrency == 0 {
        bail!("--count and --open-concurrency must be at least 1");
    }
    let target = SharedTarget::new(Target::new(&args.common)?);
    let request: Arc<[u8]> = http1::request(&target, "GET", &args.path, &[], b"").into();
    let shared = Arc::new(Shared::default());
    let gate = Arc::new(Semaphore::new(args.open_concurrency));
    let begin = Instant::now();
    let open_deadline = begin + args.open_timeout;
    eprintln!(
        "watch {}{}: opening {} watches, {} at a time",
        args.common.url, args.path, args.count, args.open_concurrency
    );
    let tasks: Vec<_> = (0..args.count)
        .map(|_| {
            let (target, request) = (SharedTarget::clone(&target), Arc::clone(&request));
            let (shared, gate) = (Arc::clone(&shared), Arc::clone(&gate));
            tokio::spawn(one_watch(target, request, shared, gate, open_deadline))
        })
        .collect();
    let total = args.count as u64;
    let mut last_report = Instant::now();
    loop {
        let (opened, failed) = (
            shared.opened.load(Ordering::Relaxed),
            shared.failed.load(Ordering::Relaxed),
        );
        if opened + failed >= total {
            break;
        }
        if last_report.elapsed() >= Duration::from_secs(1) {
            eprintln!("watch: {opened} open, {failed} failed");
            last_report = Instant::now();
        }
        sleep(Duration::from_millis(10)).await;
    }
    let open_seconds = round_ms(begin.elapsed());
    shared.hold_start.store(unix_nanos(), Ordering::Relaxed);
    shared.holding.store(true, Ordering::Relaxed);
    let opened = shared.opened.load(Ordering::Relaxed);
    let failed = shared.failed.load(Ordering::Relaxed);
    let first_error = shared.first_error.lock().ok().and_then(|e| e.clone());
    if opened == 0 {
        bail!(
            "no watch opened ({failed} failed){}",
            first_error.map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    crate::print_json(&Ready {
        ready: opened,
        failed,
        open_seconds,
        rss_kib: rss_kib(),
    })?;
    eprintln!("watch: {opened} open, {failed} failed, in {open_seconds} s; holding");
    let held = Instant::now();
    hold(args.hold(), args.until_stdin_closes).await;
    let seconds = round_ms(held.elapsed());
    let rss = rss_kib();
    shared.holding.store(false, Ordering::Relaxed);
    for task in &tasks {
        task.abort();
    }
    let events = shared.events.load(Ordering::Relaxed);
    let latency = shared.latency.snapshot();
    let first_error = shared.first_error.lock().ok().and_then(|e| e.clone());
    Ok(WatchReport {
        watches: total,
        opened,
        failed,
        ended: shared.ended.load(Ordering::Relaxed),
        open_seconds,
        initial_events: shared.initial_events.load(Ordering::Relaxed),
        events,
        bytes: shared.bytes.load(Ordering::Relaxed),
        seconds,
        events_per_s: (events as f64 / seconds.max(0.001) * 10.0).round() / 10.0,
        latency_samples: latency.count(),
        event_p50_us: latency.quantile_us(0.5),
        event_p99_us: latency.quantile_us(0.99),
        event_p999_us: latency.quantile_us(0.999),
        event_max_us: latency.max_us(),
        rss_kib: rss,
        first_error,
    })
}

/// Waits for `hold` to pass or, if asked, stdin to close.
async fn hold(hold: Duration, until_stdin_closes: bool) {
    if !until_stdin_closes {
        sleep(hold).await;
        return;
    }
    // A plain thread: reading stdin blocks, and the runtime is not built with tokio's stdin.
    let (closed, stdin_closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin().lock();
        while matches!(std::io::Read::read(&mut stdin, &mut buf), Ok(n) if n > 0) {}
        let _ = closed.send(());
    });
    tokio::select! {
        () = sleep(hold) => {}
        _ = stdin_closed => eprintln!("watch: stdin closed"),
    }
}

/// One watch: open it (holding a slot of the gate), then read its stream until aborted or it ends.
async fn one_watch(
    target: SharedTarget,
    request: Arc<[u8]>,
    shared: Arc<Shared>,
    gate: Arc<Semaphore>,
    open_deadline: Instant,
) {
    let opened = {
        let _slot = gate.acquire().await;
        timeout_at(open_deadline, open(&target, &request))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("not open within --open-timeout")))
    };
    let (conn, body, rest) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            shared.error(&e);
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    shared.opened.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = stream(conn, body, rest, &shared).await {
        shared.error(&e);
    }
    shared.ended.fetch_add(1, Ordering::Relaxed);
}

/// Connects, sends the watch request, reads the head: the connection, the body framing, body bytes read
/// along with the head.
async fn open(target: &Target, request: &[u8]) -> Result<(Conn, BodyKind, Vec<u8>)> {
    let mut conn = target.connect().await?;
    conn.write_all(request)
        .await
        .context("writing the watch request")?;
    let mut buf = Vec::with_capacity(1024);
    loop {
        if conn
            .read_buf(&mut buf)
            .await
            .context("reading the watch response")?
            == 0
        {
            bail!("connection closed before the response head");
        }
        if let Some(head) = http1::parse_head(&buf)? {
            if head.status != 200 {
                bail!("watch answered {}", head.status);
            }
            let rest = buf.split_off(head.len);
            return Ok((conn, head.body, rest));
        }
    }
}

/// Reads a watch's body, counting events, until it ends.
async fn stream(mut conn: Conn, body: BodyKind, rest: Vec<u8>, shared: &Shared) -> Result<()> {
    let mut decoder = ChunkedDecoder::new();
    let mut scanner = EventScanner::default();
    let mut consume = |data: &[u8]| -> Result<bool> {
        let holding = shared.holding.load(Ordering::Relaxed);
        if holding {
            shared.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        let mut on_event = |ts: Option<u64>| {
            // An initial ADDED event can arrive just after the hold began: its stamp is older than the hold.
            let stale = ts.is_some_and(|ts| ts < shared.hold_start.load(Ordering::Relaxed));
            if !holding || stale {
                shared.initial_events.fetch_add(1, Ordering::Relaxed);
                return;
            }
            shared.events.fetch_add(1, Ordering::Relaxed);
            if let Some(ts) = ts {
                shared.latency.record(unix_nanos().saturating_sub(ts));
            }
        };
        if body == BodyKind::Chunked {
            decoder.feed(data, |d| scanner.feed(d, &mut on_event))?;
            Ok(!decoder.is_done())
        } else {
            scanner.feed(data, &mut on_event);
            Ok(true)
        }
    };
    if !consume(&rest)? {
        return Ok(());
    }
    drop(rest);
    let mut buf = [0u8; 1024];
    loop {
        let n = conn.read(&mut buf).await.context("reading a watch")?;
        if n == 0 {
            bail!("the server closed a watch");
        }
        if !consume(&buf[..n])? {
            bail!("the server ended a watch");
        }
    }
}

/// This process's resident set size in KiB, from /proc/self/status.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Seconds with millisecond precision.
fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}
