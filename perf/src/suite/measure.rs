//! CPU accounting around one run: the contender's processes, kube-sim, this process's finished children (the
//! load generator) and the whole machine, read from `/proc` before and after.

use super::procfs;
use std::time::Instant;

/// CPU counters at one instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    proxy: u64,
    sim: u64,
    load: u64,
    busy: u64,
    total: u64,
    at: Instant,
}

/// Reads the counters for the contender's `proxy_pids` and kube-sim's `sim_pid`.
pub(crate) fn sample(proxy_pids: &[u32], sim_pid: u32) -> Sample {
    let (busy, total) = procfs::machine_ticks();
    Sample {
        proxy: procfs::ticks(proxy_pids),
        sim: procfs::ticks(&[sim_pid]),
        load: procfs::own_children_ticks(),
        busy,
        total,
        at: Instant::now(),
    }
}

/// What happened between two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cost {
    /// The proxy's CPU, in µs.
    pub(crate) proxy_us: f64,
    /// kube-sim's CPU, in µs.
    pub(crate) sim_us: f64,
    /// Wall-clock seconds.
    pub(crate) seconds: f64,
    /// CPU used by anything but the proxy, kube-sim and the load generator, in % of all cores.
    pub(crate) other_pct: f64,
}

/// The cost between `before` and `after`, with `hz` clock ticks per second.
pub(crate) fn cost(before: &Sample, after: &Sample, hz: f64) -> Cost {
    let us = |ticks: u64| ticks as f64 * 1e6 / hz;
    let proxy = after.proxy.saturating_sub(before.proxy);
    let sim = after.sim.saturating_sub(before.sim);
    let load = after.load.saturating_sub(before.load);
    let busy = after.busy.saturating_sub(before.busy);
    let total = after.total.saturating_sub(before.total);
    let other = busy as f64 - (proxy + sim + load) as f64;
    Cost {
        proxy_us: us(proxy),
        sim_us: us(sim),
        seconds: after.at.duration_since(before.at).as_secs_f64(),
        other_pct: if total > 0 {
            (100.0 * other / total as f64).max(0.0)
        } else {
            0.0
        },
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
    }

    #[test]
    fn costs_from_ticks() {
        let at = Instant::now();
        let before = Sample {
            proxy: 100,
            sim: 50,
            load: 10,
            busy: 1000,
            total: 4000,
            at,
        };
        let after = Sample {
            proxy: 150,
            sim: 70,
            load: 30,
            busy: 1100,
            total: 4400,
            at,
        };
        let c = cost(&before, &after, 100.0);
        assert_eq!(c.proxy_us, 500_000.0);
        assert_eq!(c.sim_us, 200_000.0);
        assert_eq!(c.other_pct, 100.0 * 10.0 / 400.0);
    }
}
