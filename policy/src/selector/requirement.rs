//! One requirement of a label selector (`labels.Requirement`): a key, an operator and its values.

use std::collections::BTreeMap;
use std::fmt;
use std::iter;

use super::SelectorError;
use super::validate::{validate_key, validate_value};

/// A requirement's operator (`selection.Operator`), in apimachinery's text form `=`, `==`, `!=`, `in`,
/// `notin`, `exists`, `!`, `gt`, `lt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    /// `key=value`: the label is present with the value.
    Equals,
    /// `key==value`: the same as [`Operator::Equals`].
    DoubleEquals,
    /// `key!=value`: the label is absent or has another value.
    NotEquals,
    /// `key in (a,b)`: the label is present with one of the values.
    In,
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn,
    /// `key`: the label is present.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>n`: the label is present and, read as an integer, greater than `n`.
    GreaterThan,
    /// `key<n`: the label is present and, read as an integer, less than `n`.
    LessThan,
}

impl Operator {
    /// Apimachinery's name of the operator (`selection.Operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }

    /// Whether the operator needs the label present with one of the values (`=`, `==`, `in`).
    pub fn is_positive(self) -> bool {
        matches!(self, Operator::Equals | Operator::DoubleEquals | Operator::In)
    }

    /// The text around a requirement's key and values when printed: (before key, after key, around values).
    fn punctuation(self) -> (&'static str, &'static str, (&'static str, &'static str)) {
        match self {
            Operator::Equals => ("", "=", ("", "")),
            Operator::DoubleEquals => ("", "==", ("", "")),
            Operator::NotEquals => ("", "!=", ("", "")),
            Operator::In => ("", " in ", ("(", ")")),
            Operator::NotIn => ("", " notin ", ("(", ")")),
            Operator::Exists => ("", "", ("", "")),
            Operator::DoesNotExist => ("!", "", ("", "")),
            Operator::GreaterThan => ("", ">", ("", "")),
            Operator::LessThan => ("", "<", ("", "")),
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One requirement: `key`, `operator` and `values` (sorted and deduplicated; none for `Exists` and
/// `DoesNotExist`, exactly one for `=`, `==`, `!=`, `>`, `<`, at least one for `in` and `notin`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    /// The label key, a qualified name.
    pub key: String,
    /// The operator.
    pub operator: Operator,
    /// The values, sorted and deduplicated.
    pub values: Vec<String>,
}

impl Requirement {
    /// A checked requirement, as apimachinery's `labels.NewRequirement`: the key must be a qualified name,
    /// every value a label value, the values as many as the operator takes (counted as given, before
    /// deduplication), and a `>` / `<` value a 64-bit integer.
    pub fn new<I, S>(key: &str, operator: Operator, values: I) -> Result<Self, SelectorError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        validate_key(key)?;
        let mut values: Vec<String> = values.into_iter().map(|v| v.as_ref().to_owned()).collect();
        let count_reason = match operator {
            Operator::In | Operator::NotIn => {
                (values.is_empty()).then_some("for 'in', 'notin' operators, values set can't be empty")
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                (values.len() != 1).then_some("exact-match compatibility requires one single value")
            }
            Operator::Exists | Operator::DoesNotExist => {
                (!values.is_empty()).then_some("values set must be empty for exists and does not exist")
            }
            Operator::GreaterThan | Operator::LessThan => {
                (values.len() != 1).then_some("for 'Gt', 'Lt' operators, exactly one value is required")
            }
        };
        if let Some(reason) = count_reason {
            return Err(SelectorError::ValueCount {
                operator,
                count: values.len(),
                reason,
            });
        }
        if matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            for value in &values {
                if value.parse::<i64>().is_err() {
                    return Err(SelectorError::NotAnInteger { value: value.clone() });
                }
            }
        }
        for value in &values {
            validate_value(key, value)?;
        }
        values.sort_unstable();
        values.dedup();
        Ok(Self {
            key: key.to_owned(),
            operator,
            values,
        })
    }

    /// Whether an object with `labels` meets the requirement (`Requirement.Matches`); see
    /// [`Requirement::matches_label`].
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_label(labels.get(&self.key).map(String::as_str))
    }

    /// Whether an object whose label `key` is `label` (`None`: absent) meets the requirement: `=`, `==`, `in`
    /// need the label present with one of the values; `!=`, `notin` hold when it is absent or has none of
    /// them; `>` / `<` compare the label read as a 64-bit integer and never hold when it is absent or not an
    /// integer.
    pub fn matches_label(&self, label: Option<&str>) -> bool {
        let has_value = |v: &str| self.values.iter().any(|own| own == v);
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => label.is_some_and(has_value),
            Operator::NotEquals | Operator::NotIn => label.is_none_or(|v| !has_value(v)),
            Operator::Exists => label.is_some(),
            Operator::DoesNotExist => label.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(label), [bound]) = (label, self.values.as_slice()) else {
                    return false;
                };
                match (label.parse::<i64>(), bound.parse::<i64>()) {
                    (Ok(label), Ok(bound)) if self.operator == Operator::GreaterThan => label > bound,
                    (Ok(label), Ok(bound)) => label < bound,
                    _ => false,
                }
            }
        }
    }

    /// The values, sorted and deduplicated.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The printed text in pieces, as apimachinery's `Requirement.String()`: `!k`, `k`, `k=v`, `k==v`,
    /// `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`.
    pub(super) fn text_pieces(&self) -> impl Iterator<Item = &str> + '_ {
        let (before, after, (open, close)) = self.operator.punctuation();
        let values = match self.operator {
            Operator::Exists | Operator::DoesNotExist => &[][..],
            _ => self.values.as_slice(),
        };
        let joined = values
            .iter()
            .enumerate()
            .flat_map(|(i, v)| [if i == 0 { "" } else { "," }, v.as_str()]);
        [before, self.key.as_str(), after, open]
            .into_iter()
            .chain(joined)
            .chain(iter::once(close))
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.text_pieces().try_for_each(|piece| f.write_str(piece))
    }
}
