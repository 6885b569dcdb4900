//! A second, naive router for the property tests: the Go proxy's route table written out as gorilla/mux path
//! templates in registration order (behaviour reference §2.2, §3), registered from discovery as Go does at
//! start-up, and matched template by template, first match wins. It shares nothing with [`super::classify`]'s
//! shape parsing, so the two disagreeing on any path is a routing defect (a Capsule path routed to
//! [`Route::Other`] would not be filtered).

use super::{Gates, Gvr, LegacyRoute, Route};
use crate::discovery::ApiResources;

/// One segment of a mux path template.
#[derive(Debug, Clone, Copy)]
enum Segment<'t> {
    /// Exactly this text.
    Literal(&'t str),
    /// `{var}`: one non-empty segment (`[^/]+`).
    Var,
    /// `{endpoint:res/?}`: the literal, optionally followed by `/`; always the last segment.
    LiteralOptionalSlash(&'t str),
}

/// The method a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Methods {
    Get,
    Post,
    Any,
}

/// Which route a template stands for.
#[derive(Debug, Clone, Copy)]
enum Kind {
    NamespacesList,
    NamespaceGet,
    TenantsList,
    TenantGet,
    Legacy(LegacyRoute),
    ClusterScoped,
    NamespacedAll,
    SelfSubjectAccessReview,
    SelfSubjectRulesReview,
}

/// One registered route: method, template, which route it is and the resource it was registered for.
struct Registered<'a> {
    methods: Methods,
    template: Vec<Segment<'a>>,
    kind: Kind,
    gvr: Gvr<'a>,
}

/// The values of the template's `{var}` segments in `path`, or `None` when the template does not match.
fn matches<'p>(template: &[Segment<'_>], path: &'p str) -> Option<Vec<&'p str>> {
    let rest = path.strip_prefix('/')?;
    let segments: Vec<&str> = rest.split('/').collect();
    let mut values = Vec::new();
    for (at, segment) in template.iter().enumerate() {
        let got = *segments.get(at)?;
        match *segment {
            Segment::Literal(text) if got == text => {}
            Segment::Var if !got.is_empty() => values.push(got),
            Segment::LiteralOptionalSlash(text) if got == text && at + 1 == template.len() => {
                // `res` or `res/`: at most one empty segment after it.
                let after = segments.get(at + 1..).unwrap_or_default();
                return matches!(after, [] | [""]).then_some(values);
            }
            _ => return None,
        }
    }
    (template.len() == segments.len()).then_some(values)
}

/// `/api/<v>` or `/apis/<g>/<v>` as template segments; `None` for the version is `{version}`.
fn prefix<'a>(group: &'a str, version: Option<&'a str>) -> Vec<Segment<'a>> {
    let version = version.map_or(Segment::Var, Segment::Literal);
    if group.is_empty() {
        vec![Segment::Literal("api"), version]
    } else {
        vec![Segment::Literal("apis"), Segment::Literal(group), version]
    }
}

fn with<'a>(mut template: Vec<Segment<'a>>, tail: &[Segment<'a>]) -> Vec<Segment<'a>> {
    template.extend_from_slice(tail);
    template
}

/// The collection and named templates of a resource: `{endpoint:res/?}` (or `res` exactly) and `res/{name}`.
fn pair<'a>(
    methods: Methods,
    head: Vec<Segment<'a>>,
    resource: &'a str,
    optional_slash: bool,
    (list, named): (Kind, Kind),
    gvr: Gvr<'a>,
) -> [Registered<'a>; 2] {
    let collection = if optional_slash {
        Segment::LiteralOptionalSlash(resource)
    } else {
        Segment::Literal(resource)
    };
    [
        Registered {
            methods,
            template: with(head.clone(), &[collection]),
            kind: list,
            gvr,
        },
        Registered {
            methods,
            template: with(head, &[Segment::Literal(resource), Segment::Var]),
            kind: named,
            gvr,
        },
    ]
}

/// Go's route table, in registration order, for `resources` and `gates`.
fn route_table(resources: &ApiResources, gates: Gates) -> Vec<Registered<'_>> {
    let gvr = |group, version, resource| Gvr {
        group,
        version,
        resource,
    };
    let mut routes = Vec::new();
    routes.extend(pair(
        Methods::Get,
        prefix("", Some("v1")),
        "namespaces",
        true,
        (Kind::NamespacesList, Kind::NamespaceGet),
        gvr("", "v1", "namespaces"),
    ));
    routes.extend(pair(
        Methods::Get,
        prefix("capsule.clastix.io", Some("v1beta2")),
        "tenants",
        true,
        (Kind::TenantsList, Kind::TenantGet),
        gvr("capsule.clastix.io", "v1beta2", "tenants"),
    ));
    if gates.cluster_scoped {
        for r in resources.iter().filter(|r| !r.namespaced && r.supports("get")) {
            let own_route = (r.group.is_empty() && r.resource == "namespaces")
                || (r.group == "capsule.clastix.io" && r.resource == "tenants");
            if !own_route {
                routes.extend(pair(
                    Methods::Any,
                    prefix(&r.group, Some(&r.version)),
                    &r.resource,
                    false,
                    (Kind::ClusterScoped, Kind::ClusterScoped),
                    gvr(&r.group, &r.version, &r.resource),
                ));
            }
        }
    } else {
        // `(kind, group, version (`None`: `{version}`), resource)`, in Go's registration order.
        let legacy = [
            (LegacyRoute::Nodes, "", Some("v1"), "nodes"),
            (
                LegacyRoute::IngressClasses,
                "networking.k8s.io",
                None,
                "ingressclasses",
            ),
            (
                LegacyRoute::StorageClasses,
                "storage.k8s.io",
                Some("v1"),
                "storageclasses",
            ),
            (
                LegacyRoute::PriorityClasses,
                "scheduling.k8s.io",
                Some("v1"),
                "priorityclasses",
            ),
            (
                LegacyRoute::RuntimeClasses,
                "node.k8s.io",
                Some("v1"),
                "runtimeclasses",
            ),
            (
                LegacyRoute::PersistentVolumes,
                "",
                Some("v1"),
                "persistentvolumes",
            ),
            (LegacyRoute::NodeMetrics, "metrics.k8s.io", None, "nodes"),
        ];
        for (kind, group, version, resource) in legacy {
            routes.extend(pair(
                Methods::Any,
                prefix(group, version),
                resource,
                true,
                (Kind::Legacy(kind), Kind::Legacy(kind)),
                gvr(group, version.unwrap_or_default(), resource),
            ));
        }
    }
    let listable = |r: &&crate::discovery::ApiResource| {
        r.namespaced && r.supports("get") && r.supports("list") && r.supports("watch")
    };
    for r in resources.iter().filter(listable) {
        routes.push(Registered {
            methods: Methods::Get,
            template: with(
                prefix(&r.group, Some(&r.version)),
                &[Segment::Literal(&r.resource)],
            ),
            kind: Kind::NamespacedAll,
            gvr: gvr(&r.group, &r.version, &r.resource),
        });
    }
    for (resource, kind) in [
        ("selfsubjectaccessreviews", Kind::SelfSubjectAccessReview),
        ("selfsubjectrulesreviews", Kind::SelfSubjectRulesReview),
    ] {
        routes.push(Registered {
            methods: Methods::Post,
            template: with(
                prefix("authorization.k8s.io", Some("v1")),
                &[Segment::Literal(resource)],
            ),
            kind,
            gvr: gvr("authorization.k8s.io", "v1", resource),
        });
    }
    routes
}

/// The route Go's router would pick for `method path?query`, with the routes registered from `resources`.
pub(super) fn naive_route<'a>(
    method: &str,
    path: &'a str,
    query: &str,
    resources: &'a ApiResources,
    gates: Gates,
) -> Route<'a> {
    for route in route_table(resources, gates) {
        let method_ok = match route.methods {
            Methods::Get => method == "GET",
            Methods::Post => method == "POST",
            Methods::Any => true,
        };
        let Some(values) = matches(&route.template, path).filter(|_| method_ok) else {
            continue;
        };
        let last = values.last().copied();
        return match route.kind {
            Kind::NamespacesList => Route::NamespacesList,
            Kind::NamespaceGet => Route::NamespaceGet {
                name: last.unwrap_or_default(),
            },
            Kind::TenantsList => Route::TenantsList,
            Kind::TenantGet => Route::TenantGet {
                name: last.unwrap_or_default(),
            },
            Kind::Legacy(kind) => {
                // The version: the template's `{version}` (the first value) or its literal.
                let free_version = route.gvr.version.is_empty();
                let version = if free_version {
                    values.first().copied().unwrap_or_default()
                } else {
                    route.gvr.version
                };
                let named_values = if free_version { 2 } else { 1 };
                Route::Legacy {
                    kind,
                    version,
                    name: (values.len() == named_values).then_some(last).flatten(),
                }
            }
            Kind::ClusterScoped => Route::ClusterScoped {
                gvr: route.gvr,
                name: last,
            },
            Kind::NamespacedAll => Route::NamespacedAll { gvr: route.gvr },
            Kind::SelfSubjectAccessReview => Route::SelfSubjectAccessReview,
            Kind::SelfSubjectRulesReview => Route::SelfSubjectRulesReview,
        };
    }
    namespace_gate_candidate(method, path, query).unwrap_or(Route::Other)
}

/// The namespace gate's candidates (§3.13): a GET, not a watch, of `/api/v1/namespaces/{ns}/{res}/{name}` or
/// `/apis/{g}/{v}/namespaces/{ns}/{res}/{name}`. The generated queries spell a watch only as `watch=1`.
fn namespace_gate_candidate<'p>(method: &str, path: &'p str, query: &str) -> Option<Route<'p>> {
    use Segment::{Literal, Var};
    if method != "GET" || query == "watch=1" {
        return None;
    }
    let core = [
        Literal("api"),
        Literal("v1"),
        Literal("namespaces"),
        Var,
        Var,
        Var,
    ];
    let grouped = [Literal("apis"), Var, Var, Literal("namespaces"), Var, Var, Var];
    if let Some([namespace, resource, name]) = matches(&core, path).as_deref() {
        let gvr = Gvr {
            group: "",
            version: "v1",
            resource,
        };
        return Some(Route::NamespacedObjectGet { gvr, namespace, name });
    }
    match matches(&grouped, path).as_deref() {
        Some([group, version, namespace, resource, name]) => Some(Route::NamespacedObjectGet {
            gvr: Gvr {
                group,
                version,
                resource,
            },
            namespace,
            name,
        }),
        _ => None,
    }
}
