//! The exact OR of selectors, when one selector can express it.
//!
//! A label selector is a conjunction, so the OR of several is expressible only in special cases. The one that
//! matters to the proxy is "the same requirements, plus one positive requirement on a shared key":
//! `(C ∧ K∈A) ∨ (C ∧ K∈B) = C ∧ K∈(A∪B)`. Otherwise [`union`] answers `None` and the caller decides (for
//! instance by listing names).

use std::collections::BTreeSet;

use super::{Operator, Requirement, Selector};

/// The exact OR of `selectors`, or `None` when no single selector expresses it:
///
/// - no selectors: [`Selector::nothing`]; any [`Selector::everything`]: everything;
/// - selectors that match nothing ([`Selector::is_nothing`]) are dropped, and equal ones (the same
///   requirements in any order) counted once; one left: that one;
/// - all left alike but for one positive (`=`, `==`, `in`) requirement each, on one key `K`: the shared
///   requirements and `K in (every value of those)`.
pub(super) fn union(selectors: &[Selector]) -> Option<Selector> {
    if selectors.iter().any(Selector::is_everything) {
        return Some(Selector::everything());
    }
    let mut distinct: Vec<(&Selector, Vec<&Requirement>)> = Vec::new();
    for selector in selectors.iter().filter(|s| !s.is_nothing()) {
        let canonical = canonical(selector.requirements());
        if !distinct.iter().any(|(_, seen)| *seen == canonical) {
            distinct.push((selector, canonical));
        }
    }
    match distinct.as_slice() {
        [] => Some(Selector::nothing()),
        [(only, _)] => Some((*only).clone()),
        [(_, first), rest @ ..] => (0..first.len()).find_map(|varying| {
            merge_on(
                first,
                varying,
                rest.iter().map(|(_, canonical)| canonical.as_slice()),
            )
        }),
    }
}

/// The requirements sorted by key, operator and values, exact duplicates removed: equal for equal
/// conjunctions written differently.
fn canonical(requirements: &[Requirement]) -> Vec<&Requirement> {
    let mut sorted: Vec<&Requirement> = requirements.iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted
}

/// The union when `first[varying]` is positive and every other selector equals `first` but for one positive
/// requirement on the same key in its place.
fn merge_on<'s>(
    first: &[&Requirement],
    varying: usize,
    others: impl Iterator<Item = &'s [&'s Requirement]>,
) -> Option<Selector> {
    let pivot = first[varying];
    if !pivot.operator.is_positive() {
        return None;
    }
    let shared: Vec<&Requirement> = first
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != varying)
        .map(|(_, r)| *r)
        .collect();
    let mut values: BTreeSet<&str> = pivot.values.iter().map(String::as_str).collect();
    for other in others {
        let own = (0..other.len()).find(|&i| {
            let candidate = other[i];
            candidate.operator.is_positive()
                && candidate.key == pivot.key
                && other.len() == shared.len() + 1
                && other[..i].iter().chain(&other[i + 1..]).eq(shared.iter())
        })?;
        values.extend(other[own].values.iter().map(String::as_str));
    }
    let merged = Requirement {
        key: pivot.key.clone(),
        operator: Operator::In,
        values: values.into_iter().map(str::to_owned).collect(),
    };
    let requirements = shared
        .into_iter()
        .cloned()
        .chain(std::iter::once(merged))
        .collect();
    Some(Selector::sorted(requirements))
}
