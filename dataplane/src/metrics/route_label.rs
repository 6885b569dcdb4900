//! The `path` label of the request metrics: one fixed route template per kind of route, never the request's
//! own path, so the number of series stays bounded whatever clients send.

use capsule_proxy_policy::route::{LegacyRoute, Route};

/// The route template a request is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteLabel {
    /// Everything that is not a Capsule route (Go's `PathPrefix("/")`), and requests refused before routing.
    #[default]
    Root,
    /// The listener's `/_healthz`.
    Healthz,
    /// Namespaces list and watch.
    NamespacesList,
    /// One namespace.
    NamespaceGet,
    /// Tenants list and watch.
    TenantsList,
    /// One tenant.
    TenantGet,
    /// A legacy route's collection.
    LegacyList(LegacyRoute),
    /// A legacy route's object.
    LegacyGet(LegacyRoute),
    /// A generic cluster-scoped collection.
    ClusterScopedList,
    /// A generic cluster-scoped object.
    ClusterScopedGet,
    /// A namespaced resource across all namespaces (`kubectl get -A`).
    NamespacedAll,
    /// SelfSubjectAccessReview.
    SelfSubjectAccessReview,
    /// SelfSubjectRulesReview.
    SelfSubjectRulesReview,
}

/// The legacy routes, in [`RouteLabel::index`] order.
const LEGACY: [LegacyRoute; 7] = [
    LegacyRoute::Nodes,
    LegacyRoute::NodeMetrics,
    LegacyRoute::StorageClasses,
    LegacyRoute::IngressClasses,
    LegacyRoute::PriorityClasses,
    LegacyRoute::RuntimeClasses,
    LegacyRoute::PersistentVolumes,
];

/// Labels before the legacy ones in [`RouteLabel::index`] order.
const FIXED_BEFORE: usize = 6;

impl RouteLabel {
    /// How many labels there are: [`RouteLabel::index`] is below this.
    pub const COUNT: usize = FIXED_BEFORE + 2 * LEGACY.len() + 5;

    /// The label of a classified route.
    pub fn of(route: &Route<'_>) -> Self {
        match route {
            Route::NamespacesList => Self::NamespacesList,
            Route::NamespaceGet { .. } => Self::NamespaceGet,
            Route::TenantsList => Self::TenantsList,
            Route::TenantGet { .. } => Self::TenantGet,
            Route::Legacy { kind, name: None, .. } => Self::LegacyList(*kind),
            Route::Legacy {
                kind, name: Some(_), ..
            } => Self::LegacyGet(*kind),
            Route::ClusterScoped { name: None, .. } => Self::ClusterScopedList,
            Route::ClusterScoped { name: Some(_), .. } => Self::ClusterScopedGet,
            Route::NamespacedAll { .. } => Self::NamespacedAll,
            Route::SelfSubjectAccessReview => Self::SelfSubjectAccessReview,
            Route::SelfSubjectRulesReview => Self::SelfSubjectRulesReview,
            Route::NamespacedObjectGet { .. } | Route::Other => Self::Root,
        }
    }

    /// A dense index, for per-route arrays.
    pub fn index(self) -> usize {
        match self {
            Self::Root => 0,
            Self::Healthz => 1,
            Self::NamespacesList => 2,
            Self::NamespaceGet => 3,
            Self::TenantsList => 4,
            Self::TenantGet => 5,
            Self::LegacyList(kind) => FIXED_BEFORE + legacy_index(kind),
            Self::LegacyGet(kind) => FIXED_BEFORE + LEGACY.len() + legacy_index(kind),
            Self::ClusterScopedList => FIXED_BEFORE + 2 * LEGACY.len(),
            Self::ClusterScopedGet => FIXED_BEFORE + 2 * LEGACY.len() + 1,
            Self::NamespacedAll => FIXED_BEFORE + 2 * LEGACY.len() + 2,
            Self::SelfSubjectAccessReview => FIXED_BEFORE + 2 * LEGACY.len() + 3,
            Self::SelfSubjectRulesReview => FIXED_BEFORE + 2 * LEGACY.len() + 4,
        }
    }

    /// Every label, in [`RouteLabel::index`] order.
    pub fn all() -> impl Iterator<Item = Self> {
        let fixed = [
            Self::Root,
            Self::Healthz,
            Self::NamespacesList,
            Self::NamespaceGet,
            Self::TenantsList,
            Self::TenantGet,
        ];
        let tail = [
            Self::ClusterScopedList,
            Self::ClusterScopedGet,
            Self::NamespacedAll,
            Self::SelfSubjectAccessReview,
            Self::SelfSubjectRulesReview,
        ];
        fixed
            .into_iter()
            .chain(LEGACY.into_iter().map(Self::LegacyList))
            .chain(LEGACY.into_iter().map(Self::LegacyGet))
            .chain(tail)
    }

    /// The route template, as the `path` label shows it.
    pub fn template(self) -> &'static str {
        match self {
            Self::Root => "/",
            Self::Healthz => "/_healthz",
            Self::NamespacesList => "/api/v1/namespaces",
            Self::NamespaceGet => "/api/v1/namespaces/{name}",
            Self::TenantsList => "/apis/capsule.clastix.io/v1beta2/tenants",
            Self::TenantGet => "/apis/capsule.clastix.io/v1beta2/tenants/{name}",
            Self::LegacyList(kind) => legacy_list(kind),
            Self::LegacyGet(kind) => legacy_get(kind),
            Self::ClusterScopedList => "/apis/{group}/{version}/{resource}",
            Self::ClusterScopedGet => "/apis/{group}/{version}/{resource}/{name}",
            Self::NamespacedAll => "/apis/{group}/{version}/{namespaced-resource}",
            Self::SelfSubjectAccessReview => "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            Self::SelfSubjectRulesReview => "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        }
    }
}

/// The position of `kind` in [`LEGACY`].
fn legacy_index(kind: LegacyRoute) -> usize {
    match kind {
        LegacyRoute::Nodes => 0,
        LegacyRoute::NodeMetrics => 1,
        LegacyRoute::StorageClasses => 2,
        LegacyRoute::IngressClasses => 3,
        LegacyRoute::PriorityClasses => 4,
        LegacyRoute::RuntimeClasses => 5,
        LegacyRoute::PersistentVolumes => 6,
    }
}

fn legacy_list(kind: LegacyRoute) -> &'static str {
    match kind {
        LegacyRoute::Nodes => "/api/v1/nodes",
        LegacyRoute::NodeMetrics => "/apis/metrics.k8s.io/{version}/nodes",
        LegacyRoute::StorageClasses => "/apis/storage.k8s.io/v1/storageclasses",
        LegacyRoute::IngressClasses => "/apis/networking.k8s.io/{version}/ingressclasses",
        LegacyRoute::PriorityClasses => "/apis/scheduling.k8s.io/v1/priorityclasses",
        LegacyRoute::RuntimeClasses => "/apis/node.k8s.io/v1/runtimeclasses",
        LegacyRoute::PersistentVolumes => "/api/v1/persistentvolumes",
    }
}

fn legacy_get(kind: LegacyRoute) -> &'static str {
    match kind {
        LegacyRoute::Nodes => "/api/v1/nodes/{name}",
        LegacyRoute::NodeMetrics => "/apis/metrics.k8s.io/{version}/nodes/{name}",
        LegacyRoute::StorageClasses => "/apis/storage.k8s.io/v1/storageclasses/{name}",
        LegacyRoute::IngressClasses => "/apis/networking.k8s.io/{version}/ingressclasses/{name}",
        LegacyRoute::PriorityClasses => "/apis/scheduling.k8s.io/v1/priorityclasses/{name}",
        LegacyRoute::RuntimeClasses => "/apis/node.k8s.io/v1/runtimeclasses/{name}",
        LegacyRoute::PersistentVolumes => "/api/v1/persistentvolumes/{name}",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use capsule_proxy_policy::discovery::ApiResources;
    use capsule_proxy_policy::route::{Gates, classify};

    use super::*;

    #[test]
    fn indexes_are_dense_and_match_the_order_of_all() {
        let labels: Vec<RouteLabel> = RouteLabel::all().collect();
        assert_eq!(labels.len(), RouteLabel::COUNT);
        for (i, label) in labels.iter().enumerate() {
            assert_eq!(label.index(), i, "{label:?}");
        }
    }

    #[test]
    fn templates_are_distinct() {
        let templates: HashSet<&str> = RouteLabel::all().map(RouteLabel::template).collect();
        assert_eq!(templates.len(), RouteLabel::COUNT);
    }

    #[test]
    fn classified_routes_get_their_template_never_the_raw_path() {
        let resources = ApiResources::default();
        let label = |method: &str, path: &str| {
            RouteLabel::of(&classify(method, path, "", &resources, Gates::default())).template()
        };
        assert_eq!(label("GET", "/api/v1/namespaces"), "/api/v1/namespaces");
        assert_eq!(
            label("GET", "/api/v1/namespaces/oil-dev"),
            "/api/v1/namespaces/{name}"
        );
        assert_eq!(
            label("GET", "/apis/capsule.clastix.io/v1beta2/tenants/oil"),
            "/apis/capsule.clastix.io/v1beta2/tenants/{name}"
        );
        assert_eq!(label("DELETE", "/api/v1/nodes/node-1"), "/api/v1/nodes/{name}");
        assert_eq!(
            label("GET", "/apis/networking.k8s.io/v1/ingressclasses"),
            "/apis/networking.k8s.io/{version}/ingressclasses"
        );
        assert_eq!(
            label("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"),
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
        );
        assert_eq!(label("GET", "/api/v1/namespaces/oil-dev/pods/web"), "/");
        assert_eq!(label("GET", "/version"), "/");
        // Namespace writes are not a Capsule route.
        assert_eq!(label("PATCH", "/api/v1/namespaces/oil-dev"), "/");
    }
}
