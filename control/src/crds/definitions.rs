//! The CustomResourceDefinitions capsule-proxy ships (ProxySetting, GlobalProxySettings), generated from the
//! Rust types by kube's `CustomResourceExt::crd()` and completed with what that leaves out and Capsule's CRDs
//! have: `names.listKind` and the `apiVersion`, `kind` and `metadata` properties of the root schema (whose
//! `title`, the Rust type's name, goes: Capsule's CRDs have none).

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;

use super::proxy_settings::{GlobalProxySettings, ProxySetting};

/// The ProxySetting and GlobalProxySettings CRDs, in that order.
pub fn definitions() -> Vec<CustomResourceDefinition> {
    vec![
        complete(ProxySetting::crd()),
        complete(GlobalProxySettings::crd()),
    ]
}

/// Adds `names.listKind` and the root properties every Kubernetes object has; drops the root `title`.
fn complete(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let names = &mut crd.spec.names;
    names.list_kind = Some(format!("{}List", names.kind));
    let roots = crd
        .spec
        .versions
        .iter_mut()
        .filter_map(|version| version.schema.as_mut()?.open_api_v3_schema.as_mut());
    for root in roots {
        root.title = None;
        let properties = root.properties.get_or_insert_with(BTreeMap::new);
        properties.entry("apiVersion".into()).or_insert_with(|| {
            string_property("APIVersion defines the versioned schema of this representation of an object.")
        });
        properties.entry("kind".into()).or_insert_with(|| {
            string_property("Kind is a string value representing the REST resource this object represents.")
        });
        properties
            .entry("metadata".into())
            .or_insert_with(|| JSONSchemaProps {
                type_: Some("object".into()),
                ..JSONSchemaProps::default()
            });
    }
    crd
}

fn string_property(description: &str) -> JSONSchemaProps {
    JSONSchemaProps {
        description: Some(description.into()),
        type_: Some("string".into()),
        ..JSONSchemaProps::default()
    }
}
