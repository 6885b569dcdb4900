//! Counts of a run (variants per target and per family, statuses, names checked, exact checks) and its
//! failures, each with what is needed to replay it: the seed, the variant, the caller and the request bytes.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::variants::{Expectation, Family, Target, Variant};
use super::verdict::Answer;

/// How many failures are printed in full.
const FAILURES_SHOWN: usize = 25;

/// One broken rule.
#[derive(Debug, Clone)]
pub struct Failure {
    pub label: String,
    pub caller: String,
    pub families: Vec<Family>,
    /// The request bytes, escaped for printing.
    pub request: String,
    pub detail: String,
}

/// The counts of a run.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub variants: usize,
    pub requests: usize,
    pub by_target: BTreeMap<String, usize>,
    pub by_family: BTreeMap<Family, usize>,
    pub by_status: BTreeMap<u16, usize>,
    /// Variants checked exactly, and how many of those expected a non-empty answer.
    pub exact_checks: usize,
    pub exact_nonempty: usize,
    /// Object names compared against the caller's visible set.
    pub names_checked: usize,
    /// Answers that were the API server's `500` to a group impersonated without a user (accepted, see
    /// [`super::verdict::UPSTREAM_500_FOR_GROUP_WITHOUT_USER_ACCEPTED`]).
    pub upstream_group_without_user: usize,
    /// Document kinds seen that are none of the filtered kinds.
    pub other_kinds: BTreeMap<String, usize>,
    pub failures: Vec<Failure>,
    pub failures_by_family: BTreeMap<Family, usize>,
}

impl Tally {
    /// Counts a variant and its answers, or the failure it ran into.
    pub fn record(
        &mut self,
        variant: &Variant,
        caller: &str,
        answers: &[Answer],
        result: Result<(), String>,
    ) {
        self.variants += 1;
        self.requests += answers.len().max(1);
        let target = match &variant.target {
            Target::List(kind) => format!("list {kind:?}"),
            Target::Get(kind, _) => format!("get {kind:?}"),
        };
        *self.by_target.entry(target).or_default() += 1;
        for family in &variant.families {
            *self.by_family.entry(*family).or_default() += 1;
        }
        for answer in answers {
            *self.by_status.entry(answer.status).or_default() += 1;
            self.names_checked += answer.names.len();
            self.upstream_group_without_user += usize::from(answer.upstream_group_without_user);
            for kind in &answer.other_kinds {
                *self.other_kinds.entry(kind.clone()).or_default() += 1;
            }
        }
        if matches!(
            variant.expectation,
            Expectation::ExactList | Expectation::ExactGet
        ) {
            self.exact_checks += 1;
            if answers.iter().any(|a| !a.names.is_empty()) {
                self.exact_nonempty += 1;
            }
        }
        if let Err(detail) = result {
            for family in &variant.families {
                *self.failures_by_family.entry(*family).or_default() += 1;
            }
            self.failures.push(Failure {
                label: variant.label.clone(),
                caller: caller.to_string(),
                families: variant.families.iter().copied().collect(),
                request: format!("{:?}", variant.render(None)),
                detail,
            });
        }
    }

    /// Adds another worker's counts.
    pub fn merge(&mut self, other: Tally) {
        self.variants += other.variants;
        self.requests += other.requests;
        self.exact_checks += other.exact_checks;
        self.exact_nonempty += other.exact_nonempty;
        self.names_checked += other.names_checked;
        self.upstream_group_without_user += other.upstream_group_without_user;
        add_counts(&mut self.by_target, other.by_target);
        add_counts(&mut self.by_family, other.by_family);
        add_counts(&mut self.by_status, other.by_status);
        add_counts(&mut self.other_kinds, other.other_kinds);
        add_counts(&mut self.failures_by_family, other.failures_by_family);
        self.failures.extend(other.failures);
    }

    /// The counts as text.
    pub fn summary(&self, seed: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "isolation: seed {seed}: {} variants, {} requests, {} exact checks ({} non-empty), {} names checked, {} failures",
            self.variants,
            self.requests,
            self.exact_checks,
            self.exact_nonempty,
            self.names_checked,
            self.failures.len()
        );
        let _ = writeln!(out, "  per target: {:?}", self.by_target);
        let _ = writeln!(out, "  per family: {:?}", self.by_family);
        let _ = writeln!(out, "  per status: {:?}", self.by_status);
        if self.upstream_group_without_user > 0 {
            let _ = writeln!(
                out,
                "  accepted: {} answers were the API server's 500 to Impersonate-Group without Impersonate-User",
                self.upstream_group_without_user
            );
        }
        if !self.other_kinds.is_empty() {
            let _ = writeln!(out, "  other document kinds: {:?}", self.other_kinds);
        }
        if !self.failures.is_empty() {
            let _ = writeln!(out, "  failures per family: {:?}", self.failures_by_family);
        }
        out
    }

    /// The failures as text (the first [`FAILURES_SHOWN`] in full), with the replay command.
    pub fn failure_report(&self, seed: u64) -> String {
        let mut out = String::new();
        for failure in self.failures.iter().take(FAILURES_SHOWN) {
            let _ = writeln!(
                out,
                "FAILED {} as {} {:?}: {}\n  request: {}",
                failure.label, failure.caller, failure.families, failure.detail, failure.request
            );
        }
        if self.failures.len() > FAILURES_SHOWN {
            let _ = writeln!(out, "… and {} more", self.failures.len() - FAILURES_SHOWN);
        }
        let _ = writeln!(
            out,
            "replay: ISOLATION_SEED={seed} ISOLATION_VARIANTS={} cargo test --test isolation_random -- --nocapture",
            self.variants
        );
        out
    }
}

fn add_counts<K: Ord>(into: &mut BTreeMap<K, usize>, from: BTreeMap<K, usize>) {
    for (key, count) in from {
        *into.entry(key).or_default() += count;
    }
}
