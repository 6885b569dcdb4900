//! SelfSubjectRulesReview: `kubectl auth can-i --list` through the proxy.

use serde_json::{Value, json};

use super::{ReviewContext, SelfReviewError, parse_review, take_object};
use crate::cluster_rules::effective_verbs;

/// The `kind` this rewrite handles.
const KIND: &str = "SelfSubjectRulesReview";

/// The API server's SelfSubjectRulesReview response `body` with the proxy's rules appended to
/// `status.resourceRules`: `list` of core `namespaces` always and, with the `ProxyClusterScoped` gate, one rule
/// per `clusterResources` entry of the caller (its `apiGroups` and `resources`, and the verbs its operations
/// grant: `list` and `get`, or `get` alone). The API server's rules and every other field are kept.
pub fn rewrite_rules_review(body: &[u8], ctx: &ReviewContext<'_>) -> Result<Vec<u8>, SelfReviewError> {
    let mut review = parse_review(body, KIND)?;
    let mut status = take_object(&mut review, "status");
    let mut rules = match status.remove("resourceRules") {
        Some(Value::Array(rules)) => rules,
        _ => Vec::new(),
    };
    rules.push(json!({ "verbs": ["list"], "apiGroups": [""], "resources": ["namespaces"] }));
    if ctx.cluster_scoped_gate {
        rules.extend(ctx.rules.iter().map(|rule| {
            json!({
                "verbs": effective_verbs(&rule.operations),
                "apiGroups": rule.api_groups,
                "resources": rule.resources,
            })
        }));
    }
    status.insert("resourceRules".into(), Value::Array(rules));
    review.insert("status".into(), Value::Object(status));
    Ok(serde_json::to_vec(&review)?)
}
