//! The API requests behind the identity service, made as the proxy: a TokenReview, a SubjectAccessReview, and a
//! metadata-only GET of one object. Each turns the API server's answer (or failure) into a look-up answer;
//! caching and single-flight are the service's business.

use std::collections::BTreeMap;
use std::sync::Arc;

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
    let created = Api::<TokenReview>::all(client)
        .create(&PostParams::default(), &review)
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
    let created = Api::<SubjectAccessReview>::all(client)
        .create(&PostParams::default(), &review)
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

/// GETs the object at `path` as the proxy, metadata only: its labels, `NotFound` on 404, `Unavailable` on
/// any other failure.
pub(crate) async fn object_labels(client: Client, path: &str) -> ObjectAnswer {
    let request = http::Request::get(path)
        .header(http::header::ACCEPT, METADATA_ACCEPT)
        .body(Vec::new())
        .map_err(|e| LookupError::Unavailable(format!("bad object path {path:?}: {e}")))?;
    match client.request_text(request).await {
        Ok(body) => labels_of(&body).map(ObjectLookup::Found),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(ObjectLookup::NotFound),
        Err(e) => Err(LookupError::Unavailable(e.to_string())),
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
}
