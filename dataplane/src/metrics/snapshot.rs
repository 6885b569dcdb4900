//! Plain copies of a core's metrics, sent to the scraping thread and summed there.

use super::labels::{ConnectErrorKind, DRIVERS, Direction, HandshakeOutcome, StreamKind};
use super::route_label::RouteLabel;

/// Upper bounds, in seconds, of `capsule_proxy_response_time_seconds`' buckets: Prometheus' default buckets,
/// as the Go proxy's histogram has.
pub const RESPONSE_TIME_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A histogram of durations over [`RESPONSE_TIME_BUCKETS`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations per bucket, not cumulated: `buckets[i]` counts those above the previous bound and at most
    /// `RESPONSE_TIME_BUCKETS[i]`; those above the last bound are only in `count`.
    pub buckets: [u64; RESPONSE_TIME_BUCKETS.len()],
    /// Observations.
    pub count: u64,
    /// Sum of the observations, in seconds.
    pub sum: f64,
}

impl Histogram {
    /// Records one observation of `seconds`.
    pub fn observe(&mut self, seconds: f64) {
        if let Some(i) = RESPONSE_TIME_BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    /// `(upper bound, observations at most that bound)` for every bucket, as Prometheus exposes them (the
    /// `+Inf` bucket is `count`).
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        RESPONSE_TIME_BUCKETS
            .iter()
            .zip(self.buckets.iter())
            .scan(0, |total, (bound, n)| {
                *total += n;
                Some((*bound, *total))
            })
    }

    /// Adds `other`'s observations.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum += other.sum;
    }
}

/// What was answered on one route.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteMetrics {
    /// Requests per response status code, in order of first appearance.
    pub statuses: Vec<(u16, u64)>,
    /// Time from the request head to the end of the response.
    pub response_time: Histogram,
}

impl RouteMetrics {
    /// Counts one answered request.
    pub fn record(&mut self, status: u16, seconds: f64) {
        self.add_status(status, 1);
        self.response_time.observe(seconds);
    }

    /// Requests answered with `status`.
    pub fn status_count(&self, status: u16) -> u64 {
        self.statuses
            .iter()
            .find(|(code, _)| *code == status)
            .map_or(0, |(_, n)| *n)
    }

    fn add_status(&mut self, status: u16, n: u64) {
        match self.statuses.iter_mut().find(|(code, _)| *code == status) {
            Some((_, count)) => *count += n,
            None => self.statuses.push((status, n)),
        }
    }

    /// Adds `other`'s requests.
    pub fn merge(&mut self, other: &RouteMetrics) {
        for (status, n) in &other.statuses {
            self.add_status(*status, *n);
        }
        self.response_time.merge(&other.response_time);
    }
}

/// One core's metrics at one moment, or the sum of several cores'. The arrays are indexed by their label enum
/// (`kind as usize`).
#[derive(Debug, Clone, PartialEq)]
pub struct CoreMetricsSnapshot {
    /// Cores summed into this snapshot.
    pub cores: u64,
    /// Per route, indexed by [`RouteLabel::index`].
    pub routes: Vec<RouteMetrics>,
    /// Requests being handled.
    pub in_flight: u64,
    /// Client connections open (from accept, TLS handshake included).
    pub client_connections: u64,
    /// Client connections accepted since start.
    pub client_connections_total: u64,
    /// Open-ended relays in progress, by [`StreamKind`].
    pub open_streams: [u64; StreamKind::ALL.len()],
    /// Failed upstream connection attempts, by [`ConnectErrorKind`].
    pub upstream_connect_errors: [u64; ConnectErrorKind::ALL.len()],
    /// Idle upstream connections pooled.
    pub upstream_idle: u64,
    /// Client TLS handshakes, by [`HandshakeOutcome`].
    pub tls_handshakes: [u64; HandshakeOutcome::ALL.len()],
    /// Bytes relayed, by [`Direction`].
    pub relayed_bytes: [u64; Direction::ALL.len()],
    /// Cores running each driver, in [`DRIVERS`] order.
    pub drivers: [u64; DRIVERS.len()],
}

impl Default for CoreMetricsSnapshot {
    fn default() -> Self {
        Self {
            cores: 0,
            routes: vec![RouteMetrics::default(); RouteLabel::COUNT],
            in_flight: 0,
            client_connections: 0,
            client_connections_total: 0,
            open_streams: [0; StreamKind::ALL.len()],
            upstream_connect_errors: [0; ConnectErrorKind::ALL.len()],
            upstream_idle: 0,
            tls_handshakes: [0; HandshakeOutcome::ALL.len()],
            relayed_bytes: [0; Direction::ALL.len()],
            drivers: [0; DRIVERS.len()],
        }
    }
}

impl CoreMetricsSnapshot {
    /// The metrics of `route`.
    pub fn route(&self, route: RouteLabel) -> &RouteMetrics {
        &self.routes[route.index()]
    }

    /// Adds `other` to this one: counters, histograms and gauges are all summed.
    pub fn merge(&mut self, other: &CoreMetricsSnapshot) {
        self.cores += other.cores;
        for (mine, theirs) in self.routes.iter_mut().zip(other.routes.iter()) {
            mine.merge(theirs);
        }
        self.in_flight += other.in_flight;
        self.client_connections += other.client_connections;
        self.client_connections_total += other.client_connections_total;
        add(&mut self.open_streams, &other.open_streams);
        add(&mut self.upstream_connect_errors, &other.upstream_connect_errors);
        self.upstream_idle += other.upstream_idle;
        add(&mut self.tls_handshakes, &other.tls_handshakes);
        add(&mut self.relayed_bytes, &other.relayed_bytes);
        add(&mut self.drivers, &other.drivers);
    }
}

fn add<const N: usize>(mine: &mut [u64; N], theirs: &[u64; N]) {
    for (m, t) in mine.iter_mut().zip(theirs.iter()) {
        *m += t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let mut histogram = Histogram::default();
        for seconds in [0.001, 0.005, 0.3, 10.0, 42.0] {
            histogram.observe(seconds);
        }
        assert_eq!(histogram.count, 5);
        assert!((histogram.sum - 52.306).abs() < 1e-9);
        let cumulative: Vec<(f64, u64)> = histogram.cumulative().collect();
        assert_eq!(cumulative.len(), RESPONSE_TIME_BUCKETS.len());
        // 0.001 and 0.005 (a bound is inclusive) in the first bucket, 0.3 by 0.5, 10 by 10; 42 only in +Inf.
        assert_eq!(cumulative[0], (0.005, 2));
        assert_eq!(cumulative[5], (0.25, 2));
        assert_eq!(cumulative[6], (0.5, 3));
        assert_eq!(cumulative[9], (5.0, 3));
        assert_eq!(cumulative[10], (10.0, 4));
    }

    #[test]
    fn statuses_are_counted_per_code() {
        let mut route = RouteMetrics::default();
        route.record(200, 0.01);
        route.record(404, 0.02);
        route.record(200, 0.03);
        assert_eq!(route.status_count(200), 2);
        assert_eq!(route.status_count(404), 1);
        assert_eq!(route.status_count(500), 0);
        assert_eq!(route.response_time.count, 3);
    }

    #[test]
    fn merging_sums_every_counter_histogram_and_gauge() {
        let mut a = CoreMetricsSnapshot {
            cores: 1,
            in_flight: 2,
            client_connections: 3,
            client_connections_total: 10,
            upstream_idle: 4,
            open_streams: [1, 0],
            upstream_connect_errors: [1, 0, 0, 2],
            tls_handshakes: [5, 1, 0],
            relayed_bytes: [100, 1000],
            drivers: [1, 0],
            ..Default::default()
        };
        a.routes[RouteLabel::NamespacesList.index()].record(200, 0.004);
        let mut b = CoreMetricsSnapshot {
            cores: 1,
            in_flight: 1,
            client_connections: 1,
            client_connections_total: 5,
            upstream_idle: 2,
            open_streams: [0, 2],
            upstream_connect_errors: [0, 3, 1, 0],
            tls_handshakes: [2, 0, 1],
            relayed_bytes: [50, 500],
            drivers: [0, 1],
            ..Default::default()
        };
        b.routes[RouteLabel::NamespacesList.index()].record(200, 0.2);
        b.routes[RouteLabel::NamespacesList.index()].record(403, 0.02);
        b.routes[RouteLabel::Root.index()].record(404, 0.001);

        let mut merged = CoreMetricsSnapshot::default();
        merged.merge(&a);
        merged.merge(&b);
        assert_eq!(merged.cores, 2);
        assert_eq!(merged.in_flight, 3);
        assert_eq!(merged.client_connections, 4);
        assert_eq!(merged.client_connections_total, 15);
        assert_eq!(merged.upstream_idle, 6);
        assert_eq!(merged.open_streams, [1, 2]);
        assert_eq!(merged.upstream_connect_errors, [1, 3, 1, 2]);
        assert_eq!(merged.tls_handshakes, [7, 1, 1]);
        assert_eq!(merged.relayed_bytes, [150, 1500]);
        assert_eq!(merged.drivers, [1, 1]);
        let namespaces = merged.route(RouteLabel::NamespacesList);
        assert_eq!(namespaces.status_count(200), 2);
        assert_eq!(namespaces.status_count(403), 1);
        assert_eq!(namespaces.response_time.count, 3);
        assert_eq!(namespaces.response_time.buckets[0], 1);
        assert_eq!(namespaces.response_time.buckets[2], 1);
        assert_eq!(namespaces.response_time.buckets[5], 1);
        assert_eq!(merged.route(RouteLabel::Root).status_count(404), 1);
        assert_eq!(merged.route(RouteLabel::TenantsList), &RouteMetrics::default());
    }
}
