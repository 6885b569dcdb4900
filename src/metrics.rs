//! `/metrics` (`--metrics-addr`, Go's `:8080`): the Go proxy's request metrics, now recorded, and ours, all
//! gathered when scraped: every data-plane core sends a copy of its counters (summed here), and the control
//! plane's status and identity-cache counters are read as they are.
//!
//! The control crate serves the registry on a small thread of its own ([`MetricsServer`]); the collector
//! lives here because only the binary knows both the data plane and the control plane.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use capsule_proxy_control::metrics_server::{MetricsServer, MetricsServerError};
use capsule_proxy_control::{Control, IdentityStats, WatchStatus};
use capsule_proxy_dataplane::CoreBroadcast;
use capsule_proxy_dataplane::metrics::{
    ConnectErrorKind, CoreMetricsSnapshot, DRIVERS, Direction, HandshakeOutcome, Histogram, RouteLabel,
    StreamKind,
};
use prometheus::Registry;
use prometheus::core::{Collector, Desc};
use prometheus::process_collector::ProcessCollector;
use prometheus::proto::MetricType::{COUNTER, GAUGE, HISTOGRAM};
use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};

/// How long a scrape waits for the cores (they answer between requests, at least every 200 ms).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the metrics could not be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The collector could not be registered.
    #[error("registering the metrics: {0}")]
    Register(#[from] prometheus::Error),
    /// The server did not start.
    #[error(transparent)]
    Server(#[from] MetricsServerError),
}

/// Parses `--metrics-addr`: `0` (no metrics server, as in controller-runtime) or a Go-style listen address
/// (`:8080`, `127.0.0.1:8080`).
pub fn parse_metrics_addr(s: &str) -> Result<Option<SocketAddr>, String> {
    if s == "0" {
        return Ok(None);
    }
    capsule_proxy_control::probes::parse_listen_addr(s).map(Some)
}

/// Serves the proxy's metrics on `addr`.
pub fn serve(
    addr: SocketAddr,
    cores: CoreBroadcast,
    control: Arc<Control>,
) -> Result<MetricsServer, MetricsError> {
    let registry = Registry::new();
    registry.register(Box::new(ProxyCollector::new(cores, control)?))?;
    // process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, process_start_time_seconds, …
    registry.register(Box::new(ProcessCollector::for_self()))?;
    Ok(MetricsServer::start(addr, registry)?)
}

/// One metric family of `/metrics`.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    labels: &'static [&'static str],
}

const fn family(
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    labels: &'static [&'static str],
) -> Family {
    Family {
        name,
        help,
        kind,
        labels,
    }
}

const REQUESTS: Family = family(
    "capsule_proxy_requests_total",
    "Requests answered, by route template (path) and response status.",
    COUNTER,
    &["path", "status"],
);
const RESPONSE_TIME: Family = family(
    "capsule_proxy_response_time_seconds",
    "Time from a request's head to the end of its response (a watch's whole life), by route template.",
    HISTOGRAM,
    &["path"],
);
const IN_FLIGHT: Family = family(
    "capsule_proxy_requests_in_flight",
    "Requests being handled.",
    GAUGE,
    &[],
);
const CONNECTIONS: Family = family(
    "capsule_proxy_client_connections",
    "Client connections open (TLS handshakes included).",
    GAUGE,
    &[],
);
const CONNECTIONS_TOTAL: Family = family(
    "capsule_proxy_client_connections_total",
    "Client connections accepted.",
    COUNTER,
    &[],
);
const STREAMS: Family = family(
    "capsule_proxy_open_streams",
    "Open-ended relays in progress: response (watches, logs -f, chunked bodies) or upgrade (exec, attach, \
     port-forward).",
    GAUGE,
    &["kind"],
);
const CONNECT_ERRORS: Family = family(
    "capsule_proxy_upstream_connect_errors_total",
    "Failed connections to the API server, by kind (refused, timeout, tls, other).",
    COUNTER,
    &["kind"],
);
const UPSTREAM_IDLE: Family = family(
    "capsule_proxy_upstream_idle_connections",
    "Idle API server connections pooled, all cores together.",
    GAUGE,
    &[],
);
const HANDSHAKES: Family = family(
    "capsule_proxy_tls_handshakes_total",
    "Client TLS handshakes, by outcome (ok, failed, timeout).",
    COUNTER,
    &["outcome"],
);
const RELAYED: Family = family(
    "capsule_proxy_relayed_bytes_total",
    "Bytes relayed between clients and the API server (heads, bodies and upgraded streams), by direction.",
    COUNTER,
    &["direction"],
);
const CORES: Family = family(
    "capsule_proxy_cores",
    "Data-plane cores, by the I/O driver they run (io_uring, epoll).",
    GAUGE,
    &["driver"],
);
const LOOKUPS: Family = family(
    "capsule_proxy_identity_cache_lookups_total",
    "TokenReview, SubjectAccessReview and object look-ups asked of the control plane, by result: hit (cached), \
     miss (a new review) or joined (a review already in flight).",
    COUNTER,
    &["result"],
);
const GENERATION: Family = family(
    "capsule_proxy_snapshot_generation",
    "Generation of the last ownership snapshot published to the cores (0: none yet).",
    GAUGE,
    &[],
);
const SNAPSHOT_AGE: Family = family(
    "capsule_proxy_snapshot_age_seconds",
    "How long the published ownership snapshot may have been out of date: 0 while every watch of the control \
     plane streams, else the time since the first of the watches down broke (absent before the first snapshot).",
    GAUGE,
    &[],
);
const WATCH_UP: Family = family(
    "capsule_proxy_watch_up",
    "1 while a watch of the control plane has listed and streams, 0 while it fails or has not started, by \
     watched resource.",
    GAUGE,
    &["resource"],
);
const WATCH_RESTARTS: Family = family(
    "capsule_proxy_watch_restarts_total",
    "Times a watch of the control plane failed and restarted.",
    COUNTER,
    &[],
);

const FAMILIES: [&Family; 16] = [
    &REQUESTS,
    &RESPONSE_TIME,
    &IN_FLIGHT,
    &CONNECTIONS,
    &CONNECTIONS_TOTAL,
    &STREAMS,
    &CONNECT_ERRORS,
    &UPSTREAM_IDLE,
    &HANDSHAKES,
    &RELAYED,
    &CORES,
    &LOOKUPS,
    &GENERATION,
    &SNAPSHOT_AGE,
    &WATCH_UP,
    &WATCH_RESTARTS,
];

/// What the control plane tells at scrape time.
#[derive(Debug, Clone, Default)]
pub struct ControlView {
    /// Generation of the last published snapshot.
    pub generation: u64,
    /// How long it may have been out of date.
    pub snapshot_age: Option<Duration>,
    /// Each watch and whether it streams.
    pub watches: Vec<WatchStatus>,
    /// Watch restarts.
    pub watch_restarts: u64,
    /// Identity-cache counters.
    pub identity: IdentityStats,
}

/// The proxy's collector: scrapes the cores and reads the control plane on every gather.
#[derive(Debug)]
pub struct ProxyCollector {
    cores: CoreBroadcast,
    control: Arc<Control>,
    descs: Vec<Desc>,
}

impl ProxyCollector {
    /// A collector over `cores` and `control`.
    pub fn new(cores: CoreBroadcast, control: Arc<Control>) -> prometheus::Result<Self> {
        let descs = FAMILIES
            .iter()
            .map(|f| {
                let labels = f.labels.iter().map(|l| (*l).to_string()).collect();
                Desc::new(f.name.into(), f.help.into(), labels, Default::default())
            })
            .collect::<prometheus::Result<_>>()?;
        Ok(Self {
            cores,
            control,
            descs,
        })
    }
}

impl Collector for ProxyCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let status = self.control.status();
        let control = ControlView {
            generation: status.generation(),
            snapshot_age: status.snapshot_age(),
            watches: status.watches(),
            watch_restarts: status.watch_restarts(),
            identity: self.control.identity_stats(),
        };
        families(&self.cores.scrape(SCRAPE_TIMEOUT), &control)
    }
}

/// Every metric family, from the cores' merged metrics and the control plane's view.
pub fn families(cores: &CoreMetricsSnapshot, control: &ControlView) -> Vec<MetricFamily> {
    let answered = || RouteLabel::all().filter(|r| cores.route(*r).response_time.count > 0);
    let requests = answered()
        .flat_map(|route| {
            cores.route(route).statuses.iter().map(move |(status, n)| {
                counter(&[("path", route.template()), ("status", &status.to_string())], *n)
            })
        })
        .collect();
    let response_time = answered()
        .map(|route| histogram(&[("path", route.template())], &cores.route(route).response_time))
        .collect();
    let streams = StreamKind::ALL
        .iter()
        .map(|k| gauge(&[("kind", k.label())], cores.open_streams[*k as usize] as f64))
        .collect();
    let connect_errors = ConnectErrorKind::ALL
        .iter()
        .map(|k| counter(&[("kind", k.label())], cores.upstream_connect_errors[*k as usize]))
        .collect();
    let handshakes = HandshakeOutcome::ALL
        .iter()
        .map(|o| counter(&[("outcome", o.label())], cores.tls_handshakes[*o as usize]))
        .collect();
    let relayed = Direction::ALL
        .iter()
        .map(|d| counter(&[("direction", d.label())], cores.relayed_bytes[*d as usize]))
        .collect();
    let drivers = DRIVERS
        .iter()
        .zip(cores.drivers.iter())
        .map(|(driver, n)| gauge(&[("driver", driver.name())], *n as f64))
        .collect();
    let identity = control.identity;
    let lookups = vec![
        counter(&[("result", "hit")], identity.hits),
        counter(&[("result", "miss")], identity.misses),
        counter(&[("result", "joined")], identity.joined),
    ];
    let age = control
        .snapshot_age
        .map(|age| gauge(&[], age.as_secs_f64()))
        .into_iter()
        .collect();
    let watches = control
        .watches
        .iter()
        .map(|w| gauge(&[("resource", &w.resource)], if w.up { 1.0 } else { 0.0 }))
        .collect();
    vec![
        build(&REQUESTS, requests),
        build(&RESPONSE_TIME, response_time),
        build(&IN_FLIGHT, vec![gauge(&[], cores.in_flight as f64)]),
        build(&CONNECTIONS, vec![gauge(&[], cores.client_connections as f64)]),
        build(
            &CONNECTIONS_TOTAL,
            vec![counter(&[], cores.client_connections_total)],
        ),
        build(&STREAMS, streams),
        build(&CONNECT_ERRORS, connect_errors),
        build(&UPSTREAM_IDLE, vec![gauge(&[], cores.upstream_idle as f64)]),
        build(&HANDSHAKES, handshakes),
        build(&RELAYED, relayed),
        build(&CORES, drivers),
        build(&LOOKUPS, lookups),
        build(&GENERATION, vec![gauge(&[], control.generation as f64)]),
        build(&SNAPSHOT_AGE, age),
        build(&WATCH_UP, watches),
        build(&WATCH_RESTARTS, vec![counter(&[], control.watch_restarts)]),
    ]
}

fn build(family: &Family, metrics: Vec<proto::Metric>) -> MetricFamily {
    let mut built = MetricFamily::default();
    built.set_name(family.name.into());
    built.set_help(family.help.into());
    built.set_field_type(family.kind);
    built.set_metric(metrics);
    built
}

fn labelled(labels: &[(&str, &str)]) -> proto::Metric {
    let mut metric = proto::Metric::default();
    let pairs = labels
        .iter()
        .map(|(name, value)| {
            let mut pair = LabelPair::default();
            pair.set_name((*name).into());
            pair.set_value((*value).into());
            pair
        })
        .collect();
    metric.set_label(pairs);
    metric
}

fn counter(labels: &[(&str, &str)], value: u64) -> proto::Metric {
    let mut metric = labelled(labels);
    let mut counter = proto::Counter::default();
    counter.set_value(value as f64);
    metric.set_counter(counter);
    metric
}

fn gauge(labels: &[(&str, &str)], value: f64) -> proto::Metric {
    let mut metric = labelled(labels);
    let mut gauge = proto::Gauge::default();
    gauge.set_value(value);
    metric.set_gauge(gauge);
    metric
}

fn histogram(labels: &[(&str, &str)], observed: &Histogram) -> proto::Metric {
    let mut metric = labelled(labels);
    let mut histogram = proto::Histogram::default();
    histogram.set_sample_count(observed.count);
    histogram.set_sample_sum(observed.sum);
    let buckets = observed
        .cumulative()
        .map(|(bound, n)| {
            let mut bucket = proto::Bucket::default();
            bucket.set_upper_bound(bound);
            bucket.set_cumulative_count(n);
            bucket
        })
        .collect();
    histogram.set_bucket(buckets);
    metric.set_histogram(histogram);
    metric
}

#[cfg(test)]
mod tests {
    use prometheus::{Encoder, TextEncoder};

    use super::*;

    fn render(cores: &CoreMetricsSnapshot, control: &ControlView) -> String {
        let mut families = families(cores, control);
        families.retain(|f| !f.get_metric().is_empty());
        let mut out = Vec::new();
        TextEncoder::new().encode(&families, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn metrics_addr_is_a_listen_address_or_off() {
        assert_eq!(parse_metrics_addr("0"), Ok(None));
        assert_eq!(
            parse_metrics_addr(":8080"),
            Ok(Some("0.0.0.0:8080".parse().unwrap()))
        );
        assert!(parse_metrics_addr("8080").is_err());
    }

    #[test]
    fn every_family_has_a_valid_description() {
        for family in FAMILIES {
            let labels = family.labels.iter().map(|l| (*l).to_string()).collect();
            Desc::new(family.name.into(), family.help.into(), labels, Default::default()).unwrap();
            assert!(family.name.starts_with("capsule_proxy_"), "{}", family.name);
        }
    }

    #[test]
    fn requests_are_exposed_per_route_template_and_status() {
        let mut cores = CoreMetricsSnapshot::default();
        let namespaces = RouteLabel::NamespacesList.index();
        cores.routes[namespaces].record(200, 0.004);
        cores.routes[namespaces].record(200, 0.3);
        cores.routes[RouteLabel::Root.index()].record(404, 0.002);
        let text = render(&cores, &ControlView::default());
        assert!(
            text.contains("capsule_proxy_requests_total{path=\"/api/v1/namespaces\",status=\"200\"} 2\n")
        );
        assert!(text.contains("capsule_proxy_requests_total{path=\"/\",status=\"404\"} 1\n"));
        assert!(text.contains(
            "capsule_proxy_response_time_seconds_bucket{path=\"/api/v1/namespaces\",le=\"0.005\"} 1\n"
        ));
        assert!(text.contains(
            "capsule_proxy_response_time_seconds_bucket{path=\"/api/v1/namespaces\",le=\"0.25\"} 1\n"
        ));
        assert!(text.contains(
            "capsule_proxy_response_time_seconds_bucket{path=\"/api/v1/namespaces\",le=\"0.5\"} 2\n"
        ));
        assert!(text.contains(
            "capsule_proxy_response_time_seconds_bucket{path=\"/api/v1/namespaces\",le=\"+Inf\"} 2\n"
        ));
        assert!(text.contains("capsule_proxy_response_time_seconds_count{path=\"/api/v1/namespaces\"} 2\n"));
        // Routes nobody asked for have no series.
        assert!(!text.contains("tenants"));
    }

    #[test]
    fn own_metrics_and_the_control_view_are_exposed() {
        let cores = CoreMetricsSnapshot {
            cores: 2,
            in_flight: 1,
            client_connections: 3,
            client_connections_total: 9,
            open_streams: [2, 1],
            upstream_connect_errors: [4, 0, 0, 0],
            upstream_idle: 5,
            tls_handshakes: [8, 1, 0],
            relayed_bytes: [300, 7000],
            drivers: [0, 2],
            ..Default::default()
        };
        let control = ControlView {
            generation: 7,
            snapshot_age: Some(Duration::from_millis(1500)),
            watches: vec![
                WatchStatus {
                    resource: "namespaces".into(),
                    up: true,
                },
                WatchStatus {
                    resource: "tenants".into(),
                    up: false,
                },
            ],
            watch_restarts: 2,
            identity: IdentityStats {
                hits: 10,
                misses: 3,
                joined: 1,
            },
        };
        let text = render(&cores, &control);
        for line in [
            "capsule_proxy_requests_in_flight 1",
            "capsule_proxy_client_connections 3",
            "capsule_proxy_client_connections_total 9",
            "capsule_proxy_open_streams{kind=\"response\"} 2",
            "capsule_proxy_open_streams{kind=\"upgrade\"} 1",
            "capsule_proxy_upstream_connect_errors_total{kind=\"refused\"} 4",
            "capsule_proxy_upstream_connect_errors_total{kind=\"tls\"} 0",
            "capsule_proxy_upstream_idle_connections 5",
            "capsule_proxy_tls_handshakes_total{outcome=\"ok\"} 8",
            "capsule_proxy_relayed_bytes_total{direction=\"upstream_to_client\"} 7000",
            "capsule_proxy_cores{driver=\"epoll\"} 2",
            "capsule_proxy_cores{driver=\"io_uring\"} 0",
            "capsule_proxy_identity_cache_lookups_total{result=\"hit\"} 10",
            "capsule_proxy_identity_cache_lookups_total{result=\"joined\"} 1",
            "capsule_proxy_snapshot_generation 7",
            "capsule_proxy_snapshot_age_seconds 1.5",
            "capsule_proxy_watch_up{resource=\"namespaces\"} 1",
            "capsule_proxy_watch_up{resource=\"tenants\"} 0",
            "capsule_proxy_watch_restarts_total 2",
        ] {
            assert!(text.contains(&format!("{line}\n")), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("# TYPE capsule_proxy_open_streams gauge\n"));
        assert!(text.contains("# TYPE capsule_proxy_tls_handshakes_total counter\n"));
    }

    #[test]
    fn no_snapshot_age_before_the_first_snapshot() {
        let text = render(&CoreMetricsSnapshot::default(), &ControlView::default());
        assert!(!text.contains("capsule_proxy_snapshot_age_seconds"));
        assert!(text.contains("capsule_proxy_snapshot_generation 0\n"));
    }
}
