//! Hop-by-hop field filtering for forwarding (RFC 9110 §7.6.1).

use super::headers::list_elements;
use super::{HeaderIter, Headers, RequestHead, ResponseHead};

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

/// Decides which fields of a head are forwarded to the next hop.
///
/// Drops the fixed hop-by-hop set and every field named in `Connection`. `Transfer-Encoding` is dropped too:
/// the caller re-adds framing. On an upgrade exchange the `Upgrade` field is kept and `Connection` is
/// forwarded as exactly `Connection: upgrade`.
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
        if HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            return false;
        }
        !self.has_connection
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
                ("Host", true),
                ("Authorization", true),
                ("Content-Length", true),
                ("Accept", true),
                ("Connection", false),
                ("Keep-Alive", false),
                ("Proxy-Connection", false),
                ("TE", false),
                ("Trailer", false),
                ("Transfer-Encoding", false),
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
    fn forwarded_plain() {
        let buf = b"GET / HTTP/1.1\r\nHost: k\r\nConnection: X-Hop\r\nX-Hop: 1\r\nUpgrade: h2c\r\n\
                    Proxy-Authorization: Basic x\r\nTE: trailers\r\nAccept: */*\r\n\r\n";
        with_head(buf, |f| {
            let got: Vec<_> = f.forwarded().collect();
            assert_eq!(got, vec![("Host", &b"k"[..]), ("Accept", &b"*/*"[..])]);
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
                    ("Host", &b"k"[..]),
                    ("Connection", &b"upgrade"[..]),
                    ("Upgrade", &b"SPDY/3.1"[..]),
                    ("X-Stream-Protocol-Version", &b"v4"[..]),
                ]
            );
        });
    }
}
