//! The scenarios, by stable name: what each sends, as whom, on how many connections, through which contenders.

/// The small pass-through GET: one pod, as alice (a token every proxy passes through).
pub(crate) const SMALL_GET: &str = "/api/v1/namespaces/oil-dev/pods/web";
/// The watched object's collection.
pub(crate) const WATCH_PATH: &str = "/api/v1/namespaces/perf-watch/configmaps?watch=true";
/// The object `perf-load churn` updates.
pub(crate) const TICK_PATH: &str = "/api/v1/namespaces/perf-watch/configmaps/tick";
/// The exec session `perf-load exec` streams through `cat`.
pub(crate) const EXEC_PATH: &str =
    "/api/v1/namespaces/oil-dev/pods/web/exec?command=cat&stdin=true&stdout=true";

/// How a scenario loads the contenders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Load {
    /// wrk, keep-alive GETs of `path` as `who` (a kube-sim identity with a token).
    Wrk {
        /// Request path.
        path: &'static str,
        /// kube-sim identity.
        who: &'static str,
        /// Connections.
        connections: usize,
    },
    /// perf-load get: a new TLS connection per request, or a client certificate.
    Get {
        /// Request path.
        path: &'static str,
        /// kube-sim identity; `-cert` identities send their client certificate.
        who: &'static str,
        /// Connections.
        connections: usize,
        /// A new TCP + TLS connection for every request.
        new_connection: bool,
    },
    /// Held TLS watches: memory and fds per watch.
    IdleWatches,
    /// Events delivered to the held watches while the watched object changes.
    WatchEvents,
    /// A stream through `cat` in an exec session.
    Exec,
    /// An owner's all-namespaces pod list (the fan-out) against the admin's pass-through list.
    FanOut,
    /// snapshot-bench at 10k tenants / 100k namespaces.
    Snapshot,
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scenario {
    /// Stable name.
    pub(crate) name: String,
    /// One sentence for the report.
    pub(crate) description: String,
    /// How it loads.
    pub(crate) load: Load,
    /// Only `ours` runs it (the others are not comparable).
    pub(crate) ours_only: bool,
    /// Runs with one data-plane core instead of `--cores`.
    pub(crate) one_core: bool,
    /// A headline scenario: `--rounds` rounds (the others run once).
    pub(crate) headline: bool,
}

fn scenario(name: &str, description: String, load: Load) -> Scenario {
    Scenario {
        name: name.into(),
        description,
        load,
        ours_only: false,
        one_core: false,
        headline: false,
    }
}

/// Every scenario, in the order they run, for `cores` data-plane cores (the `-1core` ones are left out when
/// `cores` is 1 already).
pub(crate) fn all(cores: usize) -> Vec<Scenario> {
    let wrk = |path, who, connections| Load::Wrk {
        path,
        who,
        connections,
    };
    let mut list = Vec::new();
    for c in [1, 16, 128] {
        list.push(scenario(
            &format!("small-get-c{c}"),
            format!("GET {SMALL_GET} (606 B) as alice (bearer), wrk, {c} keep-alive TLS connections"),
            wrk(SMALL_GET, "alice", c),
        ));
    }
    list.push(scenario(
        "list-10k-tls",
        "GET /api/v1/namespaces/perf-10k/configmaps (≈10 KB, chunked from the TLS upstream) as admin, wrk, 16 connections"
            .into(),
        wrk("/api/v1/namespaces/perf-10k/configmaps", "admin", 16),
    ));
    list.push(scenario(
        "new-tls-per-request",
        format!(
            "GET {SMALL_GET} as alice, a new TCP + TLS connection per request, perf-load, 16 connections"
        ),
        Load::Get {
            path: SMALL_GET,
            who: "alice",
            connections: 16,
            new_connection: true,
        },
    ));
    list.push(scenario(
        "namespaces-admin",
        "GET /api/v1/namespaces as admin (passed through), wrk, 16 connections".into(),
        wrk("/api/v1/namespaces", "admin", 16),
    ));
    let mut owner = scenario(
        "namespaces-owner-bearer",
        "GET /api/v1/namespaces as alice with her token: filtered to her tenants' namespaces, wrk, 16 connections".into(),
        wrk("/api/v1/namespaces", "alice", 16),
    );
    owner.ours_only = true;
    list.push(owner);
    let mut cert = scenario(
        "namespaces-owner-cert",
        "GET /api/v1/namespaces as alice with her client certificate (impersonated upstream), perf-load, 16 connections"
            .into(),
        Load::Get { path: "/api/v1/namespaces", who: "alice-cert", connections: 16, new_connection: false },
    );
    cert.ours_only = true;
    list.push(cert);
    list.push(scenario(
        "list-1m",
        "GET /api/v1/namespaces/perf-1m/configmaps (≈1 MB) as admin, wrk, 4 connections".into(),
        wrk("/api/v1/namespaces/perf-1m/configmaps", "admin", 4),
    ));
    list.push(scenario(
        "list-20m",
        "GET /api/v1/namespaces/perf-20m/configmaps (≈20 MB) as admin, wrk, 2 connections".into(),
        wrk("/api/v1/namespaces/perf-20m/configmaps", "admin", 2),
    ));
    list.push(scenario(
        "idle-watches",
        format!("TLS watches of {WATCH_PATH} as admin held open (perf-load watch): memory and fds per watch"),
        Load::IdleWatches,
    ));
    list.push(scenario(
        "watch-events",
        format!("the same watches while perf-load churn updates {TICK_PATH}: proxy CPU per delivered event"),
        Load::WatchEvents,
    ));
    list.push(scenario(
        "exec",
        "bytes streamed through `cat` in a WebSocket exec session as admin (perf-load exec): MiB/s, CPU per MiB".into(),
        Load::Exec,
    ));
    let mut fan = scenario(
        "fan-out-100",
        "GET /api/v1/pods as erin (owner of 100 namespaces, 5 pods each: the fan-out) against the same list as admin \
         (passed through), wrk, 4 connections"
            .into(),
        Load::FanOut,
    );
    fan.ours_only = true;
    list.push(fan);
    let mut snapshot = scenario(
        "snapshot-scale",
        "snapshot-bench: ownership index and snapshot of 10k tenants / 100k namespaces, and the per-request decision"
            .into(),
        Load::Snapshot,
    );
    snapshot.ours_only = true;
    list.push(snapshot);
    if cores > 1 {
        for base in ["small-get-c16", "list-10k-tls"] {
            if let Some(two) = list.iter().find(|s| s.name == base).cloned() {
                let mut one = two;
                one.name = format!("{base}-1core");
                one.description = format!(
                    "{} — one data-plane core (workers, threads, GOMAXPROCS = 1)",
                    one.description
                );
                one.one_core = true;
                list.push(one);
            }
        }
    }
    for s in &mut list {
        if s.name == "small-get-c16" || s.name == "list-10k-tls" {
            s.headline = true;
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_unique() {
        let list = all(2);
        let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
        for name in [
            "small-get-c1",
            "small-get-c16",
            "small-get-c128",
            "list-10k-tls",
            "new-tls-per-request",
            "namespaces-admin",
            "namespaces-owner-bearer",
            "namespaces-owner-cert",
            "list-1m",
            "list-20m",
            "idle-watches",
            "watch-events",
            "exec",
            "fan-out-100",
            "snapshot-scale",
            "small-get-c16-1core",
            "list-10k-tls-1core",
        ] {
            assert!(names.contains(&name), "{name} missing");
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert!(!all(1).iter().any(|s| s.one_core));
        let headline: Vec<&str> = list
            .iter()
            .filter(|s| s.headline)
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(headline, ["small-get-c16", "list-10k-tls"]);
    }
}
