//! Reading and rewriting the raw query string of a request, decoded the way Go's `net/url` decodes it.
//!
//! kube-apiserver reads its parameters with `url.ParseQuery`, which silently drops a pair with a malformed
//! escape or a `;`. Here such a query is an error instead: whatever is forwarded, kube-apiserver reads
//! exactly the pairs read here.

use std::borrow::Cow;

use super::{Selector, SelectorError};

/// The query parameter holding a label selector.
const LABEL_SELECTOR: &str = "labelSelector";

/// A query string that cannot be read safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A pair holds a `;` (Go's `net/url` refuses it as a separator and drops the pair).
    #[error("invalid semicolon separator in query")]
    Semicolon,
    /// A `%` not followed by two hexadecimal digits (Go's `url.EscapeError`).
    #[error("invalid URL escape {0:?}")]
    InvalidEscape(String),
    /// A key or value whose decoded bytes are not UTF-8.
    #[error("query component {0:?} does not decode to UTF-8")]
    NotUtf8(String),
    /// A `labelSelector` value that is not a valid selector.
    #[error("invalid labelSelector: {0}")]
    Selector(#[from] SelectorError),
}

/// Rewrites the raw query string `query` (without `?`) of a filtered request into `out` (cleared first):
/// every pair whose decoded key is `labelSelector` is removed, their selectors are ANDed together and with
/// `add`, and the result is appended as one `labelSelector=…` (omitted when it is [`Selector::everything`]),
/// encoded like Go's `url.QueryEscape`. Every other non-empty pair is copied byte for byte, in order, joined
/// by `&`.
///
/// Every key and value is decoded like Go's `url.QueryUnescape` (`+` is a space); a `;`, a malformed escape,
/// a non-UTF-8 result or an invalid selector is an error, and `out` is then left empty.
pub fn rewrite_query(query: &str, add: &Selector, out: &mut String) -> Result<(), QueryError> {
    out.clear();
    let result = rewrite_into(query, add, out);
    if result.is_err() {
        out.clear();
    }
    result
}

/// [`rewrite_query`] without the clean-up on error.
fn rewrite_into(query: &str, add: &Selector, out: &mut String) -> Result<(), QueryError> {
    let mut scratch = Vec::new();
    let mut caller: Option<Selector> = None;
    for pair in pairs(query) {
        let (key, value) = split_pair(pair)?;
        if decodes_to(key, LABEL_SELECTOR, &mut scratch)? {
            let selector = Selector::parse(&decode(value)?)?;
            caller = Some(match caller {
                Some(earlier) => earlier.and_into(&selector),
                None => selector,
            });
        } else {
            check_component(value, &mut scratch)?;
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(pair);
        }
    }
    let combined = match caller {
        Some(caller) => Cow::Owned(caller.and_into(add)),
        None => Cow::Borrowed(add),
    };
    if !combined.is_everything() {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(LABEL_SELECTOR);
        out.push('=');
        for piece in combined.text_pieces() {
            push_query_escaped(out, piece);
        }
    }
    Ok(())
}

/// The decoded value of the first pair of `query` whose decoded key is `key` (Go's `url.Values.Get`), or
/// `None`. The whole query is checked as [`rewrite_query`] checks it, so both accept the same queries.
pub fn query_value<'q>(query: &'q str, key: &str) -> Result<Option<Cow<'q, str>>, QueryError> {
    let mut scratch = Vec::new();
    let mut found = None;
    for pair in pairs(query) {
        let (raw_key, raw_value) = split_pair(pair)?;
        if decodes_to(raw_key, key, &mut scratch)? && found.is_none() {
            found = Some(decode(raw_value)?);
        } else {
            check_component(raw_value, &mut scratch)?;
        }
    }
    Ok(found)
}

/// Copies the raw query `query` into `out` (cleared first) without the pairs whose decoded key is one of
/// `drop`: every other non-empty pair byte for byte, in order, joined by `&`. A query [`query_value`] refuses
/// is refused here too, and `out` is then left empty.
pub fn query_without(query: &str, drop: &[&str], out: &mut String) -> Result<(), QueryError> {
    out.clear();
    let mut scratch = Vec::new();
    for pair in pairs(query) {
        let (key, value) = match split_pair(pair) {
            Ok(split) => split,
            Err(e) => {
                out.clear();
                return Err(e);
            }
        };
        let mut dropped = false;
        for name in drop {
            match decodes_to(key, name, &mut scratch) {
                Ok(found) => dropped |= found,
                Err(e) => {
                    out.clear();
                    return Err(e);
                }
            }
        }
        if let Err(e) = check_component(value, &mut scratch) {
            out.clear();
            return Err(e);
        }
        if !dropped {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(pair);
        }
    }
    Ok(())
}

/// Appends the pair `key=value` to the query in `out` (after a `&` unless `out` is empty), the value encoded
/// like Go's `url.QueryEscape`; `key` is written as it is.
pub fn push_query_pair(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    out.push_str(key);
    out.push('=');
    push_query_escaped(out, value);
}

/// Whether the request is a watch: its first `watch` value is true for Go's `strconv.ParseBool` (`1`, `t`,
/// `T`, `TRUE`, `true`, `True`), as the Go proxy reads it. A query [`query_value`] refuses is not a watch.
///
/// kube-apiserver itself reads `watch` more widely: every first value but `0` and `false` (any case) is true
/// there, `watch=` and `watch=yes` included.
pub fn is_watch(query: &str) -> bool {
    matches!(
        query_value(query, "watch"),
        Ok(Some(value)) if matches!(&*value, "1" | "t" | "T" | "TRUE" | "true" | "True")
    )
}

/// The non-empty `&`-separated pairs of a raw query.
fn pairs(query: &str) -> impl Iterator<Item = &str> {
    query.split('&').filter(|pair| !pair.is_empty())
}

/// A pair's raw key and value (`""` without `=`); a pair with `;` is an error.
fn split_pair(pair: &str) -> Result<(&str, &str), QueryError> {
    if pair.contains(';') {
        return Err(QueryError::Semicolon);
    }
    Ok(pair.split_once('=').unwrap_or((pair, "")))
}

/// Whether the raw component decodes to exactly `expected`; an undecodable component is an error. Allocates
/// only for a component with `%` escapes, into `scratch`.
fn decodes_to(raw: &str, expected: &str, scratch: &mut Vec<u8>) -> Result<bool, QueryError> {
    if !raw.contains('%') {
        let decoded = raw.bytes().map(|b| if b == b'+' { b' ' } else { b });
        return Ok(decoded.eq(expected.bytes()));
    }
    decode_into(raw, scratch)?;
    Ok(scratch.as_slice() == expected.as_bytes())
}

/// Checks that the raw component decodes; allocates only for a component with `%` escapes, into `scratch`.
fn check_component(raw: &str, scratch: &mut Vec<u8>) -> Result<(), QueryError> {
    if raw.contains('%') {
        decode_into(raw, scratch)?;
    }
    Ok(())
}

/// The decoded component, borrowed when it has neither `+` nor `%`.
pub(super) fn decode(raw: &str) -> Result<Cow<'_, str>, QueryError> {
    if !raw.contains(['%', '+']) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut bytes = Vec::with_capacity(raw.len());
    decode_into(raw, &mut bytes)?;
    String::from_utf8(bytes)
        .map(Cow::Owned)
        .map_err(|_| QueryError::NotUtf8(raw.to_owned()))
}

/// Decodes `raw` into `out` (cleared first) like Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a
/// `%` without two hexadecimal digits after it, or a result that is not UTF-8, is an error.
fn decode_into(raw: &str, out: &mut Vec<u8>) -> Result<(), QueryError> {
    out.clear();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'%' => {
                let high = bytes.get(i + 1).copied().and_then(hex_value);
                let low = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(high), Some(low)) = (high, low) else {
                    let bad = &bytes[i..bytes.len().min(i + 3)];
                    return Err(QueryError::InvalidEscape(
                        String::from_utf8_lossy(bad).into_owned(),
                    ));
                };
                out.push(high << 4 | low);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    if std::str::from_utf8(out).is_err() {
        return Err(QueryError::NotUtf8(raw.to_owned()));
    }
    Ok(())
}

/// The value of a hexadecimal digit.
fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Appends `text` encoded like Go's `url.QueryEscape`: `A-Za-z0-9-_.~` as they are, space as `+`, every other
/// byte as `%XX` (upper-case hexadecimal).
pub(super) fn push_query_escaped(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
}
