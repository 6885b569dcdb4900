//! One request, start to finish: latency injection, authentication, impersonation, classification, RBAC, then
//! discovery / OpenAPI / resource verbs / streams; every outcome is recorded in the audit trail.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::authn;
use crate::authz::Attributes;
use crate::catalog::ServedKinds;
use crate::cluster::{AuditEntry, Cluster};
use crate::connection::ConnectionInfo;
use crate::identity::UserInfo;
use crate::request::{self, Target};
use crate::resources;
use crate::response::{self, Body};
use crate::status::ApiError;
use crate::{discovery, openapi};

/// Serves one request. Never fails: errors become `Status` responses.
pub async fn handle(
    cluster: Arc<Cluster>,
    conn: Arc<ConnectionInfo>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let latency = cluster.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut audit = AuditEntry {
        user: String::new(),
        groups: Vec::new(),
        impersonator: None,
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or("").to_string(),
        verb: req.method().as_str().to_ascii_lowercase(),
        resource: String::new(),
        code: 0,
        accept: header_text(&req, http::header::ACCEPT),
        accept_encoding: header_text(&req, http::header::ACCEPT_ENCODING),
    };
    let resp = match serve(&cluster, &conn, req, &mut audit).await {
        Ok(resp) => resp,
        Err(err) => response::error(&err),
    };
    audit.code = resp.status().as_u16();
    cluster.record(audit);
    Ok(resp)
}

/// A header's value as text, when present and readable.
fn header_text(req: &Request<Incoming>, name: http::header::HeaderName) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn serve(
    cluster: &Arc<Cluster>,
    conn: &Arc<ConnectionInfo>,
    req: Request<Incoming>,
    audit: &mut AuditEntry,
) -> Result<Response<Body>, ApiError> {
    // kube-apiserver routes on the decoded path (Go's `URL.Path`): `/clusterroles/a%3Fb` names `a?b`.
    let path = percent_encoding::percent_decode_str(req.uri().path())
        .decode_utf8()
        .map_err(|_| ApiError::bad_request("the request path is not valid UTF-8 once decoded"))?
        .into_owned();
    if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") && req.method() == Method::GET {
        return Ok(response::bytes(StatusCode::OK, "text/plain; charset=utf-8", "ok"));
    }
    let caller = cluster
        .authn
        .authenticate(conn.client_cert.as_ref(), req.headers())?;
    audit.user = caller.username.clone();
    audit.groups = caller.groups.clone();
    let user = authn::impersonate(&caller, req.headers(), &cluster.authz)?;
    if user != caller {
        audit.impersonator = Some(caller.username.clone());
        audit.user = user.username.clone();
        audit.groups = user.groups.clone();
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let served = cluster.store.kinds();
    match request::classify(req.method(), &path, &query, &served)? {
        Target::NonResource { verb } => {
            authorize(cluster, &user, &Attributes::non_resource(verb, &path))?;
            non_resource(&path, &req, &served)
        }
        Target::Resource(rr) => {
            audit.verb = rr.verb.to_string();
            audit.resource = rr.kind.resource.to_string();
            // Streaming subresources that open a session are authorized as `create` (pods/exec over WebSocket
            // is a GET, but kube-apiserver asks for create).
            let verb = if rr.subresource.as_deref() == Some("exec") {
                "create"
            } else {
                rr.verb
            };
            let attrs = Attributes::resource(
                verb,
                rr.kind.group,
                rr.kind.resource,
                rr.subresource.as_deref().unwrap_or(""),
                rr.namespace.as_deref().unwrap_or(""),
                rr.name.as_deref().unwrap_or(""),
            );
            authorize(cluster, &user, &attrs)?;
            resources::serve(cluster, conn, rr, &user, &query, req).await
        }
    }
}

fn authorize(cluster: &Cluster, user: &UserInfo, attrs: &Attributes) -> Result<(), ApiError> {
    if cluster.authz.authorize(user, attrs).allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(attrs.forbidden_message(user)))
    }
}

fn non_resource(
    path: &str,
    req: &Request<Incoming>,
    served: &ServedKinds,
) -> Result<Response<Body>, ApiError> {
    if req.method() != Method::GET {
        return Err(ApiError::method_not_supported("", path, req.method().as_str()));
    }
    let accept = req
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some((body, content_type)) = discovery::route(path, accept, served) {
        return Ok(json_with(body, content_type));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed == "/openapi/v2" {
        return Ok(response::bytes(
            StatusCode::OK,
            openapi::V2_CONTENT_TYPE,
            openapi::v2_protobuf(),
        ));
    }
    if trimmed == "/openapi/v3" {
        return Ok(response::json(StatusCode::OK, &openapi::root()));
    }
    if let Some(gv) = trimmed.strip_prefix("/openapi/v3/")
        && let Some(doc) = openapi::group_version(gv)
    {
        // The `hash` query parameter only busts client caches.
        return Ok(response::json(StatusCode::OK, &doc));
    }
    Err(ApiError::path_not_found())
}

fn json_with(body: serde_json::Value, content_type: &str) -> Response<Body> {
    let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
    bytes.push(b'\n');
    response::bytes(StatusCode::OK, content_type, bytes)
}
