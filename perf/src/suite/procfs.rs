//! Reading `/proc`: a process's CPU ticks, its descendants, RSS and open files; the machine's busy time and load.

use std::fs;

/// utime + stime of one `/proc/<pid>/stat` line, in clock ticks. The command name may hold spaces and
/// parentheses, so fields are counted after the last `)`.
pub(crate) fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(0) ppid(1) … utime(11) stime(12).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// cutime + cstime of one `/proc/<pid>/stat` line: the CPU of the children it has waited for, in ticks.
pub(crate) fn parse_stat_child_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(cutime + cstime)
}

/// CPU ticks (user + system) of `pids`, summed; a process that is gone counts 0.
pub(crate) fn ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| parse_stat_ticks(&stat))
        .sum()
}

/// CPU ticks of the children this process has waited for (its load generators, once they exited).
pub(crate) fn own_children_ticks() -> u64 {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| parse_stat_child_ticks(&stat))
        .unwrap_or(0)
}

/// `pid` and every live descendant (nginx's and HAProxy's workers), parents first.
pub(crate) fn tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut next = 0;
    while next < all.len() {
        let parent = all[next];
        next += 1;
        let Ok(tasks) = fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children = fs::read_to_string(task.path().join("children")).unwrap_or_default();
            all.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
    }
    all
}

/// The value in KiB of a `Name:   123 kB` line of a `/proc/<pid>/status` text.
pub(crate) fn parse_status_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// `VmRSS` of `pids` summed, in KiB.
pub(crate) fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| parse_status_kib(&status, "VmRSS"))
        .sum()
}

/// Open file descriptors of `pids` summed.
pub(crate) fn fd_count(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| fs::read_dir(format!("/proc/{pid}/fd")).ok())
        .map(|dir| dir.count() as u64)
        .sum()
}

/// Busy and total ticks of all cores from the `cpu ` line of `/proc/stat` (busy leaves out idle and iowait).
pub(crate) fn parse_machine_ticks(proc_stat: &str) -> Option<(u64, u64)> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    if values.len() < 5 {
        return None;
    }
    let total: u64 = values.iter().sum();
    Some((total - values[3] - values[4], total))
}

/// Busy and total ticks of the machine now; (0, 0) when `/proc/stat` is unreadable.
pub(crate) fn machine_ticks() -> (u64, u64) {
    fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|text| parse_machine_ticks(&text))
        .unwrap_or((0, 0))
}

/// The 1-minute load average.
pub(crate) fn load_average() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Clock ticks per second (`CLK_TCK`).
pub(crate) fn ticks_per_second() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

/// Online cores (`nproc`).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let stat = "4242 (nginx: worker (x)) S 1 4242 4242 0 -1 4194624 100 0 0 0 37 12 5 6 20 0 1 0 1 2 3";
        assert_eq!(parse_stat_ticks(stat), Some(49));
        assert_eq!(parse_stat_child_ticks(stat), Some(11));
        assert_eq!(parse_stat_ticks("garbage"), None);
        assert_eq!(parse_stat_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn machine_ticks_leave_out_idle_and_iowait() {
        let text = "cpu  100 5 50 1000 20 3 2 0 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n";
        assert_eq!(parse_machine_ticks(text), Some((160, 1180)));
        assert_eq!(parse_machine_ticks("intr 1 2 3"), None);
    }

    #[test]
    fn status_values_in_kib() {
        let status = "Name:\tnginx\nVmRSS:\t    5120 kB\nVmHWM:\t 6000 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(5120));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn this_process_is_in_its_own_tree() {
        let me = std::process::id();
        assert_eq!(tree(me).first(), Some(&me));
        assert!(ticks(&[me]) < u64::MAX);
        assert!(rss_kib(&[me]) > 0);
        assert!(fd_count(&[me]) > 0);
    }
}
