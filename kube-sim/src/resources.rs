//! Resource verbs: get, list (selectors, paging, Tables, PartialObjectMetadata), create, update, patch, delete, deletecollection, the
//! `status` subresource and reviews; watch, log and exec hand over to [`crate::streams`].

use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::cluster::{Cluster, run_pod};
use crate::connection::ConnectionInfo;
use crate::encoded::Stored;
use crate::identity::UserInfo;
use crate::kinds::{Kind, Storage};
use crate::params::Params;
use crate::request::ResourceRequest;
use crate::response::{self, Body, Format};
use crate::status::ApiError;
use crate::store::{labels, metadata_mut, object_name};
use crate::{encoded, metadata, patch, protobuf, protobuf_objects, reviews, streams, table};

/// Serves an authorized resource request.
pub async fn serve(
    cluster: &Arc<Cluster>,
    conn: &Arc<ConnectionInfo>,
    rr: ResourceRequest,
    user: &UserInfo,
    query: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let params = Params::parse(query);
    let kind = rr.kind;
    let namespace = rr.namespace.clone().unwrap_or_default();
    match rr.subresource.as_deref() {
        Some("log") => return streams::logs(cluster, conn, &rr, &params),
        Some("exec") => return streams::exec(cluster, conn, &rr, req),
        _ => {}
    }
    if kind.storage == Storage::Review {
        if rr.verb != "create" {
            return Err(ApiError::method_not_supported(kind.group, kind.resource, rr.verb));
        }
        let content_type = response::media_type(req.headers().get(header::CONTENT_TYPE));
        let body = if content_type == "application/vnd.kubernetes.protobuf" {
            protobuf::decode_review(kind.kind, &read_bytes(cluster, req).await?)?
        } else {
            read_body(cluster, req).await?
        };
        let answer = reviews::answer(
            kind,
            &body,
            user,
            rr.namespace.as_deref(),
            &cluster.authn,
            &cluster.authz,
        )?;
        return Ok(response::json(StatusCode::CREATED, &answer));
    }
    if !kind.supports(rr.verb) {
        return Err(ApiError::method_not_supported(kind.group, kind.resource, rr.verb));
    }
    let format = response::negotiate(req.headers().get(header::ACCEPT))?;
    let status_only = rr.subresource.as_deref() == Some("status");
    let name = rr.name.clone().unwrap_or_default();
    let chunk_bytes = cluster.options.chunk_bytes;
    let single = |code, object: &Value| single(code, kind, object, format, chunk_bytes);
    match rr.verb {
        "get" => {
            let stored = cluster
                .store
                .get_stored(kind, &namespace, &name)
                .ok_or_else(|| ApiError::not_found(kind.group, kind.resource, &name))?;
            if format == Format::Json {
                let parts = vec![stored.json, Bytes::from_static(b"\n")];
                return Ok(response::json_parts(StatusCode::OK, parts, chunk_bytes));
            }
            render(kind, &[stored.object], None, format, &params, None, chunk_bytes)
        }
        "list" => list(cluster, kind, rr.namespace.as_deref(), &params, format),
        "watch" => streams::watch(cluster, conn, &rr, &params, format),
        "create" => {
            let body = read_object(cluster, kind, req).await?;
            let created = create(cluster, kind, &namespace, body, &params)?;
            single(StatusCode::CREATED, &created)
        }
        "update" => {
            let body = read_object(cluster, kind, req).await?;
            let updated = update(cluster, kind, &namespace, &name, body, status_only, &params)?;
            single(StatusCode::OK, &updated)
        }
        "patch" => {
            let content_type = response::media_type(req.headers().get(header::CONTENT_TYPE));
            let body = read_bytes(cluster, req).await?;
            let current = cluster
                .store
                .get(kind, &namespace, &name)
                .ok_or_else(|| ApiError::not_found(kind.group, kind.resource, &name))?;
            let patched = apply_patch(kind, &current, &content_type, &body)?;
            let updated = update(cluster, kind, &namespace, &name, patched, status_only, &params)?;
            single(StatusCode::OK, &updated)
        }
        "delete" => {
            if params.dry_run() {
                let object = cluster
                    .store
                    .get(kind, &namespace, &name)
                    .ok_or_else(|| ApiError::not_found(kind.group, kind.resource, &name))?;
                return single(StatusCode::OK, &object);
            }
            let deleted = cluster.remove(&kind.api_version(), kind.kind, &namespace, &name)?;
            single(StatusCode::OK, &deleted)
        }
        "deletecollection" => {
            let (label_sel, field_sel) = params.selectors(kind)?;
            let listing = cluster.store.list(kind, rr.namespace.as_deref(), None);
            let mut deleted = Vec::new();
            for object in listing
                .items
                .iter()
                .filter(|o| label_sel.matches(labels(o)) && field_sel.matches(o))
            {
                let ns = object
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if !params.dry_run() {
                    cluster.remove(&kind.api_version(), kind.kind, ns, object_name(object))?;
                }
                deleted.push(Arc::clone(object));
            }
            // Tables of deleted objects are not served: JSON, or PartialObjectMetadataList when asked for.
            let format = if matches!(format, Format::Table(_)) {
                Format::Json
            } else {
                format
            };
            render(
                kind,
                &deleted,
                Some(cluster.store.resource_version()),
                format,
                &params,
                None,
                chunk_bytes,
            )
        }
        other => Err(ApiError::method_not_supported(kind.group, kind.resource, other)),
    }
}

/// A written (or deleted) object answered in `format`: JSON, or its PartialObjectMetadata when asked for.
fn single(
    code: StatusCode,
    kind: &Kind,
    object: &Value,
    format: Format,
    chunk_bytes: usize,
) -> Result<Response<Body>, ApiError> {
    let answer = metadata::single(kind, object, format)?;
    Ok(response::json_object(code, &answer, chunk_bytes))
}

async fn read_bytes(cluster: &Cluster, req: Request<Incoming>) -> Result<Bytes, ApiError> {
    let limit = cluster.options.max_body_bytes;
    // As kube-apiserver: a declared length over the limit is refused before a byte of the body is read (the
    // server then closes the connection rather than read the rest).
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::too_large(limit));
    }
    Limited::new(req.into_body(), limit)
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|_| ApiError::too_large(limit))
}

/// A created or updated object: JSON or YAML, or protobuf for the kinds `kubectl create` sends that way.
async fn read_object(cluster: &Cluster, kind: &Kind, req: Request<Incoming>) -> Result<Value, ApiError> {
    let content_type = response::media_type(req.headers().get(header::CONTENT_TYPE));
    if content_type == "application/vnd.kubernetes.protobuf" && protobuf_objects::supports(kind.kind) {
        return protobuf_objects::decode_object(kind.kind, &read_bytes(cluster, req).await?);
    }
    read_body(cluster, req).await
}

async fn read_body(cluster: &Cluster, req: Request<Incoming>) -> Result<Value, ApiError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = read_bytes(cluster, req).await?;
    response::parse_body(content_type.as_ref(), &bytes)
}

/// The continue token kube-sim hands out: where the next page starts and the list's resourceVersion.
fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    let token = json!({ "v": "meta.k8s.io/v1", "rv": rv, "start": format!("{namespace}/{name}") });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> Result<(u64, String, String), ApiError> {
    let invalid =
        || ApiError::bad_request("continue key is not valid: the continue token could not be decoded");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    let rv = v.get("rv").and_then(Value::as_u64).ok_or_else(invalid)?;
    let (ns, name) = v
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| s.split_once('/'))
        .ok_or_else(invalid)?;
    Ok((rv, ns.to_string(), name.to_string()))
}

/// As kube-apiserver validates list options: a `continue` token carries its own resource version, so neither
/// `resourceVersion` nor `resourceVersionMatch` may come with it (422).
fn continue_conflicts(params: &Params) -> Result<(), ApiError> {
    let set = |key: &str| params.get(key).is_some_and(|v| !v.is_empty());
    let forbidden =
        |field: &str, message: &str| ApiError::invalid("ListOptions", "meta.k8s.io", "", field, message);
    if set("resourceVersion") {
        return Err(forbidden(
            "resourceVersion",
            "Forbidden: specifying resource version is not allowed when using continue",
        ));
    }
    if set("resourceVersionMatch") {
        return Err(forbidden(
            "resourceVersionMatch",
            "Forbidden: resourceVersionMatch is forbidden when continue is provided",
        ));
    }
    Ok(())
}

fn list(
    cluster: &Cluster,
    kind: &'static Kind,
    namespace: Option<&str>,
    params: &Params,
    format: Format,
) -> Result<Response<Body>, ApiError> {
    let (label_sel, field_sel) = params.selectors(kind)?;
    let limit = match params.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?,
        None => 0,
    };
    let start = params
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(decode_continue)
        .transpose()?;
    if start.is_some() {
        continue_conflicts(params)?;
    }
    if let Some((rv, _, _)) = &start
        && cluster.store.is_compacted(*rv)
    {
        return Err(ApiError::gone(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        ));
    }
    let after = start.as_ref().map(|(_, ns, name)| (ns.as_str(), name.as_str()));
    let (listed, read_rv) = cluster.store.list_stored(kind, namespace, after);
    let list_rv = start.as_ref().map_or(read_rv, |(rv, _, _)| *rv);
    let mut matching = listed
        .into_iter()
        .filter(|s| label_sel.matches(labels(&s.object)) && field_sel.matches(&s.object));
    let items: Vec<Stored> = if limit > 0 {
        matching.by_ref().take(limit).collect()
    } else {
        matching.by_ref().collect()
    };
    let remaining = matching.count();
    let next = if remaining > 0 {
        items.last().map(|last| {
            let ns = last
                .object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            (encode_continue(list_rv, ns, object_name(&last.object)), remaining)
        })
    } else {
        None
    };
    let chunk_bytes = cluster.options.chunk_bytes;
    if format == Format::Json {
        let mut metadata = json!({"resourceVersion": list_rv.to_string()});
        if let Some((token, remaining)) = next {
            metadata["continue"] = json!(token);
            metadata["remainingItemCount"] = json!(remaining);
        }
        let parts = encoded::list_parts(kind.list_kind().as_str(), &kind.api_version(), &metadata, &items);
        return Ok(response::json_parts(StatusCode::OK, parts, chunk_bytes));
    }
    let objects: Vec<Arc<Value>> = items.into_iter().map(|s| s.object).collect();
    render(kind, &objects, Some(list_rv), format, params, next, chunk_bytes)
}

/// Renders one object (`list_rv == None`) or a list, as JSON, as a Table or as PartialObjectMetadata[List].
fn render(
    kind: &Kind,
    items: &[Arc<Value>],
    list_rv: Option<u64>,
    format: Format,
    params: &Params,
    next: Option<(String, usize)>,
    chunk_bytes: usize,
) -> Result<Response<Body>, ApiError> {
    let mut body = match (format, list_rv) {
        (Format::Table(version), _) => {
            let refs: Vec<&Value> = items.iter().map(|o| o.as_ref()).collect();
            let include =
                table::IncludeObject::parse(params.get("includeObject").unwrap_or("")).unwrap_or_default();
            let mut t = table::to_table(kind, &refs, true, include, SystemTime::now());
            t["apiVersion"] = json!(format!("meta.k8s.io/{version}"));
            if list_rv.is_none()
                && let Some(rv) = items.first().and_then(|o| o.pointer("/metadata/resourceVersion"))
            {
                t["metadata"]["resourceVersion"] = rv.clone();
            }
            t
        }
        (Format::Json | Format::PartialObjectMetadata(_) | Format::PartialObjectMetadataList(_), None) => {
            let object = items.first().map_or(&Value::Null, |o| o.as_ref());
            metadata::single(kind, object, format)?.into_owned()
        }
        (Format::PartialObjectMetadataList(version), Some(_)) => metadata::partial_list(items, version),
        (Format::PartialObjectMetadata(_), Some(_)) => return Err(metadata::a_list(kind)),
        (Format::Json, Some(_)) => json!({
            "kind": kind.list_kind(),
            "apiVersion": kind.api_version(),
            "metadata": {},
            "items": items.iter().map(|o| o.as_ref()).collect::<Vec<_>>(),
        }),
    };
    if let Some(rv) = list_rv {
        body["metadata"]["resourceVersion"] = json!(rv.to_string());
    }
    if let Some((token, remaining)) = next {
        body["metadata"]["continue"] = json!(token);
        body["metadata"]["remainingItemCount"] = json!(remaining);
    }
    Ok(response::json_object(StatusCode::OK, &body, chunk_bytes))
}

const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn generated_name(prefix: &str) -> String {
    let uid = crate::clock::new_uid().replace('-', "");
    let suffix: String = uid
        .bytes()
        .take(5)
        .map(|b| GENERATE_ALPHABET[usize::from(b) % GENERATE_ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// Whether `name` is a DNS-1123 subdomain (or, for namespaces, a DNS-1123 label).
fn valid_name(kind: &Kind, name: &str) -> Result<(), String> {
    let max = if kind.resource == "namespaces" { 63 } else { 253 };
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || (b == b'.' && max == 253));
    let ends_ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if name.is_empty() {
        Err("Required value: name or generateName is required".into())
    } else if name.len() > max || !ok_chars || !ends_ok {
        Err(format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 {} must consist of lower case alphanumeric characters, '-'{}, and must start and end with an alphanumeric character",
            if max == 63 { "label" } else { "subdomain" },
            if max == 63 { "" } else { " or '.'" }
        ))
    } else {
        Ok(())
    }
}

/// A body for `kind` in `namespace`: a JSON object whose apiVersion, kind and namespace (when given) agree with the
/// URL; apiVersion and kind are filled in.
fn check_body(kind: &Kind, namespace: &str, object: &mut Value) -> Result<(), ApiError> {
    if !object.is_object() {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    }
    check_type(kind, object)?;
    check_namespace(kind, namespace, object)
}

fn check_type(kind: &Kind, object: &mut Value) -> Result<(), ApiError> {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if !api_version.is_empty() && api_version != kind.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            kind.api_version()
        )));
    }
    let k = object.get("kind").and_then(Value::as_str).unwrap_or("");
    if !k.is_empty() && k != kind.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            kind.kind
        )));
    }
    if let Some(o) = object.as_object_mut() {
        o.insert("apiVersion".into(), json!(kind.api_version()));
        o.insert("kind".into(), json!(kind.kind));
    }
    Ok(())
}

fn check_namespace(kind: &Kind, namespace: &str, object: &Value) -> Result<(), ApiError> {
    let in_body = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind.namespaced && !in_body.is_empty() && in_body != namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

fn create(
    cluster: &Cluster,
    kind: &'static Kind,
    namespace: &str,
    mut object: Value,
    params: &Params,
) -> Result<Value, ApiError> {
    check_body(kind, namespace, &mut object)?;
    let meta = metadata_mut(&mut object);
    let name = match (
        meta.get("name").and_then(Value::as_str),
        meta.get("generateName").and_then(Value::as_str),
    ) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(prefix)) if !prefix.is_empty() => generated_name(prefix),
        _ => String::new(),
    };
    valid_name(kind, &name)
        .map_err(|m| ApiError::invalid(kind.kind, kind.group, &name, "metadata.name", &m))?;
    meta.insert("name".into(), json!(name));
    for server_owned in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
    ] {
        meta.remove(server_owned);
    }
    if kind.has_subresource("status")
        && let Some(o) = object.as_object_mut()
    {
        o.remove("status");
    }
    if kind.kind == "Pod" {
        run_pod(&mut object);
    }
    if params.dry_run() {
        if cluster.store.get(kind, namespace, &name).is_some() {
            return Err(ApiError::already_exists(kind.group, kind.resource, &name));
        }
        return Ok(object);
    }
    cluster
        .store
        .create(kind, namespace, object)
        .map(|o| (*o).clone())
}

fn update(
    cluster: &Cluster,
    kind: &'static Kind,
    namespace: &str,
    name: &str,
    mut object: Value,
    status_only: bool,
    params: &Params,
) -> Result<Value, ApiError> {
    check_body(kind, namespace, &mut object)?;
    let body_name = object_name(&object);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let current = cluster
        .store
        .get(kind, namespace, name)
        .ok_or_else(|| ApiError::not_found(kind.group, kind.resource, name))?;
    let merged = if status_only {
        // The status subresource changes status only; the resourceVersion precondition still applies.
        let mut next = (*current).clone();
        next["status"] = object.get("status").cloned().unwrap_or(Value::Null);
        if let Some(rv) = object.pointer("/metadata/resourceVersion") {
            metadata_mut(&mut next).insert("resourceVersion".into(), rv.clone());
        }
        next
    } else if kind.has_subresource("status") {
        // The main resource cannot change status.
        match current.get("status") {
            Some(status) => object["status"] = status.clone(),
            None => {
                object.as_object_mut().map(|o| o.remove("status"));
            }
        }
        object
    } else {
        object
    };
    if params.dry_run() {
        return Ok(merged);
    }
    cluster
        .store
        .update(kind, namespace, name, merged)
        .map(|o| (*o).clone())
}

fn apply_patch(kind: &Kind, current: &Value, content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    let parse = || -> Result<Value, ApiError> {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    };
    let unprocessable = |e: patch::PatchError| match e.status_code() {
        400 => ApiError::bad_request(e.to_string()),
        _ => ApiError::new(422, "Invalid", e.to_string()),
    };
    match content_type {
        "application/merge-patch+json" => {
            let mut next = current.clone();
            patch::merge_patch(&mut next, &parse()?);
            Ok(next)
        }
        "application/strategic-merge-patch+json" if kind.is_custom_resource() => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "strategic merge patch is not supported for custom resources; use a JSON merge patch",
        )),
        "application/strategic-merge-patch+json" => {
            let mut next = current.clone();
            patch::strategic_merge_patch(&mut next, &parse()?).map_err(unprocessable)?;
            Ok(next)
        }
        "application/json-patch+json" => patch::json_patch(current, &parse()?).map_err(unprocessable),
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            "server-side apply is not supported by kube-sim; use client-side apply (kubectl apply without --server-side)",
        )),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let token = encode_continue(42, "oil-dev", "web");
        assert_eq!(
            decode_continue(&token).unwrap(),
            (42, "oil-dev".to_string(), "web".to_string())
        );
        assert_eq!(decode_continue("%%%").unwrap_err().code, 400);
        assert_eq!(decode_continue("e30").unwrap_err().code, 400);
    }

    #[test]
    fn continue_refuses_a_resource_version_beside_it() {
        assert!(continue_conflicts(&Params::parse("continue=x&limit=1")).is_ok());
        let err = continue_conflicts(&Params::parse("continue=x&resourceVersion=5")).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.to_status()["message"],
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersion: Forbidden: specifying resource version is not allowed when using continue"
        );
        assert_eq!(
            continue_conflicts(&Params::parse("resourceVersionMatch=Exact"))
                .unwrap_err()
                .code,
            422
        );
    }

    #[test]
    fn names_follow_dns_rules() {
        let ns = crate::kinds::lookup("", "v1", "namespaces").unwrap();
        let pods = crate::kinds::lookup("", "v1", "pods").unwrap();
        assert!(valid_name(ns, "oil-dev").is_ok());
        assert!(valid_name(ns, "a.b").is_err());
        assert!(valid_name(pods, "a.b").is_ok());
        assert!(valid_name(pods, "Upper").is_err());
        assert!(valid_name(pods, "-x").is_err());
        assert!(valid_name(pods, "").is_err());
        let generated = generated_name("web-");
        assert_eq!(generated.len(), 9);
        assert!(valid_name(pods, &generated).is_ok());
    }

    #[test]
    fn patch_types() {
        let pods = crate::kinds::lookup("", "v1", "pods").unwrap();
        let tenants = crate::kinds::lookup("capsule.clastix.io", "v1beta2", "tenants").unwrap();
        let current = json!({"metadata": {"name": "p", "labels": {"a": "1"}}});
        let merged = apply_patch(
            pods,
            &current,
            "application/merge-patch+json",
            br#"{"metadata":{"labels":{"a":null,"b":"2"}}}"#,
        )
        .unwrap();
        assert_eq!(merged["metadata"]["labels"], json!({"b": "2"}));
        let jp = apply_patch(
            pods,
            &current,
            "application/json-patch+json",
            br#"[{"op":"add","path":"/metadata/labels/c","value":"3"}]"#,
        )
        .unwrap();
        assert_eq!(jp["metadata"]["labels"]["c"], "3");
        assert_eq!(
            apply_patch(tenants, &current, "application/strategic-merge-patch+json", b"{}")
                .unwrap_err()
                .code,
            415
        );
        assert_eq!(
            apply_patch(pods, &current, "application/apply-patch+yaml", b"{}")
                .unwrap_err()
                .code,
            415
        );
    }
}
