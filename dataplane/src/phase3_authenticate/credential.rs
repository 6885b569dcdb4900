//! Who is calling: the caller's credential decides how a request is forwarded.
//!
//! A bearer-token caller is forwarded with its own token (the apiserver authenticates it; no TokenReview on
//! this path). A client-certificate or XFCC caller is forwarded with the proxy's credentials and
//! `Impersonate-*` headers naming the identity the certificate carries.

use std::borrow::Cow;

use capsule_proxy_policy::{
    CallerIdentity, bearer_from_authorization, bearer_from_websocket_protocols, identity_from_xfcc,
};

use crate::codec::RequestHead;
use crate::config::{AuthConfig, AuthMethod};

/// The message of the 401 answer, as the Go proxy words it.
pub const UNAUTHENTICATED: &str = "cannot retrieve user and group from the request: no authentication provider \
                                   available. unauthenticated users not supported";

/// How an authenticated request is forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller<'c> {
    /// Bearer token: forwarded as sent, the apiserver authenticates the token.
    Bearer,
    /// An identity from a certificate: forwarded with the proxy's credentials, impersonating it.
    Identity(Cow<'c, CallerIdentity>),
}

/// Authenticates a request with the first method of `auth.methods` that applies.
///
/// `cert_identity` is the identity of the client certificate verified during the handshake, if any. `None`
/// means the caller is unauthenticated.
pub fn authenticate<'c>(
    head: &RequestHead<'_>,
    cert_identity: Option<&'c CallerIdentity>,
    auth: &AuthConfig,
) -> Option<Caller<'c>> {
    for method in &auth.methods {
        match method {
            AuthMethod::BearerToken => {
                if has_bearer(head) {
                    return Some(Caller::Bearer);
                }
            }
            AuthMethod::TlsCertificate => {
                if let Some(identity) = cert_identity {
                    return Some(Caller::Identity(Cow::Borrowed(identity)));
                }
            }
            AuthMethod::XForwardedClientCert => {
                let values: Vec<&[u8]> = head.headers.get_all(&auth.xfcc_header).collect();
                if !values.is_empty() {
                    match identity_from_xfcc(&values) {
                        Ok(identity) => return Some(Caller::Identity(Cow::Owned(identity))),
                        Err(e) => tracing::debug!(error = %e, "ignoring an unusable XFCC header"),
                    }
                }
            }
        }
    }
    None
}

fn has_bearer(head: &RequestHead<'_>) -> bool {
    match head.headers.get("authorization") {
        Some(value) => bearer_from_authorization(value).is_some(),
        None => head
            .headers
            .get_all("sec-websocket-protocol")
            .any(|value| bearer_from_websocket_protocols(value).is_some()),
    }
}

/// Whether `name` is one of the caller's own impersonation headers.
pub fn is_impersonation_header(name: &str) -> bool {
    name.len() >= 12 && name.as_bytes()[..12].eq_ignore_ascii_case(b"impersonate-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Limits, Parsed, parse_request_head};
    use capsule_proxy_policy::CidrSet;

    fn config(methods: &[AuthMethod]) -> AuthConfig {
        AuthConfig {
            methods: methods.to_vec(),
            trusted_proxies: CidrSet::parse::<&str>(&[]).unwrap(),
            xfcc_header: "X-Forwarded-Client-Cert".into(),
        }
    }

    fn with_head<R>(raw: &str, f: impl FnOnce(&RequestHead<'_>) -> R) -> R {
        match parse_request_head(raw.as_bytes(), &Limits::default()).unwrap() {
            Parsed::Complete { head, .. } => f(&head),
            Parsed::Partial => panic!("partial head"),
        }
    }

    fn alice() -> CallerIdentity {
        CallerIdentity {
            user: "alice".into(),
            groups: vec!["projectcapsule.dev".into()],
        }
    }

    #[test]
    fn preference_order_decides_between_token_and_certificate() {
        let raw = "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n";
        let id = alice();
        let both = config(&[AuthMethod::TlsCertificate, AuthMethod::BearerToken]);
        assert_eq!(
            with_head(raw, |h| authenticate(h, Some(&id), &both)),
            Some(Caller::Identity(Cow::Borrowed(&id)))
        );
        let token_first = config(&[AuthMethod::BearerToken, AuthMethod::TlsCertificate]);
        assert_eq!(
            with_head(raw, |h| authenticate(h, Some(&id), &token_first)),
            Some(Caller::Bearer)
        );
    }

    #[test]
    fn websocket_bearer_counts_as_a_token() {
        let raw = "GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: v5.channel.k8s.io, \
                   base64url.bearer.authorization.k8s.io.YWxpY2UtdG9rZW4\r\n\r\n";
        let token = config(&[AuthMethod::BearerToken]);
        assert_eq!(
            with_head(raw, |h| authenticate(h, None, &token)),
            Some(Caller::Bearer)
        );
    }

    #[test]
    fn nothing_usable_is_unauthenticated() {
        let raw = "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YTpi\r\n\r\n";
        let all = config(&[
            AuthMethod::BearerToken,
            AuthMethod::TlsCertificate,
            AuthMethod::XForwardedClientCert,
        ]);
        assert_eq!(with_head(raw, |h| authenticate(h, None, &all)), None);
        let raw = "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Client-Cert: garbage\r\n\r\n";
        assert_eq!(with_head(raw, |h| authenticate(h, None, &all)), None);
        // A certificate alone does not count when only tokens are accepted.
        let id = alice();
        let token = config(&[AuthMethod::BearerToken]);
        assert_eq!(with_head(raw, |h| authenticate(h, Some(&id), &token)), None);
    }

    #[test]
    fn impersonation_headers_are_recognised_case_insensitively() {
        assert!(is_impersonation_header("Impersonate-User"));
        assert!(is_impersonation_header("impersonate-extra-scopes"));
        assert!(!is_impersonation_header("Impersonate"));
        assert!(!is_impersonation_header("X-Impersonate-User"));
    }
}
