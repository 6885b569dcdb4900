//! How long a failing watch waits before its next attempt: exponential from [`Backoff::FIRST`] to
//! [`Backoff::MAX`], each delay drawn between half and all of the current step (so replicas that failed
//! together do not retry together), never shorter than what the API server asked for (`retryAfterSeconds`),
//! and back to the first step once a watch has streamed for [`Backoff::STABLE`].

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// The delays of one watch's retries.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    step: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { step: Self::FIRST }
    }
}

impl Backoff {
    /// The first step.
    pub(crate) const FIRST: Duration = Duration::from_millis(500);
    /// The largest step.
    pub(crate) const MAX: Duration = Duration::from_secs(30);
    /// A watch that streamed this long before it ended starts over from the first step.
    pub(crate) const STABLE: Duration = Duration::from_secs(60);

    /// The next delay, with a random jitter; at least `server_asked` (capped at [`Backoff::MAX`]).
    pub(crate) fn next_delay(&mut self, server_asked: Option<Duration>) -> Duration {
        self.next_delay_with(jitter(), server_asked)
    }

    /// The next delay for a jitter `fraction` in `[0, 1]`: `step × (1 − fraction / 2)`, then the step doubles.
    pub(crate) fn next_delay_with(&mut self, fraction: f64, server_asked: Option<Duration>) -> Duration {
        let jittered = self.step.mul_f64(1.0 - fraction.clamp(0.0, 1.0) / 2.0);
        self.step = (self.step * 2).min(Self::MAX);
        jittered.max(server_asked.unwrap_or_default().min(Self::MAX))
    }

    /// A watch streamed for `streamed`: after [`Backoff::STABLE`] the next failure starts from the first step.
    pub(crate) fn streamed(&mut self, streamed: Duration) {
        if streamed >= Self::STABLE {
            self.step = Self::FIRST;
        }
    }
}

/// A random fraction in `[0, 1]`, from the standard library's per-instance random hash keys.
fn jitter() -> f64 {
    let bits = RandomState::new().hash_one(0_u8);
    (bits >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_largest_step() {
        let mut backoff = Backoff::default();
        let delays: Vec<_> = (0..9).map(|_| backoff.next_delay_with(0.0, None)).collect();
        let secs: Vec<f64> = delays.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
    }

    #[test]
    fn jitter_takes_off_at_most_half() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.next_delay_with(1.0, None), Duration::from_millis(250));
        assert_eq!(backoff.next_delay_with(0.5, None), Duration::from_millis(750));
        for _ in 0..1000 {
            let mut fresh = Backoff::default();
            let delay = fresh.next_delay(None);
            assert!(
                (Duration::from_millis(250)..=Duration::from_millis(500)).contains(&delay),
                "{delay:?}"
            );
        }
    }

    #[test]
    fn the_servers_retry_after_is_a_floor_capped_at_the_largest_step() {
        let mut backoff = Backoff::default();
        assert_eq!(
            backoff.next_delay_with(0.0, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            backoff.next_delay_with(0.0, Some(Duration::from_millis(10))),
            Duration::from_secs(1),
            "the step itself when the server asks for less"
        );
        assert_eq!(
            backoff.next_delay_with(0.0, Some(Duration::from_secs(3600))),
            Backoff::MAX
        );
    }

    #[test]
    fn a_stable_watch_starts_over() {
        let mut backoff = Backoff::default();
        for _ in 0..5 {
            backoff.next_delay_with(0.0, None);
        }
        backoff.streamed(Duration::from_secs(5));
        assert_eq!(backoff.next_delay_with(0.0, None), Duration::from_secs(16));
        backoff.streamed(Backoff::STABLE);
        assert_eq!(backoff.next_delay_with(0.0, None), Backoff::FIRST);
    }
}
