//! SelfSubjectAccessReview / SelfSubjectRulesReview answers for Capsule users: read whole (bounded), rewritten
//! with what the proxy grants, and answered as JSON with their new length.

use capsule_proxy_policy::model::ClusterResourceRule;
use capsule_proxy_policy::self_review::{ReviewContext, rewrite_access_review, rewrite_rules_review};

use super::rewrite::{finish_head, read_body};
use super::{Exchange, Response};
use crate::client::{ClientConn, RequestFacts, respond};
use crate::context::RequestContext;
use crate::phase4_decide::SelfReviewPlan;

/// Reads the review response whole and puts the rewritten answer (head and body) in `conn.resp`.
pub(super) async fn rewrite(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    mut exchange: Exchange,
    review: &SelfReviewPlan,
    facts: &RequestFacts,
) -> Response {
    let limits = &cx.settings.limits;
    let limit = cx.settings.filter.max_rewrite_bytes;
    let upstream = &mut exchange.upstream;
    let body = match read_body(
        exchange.framing,
        limits,
        &mut upstream.stream,
        &mut upstream.buf,
        limit,
    )
    .await
    {
        Ok(body) => body,
        Err(e) => {
            let message = format!("capsule-proxy cannot rewrite the review response: {e}");
            return Response::Answered(respond(conn, 502, &message, facts).await);
        }
    };
    let rewritten = self_review_body(review, conn.status, &body);
    if finish_head(&mut conn.resp, &rewritten).is_err() {
        let message = "capsule-proxy cannot rewrite the review response";
        return Response::Answered(respond(conn, 502, message, facts).await);
    }
    Response::Rewritten(exchange)
}

/// The rewritten review, or the API server's own body when it is not a successful review.
fn self_review_body(review: &SelfReviewPlan, status: u16, body: &[u8]) -> Vec<u8> {
    if !(200..300).contains(&status) {
        return body.to_vec();
    }
    let rules: Vec<&ClusterResourceRule> = review.rules.iter().collect();
    let context = ReviewContext {
        has_tenants: review.has_tenants,
        cluster_scoped_gate: review.cluster_scoped_gate,
        rules: &rules,
        resources: review.snapshot.api_resources(),
    };
    let rewritten = if review.rules_review {
        rewrite_rules_review(body, &context)
    } else {
        rewrite_access_review(body, &context)
    };
    match rewritten {
        Ok(rewritten) => rewritten,
        Err(e) => {
            tracing::warn!(error = %e, "cannot rewrite a self review response; relaying it unchanged");
            body.to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use capsule_proxy_policy::snapshot::Snapshot;

    use super::*;

    #[test]
    fn only_successful_reviews_are_rewritten() {
        let plan = SelfReviewPlan {
            rules_review: false,
            has_tenants: true,
            rules: Vec::new(),
            snapshot: Arc::new(Snapshot::default()),
            cluster_scoped_gate: false,
        };
        let refused = br#"{"kind":"Status","code":403}"#;
        assert_eq!(self_review_body(&plan, 403, refused), refused);
        let review = br#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","spec":{"resourceAttributes":{"verb":"list","resource":"namespaces"}},"status":{"allowed":false}}"#;
        let granted = String::from_utf8(self_review_body(&plan, 201, review)).unwrap();
        assert!(granted.contains(r#""allowed":true"#), "{granted}");
    }
}
