//! Response building and content negotiation: JSON bodies, `Status` errors, streamed bodies (watch, logs) and
//! the `Accept` / `Content-Type` rules kube-apiserver applies to what kube-sim can speak (JSON, YAML in,
//! `meta.k8s.io` Tables out; protobuf is refused with 406/415).

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
        match (param("as"), param("g"), param("v")) {
            (None, _, _) => return Ok(Format::Json),
            (Some("Table"), Some("meta.k8s.io"), Some("v1")) => return Ok(Format::Table("v1")),
            (Some("Table"), Some("meta.k8s.io"), Some("v1beta1")) => return Ok(Format::Table("v1beta1")),
            // Other `as=` targets (PartialObjectMetadata, discovery) are not served here: try the next entry.
            _ => continue,
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
            accept("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json")
                .unwrap(),
            Format::Json
        );
        assert_eq!(
            accept("application/vnd.kubernetes.protobuf").unwrap_err().code,
            406
        );
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
