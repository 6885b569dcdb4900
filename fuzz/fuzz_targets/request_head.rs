//! `parse_request_head` on arbitrary bytes, with limits taken from the input.
//!
//! Input: two knob bytes (head-size limit, header-count limit; below 0x80 means the default), then the bytes to
//! parse. On a complete head: it lies within the input and the size limit, the head bytes alone parse to the
//! same head, no shorter prefix is a complete head, the fields agree with the framing (a `Content-Length` field
//! if and only if `ContentLength` with its value, `Transfer-Encoding` if and only if `Chunked`, never both) and
//! an HTTP/1.1 head has exactly one `Host`.
#![no_main]

use capsule_proxy_dataplane::codec::{
    BodyFraming, Limits, Method, Parsed, RequestHead, Version, parse_request_head,
};
use capsule_proxy_fuzz::fields::{connection_tokens, count};
use capsule_proxy_fuzz::knobs::Knobs;
use libfuzzer_sys::fuzz_target;

/// The limits chosen by the two knob bytes.
fn limits(head_knob: u8, headers_knob: u8) -> Limits {
    let mut limits = Limits::default();
    if head_knob >= 0x80 {
        limits.max_head_bytes = usize::from(head_knob & 0x7f) * 8 + 1;
    }
    match headers_knob {
        0xff => limits.max_headers = 1000, // above the cap: clamped
        0x80.. => limits.max_headers = usize::from(headers_knob & 0x7f),
        _ => {}
    }
    limits
}

fn check_complete(input: &[u8], head: &RequestHead<'_>, len: usize, limits: &Limits) {
    assert!(len <= input.len(), "head length {len} beyond the input");
    assert!(
        len <= limits.max_head_bytes,
        "head of {len} bytes accepted over the limit"
    );
    assert!(
        head.headers.len() <= limits.max_headers.min(256),
        "more fields than the limit"
    );
    assert_eq!(
        head.headers.iter().count(),
        head.headers.len(),
        "field count differs from the fields"
    );
    let bytes = &input[..len];
    assert!(
        bytes.ends_with(b"\r\n\r\n"),
        "head does not end with an empty line"
    );
    assert!(
        bytes.windows(2).all(|w| w[1] != b'\n' || w[0] == b'\r'),
        "bare LF accepted"
    );

    match parse_request_head(bytes, limits) {
        Ok(Parsed::Complete {
            head: again,
            len: again_len,
        }) => {
            assert_eq!(again_len, len, "the head alone parses to another length");
            assert_eq!(&again, head, "the head alone parses to another head");
        }
        other => panic!("the head alone does not parse: {other:?}"),
    }
    if let Ok(Parsed::Complete { len: shorter, .. }) = parse_request_head(&input[..len - 1], limits) {
        panic!("a prefix of the head is a complete head of {shorter} bytes");
    }

    // Start line.
    match head.query {
        Some(query) => assert_eq!(head.target, format!("{}?{query}", head.path)),
        None => assert_eq!(head.target, head.path),
    }
    let origin_form =
        head.target.starts_with('/') && head.target.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
    assert!(
        origin_form || (head.target == "*" && head.method == Method::Options),
        "target {:?} is not origin-form",
        head.target
    );
    assert!(!head.method.as_str().is_empty());

    // Framing against the fields.
    let cl_fields: Vec<&[u8]> = head.headers.get_all("content-length").collect();
    let te_fields = count(&head.headers, "transfer-encoding");
    assert!(cl_fields.len() <= 1, "several Content-Length fields accepted");
    assert!(
        cl_fields.is_empty() || te_fields == 0,
        "Content-Length and Transfer-Encoding both accepted"
    );
    match head.framing {
        BodyFraming::ContentLength(n) => {
            let [value] = cl_fields.as_slice() else {
                panic!("ContentLength framing without one Content-Length field");
            };
            assert!(
                value.iter().all(u8::is_ascii_digit),
                "Content-Length {value:?} is not digits"
            );
            let text = std::str::from_utf8(value).unwrap_or_default();
            assert_eq!(
                text.parse::<u64>().ok(),
                Some(n),
                "Content-Length value differs from the framing"
            );
        }
        BodyFraming::Chunked => {
            assert!(te_fields >= 1, "Chunked framing without Transfer-Encoding");
            assert!(cl_fields.is_empty());
            assert_eq!(head.version, Version::Http11, "chunked HTTP/1.0 request accepted");
        }
        BodyFraming::None => assert!(
            cl_fields.is_empty() && te_fields == 0,
            "a framing field was ignored"
        ),
        BodyFraming::UntilClose | BodyFraming::Tunnel => panic!("request framing {:?}", head.framing),
    }

    let hosts = count(&head.headers, "host");
    match head.version {
        Version::Http11 => assert_eq!(hosts, 1, "HTTP/1.1 head with {hosts} Host fields"),
        Version::Http10 => assert!(hosts <= 1, "HTTP/1.0 head with {hosts} Host fields"),
    }

    let tokens = connection_tokens(&head.headers);
    if tokens.iter().any(|t| t == "close") {
        assert!(head.connection_close, "Connection: close ignored");
    }
    if head.upgrade {
        assert!(tokens.iter().any(|t| t == "upgrade") && count(&head.headers, "upgrade") >= 1);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut knobs = Knobs::new(data);
    let limits = limits(knobs.byte(), knobs.byte());
    let input = knobs.rest();
    if let Ok(Parsed::Complete { head, len }) = parse_request_head(input, &limits) {
        check_complete(input, &head, len, &limits);
    }
});
