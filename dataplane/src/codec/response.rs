//! Response head parsing and body framing for the upstream side (RFC 9112 §4, §6.3).

use std::mem::MaybeUninit;

use super::headers::{FieldFacts, analyze, check_crlf, field_block};
use super::{
    BodyFraming, CodecError, FramingFields, Headers, Limits, MAX_HEADERS_CAP, Method, Parsed, Version,
};

/// A parsed response head, borrowing from the input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    /// Protocol version.
    pub version: Version,
    /// Status code (100..=999).
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: &'a str,
    /// Header fields in order.
    pub headers: Headers<'a>,
    /// How the response body is delimited.
    pub framing: BodyFraming,
    /// The validated `Content-Length` value, also where it frames nothing (HEAD, 304).
    pub content_length: Option<u64>,
    /// The connection closes after this response (`Connection: close`, HTTP/1.0 without keep-alive, or a
    /// body delimited by close).
    pub connection_close: bool,
}

impl ResponseHead<'_> {
    /// A 1xx other than 101: another head follows on the same exchange.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// The framing field to relay this response with, written from the parsed message: the body's length or
    /// `Transfer-Encoding: chunked`; for a HEAD or 304 answer, whose length frames no body, the validated
    /// `Content-Length` the server announced (RFC 9110 §8.6); nothing for 1xx and 204.
    pub fn framing_fields(&self) -> FramingFields {
        match self.framing {
            BodyFraming::None if !(self.status < 200 || self.status == 204) => self
                .content_length
                .map_or_else(FramingFields::none, FramingFields::length),
            framing => FramingFields::for_body(framing),
        }
    }
}

/// Parses a response head from the start of `buf`; `request_method` is the method of the request it answers,
/// which decides framing for `HEAD` and `CONNECT`. Same strictness and CL / TE rules as requests.
pub fn parse_response_head<'a>(
    buf: &'a [u8],
    limits: &Limits,
    request_method: &Method<'_>,
) -> Result<Parsed<ResponseHead<'a>>, CodecError> {
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    let mut storage = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let table = &mut storage[..limits.max_headers.min(MAX_HEADERS_CAP)];
    let mut resp = httparse::Response::new(&mut []);
    let status =
        httparse::ParserConfig::default().parse_response_with_uninit_headers(&mut resp, window, table)?;
    let Some(len) = super::head::complete_len(status, buf.len(), limits)? else {
        return Ok(Parsed::Partial);
    };
    let head = &buf[..len];
    check_crlf(head)?;
    let (Some(minor), Some(code)) = (resp.version, resp.code) else {
        return Err(CodecError::InvalidStatus);
    };
    if code < 100 {
        return Err(CodecError::InvalidStatus);
    }
    let version = Version::from_minor(minor).ok_or(CodecError::UnsupportedVersion)?;
    let facts = analyze(resp.headers, version)?;
    let framing = response_framing(code, request_method, &facts);
    let head = ResponseHead {
        version,
        status: code,
        reason: resp.reason.unwrap_or(""),
        headers: Headers::new(field_block(head), resp.headers.len()),
        framing,
        content_length: facts.content_length,
        connection_close: facts.close(version) || framing == BodyFraming::UntilClose,
    };
    Ok(Parsed::Complete { head, len })
}

/// RFC 9112 §6.3, in order.
fn response_framing(status: u16, request_method: &Method<'_>, facts: &FieldFacts) -> BodyFraming {
    match status {
        101 => BodyFraming::Tunnel,
        200..=299 if *request_method == Method::Connect => BodyFraming::Tunnel,
        100..=199 | 204 | 304 => BodyFraming::None,
        _ if *request_method == Method::Head => BodyFraming::None,
        _ if facts.chunked => BodyFraming::Chunked,
        _ => facts
            .content_length
            .map_or(BodyFraming::UntilClose, BodyFraming::ContentLength),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<'a>(buf: &'a [u8], method: &Method<'_>) -> Result<ResponseHead<'a>, CodecError> {
        match parse_response_head(buf, &Limits::default(), method)? {
            Parsed::Complete { head, len } => {
                assert_eq!(len, buf.len());
                Ok(head)
            }
            Parsed::Partial => panic!("partial"),
        }
    }

    #[test]
    fn framing_table() {
        use BodyFraming::*;
        let cl = "Content-Length: 10\r\n";
        let te = "Transfer-Encoding: chunked\r\n";
        let cases: &[(Method<'_>, &str, &str, BodyFraming)] = &[
            (Method::Get, "200 OK", cl, ContentLength(10)),
            (Method::Get, "200 OK", te, Chunked),
            (Method::Get, "200 OK", "", UntilClose),
            (Method::Head, "200 OK", cl, None),
            (Method::Head, "200 OK", te, None),
            (Method::Get, "204 No Content", "", None),
            (Method::Get, "304 Not Modified", cl, None),
            (Method::Get, "100 Continue", "", None),
            (Method::Get, "103 Early Hints", "", None),
            (
                Method::Get,
                "101 Switching Protocols",
                "Connection: upgrade\r\nUpgrade: websocket\r\n",
                Tunnel,
            ),
            (Method::Connect, "200 OK", "", Tunnel),
            (Method::Connect, "407 Proxy Auth", cl, ContentLength(10)),
            (
                Method::Post,
                "404 Not Found",
                "Content-Length: 0\r\n",
                ContentLength(0),
            ),
            (Method::Other("PROPFIND"), "500 Oops", te, Chunked),
        ];
        for (method, status, fields, want) in cases {
            let buf = format!("HTTP/1.1 {status}\r\n{fields}\r\n");
            let head = parse(buf.as_bytes(), method).unwrap();
            assert_eq!(head.framing, *want, "{method:?} {buf:?}");
            assert_eq!(head.connection_close, *want == UntilClose);
        }
    }

    #[test]
    fn relayed_framing_comes_from_the_parsed_head() {
        let field = |buf: &str, method: &Method<'_>| {
            let head = parse(buf.as_bytes(), method).unwrap();
            head.framing_fields()
                .field()
                .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v)))
        };
        // Whatever `Connection` names, the length is written from the parsed framing.
        let hidden =
            "HTTP/1.1 200 OK\r\nConnection: Content-Length, Transfer-Encoding\r\nContent-Length: 7\r\n\r\n";
        assert_eq!(field(hidden, &Method::Get).as_deref(), Some("Content-Length: 7"));
        let chunked =
            "HTTP/1.1 200 OK\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            field(chunked, &Method::Get).as_deref(),
            Some("Transfer-Encoding: chunked")
        );
        // HEAD and 304 keep the announced length as metadata; 204 and 1xx never carry one.
        let length = "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n";
        assert_eq!(
            field(length, &Method::Head).as_deref(),
            Some("Content-Length: 42")
        );
        let not_modified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 42\r\n\r\n";
        assert_eq!(
            field(not_modified, &Method::Get).as_deref(),
            Some("Content-Length: 42")
        );
        let no_content = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(field(no_content, &Method::Get), None);
        assert_eq!(
            field("HTTP/1.1 200 OK\r\n\r\n", &Method::Get),
            None,
            "until close"
        );
    }

    #[test]
    fn head_fields() {
        let buf = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nX: y\r\n\r\n";
        let head = parse(buf, &Method::Get).unwrap();
        assert_eq!(
            (head.version, head.status, head.reason),
            (Version::Http10, 200, "OK")
        );
        assert!(head.connection_close, "HTTP/1.0 without keep-alive");
        assert_eq!(head.headers.get("x"), Some(&b"y"[..]));
        assert!(
            parse(b"HTTP/1.1 100 Continue\r\n\r\n", &Method::Put)
                .unwrap()
                .is_interim()
        );
        assert!(
            !parse(b"HTTP/1.1 101 Switching\r\n\r\n", &Method::Get)
                .unwrap()
                .is_interim()
        );
    }

    #[test]
    fn rejections() {
        let m = &Method::Get;
        let cases: &[(&[u8], CodecError)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                CodecError::ContentLengthWithTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                CodecError::DuplicateContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
                CodecError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                CodecError::InvalidTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n",
                CodecError::InvalidLineEnding,
            ),
            (b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n", CodecError::InvalidHeaderName),
            (b"HTTP/2.0 200 OK\r\n\r\n", CodecError::UnsupportedVersion),
            (b"HTTP/1.1 20 OK\r\n\r\n", CodecError::InvalidStatus),
            (b"HTTP/1.1 099 OK\r\n\r\n", CodecError::InvalidStatus),
        ];
        for (buf, want) in cases {
            assert_eq!(
                parse(buf, m).unwrap_err(),
                *want,
                "{}",
                String::from_utf8_lossy(buf)
            );
        }
        // obs-fold is not enabled for responses either.
        assert!(parse(b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", m).is_err());
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200 OK\r\n", &Limits::default(), m),
            Ok(Parsed::Partial)
        );
    }
}
