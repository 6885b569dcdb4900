//! Response building and content negotiation: JSON bodies, `Status` errors, streamed bodies (watch, logs) and
//! the `Accept` / `Content-Type` rules kube-apiserver applies to what kube-sim can speak (JSON, YAML in,
//! `meta.k8s.io` Tables and PartialObjectMetadata out; protobuf is refused with 406/415).

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::status::ApiError;

/// The response body type of every kube-sim response.
pub type Body = BoxBody<Bytes, Infallible>;

/// How a response body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain JSON objects.
    Json,
    /// `meta.k8s.io` Table in the given version (`v1` or `v1beta1`).
    Table(&'static str),
    /// `meta.k8s.io` PartialObjectMetadata in the given version: what single objects and watch events are
    /// answered as (a list asked for this way is 406, see [`crate::metadata`]).
    PartialObjectMetadata(&'static str),
    /// `meta.k8s.io` PartialObjectMetadataList in the given version: what lists are answered as.
    PartialObjectMetadataList(&'static str),
}

/// Picks the response format from an `Accept` header; 406 when nothing acceptable is offered.
pub fn negotiate(accept: Option<&HeaderValue>) -> Result<Format, ApiError> {
    let Some(accept) = accept
        .and_then(|v| v.to_str().ok())
        .filter(|a| !a.trim().is_empty())
    else {
        return Ok(Format::Json);
    };
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<(String, String)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let json_like = matches!(media.as_str(), "application/json" | "application/*" | "*/*");
        if !json_like {
            continue;
        }
        let version = match (param("g"), param("v")) {
            (Some("meta.k8s.io"), Some("v1")) => "v1",
            (Some("meta.k8s.io"), Some("v1beta1")) => "v1beta1",
            _ if param("as").is_none() => return Ok(Format::Json),
            // Another group or version (discovery, meta.k8s.io/v1alpha1): not served here, try the next entry.
            _ => continue,
        };
        // Like kube-apiserver, the first acceptable entry wins whatever the endpoint; whether a list or a single
        // object was asked for is only checked when the answer is built.
        match param("as") {
            None => return Ok(Format::Json),
            Some("Table") => return Ok(Format::Table(version)),
            Some("PartialObjectMetadata") => return Ok(Format::PartialObjectMetadata(version)),
            Some("PartialObjectMetadataList") => return Ok(Format::PartialObjectMetadataList(version)),
            Some(_) => continue,
        }
    }
    Err(ApiError::not_acceptable())
}

/// Parses a request body by its `Content-Type`: JSON (default) or YAML; anything else is 415.
pub fn parse_body(content_type: Option<&HeaderValue>, body: &[u8]) -> Result<Value, ApiError> {
    let media = media_type(content_type);
    match media.as_str() {
        "" | "application/json" | "*/*" => serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding request body as JSON: {e}"))),
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_yaml::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding request body as YAML: {e}"))),
        _ => Err(ApiError::unsupported_media_type(&media)),
    }
}

/// The lower-cased media type of a `Content-Type` header, without parameters.
pub fn media_type(content_type: Option<&HeaderValue>) -> String {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// A JSON response.
pub fn json(code: StatusCode, value: &Value) -> Response<Body> {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    bytes(code, "application/json", body)
}

/// A JSON answer of an object or a list, made of `parts` and written as kube-apiserver writes it: with a
/// `Content-Length` up to 2 KiB, else chunked in chunks of at most `chunk_bytes` (see [`crate::chunked`]).
pub fn json_parts(code: StatusCode, parts: Vec<Bytes>, chunk_bytes: usize) -> Response<Body> {
    let mut resp = Response::new(crate::chunked::body(parts, chunk_bytes));
    *resp.status_mut() = code;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// An object or list answer (see [`json_parts`]).
pub fn json_object(code: StatusCode, value: &Value, chunk_bytes: usize) -> Response<Body> {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    json_parts(code, vec![Bytes::from(body)], chunk_bytes)
}

/// A response with a given content type.
pub fn bytes(code: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = code;
    if let Ok(ct) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp
}

/// A `Status` error response.
pub fn error(err: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json(code, &err.to_status());
    if err.code == 401 {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"kubernetes-master\""),
        );
    }
    // kube-apiserver sends `details.retryAfterSeconds` as `Retry-After` as well.
    if let Some(seconds) = err.details.as_ref().and_then(|d| d["retryAfterSeconds"].as_u64()) {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    resp
}

/// A streamed response: every chunk sent on the returned sender is flushed to the client as it comes.
pub fn streaming(content_type: &'static str) -> (Response<Body>, mpsc::Sender<Bytes>) {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed());
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (resp, tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(s: &str) -> Result<Format, ApiError> {
        negotiate(Some(&HeaderValue::from_str(s).unwrap()))
    }

    #[test]
    fn kubectl_get_asks_for_tables() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(accept(kubectl).unwrap(), Format::Table("v1"));
        assert_eq!(accept("application/json").unwrap(), Format::Json);
        assert_eq!(accept("*/*").unwrap(), Format::Json);
        assert_eq!(negotiate(None).unwrap(), Format::Json);
        assert_eq!(
            accept("application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io,application/json")
                .unwrap(),
            Format::Json
        );
        assert_eq!(
            accept("application/vnd.kubernetes.protobuf").unwrap_err().code,
            406
        );
    }

    #[test]
    fn kube_rs_and_client_go_ask_for_partial_object_metadata() {
        // kube-core 5.0.0: `get_metadata`/`watch_metadata`/`patch_metadata`, then `list_metadata`.
        let single = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        let list = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(accept(single).unwrap(), Format::PartialObjectMetadata("v1"));
        assert_eq!(accept(list).unwrap(), Format::PartialObjectMetadataList("v1"));
        // client-go's metadata client: protobuf first (skipped), then JSON, then plain JSON.
        let client_go = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,\
             application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        assert_eq!(
            accept(client_go).unwrap(),
            Format::PartialObjectMetadataList("v1")
        );
        assert_eq!(
            accept("application/json; as=PartialObjectMetadata; v=v1beta1; g=meta.k8s.io").unwrap(),
            Format::PartialObjectMetadata("v1beta1")
        );
        // The first acceptable entry wins, in either order and even when it does not fit the endpoint.
        assert_eq!(
            accept(&format!("{single},{list}")).unwrap(),
            Format::PartialObjectMetadata("v1")
        );
        assert_eq!(
            accept("application/json,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
                .unwrap(),
            Format::Json
        );
        // Versions and groups kube-apiserver does not serve are skipped; nothing else acceptable is 406.
        assert_eq!(
            accept("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1alpha1,application/json")
                .unwrap(),
            Format::Json
        );
        for refused in [
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1alpha1",
            "application/json;as=PartialObjectMetadata;v=v1",
            "application/json;as=PartialObjectMetadata;g=example.com;v=v1",
            "application/json;as=Unknown;g=meta.k8s.io;v=v1",
            "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        ] {
            assert_eq!(accept(refused).unwrap_err().code, 406, "{refused}");
        }
    }

    #[test]
    fn bodies_by_content_type() {
        let json_ct = HeaderValue::from_static("application/json; charset=utf-8");
        assert_eq!(parse_body(Some(&json_ct), b"{\"a\":1}").unwrap()["a"], 1);
        let yaml = HeaderValue::from_static("application/yaml");
        assert_eq!(parse_body(Some(&yaml), b"a: 1\n").unwrap()["a"], 1);
        let proto = HeaderValue::from_static("application/vnd.kubernetes.protobuf");
        assert_eq!(parse_body(Some(&proto), b"x").unwrap_err().code, 415);
        assert_eq!(parse_body(None, b"{").unwrap_err().code, 400);
    }
}
