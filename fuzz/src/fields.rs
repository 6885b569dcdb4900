//! Header-field tables of parsed heads, keyed by lower-cased name, for comparing a head before and after
//! forwarding.

use std::collections::BTreeMap;

use capsule_proxy_dataplane::codec::Headers;

/// Fields that describe one connection only (RFC 9110 §7.6.1, plus the proxy-auth pair): never forwarded as
/// received.
pub const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Every field's values in order, keyed by lower-cased name.
pub type FieldTable = BTreeMap<String, Vec<Vec<u8>>>;

/// The fields of `headers` as a [`FieldTable`].
pub fn table(headers: &Headers<'_>) -> FieldTable {
    let mut out = FieldTable::new();
    for (name, value) in headers.iter() {
        out.entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.to_vec());
    }
    out
}

/// How many fields are named `name` (case-insensitive).
pub fn count(headers: &Headers<'_>, name: &str) -> usize {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .count()
}

/// The lower-cased, non-empty, whitespace-trimmed elements of every `Connection` field.
pub fn connection_tokens(headers: &Headers<'_>) -> Vec<String> {
    headers
        .get_all("connection")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(|element| trim_blanks(element).to_ascii_lowercase())
        .filter(|element| !element.is_empty())
        .map(|element| String::from_utf8_lossy(&element).into_owned())
        .collect()
}

/// Strips SP and HTAB at both ends.
pub fn trim_blanks(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Whether `value` can be written as a field value: field-value bytes (HTAB, SP, VCHAR, obs-text) without
/// whitespace at either end.
pub fn is_writable_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80)
        && trim_blanks(value).len() == value.len()
}
