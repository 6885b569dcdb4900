//! Giving memory back to the system once a burst of connections is over.
//!
//! Every connection holds read and TLS buffers while it is open. glibc's `malloc` keeps what they free in its
//! arenas: measured with `perf/burst-memory.sh`, 2,000 TLS connections at once left the proxy at 184 MB of RSS
//! after every one of them had closed (21 MB once `malloc_trim` ran; 16 MB before the burst). A core that sees
//! its connections (client ones and pooled upstream ones) fall by `FALL` and by half asks the allocator to
//! return its free pages. This runs on the core's update tick, never on the request path, and only after such a
//! fall.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// How many connections must have gone, on one core, for a trim.
const FALL: u64 = 128;
/// The shortest time between two trims of one core.
const SPACING: Duration = Duration::from_secs(5);

/// Watches one core's connections for the end of a burst.
#[derive(Debug)]
pub struct BurstTrim {
    /// The most connections seen since the last trim.
    high: Cell<u64>,
    last: Cell<Option<Instant>>,
}

impl Default for BurstTrim {
    fn default() -> Self {
        Self {
            high: Cell::new(0),
            last: Cell::new(None),
        }
    }
}

impl BurstTrim {
    /// Takes the core's connections at `now`; returns whether the allocator was asked to give memory back: when
    /// at least `FALL` connections and half of the high mark have gone, at most once per `SPACING`.
    pub fn observe(&self, connections: u64, now: Instant) -> bool {
        let high = self.high.get().max(connections);
        self.high.set(high);
        let fell = high - connections >= FALL && connections <= high / 2;
        let spaced = self
            .last
            .get()
            .is_none_or(|last| now.duration_since(last) >= SPACING);
        if fell && spaced {
            self.high.set(connections);
            self.last.set(Some(now));
            release_free_memory();
            return true;
        }
        false
    }
}

/// Returns the allocator's free pages to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // one libc call; measured reason in the module header
fn release_free_memory() {
    // SAFETY: `malloc_trim` only walks glibc's own arenas (under their locks) and hands unused pages back with
    // `madvise`; it touches no memory the program owns and may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators and C libraries return memory on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trim_follows_only_a_large_fall() {
        let trim = BurstTrim::default();
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        // Small fluctuations never trim.
        for (t, open) in [0, 10, 100, 3, 127, 0].into_iter().enumerate() {
            assert!(!trim.observe(open, at(t as u64)), "{open}");
        }
        // A burst of 1,000 that falls to half trims once, then counts from where it fell.
        assert!(!trim.observe(1000, at(10)));
        assert!(!trim.observe(600, at(11)));
        assert!(trim.observe(500, at(12)));
        assert!(!trim.observe(450, at(13)));
        // The pooled connections going later trim again, once the spacing allows.
        assert!(!trim.observe(200, at(14)), "too soon after the last trim");
        assert!(trim.observe(100, at(18)));
        assert!(!trim.observe(0, at(30)), "fewer than FALL connections went since");
    }
}
