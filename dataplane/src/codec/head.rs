//! Request head parsing (RFC 9112 §3, §6).

use std::mem::MaybeUninit;

use super::headers::{analyze, check_crlf, field_block};
use super::{BodyFraming, CodecError, Headers, Limits, MAX_HEADERS_CAP, Method, Parsed, Version};

/// A parsed request head, borrowing from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// Request method.
    pub method: Method<'a>,
    /// The whole request target as sent (`path[?query]`, or `*`).
    pub target: &'a str,
    /// Target up to the first `?`.
    pub path: &'a str,
    /// Target after the first `?`, if there is one.
    pub query: Option<&'a str>,
    /// Protocol version.
    pub version: Version,
    /// Header fields in order.
    pub headers: Headers<'a>,
    /// How the request body is delimited: `None`, `ContentLength` or `Chunked`.
    pub framing: BodyFraming,
    /// The connection closes after this exchange (`Connection: close`, or HTTP/1.0 without keep-alive).
    pub connection_close: bool,
    /// HTTP/1.1 request carrying `Expect: 100-continue`.
    pub expect_continue: bool,
    /// HTTP/1.1 request carrying `Connection: upgrade` and an `Upgrade` field.
    pub upgrade: bool,
}

/// Parses a request head from the start of `buf`.
///
/// The head length once httparse finished, `None` while more bytes may still complete it, or
/// [`CodecError::HeadTooLarge`] when the size limit is already reached without a complete head.
pub(crate) fn complete_len(
    status: httparse::Status<usize>,
    buffered: usize,
    limits: &Limits,
) -> Result<Option<usize>, CodecError> {
    match status {
        httparse::Status::Complete(len) => Ok(Some(len)),
        httparse::Status::Partial if buffered >= limits.max_head_bytes => Err(CodecError::HeadTooLarge),
        httparse::Status::Partial => Ok(None),
    }
}

/// Strict: only HTTP/1.0 and 1.1, CRLF line endings, no obs-fold, token field names, exactly one `Host` in
/// HTTP/1.1, at most one `Content-Length`, `Transfer-Encoding` only as exactly `chunked` and never together
/// with `Content-Length`, and an origin-form target (or `*` for `OPTIONS`).
pub fn parse_request_head<'a>(buf: &'a [u8], limits: &Limits) -> Result<Parsed<RequestHead<'a>>, CodecError> {
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    let mut storage = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let table = &mut storage[..limits.max_headers.min(MAX_HEADERS_CAP)];
    let mut req = httparse::Request::new(&mut []);
    let status =
        httparse::ParserConfig::default().parse_request_with_uninit_headers(&mut req, window, table)?;
    let Some(len) = complete_len(status, buf.len(), limits)? else {
        return Ok(Parsed::Partial);
    };
    let head = &buf[..len];
    check_crlf(head)?;
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(CodecError::InvalidStatus);
    };
    let version = Version::from_minor(minor).ok_or(CodecError::UnsupportedVersion)?;
    let method = Method::from_token(method);
    check_target(method, target)?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };

    let facts = analyze(req.headers, version)?;
    if facts.host_count > 1 {
        return Err(CodecError::DuplicateHost);
    }
    if facts.host_count == 0 && version == Version::Http11 {
        return Err(CodecError::MissingHost);
    }
    let framing = match (facts.chunked, facts.content_length) {
        (true, _) => BodyFraming::Chunked,
        (false, Some(n)) => BodyFraming::ContentLength(n),
        (false, None) => BodyFraming::None,
    };
    let http11 = version == Version::Http11;
    let head = RequestHead {
        method,
        target,
        path,
        query,
        version,
        headers: Headers::new(field_block(head), req.headers.len()),
        framing,
        connection_close: facts.close(version),
        // RFC 9110 §10.1.1 and §7.8: both are ignored in HTTP/1.0 requests.
        expect_continue: http11 && facts.expect_continue,
        upgrade: http11 && facts.conn_upgrade && facts.has_upgrade,
    };
    Ok(Parsed::Complete { head, len })
}

/// Origin-form (`/` then visible ASCII without `#`), or `*` for OPTIONS.
fn check_target(method: Method<'_>, target: &str) -> Result<(), CodecError> {
    if target == "*" && method == Method::Options {
        return Ok(());
    }
    let ok = target.starts_with('/') && target.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
    if ok {
        Ok(())
    } else {
        Err(CodecError::InvalidTarget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> Result<Parsed<RequestHead<'_>>, CodecError> {
        parse_request_head(buf, &Limits::default())
    }

    fn complete(buf: &[u8]) -> (RequestHead<'_>, usize) {
        match parse(buf).unwrap() {
            Parsed::Complete { head, len } => (head, len),
            Parsed::Partial => panic!("partial"),
        }
    }

    fn err(buf: &[u8]) -> CodecError {
        parse(buf).unwrap_err()
    }

    #[test]
    fn simple_get() {
        let buf = b"GET /api/v1/pods?watch=1&rv=5 HTTP/1.1\r\nHost: k\r\nAccept: */*\r\n\r\nNEXT";
        let (h, len) = complete(buf);
        assert_eq!(len, buf.len() - 4);
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.target, "/api/v1/pods?watch=1&rv=5");
        assert_eq!(h.path, "/api/v1/pods");
        assert_eq!(h.query, Some("watch=1&rv=5"));
        assert_eq!(h.version, Version::Http11);
        assert_eq!(h.framing, BodyFraming::None);
        assert!(!h.connection_close && !h.expect_continue && !h.upgrade);
        let fields: Vec<_> = h.headers.iter().collect();
        assert_eq!(fields, vec![("Host", &b"k"[..]), ("Accept", &b"*/*"[..])]);
    }

    #[test]
    fn partial_heads() {
        assert_eq!(parse(b"").unwrap(), Parsed::Partial);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: k\r\n").unwrap(), Parsed::Partial);
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nHost: k\r\n\r").unwrap(),
            Parsed::Partial
        );
    }

    #[test]
    fn post_with_length_and_chunked() {
        let (h, _) = complete(b"POST /x HTTP/1.1\r\nHost: k\r\nContent-Length: 42\r\n\r\n");
        assert_eq!(h.framing, BodyFraming::ContentLength(42));
        let (h, _) = complete(b"POST /x HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(h.framing, BodyFraming::Chunked);
    }

    #[test]
    fn connection_semantics() {
        let (h, _) = complete(b"GET / HTTP/1.1\r\nHost: k\r\nConnection: keep-alive, Close\r\n\r\n");
        assert!(h.connection_close);
        let (h, _) = complete(b"GET / HTTP/1.0\r\n\r\n");
        assert!(h.connection_close);
        assert_eq!(h.version, Version::Http10);
        let (h, _) = complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert!(!h.connection_close);
    }

    #[test]
    fn upgrade_and_expect() {
        let buf = b"GET /exec HTTP/1.1\r\nHost: k\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert!(complete(buf).0.upgrade);
        let buf = b"GET /exec HTTP/1.1\r\nHost: k\r\nUpgrade: websocket\r\n\r\n";
        assert!(!complete(buf).0.upgrade, "Upgrade without Connection: upgrade");
        let buf = b"GET /exec HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        assert!(!complete(buf).0.upgrade, "ignored in HTTP/1.0");
        let buf = b"PUT /x HTTP/1.1\r\nHost: k\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
        let (h, _) = complete(buf);
        assert!(h.expect_continue);
        assert_eq!(h.framing, BodyFraming::ContentLength(3));
    }

    #[test]
    fn options_star_only() {
        assert_eq!(complete(b"OPTIONS * HTTP/1.1\r\nHost: k\r\n\r\n").0.target, "*");
        assert_eq!(
            err(b"GET * HTTP/1.1\r\nHost: k\r\n\r\n"),
            CodecError::InvalidTarget
        );
        assert_eq!(
            err(b"GET http://k/ HTTP/1.1\r\nHost: k\r\n\r\n"),
            CodecError::InvalidTarget
        );
        assert_eq!(
            err(b"CONNECT k:443 HTTP/1.1\r\nHost: k\r\n\r\n"),
            CodecError::InvalidTarget
        );
        assert_eq!(
            err(b"GET /a#frag HTTP/1.1\r\nHost: k\r\n\r\n"),
            CodecError::InvalidTarget
        );
    }

    #[test]
    fn smuggling_rejections() {
        let cases: &[(&[u8], CodecError)] = &[
            (
                b"POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                CodecError::ContentLengthWithTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                CodecError::ContentLengthWithTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                CodecError::DuplicateContentLength,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                CodecError::DuplicateContentLength,
            ),
            (b"POST / HTTP/1.1\r\nHost: k\r\nContent-Length: 5, 5\r\n\r\n", CodecError::InvalidContentLength),
            (b"POST / HTTP/1.1\r\nHost: k\r\nContent-Length: +5\r\n\r\n", CodecError::InvalidContentLength),
            (b"POST / HTTP/1.1\r\nHost: k\r\nContent-Length:\r\n\r\n", CodecError::InvalidContentLength),
            (
                b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                CodecError::InvalidTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                CodecError::UnsupportedTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                CodecError::InvalidTransferEncoding,
            ),
            (b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: xchunked\r\n\r\n", CodecError::InvalidTransferEncoding),
            (b"POST / HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: \r\n\r\n", CodecError::InvalidTransferEncoding),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", CodecError::TransferEncodingInHttp10),
        ];
        for (buf, want) in cases {
            assert_eq!(err(buf), *want, "{}", String::from_utf8_lossy(buf));
        }
    }

    #[test]
    fn syntax_rejections() {
        // obs-fold continuation line.
        assert!(parse(b"GET / HTTP/1.1\r\nHost: k\r\nX: a\r\n b\r\n\r\n").is_err());
        // Bare LF anywhere.
        assert_eq!(err(b"GET / HTTP/1.1\nHost: k\n\n"), CodecError::InvalidLineEnding);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: k\nX: y\r\n\r\n"),
            CodecError::InvalidLineEnding
        );
        // Whitespace between name and colon.
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost : k\r\n\r\n"),
            CodecError::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHo\"st: k\r\n\r\n"),
            CodecError::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: k\x00\r\n\r\n"),
            CodecError::InvalidHeaderValue
        );
        assert_eq!(
            err(b"GET / HTTP/2.0\r\nHost: k\r\n\r\n"),
            CodecError::UnsupportedVersion
        );
        assert_eq!(
            err(b"GET / HTTP/1.2\r\nHost: k\r\n\r\n"),
            CodecError::UnsupportedVersion
        );
        assert!(parse(b"G(T / HTTP/1.1\r\nHost: k\r\n\r\n").is_err());
        assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), CodecError::MissingHost);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            CodecError::DuplicateHost
        );
    }

    #[test]
    fn head_size_limit() {
        let limits = Limits {
            max_head_bytes: 64,
            ..Limits::default()
        };
        let mut buf = b"GET / HTTP/1.1\r\nHost: k\r\nX: ".to_vec();
        buf.resize(200, b'a');
        assert_eq!(parse_request_head(&buf, &limits), Err(CodecError::HeadTooLarge));
        // Under the limit and incomplete: keep reading.
        assert_eq!(parse_request_head(&buf[..40], &limits), Ok(Parsed::Partial));
        // A complete head longer than the limit is rejected too, even with bytes after it.
        buf.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_request_head(&buf, &limits), Err(CodecError::HeadTooLarge));
        // Default limit: 64 KiB.
        let mut big = b"GET / HTTP/1.1\r\nHost: k\r\nX: ".to_vec();
        big.resize(70 * 1024, b'a');
        assert_eq!(err(&big), CodecError::HeadTooLarge);
        assert_eq!(CodecError::HeadTooLarge.status(), 431);
    }

    #[test]
    fn header_count_limit() {
        let limits = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        let ok = b"GET / HTTP/1.1\r\nHost: k\r\nA: 1\r\nB: 2\r\n\r\n";
        assert!(matches!(
            parse_request_head(ok, &limits),
            Ok(Parsed::Complete { .. })
        ));
        let too_many = b"GET / HTTP/1.1\r\nHost: k\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            parse_request_head(too_many, &limits),
            Err(CodecError::TooManyHeaders)
        );
        let mut buf = b"GET / HTTP/1.1\r\nHost: k\r\n".to_vec();
        for i in 0..128 {
            buf.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        assert_eq!(err(&buf), CodecError::TooManyHeaders);
    }

    #[test]
    fn status_mapping() {
        assert_eq!(CodecError::UnsupportedTransferEncoding.status(), 501);
        assert_eq!(CodecError::ContentLengthWithTransferEncoding.status(), 400);
        assert_eq!(CodecError::UnsupportedVersion.status(), 505);
    }
}
