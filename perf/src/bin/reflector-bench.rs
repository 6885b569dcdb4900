//! reflector-bench — what the RoleBinding reflector costs at scale: memory of its (subject → namespace) index
//! for N RoleBindings, the time to build it from a full list, and the time of one caller's look-up.
//!
//! The cluster: `--bindings` RoleBindings spread over `--namespaces` namespaces; each binding has a User subject
//! (one of `--users`), a Group subject (one of `--users / 10` groups) and a ServiceAccount of its namespace, as
//! CI/CD and team bindings do. Memory is the growth of this process's `VmRSS` while the index is built and held.
//!
//! ```sh
//! cargo run --release -p perf --bin reflector-bench -- [--bindings 500000] [--namespaces 50000] [--users 20000]
//! ```

use std::time::Instant;

use capsule_proxy_policy::role_bindings::{RoleBindingNamespaces, RoleBindingRecord, subject_of};
use perf::memory_kib;

fn main() {
    let mut bindings = 500_000_usize;
    let mut namespaces = 50_000_usize;
    let mut users = 20_000_usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--bindings", Some(v)) => bindings = v,
            ("--namespaces", Some(v)) => namespaces = v,
            ("--users", Some(v)) => users = v,
            _ => {
                eprintln!("reflector-bench: usage: [--bindings N] [--namespaces N] [--users N]");
                std::process::exit(2);
            }
        }
    }
    let namespaces = namespaces.max(1);
    let users = users.max(10);
    // Generated one at a time, so the growth of RSS is the index and not a list of records held beside it.
    let record = |i: usize| {
        let namespace = format!("ns-{}", i % namespaces);
        let subjects = [
            subject_of("User", &format!("user-{}", i % users), None, &namespace),
            subject_of("Group", &format!("team-{}", i % (users / 10)), None, &namespace),
            subject_of("ServiceAccount", "deployer", None, &namespace),
        ]
        .into_iter()
        .flatten()
        .collect();
        RoleBindingRecord {
            name: format!("binding-{i}"),
            namespace,
            subjects,
        }
    };

    let (before, _) = memory_kib();
    let started = Instant::now();
    let mut index = RoleBindingNamespaces::default();
    for i in 0..bindings {
        index.apply(record(i));
    }
    let built = started.elapsed();
    let (after, _) = memory_kib();

    let groups = vec!["team-7".to_owned(), "system:authenticated".to_owned()];
    let started = Instant::now();
    let mut seen = 0;
    for i in 0..1_000 {
        seen += index.namespaces_of(&format!("user-{}", i % users), &groups).len();
    }
    let lookup = started.elapsed() / 1_000;

    println!("reflector-bench: {bindings} RoleBindings over {namespaces} namespaces, {users} users");
    println!("  index built one binding at a time (watch events): {built:.2?}");
    println!(
        "  memory held (VmRSS growth): {:.1} MiB, {:.0} bytes per RoleBinding",
        (after.saturating_sub(before)) as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 * 1024.0 / bindings.max(1) as f64
    );
    println!(
        "  one caller's namespaces (user + 2 groups): {lookup:.2?} ({} namespaces each on average)",
        seen / 1_000
    );
    assert_eq!(index.len(), bindings);

    // The first list (and every re-list) replaces the whole index at once.
    let listed: Vec<RoleBindingRecord> = (0..bindings).map(record).collect();
    let started = Instant::now();
    let mut relisted = RoleBindingNamespaces::default();
    relisted.reset(listed);
    println!("  index rebuilt from a full list: {:.2?}", started.elapsed());
    assert_eq!(relisted.shared(), index.shared());
}
