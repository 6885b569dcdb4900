//! Head serialisation into a caller-reused buffer.

use super::headers::{is_field_value_byte, is_tchar};
use super::{CodecError, Version};

/// Appends `METHOD target VERSION\r\n`, then `headers` and `extra` as `name: value\r\n`, then `\r\n` to `out`.
///
/// Every byte is validated so that nothing (e.g. a CR/LF in a rewritten value) can break framing; on error
/// `out` is left as it was.
pub fn write_request_head<'h, 'e>(
    out: &mut Vec<u8>,
    method: &str,
    target: &str,
    version: Version,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    extra: impl IntoIterator<Item = (&'e str, &'e [u8])>,
) -> Result<(), CodecError> {
    let start = out.len();
    let result = (|| {
        if method.is_empty() || !method.bytes().all(is_tchar) {
            return Err(CodecError::Unwritable);
        }
        // What the parser accepts, and nothing else: origin-form (or `*`), visible ASCII, no fragment.
        let origin_form =
            target.starts_with('/') && target.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
        if !(origin_form || target == "*") {
            return Err(CodecError::Unwritable);
        }
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.push(b' ');
        out.extend_from_slice(version.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
        write_fields(out, headers, extra)
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Appends `HTTP/1.1 status reason\r\n`, then `headers` and `extra`, then `\r\n` to `out`; validated like
/// [`write_request_head`].
pub fn write_response_head<'h, 'e>(
    out: &mut Vec<u8>,
    status: u16,
    reason: &str,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    extra: impl IntoIterator<Item = (&'e str, &'e [u8])>,
) -> Result<(), CodecError> {
    let start = out.len();
    let result = (|| {
        if !(100..=999).contains(&status) || !reason.bytes().all(is_field_value_byte) {
            return Err(CodecError::Unwritable);
        }
        out.extend_from_slice(b"HTTP/1.1 ");
        // Three digits, checked above.
        out.extend([status / 100, status / 10 % 10, status % 10].map(|d| b'0' + (d as u8)));
        out.push(b' ');
        out.extend_from_slice(reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        write_fields(out, headers, extra)
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn write_fields<'h, 'e>(
    out: &mut Vec<u8>,
    headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
    extra: impl IntoIterator<Item = (&'e str, &'e [u8])>,
) -> Result<(), CodecError> {
    for (name, value) in headers {
        write_field(out, name, value)?;
    }
    for (name, value) in extra {
        write_field(out, name, value)?;
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn write_field(out: &mut Vec<u8>, name: &str, value: &[u8]) -> Result<(), CodecError> {
    let name_ok = !name.is_empty() && name.bytes().all(is_tchar);
    let value_ok = value.iter().copied().all(is_field_value_byte)
        && !matches!(value.first(), Some(b' ' | b'\t'))
        && !matches!(value.last(), Some(b' ' | b'\t'));
    if !(name_ok && value_ok) {
        return Err(CodecError::Unwritable);
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{HopByHop, Limits, Parsed, parse_request_head};
    use super::*;

    #[test]
    fn writes_request_head_into_reused_buffer() {
        let mut out = Vec::with_capacity(256);
        let headers = [("Host", &b"k"[..]), ("Accept", &b"*/*"[..])];
        let extra = [("Impersonate-User", &b"alice"[..])];
        write_request_head(&mut out, "GET", "/api?x=1", Version::Http11, headers, extra).unwrap();
        assert_eq!(
            out,
            b"GET /api?x=1 HTTP/1.1\r\nHost: k\r\nAccept: */*\r\nImpersonate-User: alice\r\n\r\n"
        );
        out.clear();
        write_request_head(&mut out, "DELETE", "/", Version::Http11, [], []).unwrap();
        assert_eq!(out, b"DELETE / HTTP/1.1\r\n\r\n");
        out.clear();
        write_request_head(&mut out, "GET", "/", Version::Http10, [], []).unwrap();
        assert_eq!(out, b"GET / HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn round_trips_filtered_head() {
        let buf = b"POST /x?y HTTP/1.1\r\nHost: k\r\nConnection: keep-alive\r\nKeep-Alive: 5\r\n\
                    Transfer-Encoding: chunked\r\nX-A: b\r\n\r\n";
        let Parsed::Complete { head, .. } = parse_request_head(buf, &Limits::default()).unwrap() else {
            panic!("partial")
        };
        let mut out = Vec::new();
        let extra = [("Transfer-Encoding", &b"chunked"[..])];
        write_request_head(
            &mut out,
            head.method.as_str(),
            head.target,
            head.version,
            [("Host", &b"k"[..])]
                .into_iter()
                .chain(HopByHop::for_request(&head).forwarded()),
            extra,
        )
        .unwrap();
        assert_eq!(
            out,
            b"POST /x?y HTTP/1.1\r\nHost: k\r\nX-A: b\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        let Parsed::Complete { head: again, len } = parse_request_head(&out, &Limits::default()).unwrap()
        else {
            panic!("partial")
        };
        assert_eq!(len, out.len());
        assert_eq!(again.framing, head.framing);
    }

    #[test]
    fn refuses_injection() {
        let mut out = b"keep".to_vec();
        let bad: [(&str, &[u8]); 5] = [
            ("X", b"a\r\nEvil: 1"),
            ("X", b"a\nb"),
            ("X", b"\0"),
            ("Bad Name", b"v"),
            ("", b"v"),
        ];
        for field in bad {
            assert_eq!(
                write_request_head(&mut out, "GET", "/", Version::Http11, [field], []),
                Err(CodecError::Unwritable)
            );
            assert_eq!(out, b"keep");
        }
        assert_eq!(
            write_request_head(&mut out, "G T", "/", Version::Http11, [], []),
            Err(CodecError::Unwritable)
        );
        for target in ["/a b", "/a#b", "a", "", "http://k/"] {
            assert_eq!(
                write_request_head(&mut out, "GET", target, Version::Http11, [], []),
                Err(CodecError::Unwritable),
                "{target:?}"
            );
        }
        assert_eq!(out, b"keep");
    }

    #[test]
    fn writes_response_head() {
        let mut out = Vec::new();
        write_response_head(&mut out, 200, "OK", [("Content-Length", &b"0"[..])], []).unwrap();
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            write_response_head(&mut out, 42, "x", [], []),
            Err(CodecError::Unwritable)
        );
    }
}
