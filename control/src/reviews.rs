//! The API requests behind the identity service, made as the proxy: a TokenReview, a SubjectAccessReview, and a
//! metadata-only GET of one object. Each turns the API server's answer (or failure) into a look-up answer;
//! caching and single-flight are the service's business.
//!
//! A request answered 429, 503 or 504 is asked once more after a short pause (the kube client itself does not
//! retry, see `runtime::client`). Once, because a review answers a request that is waiting for it (at most
//! `--review-timeout` on the data plane, 10 s by default) and every concurrent look-up of the same token or
//! object joins it: one quick retry absorbs a momentary rejection (API Priority and Fairness shedding load, an
//! API server instance restarting behind a load balancer); more would keep the joined requests waiting past
//! their deadline and add load to an API server that is asking for less.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use capsule_proxy_policy::review::{AccessQuestion, LookupError, ObjectLookup, TokenIdentity};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kube::api::PostParams;
use kube::{Api, Client};
use serde::Deserialize;

/// What a metadata GET asks for: the object's `PartialObjectMetadata`, or the full object from a server that
/// cannot transform it (both carry `metadata.labels`).
pub(crate) const METADATA_ACCEPT: &str =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

/// The shortest pause before the one retry.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// The longest pause before the one retry, whatever the server's `retryAfterSeconds` asks.
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(1);

/// A token review's answer.
pub(crate) type TokenAnswer = Result<Arc<TokenIdentity>, LookupError>;
/// An access review's answer.
pub(crate) type AccessAnswer = Result<bool, LookupError>;
/// A metadata read's answer.
pub(crate) type ObjectAnswer = Result<ObjectLookup, LookupError>;

pub(crate) async fn token_review(client: Client, token: &str) -> TokenAnswer {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_string()),
            ..Default::default()
        },
        ..Default::default()
    };
    let (api, params) = (Api::<TokenReview>::all(client), PostParams::default());
    let created = at_most_twice(|| api.create(&params, &review))
        .await
        .map_err(|e| LookupError::Unavailable(e.to_string()))?;
    let status = created.status.unwrap_or_default();
    if let Some(error) = status.error.filter(|e| !e.is_empty()) {
        return Err(LookupError::Unauthenticated(error));
    }
    if status.authenticated != Some(true) {
        return Err(LookupError::Unauthenticated("not authenticated".into()));
    }
    let user = status.user.unwrap_or_default();
    Ok(Arc::new(TokenIdentity {
        user: user.username.unwrap_or_default(),
        groups: user.groups.unwrap_or_default(),
        uid: user.uid,
        extra: user.extra.unwrap_or_default().into_iter().collect(),
    }))
}

pub(crate) async fn access_review(client: Client, question: &AccessQuestion) -> AccessAnswer {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(question.user.clone()),
            groups: Some(question.groups.clone()),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(question.verb.clone()),
                group: Some(question.group.clone()),
                version: non_empty(&question.version),
                resource: Some(question.resource.clone()),
                namespace: non_empty(&question.namespace),
                name: non_empty(&question.name),
                subresource: non_empty(&question.subresource),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let (api, params) = (Api::<SubjectAccessReview>::all(client), PostParams::default());
    let created = at_most_twice(|| api.create(&params, &review))
        .await
        .map_err(|e| LookupError::Unavailable(e.to_string()))?;
    Ok(created
        .status
        .is_some_and(|s| s.allowed && s.denied != Some(true)))
}

/// The part of an object (or its `PartialObjectMetadata`) a metadata read looks at.
#[derive(Debug, Default, Deserialize)]
struct WithMetadata {
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// The labels in a metadata read's response body.
pub(crate) fn labels_of(body: &str) -> Result<BTreeMap<String, String>, LookupError> {
    serde_json::from_str::<WithMetadata>(body)
        .map(|object| object.metadata.labels.unwrap_or_default())
        .map_err(|e| LookupError::Unavailable(format!("reading the object's metadata: {e}")))
}

/// GETs the object at the decoded API path `path` (`/apis/g/v/res/name`, each segment as the object's name
/// reads) as the proxy, metadata only: its labels, `NotFound` on 404, `Unavailable` on any other failure.
pub(crate) async fn object_labels(client: Client, path: &str) -> ObjectAnswer {
    let encoded = encode_path(path);
    let request = || {
        http::Request::get(encoded.as_str())
            .header(http::header::ACCEPT, METADATA_ACCEPT)
            .body(Vec::new())
            .map_err(|e| kube::Error::BuildRequest(kube::core::request::Error::BuildRequest(e)))
    };
    // Built once up front so a path that cannot be a request is reported as such, not as the server's failure.
    request().map_err(|e| LookupError::Unavailable(format!("bad object path {path:?}: {e}")))?;
    match at_most_twice(|| async { client.request_text(request()?).await }).await {
        Ok(body) => labels_of(&body).map(ObjectLookup::Found),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(ObjectLookup::NotFound),
        Err(e) => Err(LookupError::Unavailable(e.to_string())),
    }
}

/// `path` with every byte of each segment that a URI path segment cannot carry as it is percent-encoded: all
/// but RFC 3986 `pchar` (letters, digits, `-._~`, the sub-delims `!$&'()*+,;=`, `:` and `@`). So a `?`, `#`
/// or `%` in a name stays in the name (`open?x` is read as `open%3Fx`, not as `open` with a query), and a
/// space or a non-ASCII letter (as UTF-8) makes a valid request.
fn encode_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte == b'/' || byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// Runs `attempt`, and once more after a short pause when the API server answered 429, 503 or 504.
async fn at_most_twice<T, F, Fut>(mut attempt: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    match attempt().await {
        Err(error) => match retry_pause(&error) {
            Some(pause) => {
                tracing::debug!(error = %error, ?pause, "look-up refused for now; asking once more");
                tokio::time::sleep(pause).await;
                attempt().await
            }
            None => Err(error),
        },
        answer => answer,
    }
}

/// The pause before retrying after `error`, when it is worth one retry: the server's `retryAfterSeconds`,
/// kept between [`RETRY_PAUSE`] and [`RETRY_PAUSE_MAX`].
fn retry_pause(error: &kube::Error) -> Option<Duration> {
    match error {
        kube::Error::Api(status) if matches!(status.code, 429 | 503 | 504) => {
            let asked = status.details.as_ref().map_or(0, |d| d.retry_after_seconds);
            Some(Duration::from_secs(u64::from(asked)).clamp(RETRY_PAUSE, RETRY_PAUSE_MAX))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_read_from_partial_or_full_objects() {
        let partial = r#"{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
            "metadata":{"name":"n","labels":{"pool":"oil"}}}"#;
        assert_eq!(
            labels_of(partial),
            Ok(BTreeMap::from([("pool".to_string(), "oil".to_string())]))
        );
        let unlabelled = r#"{"kind":"Node","apiVersion":"v1","metadata":{"name":"n"},"spec":{}}"#;
        assert_eq!(labels_of(unlabelled), Ok(BTreeMap::new()));
        assert!(matches!(labels_of("not json"), Err(LookupError::Unavailable(_))));
    }

    #[test]
    fn object_paths_are_encoded_segment_by_segment() {
        let cases = [
            ("/api/v1/nodes/node-oil-1", "/api/v1/nodes/node-oil-1"),
            (
                "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregate-to-edit",
                "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregate-to-edit",
            ),
            ("/apis/g/v1/things/a b", "/apis/g/v1/things/a%20b"),
            ("/apis/g/v1/things/a%20b", "/apis/g/v1/things/a%2520b"),
            ("/apis/g/v1/things/caf\u{e9}", "/apis/g/v1/things/caf%C3%A9"),
            ("/apis/g/v1/things/open?x", "/apis/g/v1/things/open%3Fx"),
            ("/apis/g/v1/things/open#x", "/apis/g/v1/things/open%23x"),
            ("/apis/g/v1/things/100%", "/apis/g/v1/things/100%25"),
            (
                "/apis/g/v1/things/!$&'()*+,;=@~",
                "/apis/g/v1/things/!$&'()*+,;=@~",
            ),
            (
                "/apis/g/v1/things/a\"<>\\^`{|}",
                "/apis/g/v1/things/a%22%3C%3E%5C%5E%60%7B%7C%7D",
            ),
        ];
        for (decoded, expected) in cases {
            let encoded = encode_path(decoded);
            assert_eq!(encoded, expected, "{decoded:?}");
            // The request reads exactly that path, with no query and no fragment.
            let request = http::Request::get(encoded.as_str()).body(()).unwrap();
            assert_eq!(request.uri().path(), expected, "{decoded:?}");
            assert_eq!(request.uri().query(), None, "{decoded:?}");
        }
    }

    #[test]
    fn only_a_momentary_refusal_is_retried() {
        // A Status as the API server sends it.
        let api = |code: u16, retry_after_seconds: u32| {
            let json = serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                "details": {"retryAfterSeconds": retry_after_seconds},
            });
            kube::Error::Api(Box::new(serde_json::from_value(json).unwrap()))
        };
        assert_eq!(retry_pause(&api(429, 0)), Some(RETRY_PAUSE));
        assert_eq!(retry_pause(&api(429, 1)), Some(Duration::from_secs(1)));
        assert_eq!(
            retry_pause(&api(503, 60)),
            Some(RETRY_PAUSE_MAX),
            "never longer than a second"
        );
        assert_eq!(retry_pause(&api(504, 0)), Some(RETRY_PAUSE));
        for final_answer in [400, 401, 403, 404, 409, 500] {
            assert_eq!(retry_pause(&api(final_answer, 1)), None, "{final_answer}");
        }
    }

    #[tokio::test]
    async fn a_refused_look_up_is_asked_twice_at_most() {
        let refused = || {
            kube::Error::Api(Box::new(kube::core::Status {
                code: 429,
                ..Default::default()
            }))
        };
        let mut calls = 0;
        let answer: Result<(), _> = at_most_twice(|| {
            calls += 1;
            async { Err(refused()) }
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(calls, 2);

        let mut calls = 0;
        let answer = at_most_twice(|| {
            calls += 1;
            let attempt = calls;
            async move { if attempt == 1 { Err(refused()) } else { Ok(attempt) } }
        })
        .await;
        assert_eq!(answer.ok(), Some(2), "the retry's answer");

        let mut calls = 0;
        let answer: Result<(), _> = at_most_twice(|| {
            calls += 1;
            async {
                Err(kube::Error::Api(Box::new(kube::core::Status {
                    code: 403,
                    ..Default::default()
                })))
            }
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(calls, 1, "a final answer is not retried");
    }
}
