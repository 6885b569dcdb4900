//! `meta.k8s.io` PartialObjectMetadata: the metadata-only answers kube-apiserver gives to
//! `Accept: application/json;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1|v1beta1` (kube-rs
//! `metadata_watcher` and `Api::get_metadata`/`list_metadata`, client-go's metadata informers).
//!
//! Single objects and watch events become `PartialObjectMetadata`, lists `PartialObjectMetadataList`. As in
//! kube-apiserver, asking a list for `PartialObjectMetadata` (or a single object for the list form) is 406; a
//! watch asked for the list form gets its objects untransformed.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::kinds::Kind;
use crate::response::Format;
use crate::status::ApiError;

/// `object` as a `PartialObjectMetadata` of `meta.k8s.io/<version>`: its full metadata, nothing else.
pub fn partial(object: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// `items` as a `PartialObjectMetadataList` of `meta.k8s.io/<version>`, with empty list metadata for the caller
/// to fill in (resourceVersion, continue).
pub fn partial_list(items: &[Arc<Value>], version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": {},
        "items": items.iter().map(|o| partial(o, version)).collect::<Vec<_>>(),
    })
}

/// A single-object answer (get, create, update, patch, delete) in `format`. Tables of single objects are built
/// by the caller; writes asked for a Table are answered in JSON.
pub fn single<'a>(kind: &Kind, object: &'a Value, format: Format) -> Result<Cow<'a, Value>, ApiError> {
    match format {
        Format::PartialObjectMetadata(version) => Ok(Cow::Owned(partial(object, version))),
        Format::PartialObjectMetadataList(_) => Err(not_a_list(kind)),
        Format::Json | Format::Table(_) => Ok(Cow::Borrowed(object)),
    }
}

/// 406 for `as=PartialObjectMetadataList` on a single object, worded as kube-apiserver words it.
pub fn not_a_list(kind: &Kind) -> ApiError {
    ApiError::new(
        406,
        "NotAcceptable",
        format!(
            "you requested PartialObjectMetadataList, but the requested object is not a list ({})",
            go_type(kind, false)
        ),
    )
}

/// 406 for `as=PartialObjectMetadata` on a list, worded as kube-apiserver words it.
pub fn a_list(kind: &Kind) -> ApiError {
    ApiError::new(
        406,
        "NotAcceptable",
        format!(
            "you requested PartialObjectMetadata, but the requested object is a list ({})",
            go_type(kind, true)
        ),
    )
}

/// The Go type kube-apiserver names in those messages: the internal type of a built-in kind (`*core.Pod`,
/// `*rbac.RoleList`), `*unstructured.Unstructured[List]` for custom resources.
fn go_type(kind: &Kind, list: bool) -> String {
    let suffix = if list { "List" } else { "" };
    if kind.group.ends_with("k8s.io") || kind.group.is_empty() {
        let package = kind
            .group
            .split('.')
            .next()
            .filter(|p| !p.is_empty())
            .unwrap_or("core");
        format!("*{package}.{}{suffix}", kind.kind)
    } else {
        format!("*unstructured.Unstructured{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::lookup;

    #[test]
    fn partial_keeps_all_metadata_and_nothing_else() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "oil-dev", "labels": {"app": "web"}, "resourceVersion": "7",
                "annotations": {"a": "b"}, "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1"}]},
            "spec": {"containers": [{"name": "app"}]}, "status": {"phase": "Running"}});
        let expected = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": pod["metadata"].clone()});
        assert_eq!(partial(&pod, "v1"), expected);
        assert_eq!(partial(&json!({}), "v1beta1")["metadata"], json!({}));
        let list = partial_list(&[Arc::new(pod.clone())], "v1beta1");
        assert_eq!(list["kind"], "PartialObjectMetadataList");
        assert_eq!(list["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(list["items"][0]["apiVersion"], "meta.k8s.io/v1beta1");
        assert_eq!(list["items"][0]["metadata"], pod["metadata"]);
        assert!(list["items"][0].get("spec").is_none());
    }

    #[test]
    fn single_objects_by_format() {
        let pods = lookup("", "v1", "pods").unwrap();
        let pod = json!({"kind": "Pod", "metadata": {"name": "web"}, "spec": {}});
        assert_eq!(*single(pods, &pod, Format::Json).unwrap(), pod);
        assert_eq!(
            single(pods, &pod, Format::PartialObjectMetadata("v1")).unwrap()["kind"],
            "PartialObjectMetadata"
        );
        let err = single(pods, &pod, Format::PartialObjectMetadataList("v1")).unwrap_err();
        assert_eq!((err.code, err.reason), (406, "NotAcceptable"));
        assert_eq!(
            err.message,
            "you requested PartialObjectMetadataList, but the requested object is not a list (*core.Pod)"
        );
    }

    #[test]
    fn go_types_in_messages() {
        let roles = lookup("rbac.authorization.k8s.io", "v1", "roles").unwrap();
        let tenants = lookup("capsule.clastix.io", "v1beta2", "tenants").unwrap();
        let nodes = lookup("", "v1", "nodes").unwrap();
        assert_eq!(go_type(roles, true), "*rbac.RoleList");
        assert_eq!(go_type(nodes, false), "*core.Node");
        assert_eq!(go_type(tenants, true), "*unstructured.UnstructuredList");
        assert_eq!(
            a_list(nodes).message,
            "you requested PartialObjectMetadata, but the requested object is a list (*core.NodeList)"
        );
    }
}
