//! What the rest of the process may read about the control plane: synced or not, the published snapshot's
//! generation and age, watch restarts. Read by probes and metrics, never on the request path.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Shared, lock-free status of the control plane.
#[derive(Debug, Default)]
pub struct ControlStatus {
    synced: AtomicBool,
    shutting_down: AtomicBool,
    generation: AtomicU64,
    published_unix_ms: AtomicU64,
    watch_restarts: AtomicU64,
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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

    /// Generation of the last published snapshot (0: none yet).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Time since the last snapshot was published, if one was.
    pub fn snapshot_age(&self) -> Option<Duration> {
        let published = self.published_unix_ms.load(Ordering::Acquire);
        (published != 0).then(|| Duration::from_millis(now_unix_ms().saturating_sub(published)))
    }

    /// How many times a watch failed and restarted.
    pub fn watch_restarts(&self) -> u64 {
        self.watch_restarts.load(Ordering::Relaxed)
    }

    pub(crate) fn published(&self, generation: u64) {
        self.generation.store(generation, Ordering::Release);
        self.published_unix_ms.store(now_unix_ms(), Ordering::Release);
        self.synced.store(true, Ordering::Release);
    }

    pub(crate) fn count_watch_restart(&self) {
        self.watch_restarts.fetch_add(1, Ordering::Relaxed);
    }
}
