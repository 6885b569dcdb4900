//! The request head sent to the apiserver: the caller's head minus hop-by-hop fields, with the forwarding
//! identity applied and the framing written by the proxy from the parsed message.

use std::fmt::Write;
use std::net::IpAddr;

use crate::codec::{CodecError, FramingFields, HopByHop, RequestHead, write_request_head};
use crate::phase3_authenticate::is_impersonation_header;

/// Who the apiserver sees a forwarded request as.
#[derive(Debug, Clone, Copy)]
pub enum UpstreamAuth<'a> {
    /// The caller, with its own bearer token and any `Impersonate-*` it sent (kube-apiserver reviews those).
    Caller,
    /// The proxy's credentials, impersonating this identity.
    Impersonate(Impersonated<'a>),
    /// The proxy itself, impersonating nobody (filtered requests).
    Proxy,
}

/// The identity of [`UpstreamAuth::Impersonate`].
#[derive(Debug, Clone, Copy)]
pub struct Impersonated<'a> {
    /// `Impersonate-User`.
    pub user: &'a str,
    /// `Impersonate-Group`, one field each.
    pub groups: &'a [String],
    /// `Impersonate-Uid`.
    pub uid: Option<&'a str>,
    /// `Impersonate-Extra-<key>`, one field per value.
    pub extra: &'a [(String, Vec<String>)],
}

/// What the forwarded head needs besides the caller's head.
#[derive(Debug)]
pub struct ForwardIdentity<'a> {
    /// Who the apiserver sees.
    pub auth: UpstreamAuth<'a>,
    /// Prefix of the apiserver URL's path (`""` usually).
    pub path_prefix: &'a str,
    /// The client's address, appended to `X-Forwarded-For`.
    pub peer_ip: IpAddr,
    /// The proxy's bearer token (`None` with a client-certificate credential).
    pub proxy_token: Option<&'a str>,
    /// The XFCC header name (dropped unless forwarding as the caller).
    pub xfcc_header: &'a str,
    /// A replacement request target (path and rewritten query), without the path prefix.
    pub target: Option<&'a str>,
    /// The `Accept` to send instead of the caller's, for responses the proxy reads (which it also asks not to be
    /// compressed: the caller's `Accept-Encoding` is dropped).
    pub accept: Option<&'a [u8]>,
}

/// Appends the head to forward for `head` to `out`; `scratch` is a reused string for composed values.
///
/// Framing is the proxy's: `Host` is written first from the parsed head (its one validated value), and
/// `Content-Length` / `Transfer-Encoding: chunked` from the parsed body framing, whatever the caller's
/// `Connection` header names; the caller's own copies are never forwarded.
///
/// Dropped: hop-by-hop fields (RFC 9110 §7.6.1, keeping the upgrade pair on upgrades), `Expect` (the proxy
/// answers `100 Continue` itself) and, unless forwarding as the caller, the caller's `Authorization`,
/// `Impersonate-*` and XFCC fields. Added: the framing, `X-Forwarded-For`, and unless forwarding as the caller
/// the proxy's `Authorization` plus, when impersonating, `Impersonate-User` / `-Group` / `-Uid` / `-Extra-*`.
pub fn write_upstream_head(
    out: &mut Vec<u8>,
    scratch: &mut String,
    head: &RequestHead<'_>,
    forward: &ForwardIdentity<'_>,
) -> Result<(), CodecError> {
    scratch.clear();
    scratch.push_str(forward.path_prefix);
    scratch.push_str(forward.target.unwrap_or(head.target));
    let target_end = scratch.len();
    for value in head.headers.get_all("x-forwarded-for") {
        scratch.push_str(std::str::from_utf8(value).map_err(|_| CodecError::InvalidHeaderValue)?);
        scratch.push_str(", ");
    }
    let _ = write!(scratch, "{}", forward.peer_ip);
    let xff_end = scratch.len();
    let as_caller = matches!(forward.auth, UpstreamAuth::Caller);
    if let (false, Some(token)) = (as_caller, forward.proxy_token) {
        scratch.push_str("Bearer ");
        scratch.push_str(token);
    }
    let target = &scratch[..target_end];
    let xff = &scratch[target_end..xff_end];
    let bearer = &scratch[xff_end..];
    let impersonated = match forward.auth {
        UpstreamAuth::Impersonate(identity) => Some(identity),
        UpstreamAuth::Caller | UpstreamAuth::Proxy => None,
    };
    // Extra keys are rare: their field names are composed here, percent-encoded as kube-apiserver expects.
    let extra_names: Vec<(String, &str)> = impersonated
        .iter()
        .flat_map(|id| id.extra.iter())
        .flat_map(|(key, values)| values.iter().map(move |v| (extra_header_name(key), v.as_str())))
        .collect();

    let fields = HopByHop::for_request(head).forwarded().filter(|(name, _)| {
        let replaced = name.eq_ignore_ascii_case("expect")
            || name.eq_ignore_ascii_case("x-forwarded-for")
            || (forward.accept.is_some()
                && (name.eq_ignore_ascii_case("accept") || name.eq_ignore_ascii_case("accept-encoding")));
        !replaced
            && !(!as_caller
                && (name.eq_ignore_ascii_case("authorization")
                    || is_impersonation_header(name)
                    || name.eq_ignore_ascii_case(forward.xfcc_header)))
    });
    let host = head.headers.get("host").map(|value| ("Host", value));
    let framing = FramingFields::for_body(head.framing);
    let accept = forward.accept.map(|accept| ("Accept", accept));
    let extra = framing
        .field()
        .into_iter()
        .chain(accept)
        .chain([("X-Forwarded-For", xff.as_bytes())])
        .chain((!bearer.is_empty()).then_some(("Authorization", bearer.as_bytes())))
        .chain(impersonated.map(|id| ("Impersonate-User", id.user.as_bytes())))
        .chain(impersonated.into_iter().flat_map(|id| {
            id.groups
                .iter()
                .map(|group| ("Impersonate-Group", group.as_bytes()))
        }))
        .chain(
            impersonated
                .and_then(|id| id.uid)
                .map(|uid| ("Impersonate-Uid", uid.as_bytes())),
        )
        .chain(
            extra_names
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes())),
        );
    // An HTTP/1.0 client cannot read a chunked response: ask the API server in the client's version, so it
    // answers with a length or by closing, as HTTP/1.0 allows.
    write_request_head(
        out,
        head.method.as_str(),
        target,
        head.version,
        host.into_iter().chain(fields),
        extra,
    )
}

/// `Impersonate-Extra-<key>` with the key percent-encoded where it is not a header token character.
fn extra_header_name(key: &str) -> String {
    let mut name = String::from("Impersonate-Extra-");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~!#$&'*+^`|".contains(&b) {
            name.push(char::from(b));
        } else {
            let _ = write!(name, "%{b:02X}");
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Limits, Parsed, parse_request_head};

    fn forwarded(raw: &str, auth: UpstreamAuth<'_>, prefix: &str, token: Option<&str>) -> String {
        let Parsed::Complete { head, .. } = parse_request_head(raw.as_bytes(), &Limits::default()).unwrap()
        else {
            panic!("partial head");
        };
        let forward = ForwardIdentity {
            auth,
            path_prefix: prefix,
            peer_ip: "10.0.0.7".parse().unwrap(),
            proxy_token: token,
            xfcc_header: "X-Forwarded-Client-Cert",
            target: None,
            accept: None,
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
            forwarded(raw, UpstreamAuth::Caller, "", Some("proxy-token")),
            "GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer alice-token\r\n\
             Impersonate-User: bob\r\nX-Forwarded-For: 10.0.0.7\r\n\r\n"
        );
    }

    #[test]
    fn certificate_callers_are_impersonated_with_the_proxy_token() {
        let groups = vec!["projectcapsule.dev".to_string(), "dev".to_string()];
        let caller = UpstreamAuth::Impersonate(Impersonated {
            user: "alice",
            groups: &groups,
            uid: None,
            extra: &[],
        });
        let raw = "POST /api/v1/namespaces/a/configmaps HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer stolen\r\n\
                   X-Forwarded-Client-Cert: Cert=x\r\nX-Forwarded-For: 1.2.3.4\r\nExpect: 100-continue\r\n\
                   Transfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            forwarded(raw, caller, "/k8s", Some("proxy-token")),
            "POST /k8s/api/v1/namespaces/a/configmaps HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\
             X-Forwarded-For: 1.2.3.4, 10.0.0.7\r\nAuthorization: Bearer proxy-token\r\n\
             Impersonate-User: alice\r\nImpersonate-Group: projectcapsule.dev\r\nImpersonate-Group: dev\r\n\r\n"
        );
    }

    #[test]
    fn filtered_requests_go_up_as_the_proxy_with_a_new_target() {
        let raw = "GET /api/v1/namespaces?labelSelector=a HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer alice\r\n\
                   Impersonate-User: bob\r\nAccept: application/vnd.kubernetes.protobuf\r\n\
                   Accept-Encoding: gzip\r\n\r\n";
        let Parsed::Complete { head, .. } = parse_request_head(raw.as_bytes(), &Limits::default()).unwrap()
        else {
            panic!("partial head");
        };
        let forward = ForwardIdentity {
            auth: UpstreamAuth::Proxy,
            path_prefix: "",
            peer_ip: "10.0.0.7".parse().unwrap(),
            proxy_token: Some("proxy-token"),
            xfcc_header: "X-Forwarded-Client-Cert",
            target: Some("/api/v1/namespaces?labelSelector=b"),
            accept: Some(b"application/json"),
        };
        let mut out = Vec::new();
        write_upstream_head(&mut out, &mut String::new(), &head, &forward).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /api/v1/namespaces?labelSelector=b HTTP/1.1\r\nHost: k\r\nAccept: application/json\r\n\
             X-Forwarded-For: 10.0.0.7\r\nAuthorization: Bearer proxy-token\r\n\r\n"
        );
    }

    #[test]
    fn impersonated_extras_and_uid_are_sent() {
        let extra = vec![("scopes/x".to_string(), vec!["a".to_string()])];
        let auth = UpstreamAuth::Impersonate(Impersonated {
            user: "bob",
            groups: &[],
            uid: Some("42"),
            extra: &extra,
        });
        let text = forwarded("GET /api HTTP/1.1\r\nHost: k\r\n\r\n", auth, "", Some("t"));
        assert!(
            text.ends_with(
                "Impersonate-User: bob\r\nImpersonate-Uid: 42\r\nImpersonate-Extra-scopes%2Fx: a\r\n\r\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn http10_requests_go_up_as_http10() {
        let raw = "GET /version HTTP/1.0\r\nAuthorization: Bearer t\r\n\r\n";
        assert_eq!(
            forwarded(raw, UpstreamAuth::Caller, "", None),
            "GET /version HTTP/1.0\r\nAuthorization: Bearer t\r\nX-Forwarded-For: 10.0.0.7\r\n\r\n"
        );
    }

    #[test]
    fn framing_named_in_connection_is_still_written() {
        // The smuggling attempt: a body whose length the client tries to hide from the API server.
        let smuggled = "GET /api/v1/namespaces/kube-system/configmaps/x HTTP/1.1\r\nX-Ignore: ";
        for connection in [
            "Content-Length",
            "keep-alive, content-length",
            "CONTENT-LENGTH, Host",
            "close, Content-Length, Transfer-Encoding",
        ] {
            let raw = format!(
                "POST /api/v1/namespaces/oil-dev/configmaps HTTP/1.1\r\nHost: k\r\n\
                 Connection: {connection}\r\nAuthorization: Bearer alice\r\nContent-Length: {}\r\n\r\n",
                smuggled.len()
            );
            for auth in [UpstreamAuth::Caller, UpstreamAuth::Proxy] {
                let text = forwarded(&raw, auth, "", Some("proxy-token"));
                let want_length = format!("Content-Length: {}\r\n", smuggled.len());
                assert!(
                    text.starts_with("POST /api/v1/namespaces/oil-dev/configmaps HTTP/1.1\r\nHost: k\r\n"),
                    "{text}"
                );
                assert_eq!(text.matches(&want_length).count(), 1, "{connection}: {text}");
                assert_eq!(text.matches("Host:").count(), 1, "{connection}: {text}");
                assert!(!text.contains("Connection"), "{connection}: {text}");
                // Read back as the API server reads it: the same body length.
                let Parsed::Complete { head, len } =
                    parse_request_head(text.as_bytes(), &Limits::default()).unwrap()
                else {
                    panic!("partial head: {text}");
                };
                assert_eq!(len, text.len());
                assert_eq!(
                    head.framing,
                    crate::codec::BodyFraming::ContentLength(smuggled.len() as u64),
                    "{connection}"
                );
            }
        }
    }

    #[test]
    fn chunked_framing_and_host_are_written_once_by_the_proxy() {
        let raw = "PATCH /api/v1/namespaces/a/configmaps/c HTTP/1.1\r\nX-A: 1\r\nHost: k\r\n\
                   Connection: Transfer-Encoding, Host\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(
            forwarded(raw, UpstreamAuth::Caller, "", None),
            "PATCH /api/v1/namespaces/a/configmaps/c HTTP/1.1\r\nHost: k\r\nX-A: 1\r\n\
             Transfer-Encoding: chunked\r\nX-Forwarded-For: 10.0.0.7\r\n\r\n"
        );
        let empty = "POST /x HTTP/1.1\r\nHost: k\r\nContent-Length: 0\r\nConnection: content-length\r\n\r\n";
        assert_eq!(
            forwarded(empty, UpstreamAuth::Caller, "", None),
            "POST /x HTTP/1.1\r\nHost: k\r\nContent-Length: 0\r\nX-Forwarded-For: 10.0.0.7\r\n\r\n"
        );
    }

    #[test]
    fn upgrades_keep_the_upgrade_pair() {
        let raw = "GET /api/v1/namespaces/a/pods/p/exec HTTP/1.1\r\nHost: k\r\nConnection: Upgrade\r\n\
                   Upgrade: websocket\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\
                   Authorization: Bearer t\r\n\r\n";
        let text = forwarded(raw, UpstreamAuth::Caller, "", None);
        assert!(
            text.contains("Connection: upgrade\r\nUpgrade: websocket\r\n"),
            "{text}"
        );
        assert!(text.contains("Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"));
    }
}
