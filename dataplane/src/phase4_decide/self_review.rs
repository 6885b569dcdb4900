//! SelfSubjectAccessReview / SelfSubjectRulesReview (behaviour reference §3.12): forwarded as the caller; for a
//! Capsule user the answer comes back as JSON with what the proxy grants added, for anyone else unchanged.

use std::sync::Arc;

use capsule_proxy_policy::snapshot::Snapshot;

use super::flow::Flow;
use super::validity::filtered_tenants;
use super::{ResponsePlan, SelfReviewPlan, Verdict};

impl<'a> Flow<'_, 'a> {
    /// Decides on a self review with the snapshot the request started with.
    pub(super) async fn self_review(
        &mut self,
        snapshot: Option<Arc<Snapshot>>,
        rules_review: bool,
    ) -> Verdict<'a> {
        let Some(snapshot) = self.snapshot(snapshot).await else {
            return self.pass_through(None, ResponsePlan::Relay).await;
        };
        let (_, identity) = match self.reviewed_identity().await {
            Ok(found) => found,
            Err(verdict) => return verdict,
        };
        let filter = &self.cx.settings.filter;
        // Only callers the proxy filters get anything from it; everyone else's answer is the API server's own.
        let Some(tenants) = filtered_tenants(&snapshot, &identity, filter) else {
            return self.pass_through(Some(identity), ResponsePlan::Relay).await;
        };
        let plan = ResponsePlan::SelfReview(SelfReviewPlan {
            rules_review,
            has_tenants: !tenants.is_empty(),
            rules: tenants.cluster_resources().cloned().collect(),
            snapshot: Arc::clone(&snapshot),
            cluster_scoped_gate: filter.cluster_scoped,
        });
        drop(tenants);
        self.as_caller(identity, true, plan)
    }
}
