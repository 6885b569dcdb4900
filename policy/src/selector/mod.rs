//! Kubernetes label selectors, and the query rewrite of filtered requests.
//!
//! When a tenant owner lists namespaces, nodes or classes, the proxy forwards the list to kube-apiserver as
//! itself, with a `labelSelector` that ANDs the caller's own selector with the proxy's (behaviour reference
//! §2.5). That text must mean to kube-apiserver exactly what it means here, and no caller input may widen
//! what the caller sees. So the caller's selector is never passed on as text: [`Selector::parse`] reads it
//! with the grammar of apimachinery's `labels.Parse`, [`Selector::and`] combines it with the proxy's, and
//! [`rewrite_query`] writes the canonical text back (apimachinery's `Selector.String()`), with every
//! `labelSelector` parameter of the request folded in, however it was encoded.
//!
//! ```text
//!  ?watch=1&labelSelector=app%3Dweb ──parse──▶ app=web ──and──▶ app=web,kubernetes.io/metadata.name in (a,b)
//!                                                                   │ print + QueryEscape
//!  ?watch=1&labelSelector=app%3Dweb%2Ckubernetes.io%2Fmetadata.name+in+%28a%2Cb%29 ◀──┘
//! ```
//!
//! [`Selector::union`] is the exact OR of selectors when one selector can express it, for merging the
//! selectors of several tenants or rules.

mod error;
mod parse;
mod query;
mod requirement;
mod union;
mod validate;

#[cfg(test)]
mod generator_rates;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod query_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

pub use error::SelectorError;
pub use query::{QueryError, is_watch, push_query_pair, query_value, query_without, rewrite_query};
pub use requirement::{Operator, Requirement};

use crate::model::{LabelSelector, SelectorOperator};

/// The key of [`Selector::nothing`]: the Go proxy's marker for "no object", kept so logs read the same.
const NOTHING_KEY: &str = "dontexistsignoreme";

/// A label selector: requirements that must all hold, stably sorted by key.
///
/// Every requirement was checked as apimachinery's `labels.NewRequirement` checks it, so the printed form
/// ([`fmt::Display`]) parses back to an equal selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    /// The requirements, stably sorted by key.
    requirements: Vec<Requirement>,
}

// === impl Selector ===

impl Selector {
    /// The selector without requirements: every object, printed as the empty text.
    pub fn everything() -> Self {
        Self::default()
    }

    /// A selector no object can match: `dontexistsignoreme,!dontexistsignoreme`. (The Go proxy sends the bare
    /// `dontexistsignoreme`, which an object carrying that label would match.)
    pub fn nothing() -> Self {
        let requirement = |operator| Requirement {
            key: NOTHING_KEY.to_owned(),
            operator,
            values: Vec::new(),
        };
        Self {
            requirements: vec![requirement(Operator::Exists), requirement(Operator::DoesNotExist)],
        }
    }

    /// Whether the selector has no requirements (matches every object).
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether the selector requires some key both present and absent (as [`Selector::nothing`] does), so
    /// that no object can match it.
    pub fn is_nothing(&self) -> bool {
        self.requirements.iter().any(|exists| {
            exists.operator == Operator::Exists
                && self
                    .requirements
                    .iter()
                    .any(|absent| absent.operator == Operator::DoesNotExist && absent.key == exists.key)
        })
    }

    /// Parses selector text exactly as apimachinery's `labels.Parse` (see the grammar in `parse.rs`); empty
    /// or blank text is [`Selector::everything`]. Requirements are kept as written (duplicates included),
    /// stably sorted by key.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        parse::parse(text)
    }

    /// The selector of a `metav1.LabelSelector`, as apimachinery's `LabelSelectorAsSelector`: one `key=value`
    /// per `matchLabels` entry and one requirement per `matchExpressions` entry; an empty one is
    /// [`Selector::everything`].
    pub fn from_label_selector(selector: &LabelSelector) -> Result<Self, SelectorError> {
        let mut requirements =
            Vec::with_capacity(selector.match_labels.len() + selector.match_expressions.len());
        for (key, value) in &selector.match_labels {
            requirements.push(Requirement::new(key, Operator::Equals, [value])?);
        }
        for expression in &selector.match_expressions {
            let operator = match expression.operator {
                SelectorOperator::In => Operator::In,
                SelectorOperator::NotIn => Operator::NotIn,
                SelectorOperator::Exists => Operator::Exists,
                SelectorOperator::DoesNotExist => Operator::DoesNotExist,
            };
            requirements.push(Requirement::new(&expression.key, operator, &expression.values)?);
        }
        Ok(Self::sorted(requirements))
    }

    /// A selector of the given requirements, each checked again as [`Requirement::new`] checks it (its fields
    /// are public, so it may have been built by hand).
    pub fn from_requirements<I>(requirements: I) -> Result<Self, SelectorError>
    where
        I: IntoIterator<Item = Requirement>,
    {
        let checked = requirements
            .into_iter()
            .map(|r| Requirement::new(&r.key, r.operator, &r.values))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::sorted(checked))
    }

    /// `key in (values…)`; without values, [`Selector::nothing`] (apimachinery refuses an empty `in`).
    pub fn in_values<I, S>(key: &str, values: I) -> Result<Self, SelectorError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        validate::validate_key(key)?;
        let mut values = values.into_iter().peekable();
        if values.peek().is_none() {
            return Ok(Self::nothing());
        }
        Ok(Self {
            requirements: vec![Requirement::new(key, Operator::In, values)?],
        })
    }

    /// `key=value`.
    pub fn equals(key: &str, value: &str) -> Result<Self, SelectorError> {
        Ok(Self {
            requirements: vec![Requirement::new(key, Operator::Equals, [value])?],
        })
    }

    /// The selector matching what both match: the requirements of both, exact duplicates removed. When the
    /// result can match nothing by [`Selector::is_nothing`] it is [`Selector::nothing`].
    pub fn and(&self, other: &Selector) -> Selector {
        self.clone().and_into(other)
    }

    /// [`Selector::and`], reusing `self`'s storage.
    pub(crate) fn and_into(mut self, other: &Selector) -> Selector {
        self.requirements.extend(other.requirements.iter().cloned());
        self.requirements.sort_by(|a, b| a.key.cmp(&b.key));
        let mut kept: Vec<Requirement> = Vec::with_capacity(self.requirements.len());
        for requirement in self.requirements {
            let seen = kept
                .iter()
                .rev()
                .take_while(|k| k.key == requirement.key)
                .any(|k| *k == requirement);
            if !seen {
                kept.push(requirement);
            }
        }
        let combined = Self { requirements: kept };
        if combined.is_nothing() {
            Self::nothing()
        } else {
            combined
        }
    }

    /// The exact OR of `selectors` when a single selector can express it, else `None`; see `union.rs`.
    pub fn union(selectors: &[Selector]) -> Option<Selector> {
        union::union(selectors)
    }

    /// Whether an object with `labels` matches every requirement (apimachinery's `Selector.Matches`).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The requirements, stably sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// The selector of checked `requirements`, stably sorted by key as apimachinery sorts them.
    fn sorted(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Self { requirements }
    }

    /// The printed text in pieces: the requirements' texts joined by `,`.
    fn text_pieces(&self) -> impl Iterator<Item = &str> + '_ {
        self.requirements
            .iter()
            .enumerate()
            .flat_map(|(i, r)| std::iter::once(if i == 0 { "" } else { "," }).chain(r.text_pieces()))
    }
}

/// Apimachinery's `Selector.String()`: requirements in key order joined by `,`, values sorted.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.text_pieces().try_for_each(|piece| f.write_str(piece))
    }
}
