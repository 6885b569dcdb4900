//! Phase 3 of a request: who is calling. `/_healthz` is answered without authentication; a peer that is not a
//! trusted proxy is refused; then the caller's credential is chosen in the configured order ([`credential`]).
//! For the requests the proxy decides on, [`identity`] establishes who they are for: a reviewed bearer token,
//! a certificate or XFCC identity, and the `Impersonate-*` headers once reviewed.

pub mod credential;
pub mod identity;

use std::borrow::Cow;

pub use credential::{Caller, UNAUTHENTICATED, authenticate, is_impersonation_header};
pub use identity::{IdentityError, ImpersonationRequest, caller_identity, effective_identity, wait_for};

use crate::codec::RequestHead;
use crate::config::AuthConfig;
use crate::phase1_accept::ClientFacts;

/// The health path answered on the listener itself, without authentication.
pub const HEALTHZ: &str = "/_healthz";

/// Whether and as whom a request goes on.
#[derive(Debug)]
pub enum Admission<'c> {
    /// Answer `/_healthz`.
    Healthz,
    /// Answer a `Status` now.
    Refused(u16, Cow<'static, str>),
    /// Go on as this caller.
    Caller(Caller<'c>),
}

/// Admits the request `head` from `client`.
pub fn admit<'c>(head: &RequestHead<'_>, client: &ClientFacts<'c>, auth: &AuthConfig) -> Admission<'c> {
    if head.path == HEALTHZ {
        return Admission::Healthz;
    }
    if !client.trusted {
        return Admission::Refused(403, Cow::Borrowed("request source is not allowed"));
    }
    match authenticate(head, client.cert_identity, auth) {
        Some(caller) => Admission::Caller(caller),
        None => Admission::Refused(401, Cow::Borrowed(UNAUTHENTICATED)),
    }
}
