//! Per-core metrics: recorded on the request path in plain `Cell`s of the core's own thread (no locks, no shared
//! atomics), copied out only when a scrape asks.
//!
//! ```text
//!  scrape ──CoreUpdate::Scrape(reply)──▶ every core (drained between requests) ──CoreMetricsSnapshot──▶ merge
//!  (runtime::broadcast asks; this module only keeps the counts and copies them)
//! ```
//!
//! Requests are counted under a bounded route template ([`RouteLabel`]) and the status written to the client,
//! with their duration from the request head to the end of the response (for a watch, its whole life).

mod labels;
mod route_label;
mod snapshot;

use std::cell::{Cell, RefCell};
use std::io;
use std::time::Duration;

pub use labels::{ConnectErrorKind, DRIVERS, Direction, HandshakeOutcome, StreamKind, driver_index};
pub use route_label::RouteLabel;
pub use snapshot::{CoreMetricsSnapshot, Histogram, RESPONSE_TIME_BUCKETS, RouteMetrics};

use crate::config::Driver;
use crate::io::{BodySink, IoBuffer};

/// A core's live metrics; owned by the core's thread.
#[derive(Debug)]
pub struct CoreMetrics {
    driver: Driver,
    routes: RefCell<Vec<RouteMetrics>>,
    in_flight: Cell<u64>,
    client_connections: Cell<u64>,
    client_connections_total: Cell<u64>,
    open_streams: [Cell<u64>; StreamKind::ALL.len()],
    upstream_connect_errors: [Cell<u64>; ConnectErrorKind::ALL.len()],
    tls_handshakes: [Cell<u64>; HandshakeOutcome::ALL.len()],
    relayed_bytes: [Cell<u64>; Direction::ALL.len()],
}

/// Holds a gauge up by one until dropped.
#[derive(Debug)]
#[must_use = "the gauge goes down again when this is dropped"]
pub struct Open<'m> {
    gauge: &'m Cell<u64>,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.gauge.set(self.gauge.get().saturating_sub(1));
    }
}

fn open(gauge: &Cell<u64>) -> Open<'_> {
    gauge.set(gauge.get() + 1);
    Open { gauge }
}

fn increment(counter: &Cell<u64>, n: u64) {
    counter.set(counter.get().wrapping_add(n));
}

impl CoreMetrics {
    /// Empty metrics of a core running `driver`.
    pub fn new(driver: Driver) -> Self {
        Self {
            driver,
            routes: RefCell::new(vec![RouteMetrics::default(); RouteLabel::COUNT]),
            in_flight: Cell::new(0),
            client_connections: Cell::new(0),
            client_connections_total: Cell::new(0),
            open_streams: Default::default(),
            upstream_connect_errors: Default::default(),
            tls_handshakes: Default::default(),
            relayed_bytes: Default::default(),
        }
    }

    /// Counts a request being handled until the guard is dropped.
    pub fn request_started(&self) -> Open<'_> {
        open(&self.in_flight)
    }

    /// Counts an answered request: its route, the status written to the client and how long it took.
    pub fn record_request(&self, route: RouteLabel, status: u16, elapsed: Duration) {
        if let Some(metrics) = self.routes.borrow_mut().get_mut(route.index()) {
            metrics.record(status, elapsed.as_secs_f64());
        }
    }

    /// Counts an accepted client connection, open until the guard is dropped.
    pub fn connection_opened(&self) -> Open<'_> {
        increment(&self.client_connections_total, 1);
        open(&self.client_connections)
    }

    /// Counts an open-ended relay in progress until the guard is dropped.
    pub fn stream_opened(&self, kind: StreamKind) -> Open<'_> {
        open(&self.open_streams[kind as usize])
    }

    /// Counts a failed upstream connection attempt.
    pub fn connect_error(&self, kind: ConnectErrorKind) {
        increment(&self.upstream_connect_errors[kind as usize], 1);
    }

    /// Counts a client TLS handshake.
    pub fn tls_handshake(&self, outcome: HandshakeOutcome) {
        increment(&self.tls_handshakes[outcome as usize], 1);
    }

    /// Counts `bytes` relayed in `direction`.
    pub fn relayed(&self, direction: Direction, bytes: usize) {
        increment(&self.relayed_bytes[direction as usize], bytes as u64);
    }

    /// Client connections open now.
    pub fn connections_open(&self) -> u64 {
        self.client_connections.get()
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.get()
    }

    /// Streamed responses and upgraded connections open now.
    pub fn streams_open(&self) -> u64 {
        self.open_streams.iter().map(Cell::get).sum()
    }

    /// A copy of everything, with the pool's `upstream_idle` connections.
    pub fn snapshot(&self, upstream_idle: usize) -> CoreMetricsSnapshot {
        let values = |cells: &[Cell<u64>]| cells.iter().map(Cell::get).collect::<Vec<_>>();
        let mut snapshot = CoreMetricsSnapshot {
            cores: 1,
            routes: self.routes.borrow().clone(),
            in_flight: self.in_flight.get(),
            client_connections: self.client_connections.get(),
            client_connections_total: self.client_connections_total.get(),
            upstream_idle: upstream_idle as u64,
            ..Default::default()
        };
        snapshot.open_streams.copy_from_slice(&values(&self.open_streams));
        snapshot
            .upstream_connect_errors
            .copy_from_slice(&values(&self.upstream_connect_errors));
        snapshot
            .tls_handshakes
            .copy_from_slice(&values(&self.tls_handshakes));
        snapshot
            .relayed_bytes
            .copy_from_slice(&values(&self.relayed_bytes));
        snapshot.drivers[driver_index(self.driver)] = 1;
        snapshot
    }
}

/// A body sink that counts what it writes as relayed in one direction.
#[derive(Debug)]
pub struct Counted<'a, S> {
    inner: &'a mut S,
    metrics: &'a CoreMetrics,
    direction: Direction,
}

impl<'a, S> Counted<'a, S> {
    /// Counts what is written to `inner` as relayed in `direction`.
    pub fn new(inner: &'a mut S, metrics: &'a CoreMetrics, direction: Direction) -> Self {
        Self {
            inner,
            metrics,
            direction,
        }
    }

    /// The destination itself (to shut it down).
    pub fn inner(&mut self) -> &mut S {
        self.inner
    }
}

impl<S: BodySink> BodySink for Counted<'_, S> {
    async fn write_buffered(&mut self, buf: &mut IoBuffer, n: usize) -> io::Result<()> {
        self.inner.write_buffered(buf, n).await?;
        self.metrics.relayed(self.direction, n);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_hold_gauges_up_while_alive() {
        let metrics = CoreMetrics::new(Driver::IoUring);
        let connection = metrics.connection_opened();
        let request = metrics.request_started();
        let stream = metrics.stream_opened(StreamKind::Upgrade);
        let during = metrics.snapshot(0);
        assert_eq!(during.client_connections, 1);
        assert_eq!(during.in_flight, 1);
        assert_eq!(during.open_streams, [0, 1]);
        drop((connection, request, stream));
        let after = metrics.snapshot(0);
        assert_eq!(after.client_connections, 0);
        assert_eq!(after.client_connections_total, 1);
        assert_eq!(after.in_flight, 0);
        assert_eq!(after.open_streams, [0, 0]);
    }

    #[test]
    fn a_snapshot_copies_every_recorded_value() {
        let metrics = CoreMetrics::new(Driver::Legacy);
        metrics.record_request(RouteLabel::NamespacesList, 200, Duration::from_millis(3));
        metrics.record_request(RouteLabel::NamespacesList, 200, Duration::from_millis(30));
        metrics.record_request(RouteLabel::Root, 404, Duration::from_millis(1));
        metrics.connect_error(ConnectErrorKind::Refused);
        metrics.tls_handshake(HandshakeOutcome::Ok);
        metrics.tls_handshake(HandshakeOutcome::Timeout);
        metrics.relayed(Direction::ClientToUpstream, 120);
        metrics.relayed(Direction::UpstreamToClient, 4096);
        let snapshot = metrics.snapshot(7);
        assert_eq!(snapshot.cores, 1);
        let namespaces = snapshot.route(RouteLabel::NamespacesList);
        assert_eq!(namespaces.status_count(200), 2);
        assert_eq!(namespaces.response_time.count, 2);
        assert!((namespaces.response_time.sum - 0.033).abs() < 1e-9);
        assert_eq!(snapshot.route(RouteLabel::Root).status_count(404), 1);
        assert_eq!(snapshot.upstream_connect_errors, [1, 0, 0, 0]);
        assert_eq!(snapshot.tls_handshakes, [1, 0, 1]);
        assert_eq!(snapshot.relayed_bytes, [120, 4096]);
        assert_eq!(snapshot.upstream_idle, 7);
        assert_eq!(snapshot.drivers, [0, 1]);
    }
}
