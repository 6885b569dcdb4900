//! Phase 5 of a request: to the API server. The head is written from the caller's ([`head`]: framing by the
//! proxy, identity headers replaced as decided), then [`send()`] takes a pooled connection, sends the head with
//! the body bytes already read, relays the rest of the body and waits for the response head — once more on a
//! fresh connection when a pooled one turns out closed and sending again is safe.

pub mod head;
pub mod send;

use std::net::IpAddr;

pub use head::{ForwardIdentity, Impersonated, UpstreamAuth, write_upstream_head};
pub use send::{Sent, send};

use crate::codec::RequestHead;
use crate::context::RequestContext;
use crate::phase4_decide::{ForwardAs, ForwardRequest};

/// Writes the head to forward for `head` into `out` as `forward` says; the status and message to answer with
/// when it cannot be.
pub fn write_forward_head(
    cx: &RequestContext<'_>,
    peer_ip: IpAddr,
    head: &RequestHead<'_>,
    forward: &ForwardRequest<'_>,
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Result<(), (u16, &'static str)> {
    let settings = cx.settings;
    let token = cx.proxy_token.borrow();
    let auth = match &forward.credential {
        ForwardAs::Caller => UpstreamAuth::Caller,
        ForwardAs::Proxy => UpstreamAuth::Proxy,
        ForwardAs::Certificate(own) => UpstreamAuth::Impersonate(Impersonated {
            user: &own.user,
            groups: &own.groups,
            uid: None,
            extra: &[],
        }),
        ForwardAs::Identity(identity) => UpstreamAuth::Impersonate(Impersonated {
            user: &identity.user,
            groups: &identity.groups,
            uid: identity.uid.as_deref(),
            extra: &identity.extra,
        }),
    };
    if !matches!(auth, UpstreamAuth::Caller) && settings.impersonation_needs_token && token.is_none() {
        return Err((503, "the proxy's own API server token is not available"));
    }
    let identity = ForwardIdentity {
        auth,
        path_prefix: &settings.path_prefix,
        peer_ip,
        proxy_token: token.as_deref(),
        xfcc_header: &settings.auth.xfcc_header,
        target: forward.target.as_deref(),
        accept_json: forward.accept_json,
    };
    out.clear();
    write_upstream_head(out, scratch, head, &identity)
        .map_err(|_| (400, "the request head cannot be forwarded"))
}
