//! `metav1.Status` errors, worded and coded the way kube-apiserver words and codes them.

use serde_json::{Value, json};

/// An API error that is answered as a `metav1.Status` JSON body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `metav1.StatusReason` (`NotFound`, `Forbidden`, …).
    pub reason: &'static str,
    /// Human-readable message, as kube-apiserver phrases it.
    pub message: String,
    /// Optional `details` object (`name`, `group`, `kind`, `causes`).
    pub details: Option<Value>,
}

/// The qualified resource name kube-apiserver uses in messages: `pods`, `tenants.capsule.clastix.io`.
pub fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(name: &str, group: &str, resource: &str) -> Value {
    let mut d = json!({ "kind": resource });
    if !name.is_empty() {
        d["name"] = json!(name);
    }
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    d
}

impl ApiError {
    /// A bare error with a code, reason and message.
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401 Unauthorized, exactly as kube-apiserver answers an unauthenticated request.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 Forbidden with a preformatted message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 404 NotFound for a named object: `pods "x" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self {
            details: Some(details(name, group, resource)),
            ..Self::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", qualified(group, resource)),
            )
        }
    }

    /// 404 NotFound for a path the server does not serve.
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// 405 MethodNotAllowed for a verb the resource does not support.
    pub fn method_not_supported(group: &str, resource: &str, verb: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!(
                "{verb} is not supported on resources of kind \"{}\"",
                qualified(group, resource)
            ),
        )
    }

    /// 409 AlreadyExists.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self {
            details: Some(details(name, group, resource)),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", qualified(group, resource)),
            )
        }
    }

    /// 409 Conflict on a stale `resourceVersion`.
    pub fn conflict(group: &str, resource: &str, name: &str) -> Self {
        Self {
            details: Some(details(name, group, resource)),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    qualified(group, resource)
                ),
            )
        }
    }

    /// 410 Expired: a watch or list asked for a resourceVersion that is no longer retained.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 422 Invalid with one field cause.
    pub fn invalid(kind: &str, group: &str, name: &str, field: &str, message: &str) -> Self {
        let mut d = json!({ "kind": kind, "name": name, "causes": [
            { "reason": "FieldValueInvalid", "message": message, "field": field }
        ]});
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        Self {
            details: Some(d),
            ..Self::new(
                422,
                "Invalid",
                format!(
                    "{} \"{name}\" is invalid: {field}: {message}",
                    qualified(group, kind)
                ),
            )
        }
    }

    /// 406 NotAcceptable for an `Accept` header the server cannot serve.
    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io, application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
        )
    }

    /// 415 UnsupportedMediaType for request bodies the server cannot read.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json"
            ),
        )
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("request entity too large: limit is {limit} bytes"),
        )
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// 429 TooManyRequests, telling the client when to retry (`details.retryAfterSeconds`, sent as
    /// `Retry-After` too).
    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: u32) -> Self {
        Self {
            details: Some(json!({ "retryAfterSeconds": retry_after_seconds })),
            ..Self::new(429, "TooManyRequests", message)
        }
    }

    /// 503 ServiceUnavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// The `metav1.Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// A `Success` status, as returned by a DELETE of a collection or by exec on channel 3.
pub fn success() -> Value {
    json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_matches_apiserver_wording() {
        let e = ApiError::not_found("capsule.clastix.io", "tenants", "oil");
        let s = e.to_status();
        assert_eq!(s["message"], "tenants.capsule.clastix.io \"oil\" not found");
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["details"]["group"], "capsule.clastix.io");
        assert_eq!(s["details"]["kind"], "tenants");
        let core = ApiError::not_found("", "namespaces", "x").to_status();
        assert_eq!(core["message"], "namespaces \"x\" not found");
        assert!(core["details"].get("group").is_none());
    }

    #[test]
    fn unauthorized_is_bare() {
        let s = ApiError::unauthorized().to_status();
        assert_eq!(s["message"], "Unauthorized");
        assert_eq!(s["code"], 401);
        assert!(s.get("details").is_none());
    }
}
