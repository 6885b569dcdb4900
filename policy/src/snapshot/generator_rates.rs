//! How often the snapshot properties' generated states give the caller something to compare: tenants of each
//! origin, namespaces, cluster rules, Capsule membership. Measured over deterministic draws and held above a
//! floor, so `answers_like_the_reference` never passes by comparing empty answers.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use super::proptests::{Entry, build_by_reset, name, reference, state};
use super::*;

/// Draws per measurement.
const DRAWS: usize = 2_000;

#[test]
fn generated_states_give_callers_tenants() {
    let strategy = (state(), name(), vec(name(), 0..3), any::<bool>());
    let mut runner = TestRunner::deterministic();
    let mut counts = [0usize; 7];
    let mut drawn = 0usize;
    for _ in 0..DRAWS {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        drawn += 1;
        let (state, user, groups, gate) = tree.current();
        let want: Vec<Entry> = reference(&state, &user, &groups, gate);
        let snapshot = build_by_reset(&state);
        let tenants = snapshot.proxy_tenants(&user, &groups, gate);
        let has = |origin: GrantOrigin| want.iter().any(|e| e.1 == origin);
        let seen = [
            !want.is_empty(),
            has(GrantOrigin::TenantOwner),
            has(GrantOrigin::ProxySetting),
            has(GrantOrigin::Global),
            !tenants.namespaces().is_empty(),
            want.iter().any(|e| !e.3.is_empty()),
            snapshot.is_capsule_user(&user, &groups),
        ];
        for (count, seen) in counts.iter_mut().zip(seen) {
            *count += usize::from(seen);
        }
    }
    let names = [
        "the caller has tenants",
        "a tenant owned (status.owners)",
        "a tenant by ProxySetting",
        "a GlobalProxySettings grant",
        "tenant namespaces",
        "clusterResources rules",
        "a Capsule user",
    ];
    let floors = [0.35, 0.20, 0.08, 0.08, 0.20, 0.10, 0.25];
    let rates: Vec<f64> = counts.iter().map(|c| *c as f64 / drawn.max(1) as f64).collect();
    for ((name, count), rate) in names.iter().zip(counts).zip(&rates) {
        eprintln!("{name}: {count} of {drawn} ({:.1} %)", rate * 100.0);
    }
    for ((name, rate), floor) in names.iter().zip(rates).zip(floors) {
        assert!(
            rate >= floor,
            "{name}: {:.1} % < {:.0} %",
            rate * 100.0,
            floor * 100.0
        );
    }
}
