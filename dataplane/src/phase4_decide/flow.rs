//! One request's decision in progress, and the steps every route shares: waiting for the control plane,
//! reviewing the caller's identity, and forwarding as the caller.

use std::borrow::Cow;
use std::sync::Arc;

use capsule_proxy_policy::review::Reviewer;
use capsule_proxy_policy::snapshot::Snapshot;

use super::{ForwardAs, ForwardRequest, ResponsePlan, Verdict};
use crate::codec::RequestHead;
use crate::context::{Identity, RequestContext};
use crate::phase3_authenticate::{
    Caller, IdentityError, ImpersonationRequest, caller_identity, effective_identity,
};

/// One request's decision in progress.
pub(super) struct Flow<'f, 'a> {
    pub(super) cx: &'f RequestContext<'f>,
    pub(super) head: &'f RequestHead<'f>,
    pub(super) caller: &'a Caller<'a>,
}

impl<'a> Flow<'_, 'a> {
    /// The control plane's look-ups, waiting for them right after start (they reach the cores a moment after
    /// the listeners open).
    pub(super) async fn reviewer(&self) -> Result<Arc<dyn Reviewer>, Verdict<'a>> {
        self.cx
            .await_control(RequestContext::reviewer)
            .await
            .ok_or(Verdict::Respond(
                503,
                Cow::Borrowed("capsule-proxy's control plane is not running"),
            ))
    }

    /// The snapshot the request started with, or the first one to arrive right after start.
    pub(super) async fn snapshot(&self, snapshot: Option<Arc<Snapshot>>) -> Option<Arc<Snapshot>> {
        match snapshot {
            Some(snapshot) => Some(snapshot),
            None => self.cx.await_control(RequestContext::snapshot).await,
        }
    }

    /// Forwards as the caller: a bearer caller with its own head, a certificate caller impersonated (its own
    /// `Impersonate-*` headers reviewed first, unless `identity` already holds the reviewed result).
    pub(super) async fn pass_through(
        &mut self,
        identity: Option<Identity>,
        plan: ResponsePlan,
    ) -> Verdict<'a> {
        let own = match self.caller {
            Caller::Bearer => return forward(ForwardAs::Caller, None, false, plan),
            Caller::Identity(own) => own,
        };
        if let Some(identity) = identity {
            return forward(ForwardAs::Identity(identity), None, false, plan);
        }
        let request = match ImpersonationRequest::of(self.head) {
            Ok(request) => request,
            Err(e) => return identity_refusal(&e),
        };
        let Some(request) = request else {
            return forward(ForwardAs::Certificate(own.as_ref()), None, false, plan);
        };
        let reviewer = match self.reviewer().await {
            Ok(reviewer) => reviewer,
            Err(verdict) => return verdict,
        };
        let filter = &self.cx.settings.filter;
        match effective_identity(own.as_ref().clone(), Some(request), &*reviewer, filter).await {
            Ok(identity) => forward(ForwardAs::Identity(identity), None, false, plan),
            Err(e) => identity_refusal(&e),
        }
    }

    /// The control plane's look-ups and the identity the request is decided for.
    pub(super) async fn reviewed_identity(&self) -> Result<(Arc<dyn Reviewer>, Identity), Verdict<'a>> {
        let reviewer = self.reviewer().await?;
        let filter = &self.cx.settings.filter;
        let caller = caller_identity(self.caller, self.head, &*reviewer, self.cx.tokens, filter)
            .await
            .map_err(|e| identity_refusal(&e))?;
        let request = ImpersonationRequest::of(self.head).map_err(|e| identity_refusal(&e))?;
        let identity = effective_identity(caller, request, &*reviewer, filter)
            .await
            .map_err(|e| identity_refusal(&e))?;
        Ok((reviewer, identity))
    }

    /// Forwards with the caller's credential kind: its own token, or impersonating `identity`.
    pub(super) fn as_caller(&self, identity: Identity, accept_json: bool, plan: ResponsePlan) -> Verdict<'a> {
        let credential = match self.caller {
            Caller::Bearer => ForwardAs::Caller,
            Caller::Identity(_) => ForwardAs::Identity(identity),
        };
        forward(credential, None, accept_json, plan)
    }
}

/// A verdict to forward.
pub(super) fn forward<'a>(
    credential: ForwardAs<'a>,
    target: Option<String>,
    accept_json: bool,
    plan: ResponsePlan,
) -> Verdict<'a> {
    Verdict::Forward(ForwardRequest {
        credential,
        target,
        accept_json,
        plan,
    })
}

/// The answer to an identity that could not be established.
pub(super) fn identity_refusal<'a>(e: &IdentityError) -> Verdict<'a> {
    Verdict::Respond(e.status(), Cow::Owned(e.to_string()))
}
