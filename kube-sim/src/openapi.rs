//! OpenAPI, honestly minimal: the `/openapi/v3` index, one OpenAPI 3.0 document per served group-version
//! (paths and operations only, no per-kind schemas), and an empty `/openapi/v2` document.
//!
//! What `kubectl` (v1.32) does with them, read from its source:
//! - **Field validation.** `apply`/`create`/`replace` default to `--validate=strict`; the validator asks
//!   cli-runtime's `queryParamVerifierV3` whether the GVK supports `fieldValidation`. It fetches
//!   `/openapi/v3`, looks up `api/v1` or `apis/<g>/<v>`, GETs its `serverRelativeURL`
//!   (`/openapi/v3/...?hash=`, used as an absolute path since it starts with `/openapi/v3`) and scans
//!   **every** path's PATCH operation: the first one whose `x-kubernetes-group-version-kind` equals the GVK
//!   decides, by whether it lists an inline parameter named `fieldValidation`. So every PATCH operation here
//!   (including `.../status`) carries it, and kubectl then skips client-side validation and sends
//!   `fieldValidation=Strict`. Only when that check fails with an error other than "unsupported" does it
//!   fall back to `/openapi/v2`.
//! - **Strategic merge patch.** `kubectl apply`'s patcher (`patcher.go`) first tries OpenAPI v3: only if the
//!   GVK's PATCH operation accepts `application/strategic-merge-patch+json` does it build the patch from the
//!   document's component schemas. Our PATCH operations accept only JSON patch and JSON merge patch, and the
//!   document has no schema tagged with any GVK, so that path is never taken. It then tries v2: the empty v2
//!   document (or a 404) yields no patch type, which is ignored. It finally uses its compiled-in Go types:
//!   a correct strategic merge patch for built-in kinds, a JSON merge patch for Capsule's CRD kinds (not
//!   registered in kubectl's scheme) — exactly what it does against a real cluster for CRDs.
//! - **`/openapi/v2`.** kubectl reads it (protobuf only) for client-side validation, which runs when the v3
//!   check says "unsupported": documents of `kind: List` (always unsupported), kinds without PATCH (reviews,
//!   metrics) and kinds of unserved group-versions. A 404 there makes kubectl fail with "error validating
//!   data"; [`v2_protobuf`] is an empty, valid swagger 2.0 document, with which validation finds no schema
//!   and passes, and the patcher behaves as with a 404. Serving it is optional but recommended.
//! - `kubectl explain` finds no schemas here: it prints the GVK, then "not found in OpenAPI schema".
//!
//! These code paths are identical in kubectl/cli-runtime/client-go v1.32.4 and v1.33.1. Verified end to
//! end with the local kubectl (its dispatcher runs v1.33.1 against a 1.33 server) on these documents:
//! `apply`/`create` send `fieldValidation=Strict` for core and Capsule kinds, `kind: List` files apply once
//! v2 is served (and fail "error validating data" without it), and `apply` of a changed Namespace sends a
//! strategic merge patch.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use crate::discovery::{self, GIT_VERSION};
use crate::kinds::{self, KINDS, Kind};

/// `Content-Type` of the protobuf OpenAPI v2 response, as kube-openapi returns it. Clients ask with the
/// deprecated `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, which Go's `mime` package
/// cannot parse back, so the response must use this spelling.
pub const V2_CONTENT_TYPE: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `Content-Type` of `/openapi/v3` and of every group-version document.
pub const V3_CONTENT_TYPE: &str = "application/json";

/// Every served (group, version), core first, in table order.
fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for k in KINDS {
        if !out.contains(&(k.group, k.version)) {
            out.push((k.group, k.version));
        }
    }
    out
}

/// The OpenAPI v3 index key of a group-version: `api/v1` or `apis/<g>/<v>`.
fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of group-version documents, each with a content hash in its URL.
pub fn root() -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions() {
        let Some(doc) = document(group, version) else {
            continue;
        };
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        let hash: String = Sha512::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        let key = gv_key(group, version);
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")}),
        );
    }
    json!({"paths": paths})
}

/// The OpenAPI 3.0 document of one group-version, addressed by what follows `/openapi/v3/` (`api/v1`,
/// `apis/capsule.clastix.io/v1beta2`; a query or trailing slash is ignored); `None` if not served.
pub fn group_version(path_after_v3: &str) -> Option<Value> {
    let path = path_after_v3.split('?').next().unwrap_or(path_after_v3);
    let path = path.trim_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["api", version] => document("", version),
        ["apis", group, version] if !group.is_empty() => document(group, version),
        _ => None,
    }
}

/// An empty swagger 2.0 document in protobuf (`openapi_v2.Document{swagger, info{title, version}}`), for
/// `GET /openapi/v2` with [`V2_CONTENT_TYPE`].
pub fn v2_protobuf() -> Vec<u8> {
    let mut info = Vec::new();
    proto_string(&mut info, 1, "Kubernetes");
    proto_string(&mut info, 2, GIT_VERSION);
    let mut doc = Vec::new();
    proto_string(&mut doc, 1, "2.0");
    proto_bytes(&mut doc, 2, &info);
    doc
}

/// Appends a length-delimited protobuf field.
fn proto_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    proto_varint(out, u64::from(field << 3 | 2));
    proto_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a protobuf string field.
fn proto_string(out: &mut Vec<u8>, field: u32, s: &str) {
    proto_bytes(out, field, s.as_bytes());
}

/// Appends a protobuf varint.
fn proto_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The document of one group-version, or `None` if no kind is served there.
fn document(group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    for k in kinds::in_group_version(group, version) {
        add_paths(&mut paths, k);
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// A query parameter of type string.
fn query(name: &str, description: &str) -> Value {
    typed_query(name, "string", description)
}

/// A query parameter of another schema type.
fn typed_query(name: &str, ty: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": ty, "uniqueItems": true},
    })
}

/// A required path parameter.
fn path_param(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "description": description,
        "required": true,
        "schema": {"type": "string", "uniqueItems": true},
    })
}

/// A `200` response of `content_type` with a string body.
fn text_response(content_type: &str) -> Value {
    let content = json!({content_type: {"schema": {"type": "string"}}});
    json!({"200": {"description": "OK", "content": content}})
}

/// `dryRun`, `fieldManager` and `fieldValidation`: the write parameters of POST, PUT and PATCH.
fn write_params() -> Vec<Value> {
    vec![
        query(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        ),
        query(
            "fieldManager",
            "A name associated with the actor or entity that is making these changes.",
        ),
        query(
            "fieldValidation",
            "How the server handles unknown or duplicate fields in the request body: Ignore, Warn or Strict.",
        ),
    ]
}

/// Selector and paging parameters of list, watch and deletecollection.
fn list_params() -> Vec<Value> {
    vec![
        query(
            "labelSelector",
            "A selector to restrict the list of returned objects by their labels.",
        ),
        query(
            "fieldSelector",
            "A selector to restrict the list of returned objects by their fields.",
        ),
        typed_query(
            "limit",
            "integer",
            "The maximum number of items to return in one list call.",
        ),
        query("continue", "The continue token of a previous, limited list call."),
        query(
            "resourceVersion",
            "Constrains which resource versions the request may be served from.",
        ),
        typed_query("timeoutSeconds", "integer", "Timeout for the list/watch call."),
        typed_query(
            "watch",
            "boolean",
            "Watch for changes and return them as a stream of events.",
        ),
    ]
}

/// Parameters of DELETE.
fn delete_params() -> Vec<Value> {
    vec![
        query(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        ),
        typed_query(
            "gracePeriodSeconds",
            "integer",
            "The duration in seconds before the object is deleted.",
        ),
        query(
            "propagationPolicy",
            "Whether and how garbage collection is performed: Orphan, Background, Foreground.",
        ),
    ]
}

/// A JSON response body of an opaque object schema.
fn json_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}}})
}

/// Everything an operation needs.
struct Op {
    /// `get`, `post`, `put`, `patch`, `delete`.
    method: &'static str,
    /// Verb part of the operationId (`list`, `read`, `patch`, …).
    id_verb: &'static str,
    /// `x-kubernetes-action`.
    action: &'static str,
    /// Whether the operation is on the namespaced path.
    namespaced: bool,
    /// Kind whose GVK the operation carries (`Pod`, `PodExecOptions`, …).
    gvk_kind: &'static str,
    /// Suffix of the operationId after the kind (`Status`, `Log`, `Exec`).
    id_suffix: String,
    /// Query parameters.
    params: Vec<Value>,
    /// Request body, if any.
    body: Option<Value>,
    /// Responses.
    responses: Value,
}

/// The operationId group part: `Core`, `RbacAuthorization`, `CapsuleClastixIo`.
fn id_group(group: &str) -> String {
    if group.is_empty() {
        return "Core".to_string();
    }
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    trimmed.split(['.', '-']).map(capitalize).collect()
}

/// `pods` → `Pods`.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Builds one operation object.
fn operation(k: &Kind, op: Op) -> Value {
    let scope = if op.namespaced { "Namespaced" } else { "" };
    let id = format!(
        "{}{}{}{}{}{}",
        op.id_verb,
        id_group(k.group),
        capitalize(k.version),
        scope,
        k.kind,
        op.id_suffix
    );
    let tag = if k.group.is_empty() {
        format!("core_{}", k.version)
    } else {
        format!("{}_{}", k.group, k.version)
    };
    let mut o = Map::new();
    o.insert("tags".into(), json!([tag]));
    o.insert("operationId".into(), id.into());
    if !op.params.is_empty() {
        o.insert("parameters".into(), Value::Array(op.params));
    }
    if let Some(body) = op.body {
        o.insert("requestBody".into(), body);
    }
    o.insert("responses".into(), op.responses);
    o.insert("x-kubernetes-action".into(), op.action.into());
    o.insert(
        "x-kubernetes-group-version-kind".into(),
        json!({"group": k.group, "version": k.version, "kind": op.gvk_kind}),
    );
    Value::Object(o)
}

/// Request body of POST and PUT: the object as JSON.
fn object_body() -> Value {
    json!({"content": {"application/json": {"schema": {"type": "object"}}}, "required": true})
}

/// Request body of PATCH: JSON patch or JSON merge patch. Strategic merge patch is deliberately not listed
/// (see the module header): kubectl would otherwise look for per-kind schemas with patch metadata.
fn patch_body() -> Value {
    let schema = json!({"schema": {"type": "object"}});
    json!({
        "content": {"application/json-patch+json": schema, "application/merge-patch+json": schema},
        "required": true,
    })
}

/// Inserts `method` → `operation` under `path`, creating the path item with its path parameters.
fn put_op(paths: &mut Map<String, Value>, path: &str, path_params: &[Value], method: &str, op: Value) {
    let item = paths.entry(path.to_string()).or_insert_with(|| {
        let mut item = Map::new();
        if !path_params.is_empty() {
            item.insert("parameters".into(), Value::Array(path_params.to_vec()));
        }
        Value::Object(item)
    });
    if let Value::Object(item) = item {
        item.insert(method.to_string(), op);
    }
}

/// Adds every path and operation kube-apiserver publishes for kind `k`, limited to its verbs.
fn add_paths(paths: &mut Map<String, Value>, k: &Kind) {
    let prefix = if k.group.is_empty() {
        format!("/api/{}", k.version)
    } else {
        format!("/apis/{}/{}", k.group, k.version)
    };
    let ns_param = path_param(
        "namespace",
        "object name and auth scope, such as for teams and projects",
    );
    let name_param = path_param("name", &format!("name of the {}", k.kind));
    let (collection, collection_params) = if k.namespaced {
        (
            format!("{prefix}/namespaces/{{namespace}}/{}", k.resource),
            vec![ns_param],
        )
    } else {
        (format!("{prefix}/{}", k.resource), Vec::new())
    };
    let item = format!("{collection}/{{name}}");
    let mut item_params = collection_params.clone();
    item_params.push(name_param);
    let ns = k.namespaced;
    let simple = |method, id_verb, action, gvk_kind: &'static str, params, body, responses| Op {
        method,
        id_verb,
        action,
        namespaced: ns,
        gvk_kind: if gvk_kind.is_empty() { k.kind } else { gvk_kind },
        id_suffix: String::new(),
        params,
        body,
        responses,
    };

    let mut ops: Vec<(String, Op)> = Vec::new();
    if k.supports("list") {
        let ok = json!({"200": json_response("OK")});
        ops.push((
            collection.clone(),
            simple("get", "list", "list", "", list_params(), None, ok.clone()),
        ));
        if k.namespaced {
            let mut all = simple("get", "list", "list", "", list_params(), None, ok);
            all.namespaced = false;
            all.id_suffix = "ForAllNamespaces".into();
            ops.push((format!("{prefix}/{}", k.resource), all));
        }
    }
    if k.supports("create") {
        let responses = json!({"200": json_response("OK"), "201": json_response("Created")});
        ops.push((
            collection.clone(),
            simple(
                "post",
                "create",
                "post",
                "",
                write_params(),
                Some(object_body()),
                responses,
            ),
        ));
    }
    if k.supports("deletecollection") {
        let mut params = delete_params();
        params.extend(list_params().into_iter().filter(|p| p["name"] != "watch"));
        let op = simple(
            "delete",
            "deleteCollection",
            "deletecollection",
            "",
            params,
            None,
            json!({"200": json_response("OK")}),
        );
        ops.push((collection.clone(), op));
    }
    if k.supports("get") {
        ops.push((
            item.clone(),
            simple(
                "get",
                "read",
                "get",
                "",
                Vec::new(),
                None,
                json!({"200": json_response("OK")}),
            ),
        ));
    }
    if k.supports("update") {
        let responses = json!({"200": json_response("OK"), "201": json_response("Created")});
        ops.push((
            item.clone(),
            simple(
                "put",
                "replace",
                "put",
                "",
                write_params(),
                Some(object_body()),
                responses,
            ),
        ));
    }
    if k.supports("patch") {
        let mut params = write_params();
        params.push(typed_query(
            "force",
            "boolean",
            "Force is going to \"force\" Apply requests.",
        ));
        let responses = json!({"200": json_response("OK"), "201": json_response("Created")});
        ops.push((
            item.clone(),
            simple(
                "patch",
                "patch",
                "patch",
                "",
                params,
                Some(patch_body()),
                responses,
            ),
        ));
    }
    if k.supports("delete") {
        let responses = json!({"200": json_response("OK"), "202": json_response("Accepted")});
        ops.push((
            item.clone(),
            simple("delete", "delete", "delete", "", delete_params(), None, responses),
        ));
    }
    for sub in discovery::subresources(k) {
        let path = format!("{item}/{}", sub.name);
        let suffix = capitalize(sub.name);
        let mut sub_ops: Vec<Op> = Vec::new();
        match sub.name {
            "log" => {
                let params = [
                    "container",
                    "follow",
                    "previous",
                    "sinceSeconds",
                    "tailLines",
                    "timestamps",
                    "limitBytes",
                ]
                .iter()
                .map(|p| query(p, "log option"))
                .collect();
                let text = text_response("text/plain");
                sub_ops.push(simple("get", "read", "get", sub.kind, params, None, text));
            }
            "exec" => {
                let params: Vec<Value> = ["command", "container", "stdin", "stdout", "stderr", "tty"]
                    .iter()
                    .map(|p| query(p, "exec option"))
                    .collect();
                let any = text_response("*/*");
                for (method, verb) in [("get", "connectGet"), ("post", "connectPost")] {
                    sub_ops.push(simple(
                        method,
                        verb,
                        "connect",
                        sub.kind,
                        params.clone(),
                        None,
                        any.clone(),
                    ));
                }
            }
            _ => {
                let ok = json!({"200": json_response("OK")});
                let created = json!({"200": json_response("OK"), "201": json_response("Created")});
                if sub.verbs.contains(&"get") {
                    sub_ops.push(simple("get", "read", "get", sub.kind, Vec::new(), None, ok));
                }
                if sub.verbs.contains(&"update") {
                    let body = Some(object_body());
                    sub_ops.push(simple(
                        "put",
                        "replace",
                        "put",
                        sub.kind,
                        write_params(),
                        body,
                        created.clone(),
                    ));
                }
                if sub.verbs.contains(&"patch") {
                    let mut params = write_params();
                    params.push(typed_query(
                        "force",
                        "boolean",
                        "Force is going to \"force\" Apply requests.",
                    ));
                    sub_ops.push(simple(
                        "patch",
                        "patch",
                        "patch",
                        sub.kind,
                        params,
                        Some(patch_body()),
                        created,
                    ));
                }
            }
        }
        for mut op in sub_ops {
            op.id_suffix = suffix.clone();
            ops.push((path.clone(), op));
        }
    }

    let all_ns = format!("{prefix}/{}", k.resource);
    for (path, op) in ops {
        let params: &[Value] = if path == all_ns && k.namespaced {
            &[]
        } else if path == collection {
            &collection_params
        } else {
            &item_params
        };
        let method = op.method;
        let value = operation(k, op);
        put_op(paths, &path, params, method, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What cli-runtime's `supportsQueryParamV3` computes: the first PATCH operation for the GVK decides.
    /// Here every PATCH for the GVK must agree, since Go iterates the paths map in random order.
    fn supports_field_validation(doc: &Value, group: &str, version: &str, kind: &str) -> bool {
        let want = json!({"group": group, "version": version, "kind": kind});
        let patches: Vec<&Value> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|item| item.get("patch"))
            .filter(|op| op["x-kubernetes-group-version-kind"] == want)
            .collect();
        !patches.is_empty()
            && patches.iter().all(|op| {
                op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "fieldValidation")
            })
    }

    #[test]
    fn root_lists_every_group_version_with_hash() {
        let root = root();
        let paths = root["paths"].as_object().unwrap();
        assert_eq!(paths.len(), group_versions().len());
        let url = paths["api/v1"]["serverRelativeURL"].as_str().unwrap();
        assert!(url.starts_with("/openapi/v3/api/v1?hash="));
        assert_eq!(url.len(), "/openapi/v3/api/v1?hash=".len() + 128);
        let capsule = paths["apis/capsule.clastix.io/v1beta2"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(capsule.starts_with("/openapi/v3/apis/capsule.clastix.io/v1beta2?hash="));
        assert_ne!(url.split('=').nth(1), capsule.split('=').nth(1));
        assert_eq!(root, super::root(), "hashes are stable");
    }

    #[test]
    fn every_patchable_kind_supports_field_validation() {
        for k in KINDS {
            let doc = group_version(&gv_key(k.group, k.version)).unwrap();
            assert_eq!(doc["openapi"], "3.0.0");
            assert_eq!(
                supports_field_validation(&doc, k.group, k.version, k.kind),
                k.supports("patch"),
                "{k:?}"
            );
        }
    }

    #[test]
    fn core_document_has_namespace_and_pod_operations() {
        let doc = group_version("api/v1").unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let ns = &paths["/api/v1/namespaces/{name}"];
        assert_eq!(
            ns["patch"]["x-kubernetes-group-version-kind"],
            json!({"group": "", "version": "v1", "kind": "Namespace"})
        );
        assert_eq!(ns["patch"]["operationId"], "patchCoreV1Namespace");
        assert_eq!(ns["parameters"][0]["name"], "name");
        let content = ns["patch"]["requestBody"]["content"].as_object().unwrap();
        assert!(!content.contains_key("application/strategic-merge-patch+json"));
        assert!(content.contains_key("application/merge-patch+json"));
        assert!(
            paths["/api/v1/namespaces"]["post"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        let pod = &paths["/api/v1/namespaces/{namespace}/pods/{name}"];
        assert_eq!(pod["get"]["operationId"], "readCoreV1NamespacedPod");
        assert_eq!(
            paths["/api/v1/pods"]["get"]["operationId"],
            "listCoreV1PodForAllNamespaces"
        );
        assert!(paths["/api/v1/pods"].get("parameters").is_none());
        let exec = &paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"];
        assert_eq!(
            exec["post"]["x-kubernetes-group-version-kind"]["kind"],
            "PodExecOptions"
        );
        assert_eq!(exec["get"]["x-kubernetes-action"], "connect");
        let status = &paths["/api/v1/namespaces/{name}/status"];
        assert_eq!(status["patch"]["operationId"], "patchCoreV1NamespaceStatus");
        assert_eq!(
            paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]["x-kubernetes-group-version-kind"]
                ["kind"],
            "Pod"
        );
        assert_eq!(doc["components"]["schemas"], json!({}));
    }

    #[test]
    fn crd_document_has_tenant_operations() {
        let doc = group_version("apis/capsule.clastix.io/v1beta2?hash=abc").unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let tenant = &paths["/apis/capsule.clastix.io/v1beta2/tenants/{name}"];
        assert_eq!(
            tenant["patch"]["x-kubernetes-group-version-kind"],
            json!({"group": "capsule.clastix.io", "version": "v1beta2", "kind": "Tenant"})
        );
        assert_eq!(
            tenant["patch"]["operationId"],
            "patchCapsuleClastixIoV1beta2Tenant"
        );
        assert!(paths.contains_key("/apis/capsule.clastix.io/v1beta2/tenants/{name}/status"));
        assert!(!paths.keys().any(|p| p.contains("proxysettings")));
        let v1beta1 = group_version("apis/capsule.clastix.io/v1beta1/").unwrap();
        assert!(
            v1beta1["paths"]
                .as_object()
                .unwrap()
                .contains_key("/apis/capsule.clastix.io/v1beta1/namespaces/{namespace}/proxysettings/{name}")
        );
        assert!(group_version("apis/apps/v1").is_none());
        assert!(group_version("api").is_none());
        assert!(group_version("apis/capsule.clastix.io").is_none());
    }

    #[test]
    fn reviews_only_create() {
        let doc = group_version("apis/authorization.k8s.io/v1").unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let sar = paths["/apis/authorization.k8s.io/v1/subjectaccessreviews"]
            .as_object()
            .unwrap();
        assert_eq!(sar.keys().collect::<Vec<_>>(), vec!["post"]);
        assert!(
            paths.contains_key(
                "/apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews"
            )
        );
    }

    #[test]
    fn v2_is_an_empty_swagger_document() {
        let bytes = v2_protobuf();
        assert_eq!(&bytes[..5], &[0x0a, 3, b'2', b'.', b'0']);
        assert_eq!(bytes[5], 0x12);
        assert_eq!(bytes[6] as usize, bytes.len() - 7);
        assert_eq!(&bytes[7..9], &[0x0a, 10]);
        assert!(bytes.ends_with(GIT_VERSION.as_bytes()));
    }
}
