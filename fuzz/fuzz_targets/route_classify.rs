//! `canonical_path` and `classify` on arbitrary method, path and query.
//!
//! Input: one knob byte (method and the `ProxyClusterScoped` gate), then UTF-8 `path[?query]`. Never panics;
//! a canonical path starts with `/`, has no `//` and no `.` or `..` segment; a redirect target is a path that
//! is itself canonical (and carries nothing that would end a path in a `Location`); the routes' names are
//! single non-empty segments and the method-bound routes have their method.
#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;

use capsule_proxy_fuzz::knobs::Knobs;
use capsule_proxy_policy::discovery::{ApiResource, ApiResources};
use capsule_proxy_policy::route::{Gates, PathForm, Route, canonical_path, classify};
use libfuzzer_sys::fuzz_target;

const METHODS: [&str; 8] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "LIST"];

/// A discovery result with cluster-scoped and namespaced resources, core and named groups.
fn resources() -> &'static ApiResources {
    static RESOURCES: OnceLock<ApiResources> = OnceLock::new();
    RESOURCES.get_or_init(|| {
        let all = ["get", "list", "watch", "create", "update", "patch", "delete"];
        let resource =
            |group: &str, version: &str, resource: &str, namespaced: bool, verbs: &[&str]| ApiResource {
                group: group.to_owned(),
                version: version.to_owned(),
                resource: resource.to_owned(),
                kind: resource.to_owned(),
                namespaced,
                verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
            };
        ApiResources::new(
            [
                resource("", "v1", "nodes", false, &all),
                resource("", "v1", "namespaces", false, &all),
                resource("", "v1", "persistentvolumes", false, &all),
                resource("", "v1", "pods", true, &all),
                resource("", "v1", "pods/log", true, &["get"]),
                resource("", "v1", "configmaps", true, &all),
                resource("storage.k8s.io", "v1", "storageclasses", false, &all),
                resource("capsule.clastix.io", "v1beta2", "tenants", false, &all),
                resource("apps", "v1", "deployments", true, &all),
                resource("example.com", "v1", "widgets", false, &["get", "list"]),
                resource("example.com", "v1", "gadgets", true, &["get"]),
            ],
            [
                (String::new(), "v1".to_owned()),
                ("storage.k8s.io".to_owned(), "v1".to_owned()),
                ("capsule.clastix.io".to_owned(), "v1beta2".to_owned()),
                ("apps".to_owned(), "v1".to_owned()),
                ("example.com".to_owned(), "v1".to_owned()),
            ],
        )
    })
}

/// Whether `path` is clean: leading `/`, no `//`, no `.` or `..` segment.
fn is_clean(path: &str) -> bool {
    path.starts_with('/') && !path.contains("//") && !path.split('/').any(|s| s == "." || s == "..")
}

/// A name the router took from the path: one non-empty segment.
fn check_segment(what: &str, value: &str, path: &str) {
    assert!(
        !value.is_empty() && !value.contains('/'),
        "{what} {value:?} of {path:?} is not one segment"
    );
    assert!(
        path.split('/').any(|s| s == value),
        "{what} {value:?} is not a segment of {path:?}"
    );
}

fn check_route(method: &str, path: &str, route: Route<'_>) {
    match route {
        Route::NamespacesList | Route::TenantsList => assert_eq!(method, "GET"),
        Route::NamespaceGet { name } | Route::TenantGet { name } => {
            assert_eq!(method, "GET");
            check_segment("name", name, path);
        }
        Route::Legacy { version, name, .. } => {
            check_segment("version", version, path);
            if let Some(name) = name {
                check_segment("name", name, path);
            }
        }
        Route::ClusterScoped { gvr, name } => {
            check_segment("resource", gvr.resource, path);
            if let Some(name) = name {
                check_segment("name", name, path);
            }
        }
        Route::NamespacedAll { gvr } => {
            assert_eq!(method, "GET");
            check_segment("resource", gvr.resource, path);
        }
        Route::SelfSubjectAccessReview | Route::SelfSubjectRulesReview => assert_eq!(method, "POST"),
        Route::NamespacedObjectGet { gvr, namespace, name } => {
            assert_eq!(method, "GET");
            check_segment("resource", gvr.resource, path);
            check_segment("namespace", namespace, path);
            check_segment("name", name, path);
        }
        Route::Other => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut knobs = Knobs::new(data);
    let knob = knobs.byte();
    let method = METHODS[usize::from(knob & 7)];
    let gates = Gates {
        cluster_scoped: knob & 8 != 0,
        all_namespaced: knob & 16 != 0,
    };
    let Ok(text) = std::str::from_utf8(knobs.rest()) else {
        return;
    };
    let (raw_path, query) = text.split_once('?').unwrap_or((text, ""));

    // The router must also cope with a path nobody cleaned.
    let _ = classify(method, raw_path, query, resources(), gates);

    match canonical_path(raw_path) {
        Ok(PathForm::Canonical(path)) => {
            assert!(
                is_clean(&path),
                "canonical path {path:?} of {raw_path:?} is not clean"
            );
            if !raw_path.contains('%') {
                assert!(matches!(path, Cow::Borrowed(_)), "an unescaped path was copied");
            }
            let route = classify(method, &path, query, resources(), gates);
            check_route(method, &path, route);
        }
        Ok(PathForm::Redirect(location)) => {
            assert!(location.starts_with('/'), "redirect {location:?} is not a path");
            assert!(
                location
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#'),
                "redirect {location:?} of {raw_path:?} holds bytes a Location path cannot"
            );
            match canonical_path(&location) {
                Ok(PathForm::Canonical(clean)) => {
                    assert!(
                        is_clean(&clean),
                        "redirect {location:?} decodes to unclean {clean:?}"
                    );
                }
                other => panic!("redirect {location:?} of {raw_path:?} is not canonical: {other:?}"),
            }
        }
        Err(_) => {}
    }
});
