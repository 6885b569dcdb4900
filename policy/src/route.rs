//! Which route a request is: the Go proxy's gorilla/mux router (behaviour reference §2.2, §3), as one pure
//! function over the method, the decoded canonical path and the raw query.
//!
//! ```text
//!  raw path ──canonical_path──▶ Redirect (301, mux path cleaning) | PathError (400) | canonical path
//!  method + canonical path + query ──classify──▶ Route
//! ```
//!
//! Routes are tried in Go's registration order, first match wins: namespaces list and get, tenants list and
//! get (GET only), then the legacy routes (`ProxyClusterScoped` off, every method) or the generic cluster-scoped
//! routes (gate on, every method), the `-A` catch-all (GET), SelfSubjectAccessReview / SelfSubjectRulesReview
//! (POST), named namespaced GETs (the 403→404 namespace gate) and everything else. A route whose path matches
//! but whose method does not lets the later routes try, as mux does. `{name}` is one non-empty segment, so
//! sub-resources are never intercepted. [`classify`] allocates nothing: most requests are [`Route::Other`].

mod path;
mod query;
mod shape;

#[cfg(test)]
mod naive_routes;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use path::{PathError, PathForm, canonical_path};
use query::is_watch;

use crate::discovery::ApiResources;
use crate::model::LegacyKind;
use shape::{Shape, ShapeKind};

/// The feature gates routing and decisions depend on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Gates {
    /// `ProxyClusterScoped`: generic cluster-scoped routes from `clusterResources` rules instead of the legacy
    /// per-tenant `proxySettings` routes.
    pub cluster_scoped: bool,
    /// `ProxyAllNamespaced`: a Capsule user's all-namespaces list or watch is fanned out to each namespace it
    /// may list, as the caller, instead of Go's `capsule.clastix.io/managed-by` filter (decisions only; routing
    /// does not depend on it).
    pub all_namespaced: bool,
}

/// A resource of a group version, as named in a request path (`group` is `""` for the core group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gvr<'a> {
    /// API group (`""` for core).
    pub group: &'a str,
    /// Version.
    pub version: &'a str,
    /// Plural resource name.
    pub resource: &'a str,
}

/// The legacy routes (`ProxyClusterScoped` off), §3.4–§3.8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegacyRoute {
    /// `/api/v1/nodes`.
    Nodes,
    /// `/apis/metrics.k8s.io/{version}/nodes`.
    NodeMetrics,
    /// `/apis/storage.k8s.io/v1/storageclasses`.
    StorageClasses,
    /// `/apis/networking.k8s.io/{version}/ingressclasses`.
    IngressClasses,
    /// `/apis/scheduling.k8s.io/v1/priorityclasses`.
    PriorityClasses,
    /// `/apis/node.k8s.io/v1/runtimeclasses`.
    RuntimeClasses,
    /// `/api/v1/persistentvolumes`.
    PersistentVolumes,
}

impl LegacyRoute {
    /// The `proxySettings` kind that governs the route (node metrics are governed by `Nodes`).
    pub fn kind(self) -> LegacyKind {
        match self {
            LegacyRoute::Nodes | LegacyRoute::NodeMetrics => LegacyKind::Nodes,
            LegacyRoute::StorageClasses => LegacyKind::StorageClasses,
            LegacyRoute::IngressClasses => LegacyKind::IngressClasses,
            LegacyRoute::PriorityClasses => LegacyKind::PriorityClasses,
            LegacyRoute::RuntimeClasses => LegacyKind::RuntimeClasses,
            LegacyRoute::PersistentVolumes => LegacyKind::PersistentVolumes,
        }
    }

    /// The API group of the route's resource (`""` for core).
    pub fn group(self) -> &'static str {
        match self {
            LegacyRoute::Nodes | LegacyRoute::PersistentVolumes => "",
            LegacyRoute::NodeMetrics => "metrics.k8s.io",
            LegacyRoute::StorageClasses => "storage.k8s.io",
            LegacyRoute::IngressClasses => "networking.k8s.io",
            LegacyRoute::PriorityClasses => "scheduling.k8s.io",
            LegacyRoute::RuntimeClasses => "node.k8s.io",
        }
    }

    /// The plural resource name.
    pub fn resource(self) -> &'static str {
        match self {
            LegacyRoute::Nodes | LegacyRoute::NodeMetrics => "nodes",
            LegacyRoute::StorageClasses => "storageclasses",
            LegacyRoute::IngressClasses => "ingressclasses",
            LegacyRoute::PriorityClasses => "priorityclasses",
            LegacyRoute::RuntimeClasses => "runtimeclasses",
            LegacyRoute::PersistentVolumes => "persistentvolumes",
        }
    }

    /// The legacy route of a path's group, version and resource, if any. `{version}` is free for ingress
    /// classes and node metrics, `v1` for the others.
    fn of(gvr: Gvr<'_>) -> Option<Self> {
        let v1 = gvr.version == "v1";
        let route = match (gvr.group, gvr.resource) {
            ("", "nodes") if v1 => LegacyRoute::Nodes,
            ("", "persistentvolumes") if v1 => LegacyRoute::PersistentVolumes,
            ("metrics.k8s.io", "nodes") => LegacyRoute::NodeMetrics,
            ("networking.k8s.io", "ingressclasses") => LegacyRoute::IngressClasses,
            ("storage.k8s.io", "storageclasses") if v1 => LegacyRoute::StorageClasses,
            ("scheduling.k8s.io", "priorityclasses") if v1 => LegacyRoute::PriorityClasses,
            ("node.k8s.io", "runtimeclasses") if v1 => LegacyRoute::RuntimeClasses,
            _ => return None,
        };
        Some(route)
    }
}

/// What a request is, for capsule-proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route<'a> {
    /// `GET /api/v1/namespaces[/]` (list and watch), §3.1.
    NamespacesList,
    /// `GET /api/v1/namespaces/{name}`, §3.2.
    NamespaceGet {
        /// The namespace.
        name: &'a str,
    },
    /// `GET /apis/capsule.clastix.io/v1beta2/tenants[/]`, §3.3.
    TenantsList,
    /// `GET /apis/capsule.clastix.io/v1beta2/tenants/{name}`, §3.3.
    TenantGet {
        /// The tenant.
        name: &'a str,
    },
    /// A legacy route, any method (gate off), §3.4–§3.8.
    Legacy {
        /// Which one.
        kind: LegacyRoute,
        /// The path's version segment.
        version: &'a str,
        /// The object, `None` on the collection path.
        name: Option<&'a str>,
    },
    /// A discovered cluster-scoped resource, any method (gate on), §3.9.
    ClusterScoped {
        /// The resource.
        gvr: Gvr<'a>,
        /// The object, `None` on the collection path.
        name: Option<&'a str>,
    },
    /// `GET` of a namespaced resource across all namespaces (`kubectl get -A`), §3.11.
    NamespacedAll {
        /// The resource.
        gvr: Gvr<'a>,
    },
    /// `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, §3.12.
    SelfSubjectAccessReview,
    /// `POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews`, §3.12.
    SelfSubjectRulesReview,
    /// `GET` (not a watch) of a named namespaced object without sub-resource: a candidate for the 403→404
    /// namespace gate, §3.13.
    NamespacedObjectGet {
        /// The resource.
        gvr: Gvr<'a>,
        /// The namespace.
        namespace: &'a str,
        /// The object.
        name: &'a str,
    },
    /// Everything else: passed through, §3.14.
    Other,
}

/// The group of Capsule's Tenants.
const CAPSULE_GROUP: &str = "capsule.clastix.io";
/// The group of the self-review kinds.
const AUTHORIZATION_GROUP: &str = "authorization.k8s.io";

/// The route of a request. `path` is the decoded, clean path [`canonical_path`] returned; `query` the raw query
/// string (without `?`); `resources` what discovery found (preferred versions only). Allocates nothing.
pub fn classify<'a>(
    method: &str,
    path: &'a str,
    query: &str,
    resources: &ApiResources,
    gates: Gates,
) -> Route<'a> {
    let Some(Shape { gvr, kind }) = Shape::parse(path) else {
        return Route::Other;
    };
    let get = method == "GET";
    let core_v1 = gvr.group.is_empty() && gvr.version == "v1";
    let namespaces = core_v1 && gvr.resource == "namespaces";
    let tenants = gvr.group == CAPSULE_GROUP && gvr.version == "v1beta2" && gvr.resource == "tenants";
    match kind {
        ShapeKind::Collection { trailing_slash } => {
            if get && namespaces {
                return Route::NamespacesList;
            }
            if get && tenants {
                return Route::TenantsList;
            }
            if !gates.cluster_scoped
                && let Some(kind) = LegacyRoute::of(gvr)
            {
                return Route::Legacy {
                    kind,
                    version: gvr.version,
                    name: None,
                };
            }
            if trailing_slash {
                return Route::Other;
            }
            if gates.cluster_scoped && is_generic_cluster_scoped(resources, gvr) {
                return Route::ClusterScoped { gvr, name: None };
            }
            if get && is_catch_all(resources, gvr) {
                return Route::NamespacedAll { gvr };
            }
            if method == "POST" && gvr.group == AUTHORIZATION_GROUP && gvr.version == "v1" {
                match gvr.resource {
                    "selfsubjectaccessreviews" => return Route::SelfSubjectAccessReview,
                    "selfsubjectrulesreviews" => return Route::SelfSubjectRulesReview,
                    _ => {}
                }
            }
            Route::Other
        }
        ShapeKind::Named { name } => {
            if get && namespaces {
                return Route::NamespaceGet { name };
            }
            if get && tenants {
                return Route::TenantGet { name };
            }
            if !gates.cluster_scoped {
                return match LegacyRoute::of(gvr) {
                    Some(kind) => Route::Legacy {
                        kind,
                        version: gvr.version,
                        name: Some(name),
                    },
                    None => Route::Other,
                };
            }
            if is_generic_cluster_scoped(resources, gvr) {
                return Route::ClusterScoped {
                    gvr,
                    name: Some(name),
                };
            }
            Route::Other
        }
        ShapeKind::NamespacedNamed { namespace, name } => {
            if get && !is_watch(query) && (!gvr.group.is_empty() || gvr.version == "v1") {
                Route::NamespacedObjectGet { gvr, namespace, name }
            } else {
                Route::Other
            }
        }
    }
}

/// A generic cluster-scoped route (§3.9): a discovered cluster-scoped resource supporting `get`, except
/// namespaces and Capsule's tenants (their own routes' kinds, whatever the version).
fn is_generic_cluster_scoped(resources: &ApiResources, gvr: Gvr<'_>) -> bool {
    let own_route = (gvr.group.is_empty() && gvr.resource == "namespaces")
        || (gvr.group == CAPSULE_GROUP && gvr.resource == "tenants");
    !own_route
        && resources
            .get(gvr.group, gvr.version, gvr.resource)
            .is_some_and(|r| !r.namespaced && r.supports("get"))
}

/// A catch-all route (§3.11): a discovered namespaced resource supporting `get`, `list` and `watch`.
fn is_catch_all(resources: &ApiResources, gvr: Gvr<'_>) -> bool {
    resources
        .get(gvr.group, gvr.version, gvr.resource)
        .is_some_and(|r| r.namespaced && r.supports("get") && r.supports("list") && r.supports("watch"))
}
