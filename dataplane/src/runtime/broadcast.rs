//! Reaching every core from other threads: updates (snapshots, certificates, tokens, shutdown), reload
//! requests to the watcher, and metrics scrapes answered by each core between requests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::core::CoreUpdate;
use crate::metrics::CoreMetricsSnapshot;

/// Asks the watcher thread to re-read its files now (cheap to clone, usable from any thread).
#[derive(Debug, Clone)]
pub struct Reloader(pub(super) Sender<()>);

impl Reloader {
    /// Requests a re-read.
    pub fn reload(&self) {
        let _ = self.0.send(());
    }
}

/// Sends updates to every core (cheap to clone, usable from any thread).
#[derive(Debug, Clone)]
pub struct CoreBroadcast {
    senders: Vec<Sender<CoreUpdate>>,
    /// Every core's last metrics answer, used when it does not answer a scrape in time.
    last_metrics: Arc<Mutex<Vec<Option<CoreMetricsSnapshot>>>>,
}

impl CoreBroadcast {
    /// Sends `update` to every core; cores apply it between requests.
    pub fn send(&self, update: &CoreUpdate) {
        broadcast(&self.senders, update);
    }

    /// Every core's metrics, summed; a core that does not answer within `timeout` counts with its last answer
    /// (so counters never go back).
    pub fn scrape(&self, timeout: Duration) -> CoreMetricsSnapshot {
        scrape(&self.senders, &self.last_metrics, timeout)
    }

    /// Tells every core to shut down gracefully within `grace`: stop accepting, end streamed responses, finish
    /// requests in flight, then stop.
    pub fn shutdown(&self, grace: Duration) {
        self.send(&CoreUpdate::Shutdown {
            deadline: Instant::now() + grace,
        });
    }

    /// A broadcast to the cores listening on `senders`.
    pub(super) fn new(senders: Vec<Sender<CoreUpdate>>) -> Self {
        Self {
            senders,
            last_metrics: Arc::default(),
        }
    }
}

/// Sends `update` to every core.
pub fn broadcast(senders: &[Sender<CoreUpdate>], update: &CoreUpdate) {
    for sender in senders {
        let _ = sender.send(update.clone());
    }
}

/// Asks every core for a copy of its metrics and sums the answers; a core that does not answer within
/// `timeout` counts with its answer kept in `last` (none before its first), with a warning.
pub fn scrape(
    cores: &[Sender<CoreUpdate>],
    last: &Mutex<Vec<Option<CoreMetricsSnapshot>>>,
    timeout: Duration,
) -> CoreMetricsSnapshot {
    let deadline = Instant::now() + timeout;
    // One reply channel per core, so an answer is known to be whose.
    let answers: Vec<Option<Receiver<CoreMetricsSnapshot>>> = cores
        .iter()
        .map(|core| {
            let (reply, answer) = crossbeam_channel::bounded(1);
            core.send(CoreUpdate::Scrape(reply)).is_ok().then_some(answer)
        })
        .collect();
    let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    last.resize(cores.len(), None);
    let mut stale = 0;
    for (answer, kept) in answers.iter().zip(last.iter_mut()) {
        match answer.as_ref().map(|a| a.recv_deadline(deadline)) {
            Some(Ok(snapshot)) => *kept = Some(snapshot),
            _ => stale += 1,
        }
    }
    if stale > 0 {
        tracing::warn!(
            stale,
            cores = cores.len(),
            "some cores did not answer the metrics scrape in time; their last answer is used"
        );
    }
    let mut merged = CoreMetricsSnapshot::default();
    for snapshot in last.iter().flatten() {
        merged.merge(snapshot);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Driver;
    use crate::metrics::{CoreMetrics, RouteLabel};

    /// A stand-in for a core's update loop: answers one scrape with `metrics`.
    fn answering_core(
        metrics: CoreMetrics,
        idle: usize,
    ) -> (Sender<CoreUpdate>, std::thread::JoinHandle<()>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let thread = std::thread::spawn(move || {
            if let Ok(CoreUpdate::Scrape(reply)) = rx.recv() {
                reply.send(metrics.snapshot(idle)).unwrap();
            }
        });
        (tx, thread)
    }

    #[test]
    fn a_scrape_sums_every_core() {
        let first = CoreMetrics::new(Driver::IoUring);
        first.record_request(RouteLabel::TenantsList, 200, Duration::from_millis(2));
        let second = CoreMetrics::new(Driver::IoUring);
        second.record_request(RouteLabel::TenantsList, 200, Duration::from_millis(2));
        second.record_request(RouteLabel::TenantsList, 503, Duration::from_millis(2));
        let (a, first) = answering_core(first, 1);
        let (b, second) = answering_core(second, 2);
        let merged = scrape(&[a, b], &Mutex::default(), Duration::from_secs(30));
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(merged.cores, 2);
        assert_eq!(merged.drivers, [2, 0]);
        assert_eq!(merged.upstream_idle, 3);
        let tenants = merged.route(RouteLabel::TenantsList);
        assert_eq!(tenants.status_count(200), 2);
        assert_eq!(tenants.status_count(503), 1);
        assert_eq!(tenants.response_time.count, 3);
    }

    #[test]
    fn a_core_that_does_not_answer_counts_with_its_last_answer() {
        let answering = CoreMetrics::new(Driver::IoUring);
        answering.record_request(RouteLabel::Healthz, 200, Duration::ZERO);
        let (a, thread) = answering_core(answering, 0);
        // A core whose update channel is never drained.
        let (stuck, _kept) = crossbeam_channel::unbounded::<CoreUpdate>();
        let last = Mutex::default();
        let merged = scrape(&[a, stuck.clone()], &last, Duration::from_millis(50));
        thread.join().unwrap();
        assert_eq!(merged.cores, 1);
        assert_eq!(merged.route(RouteLabel::Healthz).status_count(200), 1);
        // Next time the first core is stuck: its last answer still counts, so counters never go back.
        let (stuck_too, _kept_too) = crossbeam_channel::unbounded::<CoreUpdate>();
        let merged = scrape(&[stuck_too, stuck], &last, Duration::from_millis(50));
        assert_eq!(merged.cores, 1);
        assert_eq!(merged.route(RouteLabel::Healthz).status_count(200), 1);
    }
}
