//! Which fields of a received head are forwarded to the next hop (RFC 9110 §7.6.1), and which the proxy writes
//! itself.
//!
//! The proxy owns framing: `Content-Length`, `Transfer-Encoding` and `Host` are never copied from a received
//! head, and nothing a peer names in `Connection` can remove them. The caller writes them from the parsed
//! message instead (see [`FramingFields`]). `Connection` can only nominate end-to-end *extension* fields: a
//! token naming a field the proxy or the API server gives meaning to is ignored.

use super::headers::list_elements;
use super::{BodyFraming, HeaderIter, Headers, RequestHead, ResponseHead};

/// Fields that only describe the current connection and are never forwarded as received.
const HOP_BY_HOP: [&str; 9] = [
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

/// Fields the proxy writes itself from the parsed message ([`FramingFields`]); never forwarded as received.
const WRITTEN_BY_PROXY: [&str; 3] = ["content-length", "transfer-encoding", "host"];

/// Fields a `Connection` token cannot remove: the framing, and what the proxy or the API server reads to decide
/// who the caller is and how to read the message. A token naming one of them is ignored.
const NOT_NOMINABLE: [&str; 10] = [
    "content-length",
    "transfer-encoding",
    "host",
    "authorization",
    "content-type",
    "content-encoding",
    "accept",
    "expect",
    "x-forwarded-for",
    "user-agent",
];

/// Prefixes of field families a `Connection` token cannot remove (identity and upgrade handshakes).
const NOT_NOMINABLE_PREFIXES: [&str; 2] = ["impersonate-", "sec-websocket-"];

/// Whether a `Connection` token may nominate the field `name` as hop-by-hop.
pub fn is_nominable(name: &[u8]) -> bool {
    let listed = NOT_NOMINABLE
        .iter()
        .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
    let prefixed = NOT_NOMINABLE_PREFIXES
        .iter()
        .any(|p| name.len() >= p.len() && name[..p.len()].eq_ignore_ascii_case(p.as_bytes()));
    !(listed || prefixed)
}

/// Decides which fields of a head are forwarded to the next hop.
///
/// Drops the fixed hop-by-hop set, the fields the proxy writes itself (`Content-Length`, `Transfer-Encoding`,
/// `Host`) and every extension field named in `Connection`. On an upgrade exchange the `Upgrade` field is
/// kept and `Connection` is forwarded as exactly `Connection: upgrade`.
#[derive(Debug, Clone, Copy)]
pub struct HopByHop<'a> {
    headers: Headers<'a>,
    keep_upgrade: bool,
    /// Whether any `Connection` field exists (most heads have none: no per-field scan for its tokens then).
    has_connection: bool,
}

impl<'a> HopByHop<'a> {
    /// A filter over `headers`; `keep_upgrade` keeps the upgrade handshake fields.
    pub fn new(headers: Headers<'a>, keep_upgrade: bool) -> Self {
        Self {
            headers,
            keep_upgrade,
            has_connection: headers.get("connection").is_some(),
        }
    }

    /// The filter for a request; keeps the upgrade fields when the request is an upgrade.
    pub fn for_request(head: &RequestHead<'a>) -> Self {
        Self::new(head.headers, head.upgrade)
    }

    /// The filter for a response; keeps the upgrade fields on `101 Switching Protocols`.
    pub fn for_response(head: &ResponseHead<'a>) -> Self {
        Self::new(head.headers, head.status == 101)
    }

    /// Whether a field named `name` is forwarded as received. (`Connection` never is: see [`Self::forwarded`].)
    pub fn is_forwarded(&self, name: &str) -> bool {
        if self.keep_upgrade && name.eq_ignore_ascii_case("upgrade") {
            return true;
        }
        let fixed = |list: &[&str]| list.iter().any(|h| h.eq_ignore_ascii_case(name));
        if fixed(&HOP_BY_HOP) || fixed(&WRITTEN_BY_PROXY) {
            return false;
        }
        !self.has_connection
            || !is_nominable(name.as_bytes())
            || !self
                .headers
                .get_all("connection")
                .flat_map(list_elements)
                .any(|token| token.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The fields to forward, in order; on an upgrade the first `Connection` field becomes `Connection: upgrade`.
    pub fn forwarded(&self) -> ForwardedHeaders<'a> {
        ForwardedHeaders {
            filter: *self,
            inner: self.headers.iter(),
            connection_sent: false,
        }
    }
}

/// Iterator returned by [`HopByHop::forwarded`].
#[derive(Debug, Clone)]
pub struct ForwardedHeaders<'a> {
    filter: HopByHop<'a>,
    inner: HeaderIter<'a>,
    connection_sent: bool,
}

impl<'a> Iterator for ForwardedHeaders<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        for (name, value) in self.inner.by_ref() {
            if name.eq_ignore_ascii_case("connection") {
                if self.filter.keep_upgrade && !self.connection_sent {
                    self.connection_sent = true;
                    return Some(("Connection", b"upgrade"));
                }
            } else if self.filter.is_forwarded(name) {
                return Some((name, value));
            }
        }
        None
    }
}

/// The framing fields the proxy writes for a message, from what it parsed: `Content-Length` or
/// `Transfer-Encoding: chunked`. Holds the decimal digits of the length, so no allocation is needed.
#[derive(Debug, Clone, Copy)]
pub struct FramingFields {
    digits: [u8; 20],
    start: usize,
    kind: FramingKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FramingKind {
    None,
    Length,
    Chunked,
}

impl FramingFields {
    /// The fields announcing `framing`; a `ContentLength` body gets its length, a chunked one
    /// `Transfer-Encoding: chunked`, anything else none.
    pub fn for_body(framing: BodyFraming) -> Self {
        match framing {
            BodyFraming::ContentLength(n) => Self::length(n),
            BodyFraming::Chunked => Self {
                digits: [0; 20],
                start: 20,
                kind: FramingKind::Chunked,
            },
            BodyFraming::None | BodyFraming::UntilClose | BodyFraming::Tunnel => Self::none(),
        }
    }

    /// `Content-Length: n`.
    pub fn length(mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            // `n % 10` is a single digit.
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self {
            digits,
            start,
            kind: FramingKind::Length,
        }
    }

    /// No framing field.
    pub fn none() -> Self {
        Self {
            digits: [0; 20],
            start: 20,
            kind: FramingKind::None,
        }
    }

    /// The field to write, if any.
    pub fn field(&self) -> Option<(&'static str, &[u8])> {
        match self.kind {
            FramingKind::None => None,
            FramingKind::Length => Some(("Content-Length", &self.digits[self.start..])),
            FramingKind::Chunked => Some(("Transfer-Encoding", b"chunked")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Limits, Parsed, parse_request_head};
    use super::*;

    fn with_head(buf: &[u8], check: impl FnOnce(HopByHop<'_>)) {
        let Parsed::Complete { head, .. } = parse_request_head(buf, &Limits::default()).unwrap() else {
            panic!("partial")
        };
        check(HopByHop::for_request(&head));
    }

    #[test]
    fn decision_table() {
        let buf = b"GET / HTTP/1.1\r\nHost: k\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n";
        with_head(buf, |f| {
            let table = [
                ("Authorization", true),
                ("Accept", true),
                ("X-Other", true),
                // Written by the proxy from the parsed message, never copied.
                ("Host", false),
                ("Content-Length", false),
                ("Transfer-Encoding", false),
                ("Connection", false),
                ("Keep-Alive", false),
                ("Proxy-Connection", false),
                ("TE", false),
                ("Trailer", false),
                ("Upgrade", false),
                ("Proxy-Authorization", false),
                ("proxy-authenticate", false),
                ("x-hop", false),
            ];
            for (name, want) in table {
                assert_eq!(f.is_forwarded(name), want, "{name}");
            }
        });
    }

    #[test]
    fn connection_cannot_nominate_what_the_proxy_relies_on() {
        // Every field the proxy or the API server reads, named in `Connection` in every spelling a client might
        // try: the nomination is ignored.
        let buf = b"POST / HTTP/1.1\r\nHost: k\r\nConnection: keep-alive, Content-Length, HOST, authorization\r\n\
                    Connection: Impersonate-User, sec-websocket-protocol, Content-Type, Accept, X-Forwarded-For\r\n\
                    Connection: transfer-encoding, Expect, User-Agent, Content-Encoding, X-Ext\r\n\
                    Content-Length: 5\r\nAuthorization: Bearer t\r\nImpersonate-User: bob\r\n\
                    Sec-WebSocket-Protocol: v5.channel.k8s.io\r\nContent-Type: application/json\r\n\
                    Accept: */*\r\nX-Forwarded-For: 1.2.3.4\r\nUser-Agent: kubectl\r\nContent-Encoding: gzip\r\n\
                    X-Ext: 1\r\n\r\n";
        with_head(buf, |f| {
            for name in [
                "Authorization",
                "Impersonate-User",
                "Sec-WebSocket-Protocol",
                "Content-Type",
                "Accept",
                "X-Forwarded-For",
                "User-Agent",
                "Content-Encoding",
                "Expect",
            ] {
                assert!(
                    f.is_forwarded(name),
                    "{name} nominated in Connection is still forwarded"
                );
            }
            // Framing is never forwarded as received, nominated or not: the proxy writes it.
            for name in ["Content-Length", "Host", "Transfer-Encoding"] {
                assert!(!f.is_forwarded(name), "{name}");
            }
            assert!(!f.is_forwarded("X-Ext"), "an extension field can be nominated");
            let names: Vec<_> = f.forwarded().map(|(n, _)| n).collect();
            assert_eq!(
                names,
                [
                    "Authorization",
                    "Impersonate-User",
                    "Sec-WebSocket-Protocol",
                    "Content-Type",
                    "Accept",
                    "X-Forwarded-For",
                    "User-Agent",
                    "Content-Encoding"
                ]
            );
        });
        assert!(is_nominable(b"X-Hop"));
        assert!(!is_nominable(b"impersonate-extra-scopes"));
        assert!(!is_nominable(b"CONTENT-LENGTH"));
    }

    #[test]
    fn forwarded_plain() {
        let buf = b"GET / HTTP/1.1\r\nHost: k\r\nConnection: X-Hop\r\nX-Hop: 1\r\nUpgrade: h2c\r\n\
                    Proxy-Authorization: Basic x\r\nTE: trailers\r\nAccept: */*\r\n\r\n";
        with_head(buf, |f| {
            let got: Vec<_> = f.forwarded().collect();
            assert_eq!(got, vec![("Accept", &b"*/*"[..])]);
        });
    }

    #[test]
    fn forwarded_upgrade() {
        let buf = b"GET /exec HTTP/1.1\r\nHost: k\r\nConnection: keep-alive, Upgrade, X-Hop\r\nX-Hop: 1\r\n\
                    Upgrade: SPDY/3.1\r\nConnection: close\r\nX-Stream-Protocol-Version: v4\r\n\r\n";
        with_head(buf, |f| {
            let got: Vec<_> = f.forwarded().collect();
            assert_eq!(
                got,
                vec![
                    ("Connection", &b"upgrade"[..]),
                    ("Upgrade", &b"SPDY/3.1"[..]),
                    ("X-Stream-Protocol-Version", &b"v4"[..]),
                ]
            );
        });
    }

    #[test]
    fn framing_fields_come_from_the_parsed_framing() {
        let field = |framing| {
            FramingFields::for_body(framing)
                .field()
                .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v)))
        };
        assert_eq!(
            field(BodyFraming::ContentLength(0)).as_deref(),
            Some("Content-Length: 0")
        );
        assert_eq!(
            field(BodyFraming::ContentLength(1234)).as_deref(),
            Some("Content-Length: 1234")
        );
        assert_eq!(
            field(BodyFraming::ContentLength(u64::MAX)).as_deref(),
            Some("Content-Length: 18446744073709551615")
        );
        assert_eq!(
            field(BodyFraming::Chunked).as_deref(),
            Some("Transfer-Encoding: chunked")
        );
        for framing in [BodyFraming::None, BodyFraming::UntilClose, BodyFraming::Tunnel] {
            assert_eq!(field(framing), None, "{framing:?}");
        }
    }
}
