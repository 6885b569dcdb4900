//! Deciding a request: health, trust, authentication, route, and for the Capsule routes who the caller is and
//! what it may see. The outcome is a [`Verdict`]; a forwarded request's head is written into the connection's
//! `out` buffer on the way.
//!
//! Most requests are not Capsule routes: they are forwarded as the caller after a route check that neither
//! allocates nor asks anyone. Only Capsule routes (and certificate callers' own impersonation) wait for the
//! control plane's reviews.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use capsule_proxy_policy::CallerIdentity;
use capsule_proxy_policy::decide::{DecideInput, Decision, catch_all_selector, decide, not_found};
use capsule_proxy_policy::discovery::ApiResources;
use capsule_proxy_policy::review::{ObjectLookup, Reviewer};
use capsule_proxy_policy::route::{Gates, PathForm, Route, canonical_path, classify};
use capsule_proxy_policy::selector::{Selector, query_value, rewrite_query};
use capsule_proxy_policy::snapshot::{ProxyTenants, Snapshot};

use crate::auth::{Caller, UNAUTHENTICATED, authenticate};
use crate::codec::RequestHead;
use crate::config::FilterConfig;
use crate::core::Core;
use crate::forward_head::{ForwardIdentity, Impersonated, UpstreamAuth, write_upstream_head};
use crate::identity::{
    Identity, IdentityError, ImpersonationRequest, caller_identity, effective_identity, wait_for,
};
use crate::metrics::RouteLabel;
use crate::plan::{ResponsePlan, SelfReviewPlan};
use crate::watch_end::WatchEntry;

/// The health path answered on the listener itself, without authentication.
pub const HEALTHZ: &str = "/_healthz";

/// What to do with a request.
#[derive(Debug)]
pub enum Verdict {
    /// Forward the head written to `out`, handling the response as planned.
    Forward(ResponsePlan),
    /// Answer `/_healthz`.
    Healthz,
    /// Answer a `Status` now.
    Respond(u16, Cow<'static, str>),
    /// Redirect to the clean form of the path (as Go's router does).
    Redirect(String),
}

/// What is known about the client connection when deciding on a request.
#[derive(Debug)]
pub struct ClientFacts<'c> {
    /// The peer.
    pub peer: SocketAddr,
    /// Whether the peer is a trusted proxy (or none are configured).
    pub trusted: bool,
    /// The verified client certificate's identity.
    pub cert_identity: Option<&'c CallerIdentity>,
}

/// Reused buffers of a connection the decision writes into.
#[derive(Debug)]
pub struct Buffers<'b> {
    /// The head to forward.
    pub out: &'b mut Vec<u8>,
    /// Composed header values.
    pub scratch: &'b mut String,
    /// The path kept for the namespace gate.
    pub gate_path: &'b mut String,
    /// The route template the request is counted under, once it is classified.
    pub route: &'b mut RouteLabel,
}

/// Decides on the request `head`.
pub async fn decide_request(
    core: &Core,
    client: &ClientFacts<'_>,
    head: &RequestHead<'_>,
    buffers: Buffers<'_>,
) -> Verdict {
    let settings = &core.settings;
    if head.path == HEALTHZ {
        return Verdict::Healthz;
    }
    if !client.trusted {
        return Verdict::Respond(403, Cow::Borrowed("request source is not allowed"));
    }
    let Some(caller) = authenticate(head, client.cert_identity, &settings.auth) else {
        return Verdict::Respond(401, Cow::Borrowed(UNAUTHENTICATED));
    };
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
    let filter = &settings.filter;
    let query = head.query.unwrap_or("");
    let gates = Gates {
        cluster_scoped: filter.cluster_scoped,
    };
    let route = if filter.allowed_paths.iter().any(|p| *p == *path) {
        Route::Other
    } else {
        // Borrowed, not cloned: every core shares the snapshot's reference count, and most requests are
        // decided without keeping it.
        match core.snapshot.borrow().as_deref() {
            Some(snapshot) => classify(
                head.method.as_str(),
                &path,
                query,
                snapshot.api_resources(),
                gates,
            ),
            None => classify(
                head.method.as_str(),
                &path,
                query,
                &ApiResources::default(),
                gates,
            ),
        }
    };
    *buffers.route = RouteLabel::of(&route);
    let mut flow = Flow {
        core,
        client,
        head,
        caller: &caller,
        buffers,
    };
    match route {
        Route::Other => flow.pass_through(None, ResponsePlan::Relay).await,
        Route::NamespacedObjectGet { .. } => {
            flow.buffers.gate_path.clear();
            flow.buffers.gate_path.push_str(&path);
            flow.pass_through(None, ResponsePlan::NamespaceGate).await
        }
        Route::SelfSubjectAccessReview | Route::SelfSubjectRulesReview => {
            let rules_review = matches!(route, Route::SelfSubjectRulesReview);
            let snapshot = core.snapshot.borrow().clone();
            flow.self_review(snapshot, rules_review).await
        }
        module => {
            let snapshot = core.snapshot.borrow().clone();
            flow.module(snapshot, &module, &path, query).await
        }
    }
}

/// One request's decision in progress.
struct Flow<'f, 'h> {
    core: &'f Core,
    client: &'f ClientFacts<'f>,
    head: &'f RequestHead<'h>,
    caller: &'f Caller<'f>,
    buffers: Buffers<'f>,
}

impl Flow<'_, '_> {
    /// The control plane's look-ups, waiting for them right after start (they reach the cores a moment after
    /// the listeners open).
    async fn reviewer(&self) -> Result<Arc<dyn Reviewer>, Verdict> {
        let core = self.core;
        await_control(core, || core.reviewer.borrow().clone())
            .await
            .ok_or(Verdict::Respond(
                503,
                Cow::Borrowed("capsule-proxy's control plane is not running"),
            ))
    }

    /// Forwards as the caller: a bearer caller with its own head, a certificate caller impersonated (its own
    /// `Impersonate-*` headers reviewed first, unless `identity` already holds the reviewed result).
    async fn pass_through(&mut self, identity: Option<&Identity>, plan: ResponsePlan) -> Verdict {
        match self.caller {
            Caller::Bearer => self.write(UpstreamAuth::Caller, None, false, plan),
            Caller::Identity(own) => {
                if let Some(identity) = identity {
                    return self.write(impersonate(identity), None, false, plan);
                }
                let request = match ImpersonationRequest::of(self.head) {
                    Ok(request) => request,
                    Err(e) => return identity_refusal(&e),
                };
                let Some(request) = request else {
                    let auth = UpstreamAuth::Impersonate(Impersonated {
                        user: &own.user,
                        groups: &own.groups,
                        uid: None,
                        extra: &[],
                    });
                    return self.write(auth, None, false, plan);
                };
                let reviewer = match self.reviewer().await {
                    Ok(reviewer) => reviewer,
                    Err(verdict) => return verdict,
                };
                let filter = &self.core.settings.filter;
                match effective_identity(own.as_ref().clone(), Some(request), &*reviewer, filter).await {
                    Ok(identity) => self.write(impersonate(&identity), None, false, plan),
                    Err(e) => identity_refusal(&e),
                }
            }
        }
    }

    /// Writes the upstream head; `target` replaces the request target.
    fn write(
        &mut self,
        auth: UpstreamAuth<'_>,
        target: Option<&str>,
        accept_json: bool,
        plan: ResponsePlan,
    ) -> Verdict {
        let settings = &self.core.settings;
        let token = self.core.token.borrow();
        if !matches!(auth, UpstreamAuth::Caller) && settings.impersonation_needs_token && token.is_none() {
            return Verdict::Respond(
                503,
                Cow::Borrowed("the proxy's own API server token is not available"),
            );
        }
        let forward = ForwardIdentity {
            auth,
            path_prefix: &settings.path_prefix,
            peer_ip: self.client.peer.ip(),
            proxy_token: token.as_deref(),
            xfcc_header: &settings.auth.xfcc_header,
            target,
            accept_json,
        };
        self.buffers.out.clear();
        match write_upstream_head(self.buffers.out, self.buffers.scratch, self.head, &forward) {
            Ok(()) => Verdict::Forward(plan),
            Err(_) => Verdict::Respond(400, Cow::Borrowed("the request head cannot be forwarded")),
        }
    }

    /// The snapshot the request started with, or the first one to arrive right after start.
    async fn snapshot(&self, snapshot: Option<Arc<Snapshot>>) -> Option<Arc<Snapshot>> {
        let core = self.core;
        match snapshot {
            Some(snapshot) => Some(snapshot),
            None => await_control(core, || core.snapshot.borrow().clone()).await,
        }
    }

    /// The control plane's look-ups and the identity the request is decided for.
    async fn reviewed_identity(&self) -> Result<(Arc<dyn Reviewer>, Identity), Verdict> {
        let reviewer = self.reviewer().await?;
        let identity = self.identity(&*reviewer).await?;
        Ok((reviewer, identity))
    }

    /// The identity the request is decided for.
    async fn identity(&self, reviewer: &dyn Reviewer) -> Result<Identity, Verdict> {
        let filter = &self.core.settings.filter;
        let caller = caller_identity(self.caller, self.head, reviewer, &self.core.tokens, filter)
            .await
            .map_err(|e| identity_refusal(&e))?;
        let request = ImpersonationRequest::of(self.head).map_err(|e| identity_refusal(&e))?;
        effective_identity(caller, request, reviewer, filter)
            .await
            .map_err(|e| identity_refusal(&e))
    }

    /// SelfSubjectAccessReview / SelfSubjectRulesReview (§3.12): forwarded as the caller; for a Capsule user the
    /// answer comes back as JSON with what the proxy grants added, for anyone else unchanged.
    async fn self_review(&mut self, snapshot: Option<Arc<Snapshot>>, rules_review: bool) -> Verdict {
        let Some(snapshot) = self.snapshot(snapshot).await else {
            return self.pass_through(None, ResponsePlan::Relay).await;
        };
        let (_, identity) = match self.reviewed_identity().await {
            Ok(found) => found,
            Err(verdict) => return verdict,
        };
        let filter = &self.core.settings.filter;
        // Only callers the proxy filters get anything from it; everyone else's answer is the API server's own.
        let Some(tenants) = filtered_tenants(&snapshot, &identity, filter) else {
            return self.pass_through(Some(&identity), ResponsePlan::Relay).await;
        };
        let plan = ResponsePlan::SelfReview(SelfReviewPlan {
            rules_review,
            has_tenants: !tenants.is_empty(),
            rules: tenants.cluster_resources().cloned().collect(),
            snapshot: Arc::clone(&snapshot),
            cluster_scoped_gate: filter.cluster_scoped,
        });
        drop(tenants);
        let auth = match self.caller {
            Caller::Bearer => UpstreamAuth::Caller,
            Caller::Identity(_) => impersonate(&identity),
        };
        self.write(auth, None, true, plan)
    }

    /// A Capsule route: filtered for Capsule users, passed through for everyone else.
    async fn module(
        &mut self,
        snapshot: Option<Arc<Snapshot>>,
        route: &Route<'_>,
        path: &str,
        query: &str,
    ) -> Verdict {
        let Some(snapshot) = self.snapshot(snapshot).await else {
            return Verdict::Respond(
                503,
                Cow::Borrowed("capsule-proxy has not synced its view of tenant ownership yet"),
            );
        };
        let (reviewer, identity) = match self.reviewed_identity().await {
            Ok(found) => found,
            Err(verdict) => return verdict,
        };
        let filter = &self.core.settings.filter;
        let method = self.head.method.as_str();
        let Some(tenants) = filtered_tenants(&snapshot, &identity, filter) else {
            return self.pass_through(Some(&identity), ResponsePlan::Relay).await;
        };
        let decision = decide_with(&snapshot, &tenants, route, method, &identity, filter);
        let decision = match decision {
            Decision::AccessReviews(questions) => {
                let deadline = Instant::now() + filter.review_timeout;
                let pending: Vec<_> = questions
                    .into_iter()
                    .map(|q| (q.tenant, reviewer.review_access(q.question)))
                    .collect();
                let mut allowed = Vec::with_capacity(pending.len());
                for (tenant, answer) in pending {
                    match wait_for(answer, deadline).await {
                        Ok(true) => allowed.push(tenant),
                        Ok(false) => {}
                        Err(e) => return identity_refusal(&IdentityError::Unavailable(e.to_string())),
                    }
                }
                let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                Decision::Filter(catch_all_selector(&allowed))
            }
            Decision::ObjectCheck { selectors } => {
                let deadline = Instant::now() + filter.review_timeout;
                match wait_for(reviewer.object_labels(path), deadline).await {
                    Ok(ObjectLookup::Found(labels)) if selectors.iter().any(|s| s.matches(&labels)) => {
                        Decision::AsProxy
                    }
                    Ok(ObjectLookup::Found(_)) => Decision::PassThrough,
                    Ok(ObjectLookup::NotFound) => {
                        let (code, message) = match route {
                            Route::ClusterScoped {
                                gvr,
                                name: Some(name),
                            } => not_found(gvr.resource, gvr.group, name),
                            Route::NamespaceGet { name } => not_found("namespaces", "", name),
                            _ => not_found("", "", path),
                        };
                        Decision::Respond { code, message }
                    }
                    Err(e) => return identity_refusal(&IdentityError::Unavailable(e.to_string())),
                }
            }
            other => other,
        };
        tracing::info!(
            target: "capsule_proxy::audit",
            user = %identity.user,
            groups = ?identity.groups,
            impersonated = identity.impersonated,
            tenants = ?tenants.tenant_names(),
            method,
            path,
            route = ?route,
            decision = %DecisionSummary(&decision),
            "filtered request"
        );
        match decision {
            Decision::PassThrough => self.pass_through(Some(&identity), ResponsePlan::Relay).await,
            Decision::AsProxy => self.write(UpstreamAuth::Proxy, None, false, ResponsePlan::Relay),
            Decision::Respond { code, message } => Verdict::Respond(code, Cow::Owned(message)),
            Decision::Filter(selector) => self.filtered(&selector, identity, path, query),
            Decision::AccessReviews(_) | Decision::ObjectCheck { .. } => Verdict::Respond(
                500,
                Cow::Borrowed("capsule-proxy could not decide on the request"),
            ),
        }
    }

    /// Forwards a list or watch as the proxy with the caller's selector ANDed with `selector`.
    fn filtered(&mut self, selector: &Selector, identity: Identity, path: &str, query: &str) -> Verdict {
        // Filtered requests are few: the rewritten target is composed afresh.
        let mut rewritten_query = String::new();
        if let Err(e) = rewrite_query(query, selector, &mut rewritten_query) {
            return Verdict::Respond(400, Cow::Owned(e.to_string()));
        }
        let target = if rewritten_query.is_empty() {
            self.head.path.to_string()
        } else {
            format!("{}?{rewritten_query}", self.head.path)
        };
        let plan = if apiserver_watch(query) {
            ResponsePlan::Watch(self.core.streams.register(Some(WatchEntry {
                identity,
                path: path.to_string(),
                query: query.to_string(),
                selector: selector.to_string(),
            })))
        } else {
            ResponsePlan::Relay
        };
        self.write(UpstreamAuth::Proxy, Some(&target), false, plan)
    }
}

/// The caller's tenants, or `None` when the caller is not filtered (ignored, or not a Capsule user: §2.6).
pub fn filtered_tenants<'s>(
    snapshot: &'s Snapshot,
    identity: &Identity,
    filter: &FilterConfig,
) -> Option<ProxyTenants<'s>> {
    let ignored = filter.ignored_usernames.contains(&identity.user)
        || identity
            .groups
            .iter()
            .any(|g| filter.ignored_user_groups.iter().any(|i| i == g));
    if ignored || !snapshot.is_capsule_user(&identity.user, &identity.groups) {
        return None;
    }
    Some(snapshot.proxy_tenants(&identity.user, &identity.groups, filter.cluster_scoped))
}

/// The decision for a Capsule route, for a filtered caller with `tenants`.
pub fn decide_with(
    snapshot: &Snapshot,
    tenants: &ProxyTenants<'_>,
    route: &Route<'_>,
    method: &str,
    identity: &Identity,
    filter: &FilterConfig,
) -> Decision {
    let input = DecideInput {
        snapshot,
        tenants,
        method,
        user: &identity.user,
        groups: &identity.groups,
        gates: Gates {
            cluster_scoped: filter.cluster_scoped,
        },
    };
    decide(route, &input)
}

/// Whether a filtered watch started with `entry` would still get the same selector from `snapshot`.
pub fn watch_still_valid(snapshot: &Snapshot, entry: &WatchEntry, filter: &FilterConfig) -> bool {
    let gates = Gates {
        cluster_scoped: filter.cluster_scoped,
    };
    let route = classify("GET", &entry.path, &entry.query, snapshot.api_resources(), gates);
    let Some(tenants) = filtered_tenants(snapshot, &entry.identity, filter) else {
        return false;
    };
    match decide_with(snapshot, &tenants, &route, "GET", &entry.identity, filter) {
        Decision::Filter(selector) => selector.to_string() == entry.selector,
        // The catch-all's answer needs reviews: it is not re-decided here.
        Decision::AccessReviews(_) => true,
        _ => false,
    }
}

/// How often a request waiting for the control plane's first hand-over looks again.
const CONTROL_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// What `get` finds on the core, waiting up to the review timeout for it to arrive.
async fn await_control<T>(core: &Core, get: impl Fn() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + core.settings.filter.review_timeout;
    loop {
        if let Some(found) = get() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        monoio::time::sleep(CONTROL_POLL).await;
    }
}

/// A decision in a few words, for the audit line (selectors in full; never the request's credentials).
struct DecisionSummary<'d>(&'d Decision);

impl std::fmt::Display for DecisionSummary<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Decision::PassThrough => f.write_str("pass-through"),
            Decision::AsProxy => f.write_str("as-proxy"),
            Decision::Filter(selector) => write!(f, "filter {selector}"),
            Decision::Respond { code, .. } => write!(f, "respond {code}"),
            Decision::AccessReviews(_) => f.write_str("access-reviews"),
            Decision::ObjectCheck { .. } => f.write_str("object-check"),
        }
    }
}

/// Whether kube-apiserver reads `query` as a watch: its first `watch` value is anything but `0` or `false`
/// (any case) — looser than Go's `ParseBool`, and the reading that decides whether a stream stays open.
fn apiserver_watch(query: &str) -> bool {
    match query_value(query, "watch") {
        Ok(Some(value)) => value != "0" && !value.eq_ignore_ascii_case("false"),
        Ok(None) => false,
        // An unreadable query was refused before a stream could start.
        Err(_) => true,
    }
}

fn impersonate(identity: &Identity) -> UpstreamAuth<'_> {
    UpstreamAuth::Impersonate(Impersonated {
        user: &identity.user,
        groups: &identity.groups,
        uid: identity.uid.as_deref(),
        extra: &identity.extra,
    })
}

fn identity_refusal(e: &IdentityError) -> Verdict {
    Verdict::Respond(e.status(), Cow::Owned(e.to_string()))
}
