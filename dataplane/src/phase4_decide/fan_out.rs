//! The all-namespaces fan-out's decision (gate `ProxyAllNamespaced`): which of the caller's namespaces it may
//! list (or watch) the resource in, asked with SubjectAccessReviews (cached by the control plane, asked all at
//! once, bounded by `--review-timeout`), and how the answer is to be paged and shaped. The requests themselves
//! are phase 7's ([`crate::phase7_relay::fan_out`]).

use std::borrow::Cow;
use std::time::Instant;

use capsule_proxy_policy::fan_out::{ContinueToken, FanOutResource, ListForm, access_question};
use capsule_proxy_policy::review::Reviewer;
use capsule_proxy_policy::route::Gvr;
use capsule_proxy_policy::selector::query_value;
use capsule_proxy_policy::snapshot::Snapshot;

use super::capsule_route::apiserver_watch;
use super::flow::{Flow, identity_refusal};
use super::validity::fan_out_key;
use super::{ForwardAs, Verdict};
use crate::context::{Identity, StreamTicket, WatchEntry};
use crate::phase3_authenticate::{Caller, IdentityError, wait_for};

/// An all-namespaces list or watch, fanned out to the namespaces the caller may read it in.
#[derive(Debug)]
pub struct FanOutRequest<'a> {
    /// Whose credential each namespace's request carries: the caller's own, or its impersonated identity.
    pub credential: ForwardAs<'a>,
    /// The resource.
    pub resource: FanOutResource,
    /// The namespaces to read, sorted; the API server allowed each.
    pub namespaces: Vec<String>,
    /// The list form the caller accepts.
    pub form: ListForm,
    /// The caller's raw query (its selectors and options go to every namespace).
    pub query: String,
    /// The caller's `limit` (a list).
    pub limit: Option<usize>,
    /// Where a list resumes (the caller's `continue`).
    pub resume: Option<ContinueToken>,
    /// A watch: its registration (ended when the caller's namespaces change) and starting resource version.
    pub watch: Option<(StreamTicket, Option<String>)>,
}

impl<'a> Flow<'_, 'a> {
    /// Decides a fan-out over `namespaces` (the caller's, from the snapshot) for `identity`.
    pub(super) async fn fan_out(
        &mut self,
        snapshot: &Snapshot,
        reviewer: &dyn Reviewer,
        identity: Identity,
        namespaces: Vec<String>,
        gvr: Gvr<'_>,
        (path, query): (&str, &str),
    ) -> Verdict<'a> {
        let bad_request = |message: String| Verdict::Respond(400, Cow::Owned(message));
        let Some(api_resource) = snapshot.api_resources().get(gvr.group, gvr.version, gvr.resource) else {
            return Verdict::Respond(
                404,
                Cow::Borrowed("the server could not find the requested resource"),
            );
        };
        let resource = FanOutResource::new(gvr, &api_resource.kind);
        let watch = apiserver_watch(query);
        let (limit, resume, resource_version) = match paging(query, &resource) {
            Ok(paging) => paging,
            Err(message) => return bad_request(message),
        };
        let allowed = match self
            .allowed_namespaces(reviewer, &identity, &resource, &namespaces, watch)
            .await
        {
            Ok(allowed) => allowed,
            Err(verdict) => return verdict,
        };
        let max_watches = self.cx.settings.filter.fan_out.max_watches;
        if watch && allowed.len() > max_watches {
            let message = format!(
                "an all-namespaces watch of {} namespaces is more than capsule-proxy's \
                 --all-namespaces-max-watches={max_watches}: watch fewer namespaces at a time",
                allowed.len()
            );
            return Verdict::Respond(429, Cow::Owned(message));
        }
        let form = ListForm::of_accept(self.head.headers.get("accept"));
        let watch = watch.then(|| {
            let entry = WatchEntry {
                selector: fan_out_key(&namespaces),
                identity: identity.clone(),
                path: path.to_owned(),
                query: query.to_owned(),
                gates: self.cx.settings.filter.gates(),
            };
            (self.cx.streams.register(Some(entry)), resource_version)
        });
        let credential = match self.caller {
            Caller::Bearer => ForwardAs::Caller,
            Caller::Identity(_) => ForwardAs::Identity(identity),
        };
        Verdict::FanOut(Box::new(FanOutRequest {
            credential,
            resource,
            namespaces: allowed,
            form,
            query: query.to_owned(),
            limit,
            resume,
            watch,
        }))
    }

    /// The namespaces among `namespaces` where the API server lets `identity` list (or watch) `resource`.
    async fn allowed_namespaces(
        &self,
        reviewer: &dyn Reviewer,
        identity: &Identity,
        resource: &FanOutResource,
        namespaces: &[String],
        watch: bool,
    ) -> Result<Vec<String>, Verdict<'a>> {
        let now = Instant::now();
        let filter = &self.cx.settings.filter;
        let deadline = now + filter.review_timeout;
        let mut allowed = Vec::with_capacity(namespaces.len());
        // The core's recent answers first; the rest asked all at once (the control plane answers from its
        // cache or concurrently), kept in the order of `namespaces`.
        let mut pending = Vec::new();
        for (index, namespace) in namespaces.iter().enumerate() {
            let question = access_question(&identity.user, &identity.groups, resource, namespace, watch);
            match self.cx.reviews.get(&question, now) {
                Some(true) => allowed.push((index, namespace.clone())),
                Some(false) => {}
                None => pending.push((index, question.clone(), reviewer.review_access(question))),
            }
        }
        let (keep_allowed, keep_denied) = filter.answer_cache_ttl;
        for (index, question, answer) in pending {
            let answer = wait_for(answer, deadline)
                .await
                .map_err(|e| identity_refusal(&IdentityError::Unavailable(e.to_string())))?;
            let keep = if answer { keep_allowed } else { keep_denied };
            if answer {
                allowed.push((index, question.namespace.clone()));
            }
            self.cx.reviews.insert(question, answer, Instant::now() + keep);
        }
        allowed.sort_unstable_by_key(|(index, _)| *index);
        Ok(allowed.into_iter().map(|(_, namespace)| namespace).collect())
    }
}

/// The caller's `limit`, `continue` (ours, decoded) and `resourceVersion`; a message for a 400 otherwise.
type Paging = (Option<usize>, Option<ContinueToken>, Option<String>);

fn paging(query: &str, resource: &FanOutResource) -> Result<Paging, String> {
    let value = |key: &str| query_value(query, key).map_err(|e| e.to_string());
    let limit = match value("limit")? {
        None => None,
        Some(text) if text.is_empty() => None,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if n > 0 => usize::try_from(n).ok(),
            // kube-apiserver reads a zero or negative limit as none.
            Ok(_) => None,
            Err(_) => return Err(format!("invalid limit {text:?}: not an integer")),
        },
    };
    let resume = match value("continue")? {
        Some(text) if !text.is_empty() => Some(
            ContinueToken::decode(&text, &resource.qualified_name())
                .map_err(|e| format!("continue key is not valid: {e}"))?,
        ),
        _ => None,
    };
    let resource_version = value("resourceVersion")?.map(Cow::into_owned);
    Ok((limit, resume, resource_version))
}

#[cfg(test)]
mod tests {
    use capsule_proxy_policy::route::Gvr;

    use super::*;

    #[test]
    fn paging_reads_limit_continue_and_version() {
        let pods = FanOutResource::new(
            Gvr {
                group: "",
                version: "v1",
                resource: "pods",
            },
            "Pod",
        );
        assert_eq!(paging("", &pods), Ok((None, None, None)));
        assert_eq!(
            paging("limit=0&resourceVersion=5", &pods),
            Ok((None, None, Some("5".into())))
        );
        let token = ContinueToken {
            resource: "pods".into(),
            namespace: "oil-dev".into(),
            upstream: None,
        };
        let query = format!("limit=2&continue={}", token.encode());
        assert_eq!(paging(&query, &pods), Ok((Some(2), Some(token), None)));
        assert!(paging("limit=x", &pods).unwrap_err().contains("invalid limit"));
        let foreign = paging("continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", &pods).unwrap_err();
        assert!(foreign.starts_with("continue key is not valid"), "{foreign}");
        assert_eq!(fan_out_key(&["a".into(), "b".into()]), "fan-out a,b");
    }
}
