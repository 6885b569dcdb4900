//! What the rest of the process may read about the control plane: synced or not, the published snapshot's
//! generation and how long it may have been out of date, each watch's health, watch restarts, and whether the
//! replica is ready. Read by probes and metrics, never on the request path.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::watch_health::{Staleness, Transition, WatchHealth, WatchStatus};

/// The default of `--readiness-stale-after`: how long the snapshot may be stale before `/readyz` fails.
pub const DEFAULT_READINESS_STALE_AFTER: Duration = Duration::from_secs(300);

/// Shared status of the control plane.
#[derive(Debug)]
pub struct ControlStatus {
    synced: AtomicBool,
    shutting_down: AtomicBool,
    generation: AtomicU64,
    watch_restarts: AtomicU64,
    /// `--readiness-stale-after` in milliseconds; 0: readiness does not follow watch health.
    readiness_stale_after_ms: AtomicU64,
    health: Mutex<WatchHealth>,
}

impl Default for ControlStatus {
    fn default() -> Self {
        Self {
            synced: AtomicBool::default(),
            shutting_down: AtomicBool::default(),
            generation: AtomicU64::default(),
            watch_restarts: AtomicU64::default(),
            readiness_stale_after_ms: AtomicU64::new(millis(DEFAULT_READINESS_STALE_AFTER)),
            health: Mutex::default(),
        }
    }
}

/// Whether the replica should take traffic, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// It filters with a current snapshot (or one stale for no longer than allowed).
    Ready,
    /// It is shutting down.
    ShuttingDown,
    /// No ownership snapshot has reached the cores yet.
    NotSynced,
    /// The snapshot has been stale for longer than `--readiness-stale-after`.
    Stale {
        /// The bound it passed.
        bound: Duration,
        /// How stale, and which watches are down.
        staleness: Staleness,
    },
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl ControlStatus {
    /// Whether every watch has finished its first list and a snapshot was published.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// Whether the process is shutting down (`/readyz` then fails, so no new traffic is sent).
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Marks the process as shutting down.
    pub fn set_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    /// How long the snapshot may be stale before `/readyz` fails (`--readiness-stale-after`); `None` (the flag's
    /// `0`): readiness does not follow watch health.
    pub fn set_readiness_stale_after(&self, bound: Option<Duration>) {
        let ms = bound.map_or(0, |b| millis(b).max(1));
        self.readiness_stale_after_ms.store(ms, Ordering::Release);
    }

    /// Generation of the last published snapshot (0: none yet).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// How long the published snapshot may have been out of date: zero while every watch that ever streamed
    /// streams, else the time since the first of them went down. `None` before the first snapshot.
    pub fn snapshot_age(&self) -> Option<Duration> {
        self.snapshot_age_at(Instant::now())
    }

    fn snapshot_age_at(&self, now: Instant) -> Option<Duration> {
        self.is_synced().then(|| self.health().stale_for(now))
    }

    /// Every watch of the control plane and whether it streams, ordered by resource.
    pub fn watches(&self) -> Vec<WatchStatus> {
        self.health().watches()
    }

    /// How many times a watch failed and restarted.
    pub fn watch_restarts(&self) -> u64 {
        self.watch_restarts.load(Ordering::Relaxed)
    }

    /// Whether `/readyz` should pass now.
    pub fn readiness(&self) -> Readiness {
        self.readiness_at(Instant::now())
    }

    fn readiness_at(&self, now: Instant) -> Readiness {
        if self.is_shutting_down() {
            return Readiness::ShuttingDown;
        }
        if !self.is_synced() {
            return Readiness::NotSynced;
        }
        let bound = self.readiness_stale_after_ms.load(Ordering::Acquire);
        if bound == 0 {
            return Readiness::Ready;
        }
        let bound = Duration::from_millis(bound);
        match self.health().stale_beyond(bound, now) {
            Some(staleness) => Readiness::Stale { bound, staleness },
            None => Readiness::Ready,
        }
    }

    pub(crate) fn published(&self, generation: u64) {
        self.generation.store(generation, Ordering::Release);
        self.synced.store(true, Ordering::Release);
    }

    pub(crate) fn watch_registered(&self, resource: &str) {
        self.health().register(resource);
    }

    /// A watch of `resource` failed: counted, and its state changes (the caller logs the transition).
    pub(crate) fn watch_failed(&self, resource: &str) -> Transition {
        self.watch_restarts.fetch_add(1, Ordering::Relaxed);
        self.health().failed(resource, Instant::now())
    }

    /// A watch request of `resource` was accepted.
    pub(crate) fn watch_streaming(&self, resource: &str) -> Transition {
        self.health().streaming(resource, Instant::now())
    }

    fn health(&self) -> MutexGuard<'_, WatchHealth> {
        // The bookkeeping stays consistent even if a holder panicked: each update is one assignment.
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_sync_staleness_and_shutdown() {
        let status = ControlStatus::default();
        status.watch_registered("tenants");
        assert_eq!(status.readiness(), Readiness::NotSynced);
        assert_eq!(status.snapshot_age(), None, "no age before the first snapshot");
        status.watch_streaming("tenants");
        status.published(1);
        assert_eq!(status.readiness(), Readiness::Ready);
        assert_eq!(status.snapshot_age(), Some(Duration::ZERO));

        status.set_readiness_stale_after(Some(Duration::from_secs(1)));
        status.watch_failed("tenants");
        assert_eq!(status.watch_restarts(), 1);
        let soon = Instant::now() + Duration::from_millis(500);
        let later = Instant::now() + Duration::from_secs(2);
        assert_eq!(
            status.readiness_at(soon),
            Readiness::Ready,
            "stale, but within the bound"
        );
        let Readiness::Stale { bound, staleness } = status.readiness_at(later) else {
            panic!("stale past the bound: {:?}", status.readiness_at(later));
        };
        assert_eq!(bound, Duration::from_secs(1));
        assert!(staleness.stale_for > Duration::from_secs(1));
        assert_eq!(staleness.down.len(), 1);
        assert_eq!(staleness.down[0].0, "tenants");
        assert!(
            status
                .snapshot_age_at(later)
                .is_some_and(|age| age > Duration::from_secs(1))
        );

        status.set_readiness_stale_after(None);
        assert_eq!(
            status.readiness_at(later),
            Readiness::Ready,
            "0: readiness ignores watches"
        );
        status.set_readiness_stale_after(Some(Duration::from_secs(1)));
        status.watch_streaming("tenants");
        assert_eq!(status.readiness_at(later), Readiness::Ready, "healed");
        assert_eq!(status.snapshot_age_at(later), Some(Duration::ZERO));

        status.set_shutting_down();
        assert_eq!(status.readiness(), Readiness::ShuttingDown);
    }
}
