//! Which of the control plane's watches stream, and since when the published snapshot may be out of date: the
//! bookkeeping behind `capsule_proxy_watch_up`, `capsule_proxy_snapshot_age_seconds` and `/readyz`, without
//! I/O (every report carries its time).
//!
//! A watch is *up* once it has listed and its watch request was accepted, *down* from the first failure after
//! that until a watch request is accepted again. The snapshot is *stale* from the moment the first watch went
//! down until no watch is down any more: a change made meanwhile may be missing from it. A watch that has never
//! been up (the API server does not serve the kind, or refuses it) is not up, but does not make the snapshot
//! stale: nothing of that kind was ever in it to go out of date.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What one watch is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not streamed yet; `failing` once an attempt failed.
    Starting { failing: bool },
    /// Listed and streaming.
    Up,
    /// Failed after streaming, `since` then.
    Down { since: Instant },
}

/// What a report changed, so the watch can log it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Nothing new: still failing, or still streaming.
    Unchanged,
    /// The first attempt to list and watch a kind failed.
    FailedToStart,
    /// A kind streams for the first time (`after_failures`: some attempts failed before).
    Started {
        /// Whether earlier attempts failed.
        after_failures: bool,
    },
    /// A streaming watch failed: changes of its kind are missed from now on.
    Broke,
    /// A broken watch streams again.
    Healed {
        /// How long it was down.
        down_for: Duration,
    },
}

/// One watch, as the metrics show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStatus {
    /// The watched resource (`tenants`, `namespaces`, …).
    pub resource: String,
    /// Whether it has listed and streams.
    pub up: bool,
}

/// Why the snapshot may be out of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staleness {
    /// Since the first of the watches down went down.
    pub stale_for: Duration,
    /// The watches down, with how long each has been down (ordered by resource).
    pub down: Vec<(String, Duration)>,
}

/// Every watch's state and the snapshot's staleness.
#[derive(Debug, Default)]
pub(crate) struct WatchHealth {
    watches: BTreeMap<String, State>,
    stale_since: Option<Instant>,
}

impl WatchHealth {
    /// A watch of `resource` starts (its gauge reads 0 until it streams).
    pub(crate) fn register(&mut self, resource: &str) {
        self.watches
            .entry(resource.to_string())
            .or_insert(State::Starting { failing: false });
    }

    /// A list or watch request of `resource` failed, or its stream did, at `now`.
    pub(crate) fn failed(&mut self, resource: &str, now: Instant) -> Transition {
        let state = self
            .watches
            .entry(resource.to_string())
            .or_insert(State::Starting { failing: false });
        match *state {
            State::Starting { failing: false } => {
                *state = State::Starting { failing: true };
                Transition::FailedToStart
            }
            State::Starting { failing: true } | State::Down { .. } => Transition::Unchanged,
            State::Up => {
                *state = State::Down { since: now };
                self.stale_since.get_or_insert(now);
                Transition::Broke
            }
        }
    }

    /// A watch request of `resource` was accepted at `now` (after a list, or resuming from the last version
    /// seen, which delivers every change since).
    pub(crate) fn streaming(&mut self, resource: &str, now: Instant) -> Transition {
        let state = self
            .watches
            .entry(resource.to_string())
            .or_insert(State::Starting { failing: false });
        let transition = match *state {
            State::Starting { failing } => Transition::Started {
                after_failures: failing,
            },
            State::Up => Transition::Unchanged,
            State::Down { since } => Transition::Healed {
                down_for: now.saturating_duration_since(since),
            },
        };
        *state = State::Up;
        if !self.watches.values().any(|s| matches!(s, State::Down { .. })) {
            self.stale_since = None;
        }
        transition
    }

    /// Every watch, ordered by resource.
    pub(crate) fn watches(&self) -> Vec<WatchStatus> {
        self.watches
            .iter()
            .map(|(resource, state)| WatchStatus {
                resource: resource.clone(),
                up: *state == State::Up,
            })
            .collect()
    }

    /// How long the snapshot may have been out of date at `now`: zero unless a watch is down.
    pub(crate) fn stale_for(&self, now: Instant) -> Duration {
        self.stale_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }

    /// The staleness at `now` when it is longer than `bound`, else `None`.
    pub(crate) fn stale_beyond(&self, bound: Duration, now: Instant) -> Option<Staleness> {
        let stale_for = self.stale_for(now);
        if self.stale_since.is_none() || stale_for <= bound {
            return None;
        }
        let down = self
            .watches
            .iter()
            .filter_map(|(resource, state)| match state {
                State::Down { since } => Some((resource.clone(), now.saturating_duration_since(*since))),
                _ => None,
            })
            .collect();
        Some(Staleness { stale_for, down })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn started(resources: &[&str], at: Instant) -> WatchHealth {
        let mut health = WatchHealth::default();
        for resource in resources {
            health.register(resource);
            assert_eq!(
                health.streaming(resource, at),
                Transition::Started {
                    after_failures: false
                }
            );
        }
        health
    }

    fn up(health: &WatchHealth) -> Vec<(String, bool)> {
        health.watches().into_iter().map(|w| (w.resource, w.up)).collect()
    }

    #[test]
    fn registered_watches_are_down_until_they_stream() {
        let t0 = Instant::now();
        let mut health = WatchHealth::default();
        health.register("tenants");
        health.register("namespaces");
        assert_eq!(
            up(&health),
            [("namespaces".into(), false), ("tenants".into(), false)]
        );
        health.streaming("tenants", t0);
        assert_eq!(
            up(&health),
            [("namespaces".into(), false), ("tenants".into(), true)]
        );
        assert_eq!(health.stale_for(t0 + S), Duration::ZERO);
    }

    #[test]
    fn a_kind_that_never_streams_does_not_make_the_snapshot_stale() {
        let t0 = Instant::now();
        let mut health = started(&["tenants"], t0);
        health.register("runtimeclasses");
        assert_eq!(health.failed("runtimeclasses", t0), Transition::FailedToStart);
        assert_eq!(health.failed("runtimeclasses", t0 + S), Transition::Unchanged);
        assert_eq!(health.stale_for(t0 + 600 * S), Duration::ZERO);
        assert_eq!(health.stale_beyond(Duration::ZERO, t0 + 600 * S), None);
        assert_eq!(
            health.streaming("runtimeclasses", t0 + 2 * S),
            Transition::Started { after_failures: true }
        );
    }

    #[test]
    fn stale_from_the_first_break_until_every_watch_streams_again() {
        let t0 = Instant::now();
        let mut health = started(&["namespaces", "proxysettings", "tenants"], t0);
        assert_eq!(health.failed("tenants", t0 + S), Transition::Broke);
        assert_eq!(health.failed("tenants", t0 + 2 * S), Transition::Unchanged);
        assert_eq!(health.failed("namespaces", t0 + 3 * S), Transition::Broke);
        assert_eq!(health.stale_for(t0 + 4 * S), 3 * S);
        assert_eq!(
            up(&health),
            [
                ("namespaces".into(), false),
                ("proxysettings".into(), true),
                ("tenants".into(), false)
            ]
        );

        // The first to break heals: still stale, and still counted from the first break.
        assert_eq!(
            health.streaming("tenants", t0 + 5 * S),
            Transition::Healed { down_for: 4 * S }
        );
        assert_eq!(health.stale_for(t0 + 6 * S), 5 * S);
        // The last one heals: current again.
        assert_eq!(
            health.streaming("namespaces", t0 + 7 * S),
            Transition::Healed { down_for: 4 * S }
        );
        assert_eq!(health.stale_for(t0 + 8 * S), Duration::ZERO);
        assert!(health.watches().iter().all(|w| w.up));
        assert_eq!(health.streaming("namespaces", t0 + 9 * S), Transition::Unchanged);

        // A later break counts from itself, not from the first one.
        assert_eq!(health.failed("proxysettings", t0 + 20 * S), Transition::Broke);
        assert_eq!(health.stale_for(t0 + 21 * S), S);
    }

    #[test]
    fn stale_beyond_a_bound_names_the_watches_down() {
        let t0 = Instant::now();
        let mut health = started(&["namespaces", "nodes", "tenants"], t0);
        health.failed("tenants", t0);
        health.failed("namespaces", t0 + 2 * S);
        assert_eq!(health.stale_beyond(5 * S, t0 + 5 * S), None, "not beyond yet");
        assert_eq!(
            health.stale_beyond(5 * S, t0 + 6 * S),
            Some(Staleness {
                stale_for: 6 * S,
                down: vec![("namespaces".into(), 4 * S), ("tenants".into(), 6 * S)],
            })
        );
        health.streaming("tenants", t0 + 7 * S);
        assert_eq!(
            health.stale_beyond(5 * S, t0 + 8 * S),
            Some(Staleness {
                stale_for: 8 * S,
                down: vec![("namespaces".into(), 6 * S)],
            })
        );
        health.streaming("namespaces", t0 + 9 * S);
        assert_eq!(health.stale_beyond(Duration::ZERO, t0 + 10 * S), None);
    }

    #[test]
    fn a_watch_reported_before_it_was_registered_is_tracked() {
        let t0 = Instant::now();
        let mut health = WatchHealth::default();
        assert_eq!(health.failed("apiservices", t0), Transition::FailedToStart);
        assert_eq!(up(&health), [("apiservices".into(), false)]);
        health.register("apiservices");
        assert_eq!(
            health.streaming("apiservices", t0 + S),
            Transition::Started { after_failures: true }
        );
    }
}
