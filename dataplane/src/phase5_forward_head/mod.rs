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
    let accept = forward.accept_json.then_some(&b"application/json"[..]);
    let target = forward.target.as_deref();
    write_head_as(
        cx,
        peer_ip,
        head,
        (&forward.credential, target, accept),
        out,
        scratch,
    )
}

/// Writes into `out` the header fields (everything after the request line, blank line included) that each
/// namespace's request of a fan-out carries: the caller's head as `credential` forwards it, asking for
/// `accept`. The fan-out writes each request line itself.
pub fn write_fan_out_fields(
    cx: &RequestContext<'_>,
    peer_ip: IpAddr,
    head: &RequestHead<'_>,
    credential: &ForwardAs<'_>,
    accept: &[u8],
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Result<(), (u16, &'static str)> {
    write_head_as(
        cx,
        peer_ip,
        head,
        (credential, Some("/"), Some(accept)),
        out,
        scratch,
    )?;
    let line_end = memchr::memmem::find(out, b"\r\n").ok_or((400, "the request head cannot be forwarded"))?;
    out.drain(..line_end + 2);
    Ok(())
}

/// Writes the head to forward for `head` as `credential`, to `target` (or the caller's), asking for `accept`
/// (or what the caller asks for).
fn write_head_as(
    cx: &RequestContext<'_>,
    peer_ip: IpAddr,
    head: &RequestHead<'_>,
    (credential, target, accept): (&ForwardAs<'_>, Option<&str>, Option<&[u8]>),
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Result<(), (u16, &'static str)> {
    let settings = cx.settings;
    let token = cx.proxy_token.borrow();
    let auth = match credential {
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
        target,
        accept,
    };
    out.clear();
    write_upstream_head(out, scratch, head, &identity)
        .map_err(|_| (400, "the request head cannot be forwarded"))
}
