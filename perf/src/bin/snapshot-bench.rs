//! `snapshot-bench`: what the ownership [`Index`] and [`Snapshot`] cost on a large cluster.
//!
//! ```text
//! cargo run --release -p perf --bin snapshot-bench -- [--tenants N --namespaces N --owners N --groups N --decisions N]
//! ```
//!
//! It generates a cluster deterministically (splitmix64, `--seed`), then measures: loading it with `reset_*` into
//! a fresh index, a relist that changes nothing, building a snapshot, dropping one, applying one changed tenant
//! and rebuilding, the memory index and snapshot take, and the per-request decision (`is_capsule_user`,
//! `proxy_tenants`, `namespaces()`) for a stream of random callers. See `perf/SNAPSHOT.md`.
//!
//! Memory is the growth of the process's `VmRSS` (and `VmHWM`, reset through `/proc/self/clear_refs`), not a
//! counting allocator: the workspace sets `unsafe_code = "forbid"`, which an `#![allow]` cannot lower (E0453),
//! and a `#[global_allocator]` needs an `unsafe impl GlobalAlloc`. It therefore includes glibc malloc's slack.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use capsule_proxy_policy::cluster_objects::{ClusterObjectRecord, ObjectKind};
use capsule_proxy_policy::decide::{self, DecideInput, Decision};
use capsule_proxy_policy::route::{Gates, Route};
use capsule_proxy_policy::selector::rewrite_query;
use capsule_proxy_policy::snapshot::TENANT_LABEL;
use capsule_proxy_policy::{
    AllowedList, CapsuleConfigurationRecord, ClusterOperations, ClusterResourceRule,
    GlobalProxySettingsRecord, GlobalRule, Index, LabelSelector, LegacyKind, LegacyOperations,
    LegacyProxySetting, ProxySettingRecord, ProxySubject, SelectorOperator, SelectorRequirement, Snapshot,
    Subject, SubjectKind, TenantOwnerSpec, TenantRecord,
};
use perf::memory_kib;

const USAGE: &str = "\
usage: snapshot-bench [--tenants N] [--namespaces N] [--owners N] [--groups N] [--decisions N]
                      [--repeat N] [--seed N]

  --tenants N      tenants (10000)
  --namespaces N   namespaces, spread unevenly over the tenants (100000)
  --owners N       owners: users and service accounts (20000); they are also the callers
  --groups N       groups (50000)
  --decisions N    decisions per measured mode (1000000)
  --repeat N       runs of each load / build / incremental measurement, median reported (7)
  --seed N         generator seed (1)";

/// Service accounts live in `ci-0` .. `ci-9`.
const SA_NAMESPACES: usize = 10;
/// The CapsuleConfiguration's group entries besides `system:serviceaccounts:ci-0..7`.
const CAPSULE_GROUPS: [&str; 3] = ["projectcapsule.dev", "capsule.clastix.io", "oidc:tenant-owners"];
/// Service-account namespaces whose `system:serviceaccounts:<ns>` group is a Capsule group.
const CAPSULE_SA_NAMESPACES: usize = 8;
/// GlobalProxySettings objects (5–25 rules each).
const GLOBAL_OBJECTS: usize = 20;

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("snapshot-bench: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    run(&config);
    ExitCode::SUCCESS
}

// === arguments ===

struct Config {
    tenants: usize,
    namespaces: usize,
    owners: usize,
    groups: usize,
    decisions: usize,
    repeat: usize,
    seed: u64,
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Config>, String> {
    let mut config = Config {
        tenants: 10_000,
        namespaces: 100_000,
        owners: 20_000,
        groups: 50_000,
        decisions: 1_000_000,
        repeat: 7,
        seed: 1,
    };
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let Some(value) = inline.or_else(|| args.next()) else {
            return Err(format!("{flag} needs a value"));
        };
        let number: u64 = value
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{flag}: `{value}` is not a non-negative integer"))?;
        let size = usize::try_from(number).map_err(|_| format!("{flag}: {number} is too large"))?;
        match flag.as_str() {
            "--tenants" => config.tenants = size,
            "--namespaces" => config.namespaces = size,
            "--owners" => config.owners = size,
            "--groups" => config.groups = size,
            "--decisions" => config.decisions = size,
            "--repeat" => config.repeat = size,
            "--seed" => config.seed = number,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    for (name, value) in [
        ("--tenants", config.tenants),
        ("--owners", config.owners),
        ("--groups", config.groups),
        ("--decisions", config.decisions),
        ("--repeat", config.repeat),
    ] {
        if value == 0 {
            return Err(format!("{name} must be at least 1"));
        }
    }
    if config.tenants > u32::MAX as usize || config.owners > u32::MAX as usize {
        return Err("--tenants and --owners must fit in 32 bits".to_owned());
    }
    Ok(Some(config))
}

// === generator ===

/// splitmix64: tiny, fast, and good enough to shape a synthetic cluster.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p` percent.
    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A caller: user name and groups, as a client certificate or token review would give them.
struct Caller {
    user: String,
    groups: Vec<String>,
}

/// The generated cluster, as the records the control plane would hand to the index.
struct Cluster {
    tenants: Vec<TenantRecord>,
    proxy_settings: Vec<ProxySettingRecord>,
    globals: Vec<GlobalProxySettingsRecord>,
    configuration: CapsuleConfigurationRecord,
    callers: Vec<Caller>,
}

fn tenant_name(i: usize) -> String {
    format!("tenant-{i:05}")
}

fn group_name(g: usize) -> String {
    format!("group-{g:05}")
}

fn owner_subject(j: usize, is_sa: bool) -> Subject {
    if is_sa {
        Subject::new(
            SubjectKind::ServiceAccount,
            format!("system:serviceaccount:ci-{}:bot-{j:05}", j % SA_NAMESPACES),
        )
    } else {
        Subject::new(SubjectKind::User, format!("user-{j:05}"))
    }
}

fn generate(config: &Config, rng: &mut Rng) -> Cluster {
    let (t, owners, groups) = (config.tenants, config.owners, config.groups);
    // Owners: 85 % users, 15 % service accounts.
    let owner_is_sa: Vec<bool> = (0..owners).map(|_| rng.percent(15)).collect();

    // Every owner owns one tenant (owners dealt round-robin in random order, so 2 per tenant by default); a tenant
    // left without one gets a random owner; every tenth owner owns 1–10 more tenants.
    let mut tenant_owners: Vec<Vec<usize>> = vec![Vec::new(); t];
    let mut order: Vec<usize> = (0..owners).collect();
    rng.shuffle(&mut order);
    for (k, &j) in order.iter().enumerate() {
        tenant_owners[k % t].push(j);
    }
    for list in tenant_owners.iter_mut().filter(|l| l.is_empty()) {
        list.push(rng.below(owners));
    }
    for j in (0..owners).step_by(10) {
        for _ in 0..rng.range(1, 10) {
            let list = &mut tenant_owners[rng.below(t)];
            if !list.contains(&j) {
                list.push(j);
            }
        }
    }

    // 35 % of tenants are also owned by one or two groups.
    let mut tenant_groups: Vec<Vec<usize>> = vec![Vec::new(); t];
    for list in &mut tenant_groups {
        if rng.percent(35) {
            for _ in 0..rng.range(1, 2) {
                list.push(rng.below(groups));
            }
        }
    }

    // Namespaces: one per tenant, the rest half uniformly, half skewed towards the first tenants (a long tail).
    let base = usize::from(config.namespaces >= t);
    let mut ns_count = vec![base; t];
    for _ in 0..config.namespaces - base * t {
        let i = if rng.percent(50) {
            rng.below(t)
        } else {
            ((rng.unit() * rng.unit()) * t as f64) as usize
        };
        ns_count[i.min(t - 1)] += 1;
    }

    let mut tenants = Vec::with_capacity(t);
    for i in 0..t {
        let name = tenant_name(i);
        let mut spec_owners = Vec::new();
        let mut status_owners = Vec::new();
        let subjects = tenant_owners[i]
            .iter()
            .map(|&j| owner_subject(j, owner_is_sa[j]))
            .chain(
                tenant_groups[i]
                    .iter()
                    .map(|&g| Subject::new(SubjectKind::Group, group_name(g))),
            );
        for subject in subjects {
            spec_owners.push(TenantOwnerSpec {
                subject: subject.clone(),
                proxy_settings: legacy_settings(rng),
            });
            status_owners.push(subject);
        }
        let labels = BTreeMap::from([
            ("kubernetes.io/metadata.name".to_owned(), name.clone()),
            (
                "env".to_owned(),
                rng.pick(&["prod", "staging", "dev"]).to_string(),
            ),
            ("team".to_owned(), format!("team-{}", i % 500)),
        ]);
        let node_selector = if rng.percent(30) {
            BTreeMap::from([("pool".to_owned(), format!("pool-{}", i % 20))])
        } else {
            BTreeMap::new()
        };
        tenants.push(TenantRecord {
            namespaces: (0..ns_count[i]).map(|k| format!("{name}-{k}")).collect(),
            labels,
            spec_owners,
            status_owners,
            node_selector,
            storage_classes: rng.percent(50).then(|| allowed_list(rng, "storage")),
            ingress_classes: rng.percent(40).then(|| allowed_list(rng, "ingress")),
            priority_classes: rng.percent(30).then(|| allowed_list(rng, "priority")),
            runtime_classes: rng.percent(10).then(|| allowed_list(rng, "runtime")),
            name,
        });
    }

    // ProxySettings: 3 per 10 tenants, each in a random namespace of a random tenant, 1–5 subjects.
    let proxy_settings = (0..(t * 3 / 10).max(1))
        .map(|k| {
            let ti = rng.below(t);
            let namespace = if ns_count[ti] > 0 {
                format!("{}-{}", tenant_name(ti), rng.below(ns_count[ti]))
            } else {
                format!("unowned-{k}")
            };
            let subjects = (0..rng.range(1, 5))
                .map(|_| {
                    let roll = rng.below(100);
                    let subject = if roll < 50 {
                        let j = rng.below(owners);
                        owner_subject(j, owner_is_sa[j])
                    } else if roll < 90 {
                        Subject::new(SubjectKind::Group, group_name(rng.below(groups)))
                    } else {
                        Subject::new(
                            SubjectKind::ServiceAccount,
                            format!("system:serviceaccount:{namespace}:deployer"),
                        )
                    };
                    ProxySubject {
                        subject,
                        cluster_resources: (0..rng.range(0, 3)).map(|_| cluster_rule(rng, t)).collect(),
                        proxy_settings: legacy_settings(rng),
                    }
                })
                .collect();
            ProxySettingRecord {
                namespace,
                name: format!("proxy-{k:05}"),
                subjects,
            }
        })
        .collect();

    // GlobalProxySettings: 20 objects of 5–25 rules, subjects mostly groups.
    let globals = (0..GLOBAL_OBJECTS)
        .map(|k| GlobalProxySettingsRecord {
            name: format!("global-{k:02}"),
            rules: (0..rng.range(5, 25))
                .map(|_| GlobalRule {
                    subjects: (0..rng.range(1, 4))
                        .map(|_| {
                            if rng.percent(70) {
                                Subject::new(SubjectKind::Group, group_name(rng.below(groups)))
                            } else {
                                let j = rng.below(owners);
                                owner_subject(j, owner_is_sa[j])
                            }
                        })
                        .collect(),
                    cluster_resources: (0..rng.range(1, 3)).map(|_| cluster_rule(rng, t)).collect(),
                })
                .collect(),
        })
        .collect();

    let configuration = CapsuleConfigurationRecord {
        users: CAPSULE_GROUPS
            .iter()
            .map(|g| Subject::new(SubjectKind::Group, *g))
            .chain(
                (0..CAPSULE_SA_NAMESPACES)
                    .map(|k| Subject::new(SubjectKind::Group, format!("system:serviceaccounts:ci-{k}"))),
            )
            .chain(["platform-admin", "ci-robot"].map(|u| Subject::new(SubjectKind::User, u)))
            .collect(),
    };

    // Callers: every owner. Users are in 5–50 random groups, 95 % of them in a Capsule group (at a random place)
    // and all in `system:authenticated`; service accounts have Kubernetes' three groups.
    let callers = (0..owners)
        .map(|j| {
            let user = owner_subject(j, owner_is_sa[j]).name;
            if owner_is_sa[j] {
                let groups = vec![
                    "system:serviceaccounts".to_owned(),
                    format!("system:serviceaccounts:ci-{}", j % SA_NAMESPACES),
                    "system:authenticated".to_owned(),
                ];
                return Caller { user, groups };
            }
            let count = rng.range(5, 50);
            let mut picked: Vec<usize> = Vec::with_capacity(count);
            while picked.len() < count.min(groups) {
                let g = rng.below(groups);
                if !picked.contains(&g) {
                    picked.push(g);
                }
            }
            let mut groups: Vec<String> = picked.into_iter().map(group_name).collect();
            if rng.percent(95) {
                let at = rng.below(groups.len() + 1);
                groups.insert(at, rng.pick(&CAPSULE_GROUPS).to_string());
            }
            groups.push("system:authenticated".to_owned());
            Caller { user, groups }
        })
        .collect();

    Cluster {
        tenants,
        proxy_settings,
        globals,
        configuration,
        callers,
    }
}

/// Legacy `proxySettings` on 20 % of owners and subjects.
fn legacy_settings(rng: &mut Rng) -> Vec<LegacyProxySetting> {
    if !rng.percent(20) {
        return Vec::new();
    }
    (0..rng.range(1, 2))
        .map(|_| LegacyProxySetting {
            kind: *rng.pick(&LegacyKind::ALL),
            operations: LegacyOperations {
                list: true,
                update: rng.percent(30),
                delete: rng.percent(10),
            },
        })
        .collect()
}

fn allowed_list(rng: &mut Rng, prefix: &str) -> AllowedList {
    AllowedList {
        allowed: vec![format!("{prefix}-gold"), format!("{prefix}-silver")],
        default: Some(format!("{prefix}-silver")),
        allowed_regex: rng.percent(20).then(|| format!("^{prefix}-shared-.*$")),
        selector: if rng.percent(20) {
            LabelSelector {
                match_labels: BTreeMap::from([("tier".to_owned(), "shared".to_owned())]),
                match_expressions: Vec::new(),
            }
        } else {
            LabelSelector::default()
        },
    }
}

fn cluster_rule(rng: &mut Rng, tenants: usize) -> ClusterResourceRule {
    const RESOURCES: [(&str, &str); 8] = [
        ("", "persistentvolumes"),
        ("", "nodes"),
        ("storage.k8s.io", "storageclasses"),
        ("networking.k8s.io", "ingressclasses"),
        ("scheduling.k8s.io", "priorityclasses"),
        ("node.k8s.io", "runtimeclasses"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("*", "*"),
    ];
    let (group, resource) = *rng.pick(&RESOURCES);
    let list = rng.percent(80);
    let selector = if rng.percent(60) {
        LabelSelector {
            match_labels: BTreeMap::from([(
                "capsule.clastix.io/tenant".to_owned(),
                tenant_name(rng.below(tenants)),
            )]),
            match_expressions: Vec::new(),
        }
    } else {
        LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![SelectorRequirement {
                key: "env".to_owned(),
                operator: SelectorOperator::In,
                values: vec!["dev".to_owned(), "staging".to_owned()],
            }],
        }
    };
    ClusterResourceRule {
        api_groups: vec![group.to_owned()],
        resources: vec![resource.to_owned()],
        operations: ClusterOperations { list, get: true },
        selector,
    }
}

// === measuring ===

/// Resets `VmHWM` to the current RSS (Linux ≥ 4.0); false when the kernel refuses.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Median, minimum and maximum of `samples` (not empty).
fn spread(samples: &mut [Duration]) -> [Duration; 3] {
    samples.sort_unstable();
    let last = samples.len() - 1;
    [samples[last / 2], samples[0], samples[last]]
}

fn row3(what: &str, samples: &mut [Duration]) {
    let [median, min, max] = spread(samples);
    let cells = [median, min, max].map(|d| fmt_ns(d.as_nanos() as f64));
    println!("{what:<46} {:>10} {:>10} {:>10}", cells[0], cells[1], cells[2]);
}

/// Cloned records for one load.
struct Records {
    tenants: Vec<TenantRecord>,
    proxy_settings: Vec<ProxySettingRecord>,
    globals: Vec<GlobalProxySettingsRecord>,
    configuration: CapsuleConfigurationRecord,
}

impl Records {
    fn of(cluster: &Cluster) -> Self {
        Self {
            tenants: cluster.tenants.clone(),
            proxy_settings: cluster.proxy_settings.clone(),
            globals: cluster.globals.clone(),
            configuration: cluster.configuration.clone(),
        }
    }
}

/// Resets every kind in `index` to `records`; the time of each step.
fn reset_all(index: &mut Index, records: Records) -> [Duration; 4] {
    let start = Instant::now();
    index.reset_tenants(records.tenants);
    let tenants = start.elapsed();
    let start = Instant::now();
    index.reset_proxy_settings(records.proxy_settings);
    let proxy_settings = start.elapsed();
    let start = Instant::now();
    index.reset_global_proxy_settings(records.globals);
    let globals = start.elapsed();
    let start = Instant::now();
    index.set_capsule_configuration(Some(records.configuration));
    let configuration = start.elapsed();
    [tenants, proxy_settings, globals, configuration]
}

/// What one timed decision does.
#[derive(Clone, Copy)]
enum Work {
    /// `is_capsule_user` + `proxy_tenants`, with or without `namespaces()`.
    Ownership { with_namespaces: bool },
    /// The whole `kubectl get namespaces` decision: ownership, the route's decision, its selector as text and
    /// the rewritten query.
    NamespacesList,
}

/// One request's ownership decision; returns something derived from every result so nothing is skipped.
#[inline(always)]
fn decide(snapshot: &Snapshot, caller: &Caller, gate: bool, work: Work, query: &mut String) -> usize {
    let user = black_box(caller.user.as_str());
    let groups = black_box(caller.groups.as_slice());
    let capsule = snapshot.is_capsule_user(user, groups);
    let tenants = snapshot.proxy_tenants(user, groups, gate);
    let out = match work {
        Work::Ownership {
            with_namespaces: true,
        } => black_box(tenants.namespaces()).len(),
        Work::Ownership {
            with_namespaces: false,
        } => 0,
        Work::NamespacesList => {
            let input = DecideInput {
                snapshot,
                tenants: &tenants,
                method: "GET",
                user,
                groups,
                gates: Gates {
                    cluster_scoped: gate,
                    all_namespaced: false,
                },
            };
            match decide::decide(&Route::NamespacesList, &input) {
                Decision::Filter(selector) => {
                    let _ = rewrite_query(black_box("limit=500"), &selector, query);
                    query.len()
                }
                _ => 0,
            }
        }
    };
    black_box(&tenants);
    usize::from(capsule) + out
}

fn run(config: &Config) {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let (rss_start, _) = memory_kib();
    let start = Instant::now();
    let cluster = generate(config, &mut Rng::new(config.seed));
    let generated_in = start.elapsed();
    let (rss_records, _) = memory_kib();

    // --- the cluster ---
    let users = cluster
        .callers
        .iter()
        .filter(|c| !c.user.starts_with("system:"))
        .count();
    let owner_entries: usize = cluster.tenants.iter().map(|t| t.status_owners.len()).sum();
    let group_entries: usize = cluster
        .tenants
        .iter()
        .flat_map(|t| &t.status_owners)
        .filter(|s| s.kind == SubjectKind::Group)
        .count();
    let max_ns = cluster
        .tenants
        .iter()
        .map(|t| t.namespaces.len())
        .max()
        .unwrap_or(0);
    let ps_subjects: usize = cluster.proxy_settings.iter().map(|p| p.subjects.len()).sum();
    let global_rules: usize = cluster.globals.iter().map(|g| g.rules.len()).sum();
    let user_groups: Vec<usize> = cluster
        .callers
        .iter()
        .filter(|c| !c.user.starts_with("system:"))
        .map(|c| c.groups.len())
        .collect();
    println!(
        "snapshot-bench (seed {}, {cores} cores, kernel {})",
        config.seed,
        kernel.trim()
    );
    println!(
        "cluster: {} tenants, {} namespaces (max {max_ns} in one tenant), {} owners ({users} users, {} service \
         accounts), {} groups",
        config.tenants,
        config.namespaces,
        config.owners,
        config.owners - users,
        config.groups
    );
    println!(
        "         {owner_entries} status.owners entries ({group_entries} groups), {} ProxySettings \
         ({ps_subjects} subjects), {} GlobalProxySettings ({global_rules} rules), {} CapsuleConfiguration users",
        cluster.proxy_settings.len(),
        cluster.globals.len(),
        cluster.configuration.users.len(),
    );
    println!(
        "         users in {:.1} groups on average; generated in {} ({} of records)",
        user_groups.iter().sum::<usize>() as f64 / user_groups.len().max(1) as f64,
        fmt_ns(generated_in.as_nanos() as f64),
        mib(rss_records.saturating_sub(rss_start)),
    );
    println!();

    // --- memory: apply every record one at a time (as watch events would) into a fresh index ---
    let peaks = reset_peak();
    let (rss0, _) = memory_kib();
    let mut streamed = Index::new();
    for tenant in &cluster.tenants {
        streamed.apply_tenant(tenant.clone());
    }
    for proxy_setting in &cluster.proxy_settings {
        streamed.apply_proxy_setting(proxy_setting.clone());
    }
    for global in &cluster.globals {
        streamed.apply_global_proxy_settings(global.clone());
    }
    streamed.set_capsule_configuration(Some(cluster.configuration.clone()));
    let (rss_index, hwm_index) = memory_kib();
    reset_peak();
    let snapshot = streamed.snapshot(1);
    let (rss_snapshot, hwm_snapshot) = memory_kib();
    black_box(&snapshot);
    drop(snapshot);
    drop(streamed);

    // --- loading ---
    println!(
        "{:<46} {:>10} {:>10} {:>10}",
        "load / build", "median", "min", "max"
    );
    let mut steps: [Vec<Duration>; 5] = Default::default();
    let mut loaded = None;
    for _ in 0..config.repeat {
        let records = Records::of(&cluster);
        let mut fresh = Index::new();
        let times = reset_all(&mut fresh, records);
        // Drops the previous index, outside the timed part.
        loaded = Some(fresh);
        for (samples, time) in steps.iter_mut().zip(times) {
            samples.push(time);
        }
        steps[4].push(times.iter().sum());
    }
    let Some(mut index) = loaded else {
        return;
    };
    let [tenants, proxy_settings, globals, configuration, total] = &mut steps;
    row3("reset_* into a fresh Index (total)", total);
    row3("  reset_tenants", tenants);
    row3("  reset_proxy_settings", proxy_settings);
    row3("  reset_global_proxy_settings", globals);
    row3("  set_capsule_configuration", configuration);

    let mut relists = Vec::new();
    for _ in 0..config.repeat {
        let records = Records::of(&cluster);
        let revision = index.revision();
        relists.push(reset_all(&mut index, records).iter().sum());
        assert_eq!(
            index.revision(),
            revision,
            "a relist of the same records is not a change"
        );
    }
    row3("relist: reset_* unchanged into the full Index", &mut relists);

    let mut builds = Vec::new();
    let mut drops = Vec::new();
    let mut generation = 1;
    for _ in 0..config.repeat {
        generation += 1;
        let start = Instant::now();
        let snapshot = index.snapshot(generation);
        builds.push(start.elapsed());
        black_box(&snapshot);
        let start = Instant::now();
        drop(snapshot);
        drops.push(start.elapsed());
    }
    row3("snapshot() build", &mut builds);
    row3("drop a snapshot", &mut drops);

    // --- incremental: a namespace is created in one tenant ---
    // As the control thread would: apply the change, build the next snapshot, publish it and drop the previous
    // one. The next apply then runs right after that drop, as it would in production.
    let Some(base) = cluster.tenants.get(cluster.tenants.len() / 2) else {
        return;
    };
    let mut previous = index.snapshot(generation);
    let (mut applies, mut rebuilds, mut drops, mut totals) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for revision in 0..config.repeat {
        let mut changed = base.clone();
        changed
            .namespaces
            .push(format!("{}-new-{revision}", changed.name));
        changed
            .labels
            .insert("bench/revision".to_owned(), revision.to_string());
        let before = index.revision();
        let start = Instant::now();
        index.apply_tenant(changed);
        let applied = start.elapsed();
        assert_ne!(index.revision(), before, "the changed tenant is a change");
        generation += 1;
        let start = Instant::now();
        let next = index.snapshot(generation);
        let rebuilt = start.elapsed();
        black_box(&next);
        let start = Instant::now();
        drop(std::mem::replace(&mut previous, next));
        let dropped = start.elapsed();
        applies.push(applied);
        rebuilds.push(rebuilt);
        drops.push(dropped);
        totals.push(applied + rebuilt + dropped);
    }
    drop(previous);
    let label = format!(
        "1 changed tenant ({} namespaces), total",
        base.namespaces.len() + 1
    );
    row3(&label, &mut totals);
    row3("  apply_tenant (after the last drop)", &mut applies);
    row3("  snapshot()", &mut rebuilds);
    row3("  drop the previous snapshot", &mut drops);

    // --- memory ---
    println!();
    println!("memory (VmRSS growth; glibc malloc, one thread)");
    println!(
        "  index, records applied one at a time       {:>10}{}",
        mib(rss_index.saturating_sub(rss0)),
        if peaks {
            format!("   (peak +{})", mib(hwm_index.saturating_sub(rss0)))
        } else {
            String::new()
        }
    );
    println!(
        "  snapshot on top of it                      {:>10}{}",
        mib(rss_snapshot.saturating_sub(rss_index)),
        if peaks {
            format!(
                "   (peak +{} while building)",
                mib(hwm_snapshot.saturating_sub(rss_index))
            )
        } else {
            String::new()
        }
    );
    println!(
        "  index + snapshot                           {:>10}",
        mib(rss_snapshot.saturating_sub(rss0))
    );

    // --- decisions ---
    generation += 1;
    let snapshot = index.snapshot(generation);
    let mut rng = Rng::new(config.seed ^ 0x5EED);
    let stream: Vec<usize> = (0..config.decisions)
        .map(|_| rng.below(cluster.callers.len()))
        .collect();
    let callers = &cluster.callers;

    let (mut entries, mut namespaces, mut capsule, mut most) = (0_usize, 0_usize, 0_usize, 0_usize);
    for &i in &stream {
        let caller = &callers[i];
        let tenants = snapshot.proxy_tenants(&caller.user, &caller.groups, false);
        let count = tenants.namespaces().len();
        entries += tenants.len();
        namespaces += count;
        most = most.max(count);
        capsule += usize::from(snapshot.is_capsule_user(&caller.user, &caller.groups));
    }
    let n = stream.len() as f64;
    println!();
    println!(
        "decisions: {} random callers; per caller {:.1} tenant entries, {:.1} namespaces (max {most}), {:.1} % \
         Capsule users",
        stream.len(),
        entries as f64 / n,
        namespaces as f64 / n,
        100.0 * capsule as f64 / n,
    );
    let mut timer = Vec::with_capacity(stream.len());
    for _ in 0..stream.len() {
        let start = Instant::now();
        timer.push(start.elapsed());
    }
    timer.sort_unstable();
    println!(
        "  p50/p99 time each decision with Instant::now(); the empty timer costs {} (p50), included",
        fmt_ns(timer[timer.len() / 2].as_nanos() as f64)
    );
    println!(
        "{:<46} {:>10} {:>10} {:>10} {:>10}",
        "per decision", "mean", "p50", "p99", "p99.9"
    );
    // The same cluster with every namespace listed and labelled with its tenant, as Capsule labels them: the
    // namespaces list then filters by the tenant label instead of by names.
    index.reset_objects(
        ObjectKind::Namespaces,
        cluster
            .tenants
            .iter()
            .flat_map(|t| {
                t.namespaces.iter().map(|ns| ClusterObjectRecord {
                    name: ns.clone(),
                    labels: BTreeMap::from([(TENANT_LABEL.to_string(), t.name.clone())]),
                    owner: None,
                })
            })
            .collect(),
    );
    generation += 1;
    let labelled = index.snapshot(generation);
    let modes = [
        (
            "capsule? + proxy_tenants + namespaces()",
            false,
            Work::Ownership {
                with_namespaces: true,
            },
            &snapshot,
        ),
        (
            "capsule? + proxy_tenants",
            false,
            Work::Ownership {
                with_namespaces: false,
            },
            &snapshot,
        ),
        (
            "same + namespaces(), ProxyClusterScoped on",
            true,
            Work::Ownership {
                with_namespaces: true,
            },
            &snapshot,
        ),
        (
            "get ns: decide + selector + query (names)",
            false,
            Work::NamespacesList,
            &snapshot,
        ),
        (
            "get ns: same, tenant label (ns listed)",
            false,
            Work::NamespacesList,
            &labelled,
        ),
    ];
    let mut latencies: Vec<u64> = Vec::with_capacity(stream.len());
    let mut query = String::with_capacity(4096);
    for (what, gate, work, snapshot) in modes {
        // Warm-up, then the mean from one untimed-per-call pass, then per-call times.
        for &i in stream.iter().take(100_000) {
            black_box(decide(black_box(snapshot), &callers[i], gate, work, &mut query));
        }
        let start = Instant::now();
        for &i in &stream {
            black_box(decide(black_box(snapshot), &callers[i], gate, work, &mut query));
        }
        let mean = start.elapsed().as_nanos() as f64 / n;
        latencies.clear();
        for &i in &stream {
            let start = Instant::now();
            let result = decide(black_box(snapshot), &callers[i], gate, work, &mut query);
            let took = start.elapsed();
            black_box(result);
            latencies.push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
        }
        latencies.sort_unstable();
        let at = |per_mille: usize| latencies[(latencies.len() - 1) * per_mille / 1000] as f64;
        println!(
            "{what:<46} {:>10} {:>10} {:>10} {:>10}",
            fmt_ns(mean),
            fmt_ns(at(500)),
            fmt_ns(at(990)),
            fmt_ns(at(999))
        );
    }
}
