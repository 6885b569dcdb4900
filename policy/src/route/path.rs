//! The path the routes match, as Go serves it: `net/http` percent-decodes the request path (`URL.Path`) and
//! gorilla/mux matches the decoded path after its path cleaning, which answers an unclean path with a
//! `301 Moved Permanently` to the clean one.

use std::borrow::Cow;

/// The path to route, or where to redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathForm<'a> {
    /// The decoded path; it is clean, route it.
    Canonical(Cow<'a, str>),
    /// The path is not clean (`//`, a `.` or `..` segment, no leading `/`): answer `301` with this
    /// `Location`, the clean path percent-encoded as Go's `URL.EscapedPath` does (a trailing slash is kept).
    /// The caller appends `?` and the raw query when the request had one.
    Redirect(String),
}

/// Why a request path cannot be served (`400 Bad Request`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A `%` not followed by two hex digits.
    #[error("invalid URL escape {0:?}")]
    MalformedEscape(String),
    /// A raw ASCII control character.
    #[error("invalid control character in URL")]
    ControlCharacter,
    /// A NUL byte once decoded.
    #[error("the path holds an escaped NUL byte")]
    Nul,
    /// The decoded bytes are not UTF-8.
    #[error("the decoded path is not valid UTF-8")]
    NotUtf8,
}

/// The path to route for the raw request path `raw` (without the query): decoded, and clean or redirected.
/// Borrows `raw` when it holds no escape.
pub fn canonical_path(raw: &str) -> Result<PathForm<'_>, PathError> {
    let decoded = decode(raw)?;
    if is_clean(&decoded) {
        return Ok(PathForm::Canonical(decoded));
    }
    Ok(PathForm::Redirect(escape(&clean(&decoded))))
}

/// Percent-decodes `raw` as Go's `url.PathUnescape` (a `+` stays a `+`).
fn decode(raw: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = raw.as_bytes();
    if bytes.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(PathError::ControlCharacter);
    }
    if !bytes.contains(&b'%') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        if b != b'%' {
            out.push(b);
            at += 1;
            continue;
        }
        let hi = bytes.get(at + 1).and_then(|&c| hex_value(c));
        let lo = bytes.get(at + 2).and_then(|&c| hex_value(c));
        match (hi, lo) {
            (Some(hi), Some(lo)) => {
                out.push((hi << 4) | lo);
                at += 3;
            }
            _ => {
                let escape = bytes.get(at..bytes.len().min(at + 3)).unwrap_or_default();
                return Err(PathError::MalformedEscape(
                    String::from_utf8_lossy(escape).into_owned(),
                ));
            }
        }
    }
    if out.contains(&0) {
        return Err(PathError::Nul);
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| PathError::NotUtf8)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Whether mux's `cleanPath` leaves `path` as it is.
fn is_clean(path: &str) -> bool {
    path.starts_with('/') && !path.contains("//") && !path.split('/').any(|s| s == "." || s == "..")
}

/// mux's `cleanPath`: a leading `/`, Go's `path.Clean` (no `//`, no `.`, `..` removes the segment before it
/// and never climbs above the root), and the trailing slash of `path` kept.
fn clean(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            segment => kept.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    out
}

/// Percent-encodes a path as Go's `URL.EscapedPath` does for a path it has no raw form of: letters, digits,
/// `-_.~` and `$&+,/:;=@` stay, every other byte becomes `%XX`.
fn escape(path: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(path: &str) -> PathForm<'_> {
        PathForm::Canonical(Cow::Borrowed(path))
    }

    fn redirect(to: &str) -> PathForm<'static> {
        PathForm::Redirect(to.to_owned())
    }

    #[test]
    fn clean_paths_are_borrowed() {
        for path in [
            "/",
            "/api/v1/namespaces",
            "/api/v1/namespaces/",
            "/apis/a.b/v1/x+y",
            "/version",
        ] {
            let form = canonical_path(path);
            assert_eq!(form, Ok(canonical(path)));
            assert!(
                matches!(form, Ok(PathForm::Canonical(Cow::Borrowed(_)))),
                "{path:?}"
            );
        }
    }

    #[test]
    fn escapes_are_decoded() {
        let cases = [
            ("/api/v1/namespaces/a%2Db", "/api/v1/namespaces/a-b"),
            ("/api/v1/names%70aces", "/api/v1/namespaces"),
            ("/api/v1/namespaces/a%2fb", "/api/v1/namespaces/a/b"),
            ("/api/v1/namespaces/%C3%A9", "/api/v1/namespaces/é"),
            ("/api/v1/namespaces/a+b%20c", "/api/v1/namespaces/a+b c"),
            // An escaped control character other than NUL is decoded (a raw one is refused): names holding one
            // are refused by the decisions, not here.
            ("/api/v1/namespaces/a%01", "/api/v1/namespaces/a\u{1}"),
        ];
        for (raw, want) in cases {
            assert_eq!(
                canonical_path(raw),
                Ok(PathForm::Canonical(Cow::Owned(want.to_owned()))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn unclean_paths_redirect_like_mux() {
        let cases = [
            ("//api/v1/namespaces", "/api/v1/namespaces"),
            ("/api//v1/namespaces/", "/api/v1/namespaces/"),
            ("/api/v1/./namespaces", "/api/v1/namespaces"),
            ("/api/v1/namespaces/x/..", "/api/v1/namespaces"),
            ("/api/v1/namespaces/x/../", "/api/v1/namespaces/"),
            ("/api/v1/namespaces/%2E%2E", "/api/v1"),
            ("/api/v1/namespaces/a%2F..%2Fb", "/api/v1/namespaces/b"),
            ("/..", "/"),
            ("/../..//", "/"),
            ("/.", "/"),
            ("", "/"),
            ("api/v1", "/api/v1"),
            ("/a b/./c", "/a%20b/c"),
            ("/é/.", "/%C3%A9"),
            ("/a?b/./c", "/a%3Fb/c"),
            ("/x$&+,:;=@-_.~/.", "/x$&+,:;=@-_.~"),
        ];
        for (raw, want) in cases {
            assert_eq!(canonical_path(raw), Ok(redirect(want)), "{raw:?}");
        }
    }

    #[test]
    fn bad_paths_are_errors() {
        let cases = [
            ("/api/%zz", PathError::MalformedEscape("%zz".into())),
            ("/api/%4", PathError::MalformedEscape("%4".into())),
            ("/api/%", PathError::MalformedEscape("%".into())),
            ("/api/%00", PathError::Nul),
            ("/api/%ff", PathError::NotUtf8),
            ("/api/%C3", PathError::NotUtf8),
            ("/api/\n", PathError::ControlCharacter),
            ("/api/\u{7f}", PathError::ControlCharacter),
        ];
        for (raw, want) in cases {
            assert_eq!(canonical_path(raw), Err(want), "{raw:?}");
        }
    }
}
