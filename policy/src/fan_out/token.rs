//! The continue token of a merged all-namespaces list: the namespace to resume at and, when the page ended
//! inside it, that namespace's own continue token from kube-apiserver.
//!
//! It is opaque to clients (`capsule-proxy.1.` and unpadded URL-safe base64 of a small JSON object) and bound
//! to the resource it was issued for. It carries no authority: the namespaces a resumed list reaches are the
//! caller's as of that request, and the namespace's token goes to kube-apiserver with the caller's credential,
//! which checks it. A token that is not ours, or not for this resource, is a 400.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// What marks a continue token as the fan-out's, and its version.
const PREFIX: &str = "capsule-proxy.1.";

/// Where a merged list resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinueToken {
    /// The resource it was issued for (`pods`, `deployments.apps`).
    #[serde(rename = "r")]
    pub resource: String,
    /// The namespace to resume at (or, when it is gone, the first after it).
    #[serde(rename = "n")]
    pub namespace: String,
    /// The namespace's own continue token, when the last page ended inside it.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

/// Why a continue token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not issued by capsule-proxy for an all-namespaces list.
    #[error("the continue token was not issued by capsule-proxy for an all-namespaces list")]
    Foreign,
    /// Ours by its prefix, but unreadable.
    #[error("the continue token could not be decoded")]
    Malformed,
    /// Issued for another resource.
    #[error("the continue token was issued for {0}, not for this resource")]
    OtherResource(String),
}

impl ContinueToken {
    /// The token's text.
    pub fn encode(&self) -> String {
        // Serializing plain strings cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut text = String::with_capacity(PREFIX.len() + json.len() * 4 / 3 + 4);
        text.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(json, &mut text);
        text
    }

    /// Reads a token a client sent back for `resource` (see [`super::FanOutResource::qualified_name`]).
    pub fn decode(text: &str, resource: &str) -> Result<Self, TokenError> {
        let encoded = text.strip_prefix(PREFIX).ok_or(TokenError::Foreign)?;
        let json = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| TokenError::Malformed)?;
        let token: Self = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if token.namespace.is_empty() || token.upstream.as_deref() == Some("") {
            return Err(TokenError::Malformed);
        }
        if token.resource != resource {
            return Err(TokenError::OtherResource(token.resource));
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_what_is_not_theirs() {
        let token = ContinueToken {
            resource: "pods".to_owned(),
            namespace: "oil-dev".to_owned(),
            upstream: Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NX0=".to_owned()),
        };
        let text = token.encode();
        assert!(text.starts_with(PREFIX));
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{text}"
        );
        assert_eq!(ContinueToken::decode(&text, "pods"), Ok(token.clone()));
        assert_eq!(
            ContinueToken::decode(&text, "deployments.apps"),
            Err(TokenError::OtherResource("pods".to_owned()))
        );
        // kube-apiserver's own token, a garbage one, a tampered one.
        assert_eq!(
            ContinueToken::decode("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ", "pods"),
            Err(TokenError::Foreign)
        );
        assert_eq!(
            ContinueToken::decode("capsule-proxy.1.%%%", "pods"),
            Err(TokenError::Malformed)
        );
        let tampered = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(br#"{"r":"pods","n":""}"#));
        assert_eq!(
            ContinueToken::decode(&tampered, "pods"),
            Err(TokenError::Malformed)
        );
        let bare = ContinueToken {
            upstream: None,
            ..token
        };
        assert_eq!(ContinueToken::decode(&bare.encode(), "pods"), Ok(bare));
    }
}
