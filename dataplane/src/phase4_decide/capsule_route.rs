//! A Capsule route (namespaces, tenants, nodes, classes, persistent volumes, ProxySetting-opened kinds, the
//! catch-all): filtered for Capsule users, passed through for everyone else.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use capsule_proxy_policy::decide::{Decision, catch_all_selector, not_found};
use capsule_proxy_policy::review::{ObjectLookup, Reviewer};
use capsule_proxy_policy::route::{Gates, Route};
use capsule_proxy_policy::selector::{Selector, query_value, rewrite_query};
use capsule_proxy_policy::snapshot::Snapshot;

use super::audit::audit_filtered;
use super::flow::{Flow, forward, identity_refusal};
use super::validity::{decide_with, filtered_tenants};
use super::{ForwardAs, ResponsePlan, Verdict};
use crate::context::{Identity, WatchEntry};
use crate::phase3_authenticate::{IdentityError, wait_for};

impl<'a> Flow<'_, 'a> {
    /// Decides on a Capsule route with the snapshot the request started with.
    pub(super) async fn capsule_route(
        &mut self,
        snapshot: Option<Arc<Snapshot>>,
        route: &Route<'_>,
        path: &str,
        query: &str,
    ) -> Verdict<'a> {
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
        let filter = &self.cx.settings.filter;
        let method = self.head.method.as_str();
        let Some(tenants) = filtered_tenants(&snapshot, &identity, filter) else {
            return self.pass_through(Some(identity), ResponsePlan::Relay).await;
        };
        // The fan-out reads plain HTTP answers: an upgrade (a WebSocket watch) keeps Go's `-A` behaviour.
        let gates = Gates {
            all_namespaced: filter.all_namespaced && !self.head.upgrade,
            ..filter.gates()
        };
        let decision = decide_with(&snapshot, &tenants, route, method, &identity, gates);
        let decision = match self.resolve(decision, &*reviewer, route, path).await {
            Ok(decision) => decision,
            Err(verdict) => return verdict,
        };
        audit_filtered(&identity, &tenants, method, path, route, &decision);
        drop(tenants);
        match decision {
            Decision::PassThrough => self.pass_through(Some(identity), ResponsePlan::Relay).await,
            Decision::AsProxy => forward(ForwardAs::Proxy, None, false, ResponsePlan::Relay),
            Decision::Respond { code, message } => Verdict::Respond(code, Cow::Owned(message)),
            Decision::Filter(selector) => self.filtered(&selector, identity, (path, query), gates),
            Decision::FanOut { namespaces } => match route {
                Route::NamespacedAll { gvr } => {
                    self.fan_out(&snapshot, &*reviewer, identity, namespaces, *gvr, (path, query))
                        .await
                }
                _ => Verdict::Respond(
                    500,
                    Cow::Borrowed("capsule-proxy could not decide on the request"),
                ),
            },
            Decision::AccessReviews(_) | Decision::ObjectCheck { .. } => Verdict::Respond(
                500,
                Cow::Borrowed("capsule-proxy could not decide on the request"),
            ),
        }
    }

    /// A decision that needs the control plane's answers (the catch-all's access reviews, an object's labels)
    /// turned into one that does not.
    async fn resolve(
        &self,
        decision: Decision,
        reviewer: &dyn Reviewer,
        route: &Route<'_>,
        path: &str,
    ) -> Result<Decision, Verdict<'a>> {
        let deadline = Instant::now() + self.cx.settings.filter.review_timeout;
        let unavailable =
            |e: &dyn std::fmt::Display| identity_refusal(&IdentityError::Unavailable(e.to_string()));
        match decision {
            Decision::AccessReviews(questions) => {
                let pending: Vec<_> = questions
                    .into_iter()
                    .map(|q| (q.tenant, reviewer.review_access(q.question)))
                    .collect();
                let mut allowed = Vec::with_capacity(pending.len());
                for (tenant, answer) in pending {
                    match wait_for(answer, deadline).await {
                        Ok(true) => allowed.push(tenant),
                        Ok(false) => {}
                        Err(e) => return Err(unavailable(&e)),
                    }
                }
                let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                Ok(Decision::Filter(catch_all_selector(&allowed)))
            }
            Decision::ObjectCheck { selectors } => {
                match wait_for(reviewer.object_labels(path), deadline).await {
                    Ok(ObjectLookup::Found(labels)) if selectors.iter().any(|s| s.matches(&labels)) => {
                        Ok(Decision::AsProxy)
                    }
                    Ok(ObjectLookup::Found(_)) => Ok(Decision::PassThrough),
                    Ok(ObjectLookup::NotFound) => {
                        let (code, message) = match route {
                            Route::ClusterScoped {
                                gvr,
                                name: Some(name),
                            } => not_found(gvr.resource, gvr.group, name),
                            Route::NamespaceGet { name } => not_found("namespaces", "", name),
                            _ => not_found("", "", path),
                        };
                        Ok(Decision::Respond { code, message })
                    }
                    Err(e) => Err(unavailable(&e)),
                }
            }
            other => Ok(other),
        }
    }

    /// Forwards a list or watch as the proxy with the caller's selector ANDed with `selector`.
    fn filtered(
        &mut self,
        selector: &Selector,
        identity: Identity,
        (path, query): (&str, &str),
        gates: Gates,
    ) -> Verdict<'a> {
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
            ResponsePlan::Watch(self.cx.streams.register(Some(WatchEntry {
                identity,
                path: path.to_string(),
                query: query.to_string(),
                selector: selector.to_string(),
                gates,
            })))
        } else {
            ResponsePlan::Relay
        };
        forward(ForwardAs::Proxy, Some(target), false, plan)
    }
}

/// Whether kube-apiserver reads `query` as a watch: its first `watch` value is anything but `0` or `false`
/// (any case) — looser than Go's `ParseBool`, and the reading that decides whether a stream stays open.
pub(super) fn apiserver_watch(query: &str) -> bool {
    match query_value(query, "watch") {
        Ok(Some(value)) => value != "0" && !value.eq_ignore_ascii_case("false"),
        Ok(None) => false,
        // An unreadable query was refused before a stream could start.
        Err(_) => true,
    }
}
