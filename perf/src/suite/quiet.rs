//! The quiet-machine gate: before a round, wait (bounded) until the 1-minute load average is low and a short
//! `/proc/stat` sample shows the cores nearly idle; a round measured on a busy machine is marked DISTURBED.

use super::procfs;
use std::time::{Duration, Instant};

/// Cores busier than this (in %) over the sample make the machine not quiet.
pub(crate) const BUSY_MAX_PCT: f64 = 10.0;
/// A run during which everything else used more than this (% of all cores) is DISTURBED.
pub(crate) const OTHER_MAX_PCT: f64 = 5.0;

/// What the gate saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Gate {
    /// Whether the machine was quiet when the wait ended.
    pub(crate) quiet: bool,
    /// Seconds waited.
    pub(crate) waited_s: f64,
    /// Busy % of the last sample.
    pub(crate) busy_pct: f64,
    /// The 1-minute load average at the end.
    pub(crate) load: f64,
}

/// How busy the cores are over `sample`, in %.
pub(crate) fn busy_pct(sample: Duration) -> f64 {
    let (b0, t0) = procfs::machine_ticks();
    std::thread::sleep(sample);
    let (b1, t1) = procfs::machine_ticks();
    let total = t1.saturating_sub(t0);
    if total == 0 {
        return 0.0;
    }
    100.0 * b1.saturating_sub(b0) as f64 / total as f64
}

/// Waits up to `max_wait` for a quiet machine; `check_load` also requires the 1-minute load average under
/// `load_max` (only before the first round: the suite's own runs raise it afterwards).
pub(crate) fn wait(max_wait: Duration, check_load: bool, load_max: f64) -> Gate {
    let start = Instant::now();
    let mut announced = false;
    loop {
        let busy = busy_pct(Duration::from_secs(2));
        let load = procfs::load_average();
        let quiet = busy < BUSY_MAX_PCT && (!check_load || load < load_max);
        let waited_s = start.elapsed().as_secs_f64();
        if quiet || start.elapsed() >= max_wait {
            if !quiet {
                eprintln!(
                    "    machine still busy after {waited_s:.0} s ({busy:.0} % busy, load {load:.2}); measuring anyway"
                );
            }
            return Gate {
                quiet,
                waited_s,
                busy_pct: busy,
                load,
            };
        }
        if !announced {
            eprintln!(
                "    waiting for a quiet machine ({busy:.0} % busy, load {load:.2}; up to {} s)",
                max_wait.as_secs()
            );
            announced = true;
        }
    }
}
