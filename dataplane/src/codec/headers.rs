//! Borrowed view of a parsed head's fields, and the framing-relevant facts extracted from them.

use super::{CodecError, Version};

/// The header fields of a parsed head, as a zero-copy view into the caller's buffer.
///
/// Only the parser constructs it, after the block has been validated (CRLF lines, token names, no obs-fold),
/// so iteration is a cheap re-split of the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'a> {
    block: &'a [u8],
    count: usize,
}

impl<'a> Headers<'a> {
    /// Wraps a validated field block: zero or more `name:value\r\n` lines.
    pub(crate) fn new(block: &'a [u8], count: usize) -> Self {
        Self { block, count }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Fields in order, as `(name, value)` with the value stripped of surrounding whitespace.
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter { rest: self.block }
    }

    /// Value of the first field named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Values of every field named `name` (case-insensitive).
    pub fn get_all<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = (&'a str, &'a [u8]);
    type IntoIter = HeaderIter<'a>;
    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Headers`].
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        // The block was validated: every line ends in CRLF, so the line ends before the next LF.
        let (line, rest) = match memchr::memchr(b'\n', self.rest) {
            Some(lf) => (&self.rest[..lf.saturating_sub(1)], &self.rest[lf + 1..]),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        let colon = memchr::memchr(b':', line).unwrap_or(line.len());
        // Names were validated as tokens (ASCII) by the parser, so this never falls back.
        let name = std::str::from_utf8(&line[..colon]).unwrap_or_default();
        let value = trim_ows(line.get(colon + 1..).unwrap_or(&[]));
        Some((name, value))
    }
}

/// Strips leading and trailing SP / HTAB.
pub(crate) fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Non-empty elements of a comma-separated list value (RFC 9110 §5.6.1), whitespace-trimmed.
pub(crate) fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',').map(trim_ows).filter(|e| !e.is_empty())
}

/// `tchar` from RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Field-value bytes: HTAB, SP, VCHAR, obs-text.
pub(crate) fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Rejects any LF not preceded by CR (httparse tolerates bare LF line endings).
pub(crate) fn check_crlf(head: &[u8]) -> Result<(), CodecError> {
    let mut prev = 0u8;
    for &b in head {
        if b == b'\n' && prev != b'\r' {
            return Err(CodecError::InvalidLineEnding);
        }
        prev = b;
    }
    Ok(())
}

/// The field block of a validated head of length `len`: after the start line, before the final CRLF.
pub(crate) fn field_block(head: &[u8]) -> &[u8] {
    // Leading empty lines before the start line are tolerated by httparse (RFC 9112 §2.2).
    let mut start = 0;
    while head[start..].starts_with(b"\r\n") {
        start += 2;
    }
    let line_end = head[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(head.len(), |p| start + p + 2);
    let end = head.len().saturating_sub(2).max(line_end);
    head.get(line_end..end).unwrap_or(&[])
}

/// Framing-relevant facts gathered from a head's fields.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldFacts {
    pub(crate) content_length: Option<u64>,
    pub(crate) chunked: bool,
    pub(crate) conn_close: bool,
    pub(crate) conn_keep_alive: bool,
    pub(crate) conn_upgrade: bool,
    pub(crate) has_upgrade: bool,
    pub(crate) expect_continue: bool,
    pub(crate) host_count: usize,
}

impl FieldFacts {
    /// Whether the connection must close after this message (RFC 9112 §9.3).
    pub(crate) fn close(&self, version: Version) -> bool {
        self.conn_close || (version == Version::Http10 && !self.conn_keep_alive)
    }
}

/// Extracts framing facts and enforces the CL / TE rules shared by requests and responses.
pub(crate) fn analyze(headers: &[httparse::Header<'_>], version: Version) -> Result<FieldFacts, CodecError> {
    let mut facts = FieldFacts::default();
    let mut te_seen = false;
    // Transfer codings across all TE fields: how many, how many are `chunked`, and whether the last is.
    let (mut codings, mut chunked_count, mut last_chunked) = (0usize, 0usize, false);
    for h in headers {
        let name = h.name;
        let value = trim_ows(h.value);
        if name.eq_ignore_ascii_case("content-length") {
            if facts.content_length.is_some() {
                return Err(CodecError::DuplicateContentLength);
            }
            facts.content_length = Some(parse_content_length(value)?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            te_seen = true;
            for coding in list_elements(value) {
                codings += 1;
                last_chunked = coding.eq_ignore_ascii_case(b"chunked");
                chunked_count += usize::from(last_chunked);
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in list_elements(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    facts.conn_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    facts.conn_keep_alive = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    facts.conn_upgrade = true;
                }
            }
        } else if name.eq_ignore_ascii_case("upgrade") {
            facts.has_upgrade = true;
        } else if name.eq_ignore_ascii_case("expect") {
            facts.expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
        } else if name.eq_ignore_ascii_case("host") {
            facts.host_count += 1;
        }
    }
    if te_seen {
        if version == Version::Http10 {
            return Err(CodecError::TransferEncodingInHttp10);
        }
        if facts.content_length.is_some() {
            return Err(CodecError::ContentLengthWithTransferEncoding);
        }
        facts.chunked = match (codings, chunked_count, last_chunked) {
            (1, 1, true) => true,
            (_, 1, true) => return Err(CodecError::UnsupportedTransferEncoding),
            _ => return Err(CodecError::InvalidTransferEncoding),
        };
    }
    Ok(facts)
}

/// `Content-Length = 1*DIGIT`, fitting in u64.
fn parse_content_length(v: &[u8]) -> Result<u64, CodecError> {
    if v.is_empty() {
        return Err(CodecError::InvalidContentLength);
    }
    v.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return Err(CodecError::InvalidContentLength);
        }
        acc.checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(b - b'0')))
            .ok_or(CodecError::InvalidContentLength)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_validated_block() {
        let h = Headers::new(b"Host: a\r\nX-Empty:\r\nX-Tab:\t v \t\r\n", 3);
        let all: Vec<_> = h.iter().collect();
        assert_eq!(
            all,
            vec![("Host", &b"a"[..]), ("X-Empty", &b""[..]), ("X-Tab", &b"v"[..])]
        );
        assert_eq!(h.get("host"), Some(&b"a"[..]));
        assert_eq!(h.len(), 3);
        assert!(Headers::new(b"", 0).iter().next().is_none());
    }

    #[test]
    fn content_length_values() {
        assert_eq!(parse_content_length(b"0"), Ok(0));
        assert_eq!(parse_content_length(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"+1",
            b"-1",
            b"1 2",
            b"0x10",
            b"5, 5",
            b"1.0",
        ] {
            assert_eq!(
                parse_content_length(bad),
                Err(CodecError::InvalidContentLength),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn crlf_check() {
        assert!(check_crlf(b"GET / HTTP/1.1\r\n\r\n").is_ok());
        assert_eq!(
            check_crlf(b"GET / HTTP/1.1\n\r\n"),
            Err(CodecError::InvalidLineEnding)
        );
    }
}
