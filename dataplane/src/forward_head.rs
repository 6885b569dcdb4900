//! The request head sent to the apiserver: the caller's head minus hop-by-hop fields, with the forwarding
//! identity applied.

use std::fmt::Write;
use std::net::IpAddr;

use crate::auth::{Caller, is_impersonation_header};
use crate::codec::{BodyFraming, CodecError, HopByHop, RequestHead, write_request_head};

/// What the forwarded head needs besides the caller's head.
#[derive(Debug)]
pub struct ForwardIdentity<'a> {
    /// How the caller authenticated.
    pub caller: &'a Caller<'a>,
    /// Prefix of the apiserver URL's path (`""` usually).
    pub path_prefix: &'a str,
    /// The client's address, appended to `X-Forwarded-For`.
    pub peer_ip: IpAddr,
    /// The proxy's bearer token, used when impersonating (`None` with a client-certificate credential).
    pub proxy_token: Option<&'a str>,
    /// The XFCC header name (dropped when impersonating).
    pub xfcc_header: &'a str,
}

/// Appends the head to forward for `head` to `out`; `scratch` is a reused string for composed values.
///
/// Dropped: hop-by-hop fields (RFC 9110 §7.6.1, keeping the upgrade pair on upgrades), `Expect` (the proxy
/// answers `100 Continue` itself) and, when impersonating, the caller's `Authorization`, `Impersonate-*`
/// and XFCC fields. Added: `Transfer-Encoding: chunked` for chunked bodies, `X-Forwarded-For`, and when
/// impersonating the proxy's `Authorization` plus `Impersonate-User` / `Impersonate-Group`.
pub fn write_upstream_head(
    out: &mut Vec<u8>,
    scratch: &mut String,
    head: &RequestHead<'_>,
    forward: &ForwardIdentity<'_>,
) -> Result<(), CodecError> {
    scratch.clear();
    scratch.push_str(forward.path_prefix);
    scratch.push_str(head.target);
    let target_end = scratch.len();
    for value in head.headers.get_all("x-forwarded-for") {
        scratch.push_str(std::str::from_utf8(value).map_err(|_| CodecError::InvalidHeaderValue)?);
        scratch.push_str(", ");
    }
    let _ = write!(scratch, "{}", forward.peer_ip);
    let xff_end = scratch.len();
    let identity = match forward.caller {
        Caller::Bearer => None,
        Caller::Identity(identity) => Some(identity),
    };
    if let (Some(_), Some(token)) = (identity, forward.proxy_token) {
        scratch.push_str("Bearer ");
        scratch.push_str(token);
    }
    let target = &scratch[..target_end];
    let xff = &scratch[target_end..xff_end];
    let bearer = &scratch[xff_end..];

    let impersonating = identity.is_some();
    let fields = HopByHop::for_request(head).forwarded().filter(|(name, _)| {
        !name.eq_ignore_ascii_case("expect")
            && !name.eq_ignore_ascii_case("x-forwarded-for")
            && !(impersonating
                && (name.eq_ignore_ascii_case("authorization")
                    || is_impersonation_header(name)
                    || name.eq_ignore_ascii_case(forward.xfcc_header)))
    });
    let chunked = (head.framing == BodyFraming::Chunked).then_some(("Transfer-Encoding", &b"chunked"[..]));
    let extra = chunked
        .into_iter()
        .chain([("X-Forwarded-For", xff.as_bytes())])
        .chain((!bearer.is_empty()).then_some(("Authorization", bearer.as_bytes())))
        .chain(identity.map(|id| ("Impersonate-User", id.user.as_bytes())))
        .chain(identity.into_iter().flat_map(|id| {
            id.groups
                .iter()
                .map(|group| ("Impersonate-Group", group.as_bytes()))
        }));
    // An HTTP/1.0 client cannot read a chunked response: ask the API server in the client's version, so it
    // answers with a length or by closing, as HTTP/1.0 allows.
    write_request_head(out, head.method.as_str(), target, head.version, fields, extra)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use capsule_proxy_policy::CallerIdentity;

    use super::*;
    use crate::codec::{Limits, Parsed, parse_request_head};

    fn forwarded(raw: &str, caller: &Caller<'_>, prefix: &str, token: Option<&str>) -> String {
        let Parsed::Complete { head, .. } = parse_request_head(raw.as_bytes(), &Limits::default()).unwrap()
        else {
            panic!("partial head");
        };
        let forward = ForwardIdentity {
            caller,
            path_prefix: prefix,
            peer_ip: "10.0.0.7".parse().unwrap(),
            proxy_token: token,
            xfcc_header: "X-Forwarded-Client-Cert",
        };
        let mut out = Vec::new();
        write_upstream_head(&mut out, &mut String::new(), &head, &forward).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bearer_callers_keep_their_token_and_impersonation() {
        let raw = "GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer alice-token\r\n\
                   Impersonate-User: bob\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n\r\n";
        assert_eq!(
            forwarded(raw, &Caller::Bearer, "", Some("proxy-token")),
            "GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer alice-token\r\n\
             Impersonate-User: bob\r\nX-Forwarded-For: 10.0.0.7\r\n\r\n"
        );
    }

    #[test]
    fn certificate_callers_are_impersonated_with_the_proxy_token() {
        let identity = CallerIdentity {
            user: "alice".into(),
            groups: vec!["projectcapsule.dev".into(), "dev".into()],
        };
        let caller = Caller::Identity(Cow::Borrowed(&identity));
        let raw = "POST /api/v1/namespaces/a/configmaps HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer stolen\r\n\
                   X-Forwarded-Client-Cert: Cert=x\r\nX-Forwarded-For: 1.2.3.4\r\nExpect: 100-continue\r\n\
                   Transfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            forwarded(raw, &caller, "/k8s", Some("proxy-token")),
            "POST /k8s/api/v1/namespaces/a/configmaps HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\
             X-Forwarded-For: 1.2.3.4, 10.0.0.7\r\nAuthorization: Bearer proxy-token\r\n\
             Impersonate-User: alice\r\nImpersonate-Group: projectcapsule.dev\r\nImpersonate-Group: dev\r\n\r\n"
        );
    }

    #[test]
    fn http10_requests_go_up_as_http10() {
        let raw = "GET /version HTTP/1.0\r\nAuthorization: Bearer t\r\n\r\n";
        assert_eq!(
            forwarded(raw, &Caller::Bearer, "", None),
            "GET /version HTTP/1.0\r\nAuthorization: Bearer t\r\nX-Forwarded-For: 10.0.0.7\r\n\r\n"
        );
    }

    #[test]
    fn upgrades_keep_the_upgrade_pair() {
        let raw = "GET /api/v1/namespaces/a/pods/p/exec HTTP/1.1\r\nHost: k\r\nConnection: Upgrade\r\n\
                   Upgrade: websocket\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\
                   Authorization: Bearer t\r\n\r\n";
        let text = forwarded(raw, &Caller::Bearer, "", None);
        assert!(
            text.contains("Connection: upgrade\r\nUpgrade: websocket\r\n"),
            "{text}"
        );
        assert!(text.contains("Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"));
    }
}
