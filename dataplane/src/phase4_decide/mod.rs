//! Phase 4 of a request: what to do with it. The route first; most requests are not Capsule routes and are
//! forwarded as the caller after a check that neither allocates nor asks anyone. For the Capsule routes (and a
//! certificate caller's own impersonation) the caller's identity is reviewed, its tenants read from the
//! snapshot, and the request filtered, forwarded as the proxy, passed through, or answered. The outcome is a
//! [`Verdict`]; the head itself is written by the next phase.

mod audit;
mod capsule_route;
mod fan_out;
mod flow;
pub mod plan;
mod self_review;
mod validity;

use std::borrow::Cow;

use capsule_proxy_policy::CallerIdentity;
use capsule_proxy_policy::discovery::ApiResources;
use capsule_proxy_policy::route::{PathForm, Route, canonical_path, classify};

pub use fan_out::FanOutRequest;
pub use plan::{ResponsePlan, SelfReviewPlan};
pub use validity::{decide_with, filtered_tenants, watch_still_valid};

use crate::codec::RequestHead;
use crate::context::{Identity, RequestContext};
use crate::metrics::RouteLabel;
use crate::phase3_authenticate::Caller;
use flow::Flow;

/// What to do with a request.
#[derive(Debug)]
pub enum Verdict<'a> {
    /// Forward it upstream.
    Forward(ForwardRequest<'a>),
    /// Answer a `Status` now.
    Respond(u16, Cow<'static, str>),
    /// Redirect to the clean form of the path (as Go's router does).
    Redirect(String),
    /// Fan an all-namespaces list or watch out to the caller's namespaces, as the caller.
    /// (Boxed: rare, and the other verdicts stay small.)
    FanOut(Box<FanOutRequest<'a>>),
}

/// How a request is forwarded.
#[derive(Debug)]
pub struct ForwardRequest<'a> {
    /// Whose credentials and identity headers it carries.
    pub credential: ForwardAs<'a>,
    /// The request target to send instead of the caller's (a filtered list or watch).
    pub target: Option<String>,
    /// Ask for JSON (a response the proxy rewrites).
    pub accept_json: bool,
    /// What the response phase does with the answer.
    pub plan: ResponsePlan,
}

/// Whose credentials a forwarded request carries.
#[derive(Debug)]
pub enum ForwardAs<'a> {
    /// The caller's own bearer token, as sent.
    Caller,
    /// The proxy's credentials, no impersonation.
    Proxy,
    /// The proxy's credentials impersonating the caller's certificate (or XFCC) identity.
    Certificate(&'a CallerIdentity),
    /// The proxy's credentials impersonating a reviewed identity.
    Identity(Identity),
}

/// Decides on the request `head` from `caller`; the route template it is counted under goes to `route`, and the
/// path of a GET the namespace gate may answer to `gate_path`.
pub async fn decide<'a>(
    cx: &RequestContext<'_>,
    head: &RequestHead<'_>,
    caller: &'a Caller<'_>,
    gate_path: &mut String,
    route_label: &mut RouteLabel,
) -> Verdict<'a> {
    let path = match canonical_path(head.path) {
        Ok(PathForm::Canonical(path)) => path,
        Ok(PathForm::Redirect(clean)) => {
            let location = match head.query {
                Some(query) => format!("{clean}?{query}"),
                None => clean,
            };
            return Verdict::Redirect(location);
        }
        Err(e) => return Verdict::Respond(400, Cow::Owned(format!("invalid request path: {e}"))),
    };
    let query = head.query.unwrap_or("");
    let route = route_of(cx, head, &path, query);
    *route_label = RouteLabel::of(&route);
    let mut flow = Flow { cx, head, caller };
    match route {
        Route::Other => flow.pass_through(None, ResponsePlan::Relay).await,
        Route::NamespacedObjectGet { .. } => {
            gate_path.clear();
            gate_path.push_str(&path);
            flow.pass_through(None, ResponsePlan::NamespaceGate).await
        }
        Route::SelfSubjectAccessReview | Route::SelfSubjectRulesReview => {
            let rules_review = matches!(route, Route::SelfSubjectRulesReview);
            flow.self_review(cx.snapshot(), rules_review).await
        }
        module => flow.capsule_route(cx.snapshot(), &module, &path, query).await,
    }
}

/// The route of `path`, classified with the snapshot's discovery (or none before the first snapshot).
fn route_of<'p>(cx: &RequestContext<'_>, head: &RequestHead<'_>, path: &'p str, query: &'p str) -> Route<'p> {
    let filter = &cx.settings.filter;
    if filter.allowed_paths.iter().any(|p| *p == *path) {
        return Route::Other;
    }
    let gates = filter.gates();
    // Borrowed, not cloned: every core shares the snapshot's reference count, and most requests are decided
    // without keeping it.
    let method = head.method.as_str();
    match cx.snapshot.borrow().as_deref() {
        Some(snapshot) => classify(method, path, query, snapshot.api_resources(), gates),
        None => classify(method, path, query, &ApiResources::default(), gates),
    }
}
