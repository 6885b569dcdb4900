//! Latency histograms with log-linear buckets: 128 linear sub-buckets per power of two, so any recorded value
//! is reported within 1/256 (0.4 %) of itself. Values are nanoseconds; quantiles come out in microseconds.
//!
//! [`Histogram`] is plain counters, one per connection task, merged at the end; [`SharedHistogram`] is the
//! same layout with atomic counters, shared by thousands of watch tasks without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// Sub-buckets per power of two, as a power of two: 2^7 = 128, a bucket at most 1/128 of its value wide.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets covering every `u64`: the first `SUB` values exactly, then `SUB` per power of two above.
const BUCKETS: usize = (SUB as usize) * (64 - SUB_BITS as usize + 1);

/// The bucket a value falls into.
fn index(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let exp = 63 - value.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    let sub = (value >> shift) - SUB; // 0..SUB
    (SUB + u64::from(shift) * SUB + sub) as usize
}

/// The lowest value and the width of a bucket.
fn bounds(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < SUB {
        return (index, 1);
    }
    let shift = (index - SUB) / SUB;
    let sub = (index - SUB) % SUB;
    ((SUB + sub) << shift, 1 << shift)
}

/// The value reported for a bucket: its midpoint (within half a bucket, 1/256, of anything in it).
fn representative(index: usize) -> u64 {
    let (low, width) = bounds(index);
    low + (width - 1) / 2
}

/// A histogram of nanosecond values, owned by one task.
#[derive(Clone, Debug)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram (about 60 KiB of counters).
    pub(crate) fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            sum: 0,
            max: 0,
        }
    }

    /// Records one value, in nanoseconds.
    pub(crate) fn record(&mut self, nanos: u64) {
        self.counts[index(nanos)] += 1;
        self.total += 1;
        self.sum += u128::from(nanos);
        self.max = self.max.max(nanos);
    }

    /// Adds every value recorded in `other`.
    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// How many values were recorded.
    pub(crate) fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0.0..=1.0) in nanoseconds: the smallest bucket holding at least `q` of the
    /// values, reported by its midpoint; 0 when empty.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return representative(i).min(self.max);
            }
        }
        self.max
    }

    /// The quantile `q` in microseconds, rounded to 0.1 µs.
    pub(crate) fn quantile_us(&self, q: f64) -> f64 {
        round_us(self.quantile(q))
    }

    /// The mean in microseconds, rounded to 0.1 µs; 0 when empty.
    pub(crate) fn mean_us(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        round_us((self.sum / u128::from(self.total)) as u64)
    }

    /// The largest value in microseconds, rounded to 0.1 µs.
    pub(crate) fn max_us(&self) -> f64 {
        round_us(self.max)
    }
}

/// Nanoseconds as microseconds with one decimal.
fn round_us(nanos: u64) -> f64 {
    (nanos as f64 / 100.0).round() / 10.0
}

/// A histogram many tasks record into at once, with relaxed atomic counters.
#[derive(Debug)]
pub(crate) struct SharedHistogram {
    counts: Vec<AtomicU64>,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Default for SharedHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedHistogram {
    /// An empty histogram.
    pub(crate) fn new() -> Self {
        Self {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    /// Records one value, in nanoseconds.
    pub(crate) fn record(&self, nanos: u64) {
        self.counts[index(nanos)].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(nanos, Ordering::Relaxed);
        self.max.fetch_max(nanos, Ordering::Relaxed);
    }

    /// A plain copy of what was recorded so far.
    pub(crate) fn snapshot(&self) -> Histogram {
        let mut out = Histogram::new();
        for (to, from) in out.counts.iter_mut().zip(&self.counts) {
            *to = from.load(Ordering::Relaxed);
        }
        out.total = out.counts.iter().sum();
        out.sum = u128::from(self.sum.load(Ordering::Relaxed));
        out.max = self.max.load(Ordering::Relaxed);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range_without_gaps() {
        let mut next = 0u64;
        for i in 0..BUCKETS {
            let (low, width) = bounds(i);
            assert_eq!(low, next, "bucket {i}");
            assert_eq!(index(low), i);
            assert_eq!(index(low + (width - 1)), i);
            next = match low.checked_add(width) {
                Some(n) => n,
                None => break,
            };
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn relative_error_is_below_one_percent() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            let r = representative(index(v));
            let err = (r as f64 - v as f64).abs() / v as f64;
            assert!(err <= 1.0 / 128.0, "{v} -> {r}");
            v = v * 3 / 2 + 1;
        }
    }

    #[test]
    fn quantiles_of_a_uniform_range() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 1_000); // 1 µs .. 10 ms
        }
        assert_eq!(h.count(), 10_000);
        let close = |got: f64, want: f64| (got - want).abs() / want < 0.01;
        assert!(close(h.quantile_us(0.5), 5_000.0), "{}", h.quantile_us(0.5));
        assert!(close(h.quantile_us(0.99), 9_900.0), "{}", h.quantile_us(0.99));
        assert!(close(h.quantile_us(0.999), 9_990.0), "{}", h.quantile_us(0.999));
        assert_eq!(h.max_us(), 10_000.0);
        assert!(close(h.mean_us(), 5_000.5));
    }

    #[test]
    fn empty_and_single_values() {
        let h = Histogram::new();
        assert_eq!(h.quantile(0.5), 0);
        assert_eq!(h.mean_us(), 0.0);
        let mut h = Histogram::new();
        h.record(42);
        assert_eq!(h.quantile(0.0), 42);
        assert_eq!(h.quantile(1.0), 42);
    }

    #[test]
    fn merge_and_shared_snapshot_agree() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        let shared = SharedHistogram::new();
        for v in 0..1_000u64 {
            let nanos = v * v * 37;
            if v % 2 == 0 {
                a.record(nanos)
            } else {
                b.record(nanos)
            }
            shared.record(nanos);
        }
        a.merge(&b);
        let s = shared.snapshot();
        assert_eq!(a.count(), s.count());
        for q in [0.1, 0.5, 0.9, 0.99, 1.0] {
            assert_eq!(a.quantile(q), s.quantile(q));
        }
        assert_eq!(a.max_us(), s.max_us());
    }
}
