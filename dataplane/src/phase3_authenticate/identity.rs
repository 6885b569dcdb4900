//! Who a filtered request is for: the caller's identity (a reviewed bearer token, a client certificate or an
//! XFCC header) and the identity it impersonates with `Impersonate-*` headers, once those are reviewed.
//!
//! Look-ups go to the control plane through the [`Reviewer`]; a core polls their answers on its own timer, so
//! no waker crosses threads. Token answers are kept per core for a short while, so a busy caller costs one
//! cross-thread question per few seconds, not one per request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use capsule_proxy_policy::review::{AccessQuestion, LookupError, Pending, Reviewer, TokenIdentity};
use capsule_proxy_policy::snapshot::SERVICE_ACCOUNT_PREFIX;
use capsule_proxy_policy::{CallerIdentity, bearer_from_authorization, bearer_from_websocket_protocols};
use sha2::{Digest, Sha256};

use super::credential::Caller;
use crate::codec::RequestHead;
use crate::config::FilterConfig;
use crate::context::{Identity, TokenCache};

/// First pause between two polls of a pending answer; doubled up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_micros(250);
/// Longest pause between two polls of a pending answer.
const MAX_POLL: Duration = Duration::from_millis(8);

/// Why no identity could be established; each maps to one `Status` answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The token is not valid or expired (401, as kube-apiserver answers, so credential plugins refresh it; the
    /// Go proxy answered 403).
    #[error("cannot retrieve user and group from the request: {0}")]
    Unauthenticated(String),
    /// The caller may not impersonate what it asked for (403).
    #[error("{0}")]
    Forbidden(String),
    /// The control plane could not answer in time, or at all (503).
    #[error("capsule-proxy cannot review the request now: {0}")]
    Unavailable(String),
}

impl IdentityError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) => 403,
            Self::Unavailable(_) => 503,
        }
    }
}

/// Waits for a pending answer, polling with a growing pause, until `deadline`.
pub async fn wait_for<V>(mut pending: Pending<V>, deadline: Instant) -> Result<V, LookupError> {
    let mut pause = FIRST_POLL;
    loop {
        match pending.try_take() {
            Ok(answer) => return answer,
            Err(still) => pending = still,
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(LookupError::Unavailable("no answer in time".into()));
        }
        monoio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// The caller's own identity: from the certificate or XFCC header, or by reviewing its bearer token.
pub async fn caller_identity(
    caller: &Caller<'_>,
    head: &RequestHead<'_>,
    reviewer: &dyn Reviewer,
    cache: &TokenCache,
    filter: &FilterConfig,
) -> Result<CallerIdentity, IdentityError> {
    match caller {
        Caller::Identity(identity) => Ok(identity.as_ref().clone()),
        Caller::Bearer => {
            let token =
                bearer_token(head).ok_or_else(|| IdentityError::Unauthenticated("no bearer token".into()))?;
            let identity = review_token(&token, reviewer, cache, filter).await?;
            Ok(CallerIdentity {
                user: identity.user.clone(),
                groups: identity.groups.clone(),
            })
        }
    }
}

fn bearer_token(head: &RequestHead<'_>) -> Option<String> {
    match head.headers.get("authorization") {
        Some(value) => bearer_from_authorization(value).map(str::to_string),
        None => head
            .headers
            .get_all("sec-websocket-protocol")
            .find_map(bearer_from_websocket_protocols),
    }
}

async fn review_token(
    token: &str,
    reviewer: &dyn Reviewer,
    cache: &TokenCache,
    filter: &FilterConfig,
) -> Result<Arc<TokenIdentity>, IdentityError> {
    let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let now = Instant::now();
    let answer = match cache.get(&key, now) {
        Some(answer) => answer,
        None => {
            let deadline = now + filter.review_timeout;
            let (positive, negative) = filter.answer_cache_ttl;
            match wait_for(reviewer.review_token(token), deadline).await {
                Ok(identity) => {
                    cache.insert(key, Ok(Arc::clone(&identity)), Instant::now() + positive);
                    Ok(identity)
                }
                Err(LookupError::Unauthenticated(why)) => {
                    cache.insert(key, Err(why.clone()), Instant::now() + negative);
                    Err(why)
                }
                Err(e) => return Err(IdentityError::Unavailable(e.to_string())),
            }
        }
    };
    answer.map_err(IdentityError::Unauthenticated)
}

/// The caller's `Impersonate-*` headers, read once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImpersonationRequest {
    /// `Impersonate-User`.
    pub user: Option<String>,
    /// `Impersonate-Group` values, in order.
    pub groups: Vec<String>,
    /// `Impersonate-Uid`.
    pub uid: Option<String>,
    /// `Impersonate-Extra-<key>` values by key (key lower-cased and percent-decoded as kube-apiserver does).
    pub extra: Vec<(String, Vec<String>)>,
}

impl ImpersonationRequest {
    /// Reads the headers of `head`; `None` when it has none.
    pub fn of(head: &RequestHead<'_>) -> Result<Option<Self>, IdentityError> {
        let mut request = Self::default();
        let mut any = false;
        let text = |value: &[u8]| {
            std::str::from_utf8(value)
                .map(|v| v.trim().to_string())
                .map_err(|_| IdentityError::Forbidden("Impersonate-* headers must be valid UTF-8".into()))
        };
        for (name, value) in head.headers.iter() {
            let Some(suffix) = strip_prefix_ignore_case(name, "impersonate-") else {
                continue;
            };
            any = true;
            if suffix.eq_ignore_ascii_case("user") {
                request.user = Some(text(value)?);
            } else if suffix.eq_ignore_ascii_case("group") {
                request.groups.push(text(value)?);
            } else if suffix.eq_ignore_ascii_case("uid") {
                request.uid = Some(text(value)?);
            } else if let Some(key) = strip_prefix_ignore_case(suffix, "extra-") {
                let key = percent_decode(&key.to_ascii_lowercase()).ok_or_else(|| {
                    IdentityError::Forbidden(format!("invalid Impersonate-Extra key {key:?}"))
                })?;
                let value = text(value)?;
                match request.extra.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, values)) => values.push(value),
                    None => request.extra.push((key, vec![value])),
                }
            } else {
                return Err(IdentityError::Forbidden(format!(
                    "unknown impersonation header {name}"
                )));
            }
        }
        if !any {
            return Ok(None);
        }
        if request.user.is_none() {
            // kube-apiserver refuses group, uid or extra impersonation without a user.
            return Err(IdentityError::Forbidden(
                "Impersonate-User is required to impersonate groups, a uid or extra fields".into(),
            ));
        }
        Ok(Some(request))
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The identity a request is decided for: the caller's own, or — when it sends `Impersonate-*` headers — the
/// impersonated one, after SubjectAccessReviews show the caller may impersonate each part (all asked at
/// once), unless the `SkipImpersonationReview` gate is on.
///
/// Groups are filtered first: only those matching `--impersonation-group-regexp` are kept, then those matching
/// `--ignored-impersonation-group` dropped. A service account impersonated without groups gets its
/// kube-apiserver groups.
pub async fn effective_identity(
    caller: CallerIdentity,
    request: Option<ImpersonationRequest>,
    reviewer: &dyn Reviewer,
    filter: &FilterConfig,
) -> Result<Identity, IdentityError> {
    let Some(request) = request else {
        return Ok(Identity {
            user: caller.user,
            groups: caller.groups,
            uid: None,
            extra: Vec::new(),
            impersonated: false,
        });
    };
    let user = request.user.unwrap_or_default();
    let groups: Vec<String> = request
        .groups
        .into_iter()
        .filter(|g| {
            filter
                .impersonation_group_regexp
                .as_ref()
                .is_none_or(|re| re.is_match(g))
        })
        .filter(|g| {
            !filter
                .ignored_impersonation_groups
                .as_ref()
                .is_some_and(|re| re.is_match(g))
        })
        .collect();
    if !filter.skip_impersonation_review {
        let questions =
            impersonation_questions(&caller, &user, &groups, request.uid.as_deref(), &request.extra);
        let deadline = Instant::now() + filter.review_timeout;
        // Ask everything first: the reviews run concurrently on the control plane.
        let pending: Vec<(String, Pending<bool>)> = questions
            .into_iter()
            .map(|(what, question)| (what, reviewer.review_access(question)))
            .collect();
        for (what, answer) in pending {
            match wait_for(answer, deadline).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(IdentityError::Forbidden(format!(
                        "the current user {} cannot impersonate {what}",
                        caller.user
                    )));
                }
                Err(e) => return Err(IdentityError::Unavailable(e.to_string())),
            }
        }
    }
    let groups = if groups.is_empty() {
        service_account_groups(&user)
    } else {
        groups
    };
    Ok(Identity {
        user,
        groups,
        uid: request.uid,
        extra: request.extra,
        impersonated: true,
    })
}

/// The groups kube-apiserver gives a service account user (`system:serviceaccount:<ns>:<name>`).
fn service_account_groups(user: &str) -> Vec<String> {
    match user
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'))
    {
        Some((namespace, _)) => vec![
            format!("system:serviceaccounts:{namespace}"),
            "system:serviceaccounts".to_string(),
            "system:authenticated".to_string(),
        ],
        None => Vec::new(),
    }
}

/// The SubjectAccessReviews kube-apiserver's impersonation filter would make, each with what it is about.
fn impersonation_questions(
    caller: &CallerIdentity,
    user: &str,
    groups: &[String],
    uid: Option<&str>,
    extra: &[(String, Vec<String>)],
) -> Vec<(String, AccessQuestion)> {
    let ask = |resource: &str, subresource: &str, namespace: &str, name: &str| AccessQuestion {
        user: caller.user.clone(),
        groups: caller.groups.clone(),
        verb: "impersonate".into(),
        group: String::new(),
        version: String::new(),
        resource: resource.into(),
        subresource: subresource.into(),
        namespace: namespace.into(),
        name: name.into(),
    };
    let mut questions = Vec::with_capacity(1 + groups.len() + extra.len());
    // Service accounts are reviewed as kube-apiserver does: `serviceaccounts` in their namespace.
    let user_question = match user
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'))
    {
        Some((namespace, name)) => ask("serviceaccounts", "", namespace, name),
        None => ask("users", "", "", user),
    };
    questions.push((format!("the user {user}"), user_question));
    for group in groups {
        questions.push((format!("the group {group}"), ask("groups", "", "", group)));
    }
    if let Some(uid) = uid {
        let mut q = ask("uids", "", "", uid);
        q.group = "authentication.k8s.io".into();
        questions.push((format!("the uid {uid}"), q));
    }
    for (key, values) in extra {
        for value in values {
            let mut q = ask("userextras", key, "", value);
            q.group = "authentication.k8s.io".into();
            questions.push((format!("the extra {key}={value}"), q));
        }
    }
    questions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Limits, Parsed, parse_request_head};

    fn request(raw: &str) -> Result<Option<ImpersonationRequest>, IdentityError> {
        match parse_request_head(raw.as_bytes(), &Limits::default()).unwrap() {
            Parsed::Complete { head, .. } => ImpersonationRequest::of(&head),
            Parsed::Partial => panic!("partial head"),
        }
    }

    #[test]
    fn reads_impersonation_headers() {
        let parsed = request(
            "GET / HTTP/1.1\r\nHost: k\r\nimpersonate-user: bob\r\nImpersonate-Group: a\r\nImpersonate-Group: b\r\n\
             Impersonate-Uid: 42\r\nImpersonate-Extra-Scopes%2Fx: s1\r\nImpersonate-Extra-scopes%2Fx: s2\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(parsed.user.as_deref(), Some("bob"));
        assert_eq!(parsed.groups, ["a", "b"]);
        assert_eq!(parsed.uid.as_deref(), Some("42"));
        assert_eq!(
            parsed.extra,
            [("scopes/x".to_string(), vec!["s1".to_string(), "s2".to_string()])]
        );
        assert_eq!(request("GET / HTTP/1.1\r\nHost: k\r\n\r\n").unwrap(), None);
    }

    #[test]
    fn groups_without_a_user_are_refused() {
        assert!(matches!(
            request("GET / HTTP/1.1\r\nHost: k\r\nImpersonate-Group: a\r\n\r\n"),
            Err(IdentityError::Forbidden(_))
        ));
        assert!(matches!(
            request("GET / HTTP/1.1\r\nHost: k\r\nImpersonate-Whatever: a\r\n\r\n"),
            Err(IdentityError::Forbidden(_))
        ));
    }

    #[test]
    fn questions_follow_kube_apiserver() {
        let caller = CallerIdentity {
            user: "alice".into(),
            groups: vec!["g".into()],
        };
        let questions = impersonation_questions(
            &caller,
            "system:serviceaccount:oil-dev:gitops",
            &["x".into()],
            Some("u"),
            &[("k".into(), vec!["v".into()])],
        );
        let shapes: Vec<_> = questions
            .iter()
            .map(|(_, q)| {
                (
                    q.group.as_str(),
                    q.resource.as_str(),
                    q.subresource.as_str(),
                    q.namespace.as_str(),
                    q.name.as_str(),
                )
            })
            .collect();
        assert_eq!(
            shapes,
            [
                ("", "serviceaccounts", "", "oil-dev", "gitops"),
                ("", "groups", "", "", "x"),
                ("authentication.k8s.io", "uids", "", "", "u"),
                ("authentication.k8s.io", "userextras", "k", "", "v"),
            ]
        );
        assert!(
            questions
                .iter()
                .all(|(_, q)| q.user == "alice" && q.verb == "impersonate")
        );
    }

    #[test]
    fn service_accounts_get_their_groups() {
        assert_eq!(
            service_account_groups("system:serviceaccount:oil-dev:gitops"),
            [
                "system:serviceaccounts:oil-dev",
                "system:serviceaccounts",
                "system:authenticated"
            ]
        );
        assert!(service_account_groups("alice").is_empty());
    }
}
