//! Why a selector could not be parsed or built, worded like apimachinery's `labels` errors.

use super::Operator;

/// A selector text or requirement that apimachinery's `labels.Parse` / `labels.NewRequirement` would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A requirement of a selector text is malformed; the cause is inside (`unable to parse requirement: …`).
    #[error("unable to parse requirement: {0}")]
    Requirement(Box<SelectorError>),
    /// A token the grammar does not allow at this place.
    #[error("found '{found}', expected: {expected}")]
    Unexpected {
        /// The token text found (empty at the end of the text).
        found: String,
        /// What the grammar allows here.
        expected: &'static str,
    },
    /// A set operator not followed by `(`; apimachinery words this one without the comma of the others.
    #[error("found '{found}' expected: '('")]
    ExpectedOpenParen {
        /// The token text found (empty at the end of the text).
        found: String,
    },
    /// A key that is not a qualified name (`[prefix/]name`).
    #[error("key: Invalid value: {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A value that is not a label value.
    #[error("values[{key}]: Invalid value: {value:?}: {reason}")]
    InvalidValue {
        /// The key the value belongs to.
        key: String,
        /// The value as given.
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The operator does not take this many values.
    #[error("values: Invalid value: {count} value(s) for '{operator}': {reason}")]
    ValueCount {
        /// The requirement's operator.
        operator: Operator,
        /// How many values were given.
        count: usize,
        /// What the operator needs.
        reason: &'static str,
    },
    /// The value of a `>` or `<` requirement is not a 64-bit integer.
    #[error("values: Invalid value: {value:?}: for 'Gt', 'Lt' operators, the value must be an integer")]
    NotAnInteger {
        /// The value as given.
        value: String,
    },
    /// The text holds a NUL byte, which apimachinery's lexer takes for the end of the text (it would silently
    /// ignore what follows); refused so the proxy never reads a selector differently from kube-apiserver.
    #[error("selector text holds a NUL byte at offset {offset}")]
    NulByte {
        /// Byte offset of the first NUL.
        offset: usize,
    },
}
