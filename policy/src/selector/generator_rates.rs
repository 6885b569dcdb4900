//! How often the selector properties' generated inputs reach the asserting branch of each property (text that
//! parses, queries the rewrite accepts, selector sets with an exact union), measured over deterministic draws
//! and held above a floor, so no property passes by skipping its assertions.

use std::collections::HashSet;

use proptest::collection::vec;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use super::proptests::{
    build_requirement, caller_selectors, hostile_query, key, requirement, requirement_parts, selector_family,
    selector_text, varying, varying_selectors,
};
use super::*;

/// Draws per measurement.
const DRAWS: usize = 2_000;

/// The share of `DRAWS` deterministic draws of `strategy` that `accept` takes, printed under `name`.
fn rate<S: Strategy>(name: &str, strategy: S, mut accept: impl FnMut(S::Value) -> bool) -> f64 {
    let mut runner = TestRunner::deterministic();
    let mut accepted = 0usize;
    let mut drawn = 0usize;
    for _ in 0..DRAWS {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        drawn += 1;
        if accept(tree.current()) {
            accepted += 1;
        }
    }
    let rate = accepted as f64 / drawn.max(1) as f64;
    eprintln!("{name}: {accepted} of {drawn} ({:.1} %)", rate * 100.0);
    rate
}

/// Whether `selectors` make a union worth checking: at least two distinct ones, none matching everything or
/// nothing (those unions are trivial).
fn non_trivial(selectors: &[Selector]) -> bool {
    let distinct: HashSet<&Selector> = selectors.iter().collect();
    distinct.len() >= 2 && !selectors.iter().any(|s| s.is_everything() || s.is_nothing())
}

#[test]
fn generated_inputs_reach_the_assertions() {
    let text = rate("selector text parses to requirements", selector_text(), |t| {
        Selector::parse(&t).is_ok_and(|s| !s.is_everything())
    });
    let requirement_rate = rate("requirement parts are valid", requirement_parts(), |p| {
        build_requirement(p).is_some()
    });
    let union = rate(
        "union_is_exact: a non-trivial union exists",
        selector_family(),
        |s| non_trivial(&s) && Selector::union(&s).is_some(),
    );
    let no_union = rate("union_is_exact: no union", selector_family(), |s| {
        Selector::union(&s).is_none()
    });
    let merged = rate(
        "union_merges: two or more distinct selectors",
        (vec(requirement(), 0..3), varying(), key()),
        |(shared, varying, key)| non_trivial(&varying_selectors(&shared, &varying, &key)),
    );
    let rewrite = rate("hostile query is rewritten", hostile_query(), |q| {
        rewrite_query(&q, &Selector::everything(), &mut String::new()).is_ok()
    });
    let with_caller = rate(
        "rewritten query carries a caller selector",
        hostile_query(),
        |q| {
            rewrite_query(&q, &Selector::everything(), &mut String::new()).is_ok()
                && caller_selectors(&q).iter().any(|s| !s.is_everything())
        },
    );
    let floors = [
        ("selector text parses", text, 0.40),
        ("requirement parts are valid", requirement_rate, 0.80),
        ("a non-trivial union exists", union, 0.20),
        ("no union exists", no_union, 0.20),
        ("two or more distinct selectors", merged, 0.75),
        ("hostile query is rewritten", rewrite, 0.70),
        ("rewritten query carries a caller selector", with_caller, 0.20),
    ];
    for (name, rate, floor) in floors {
        assert!(
            rate >= floor,
            "{name}: {:.1} % < {:.0} %",
            rate * 100.0,
            floor * 100.0
        );
    }
}
