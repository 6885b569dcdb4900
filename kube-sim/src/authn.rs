//! Authentication and impersonation, in kube-apiserver's order: client certificate (CN = user, O = groups),
//! then static bearer token (from `Authorization`, or for WebSocket requests from the
//! `base64url.bearer.authorization.k8s.io.<token>` subprotocol); nothing → 401. Then `Impersonate-*` headers,
//! each checked with an `impersonate` authorization on users/serviceaccounts, groups, uids and userextras.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use http::HeaderMap;

use crate::authz::{Attributes, Authorizer};
use crate::fixture::Identity;
use crate::identity::{AUTHENTICATED, UserInfo, service_account_parts};
use crate::status::ApiError;

const WEBSOCKET_BEARER_PREFIX: &str = "base64url.bearer.authorization.k8s.io.";

/// Static-token and client-certificate authentication.
#[derive(Debug, Default, Clone)]
pub struct Authenticator {
    tokens: HashMap<String, UserInfo>,
}

impl Authenticator {
    /// An authenticator accepting the fixture identities' tokens.
    pub fn new(identities: &[Identity]) -> Self {
        let tokens = identities
            .iter()
            .map(|id| {
                let mut user = UserInfo::authenticated(id.username(), id.groups.iter().cloned());
                user.uid = id.uid.clone().unwrap_or_default();
                (id.token.clone(), user)
            })
            .collect();
        Self { tokens }
    }

    /// The user a bearer token belongs to (the TokenReview answer).
    pub fn user_for_token(&self, token: &str) -> Option<&UserInfo> {
        self.tokens.get(token)
    }

    /// Authenticates a request from its verified client certificate identity (if any) and its headers.
    pub fn authenticate(
        &self,
        cert: Option<&(String, Vec<String>)>,
        headers: &HeaderMap,
    ) -> Result<UserInfo, ApiError> {
        if let Some((cn, orgs)) = cert
            && !cn.is_empty()
        {
            return Ok(UserInfo::authenticated(cn.clone(), orgs.iter().cloned()));
        }
        let token = bearer_token(headers).ok_or_else(ApiError::unauthorized)?;
        self.tokens
            .get(&token)
            .cloned()
            .ok_or_else(ApiError::unauthorized)
    }
}

/// The bearer token of a request: `Authorization: Bearer <t>` or the WebSocket bearer subprotocol.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.trim().split_once(' ')?;
        return (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
            .then(|| token.trim().to_string());
    }
    let protocols = headers.get_all(http::header::SEC_WEBSOCKET_PROTOCOL);
    protocols
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|p| p.trim().strip_prefix(WEBSOCKET_BEARER_PREFIX))
        .find_map(|encoded| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded.trim_end_matches('='))
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
}

/// Applies `Impersonate-*` headers: returns the impersonated user (or the caller when none are present).
/// Every requested attribute must be allowed by an `impersonate` permission of the caller.
pub fn impersonate(caller: &UserInfo, headers: &HeaderMap, authz: &Authorizer) -> Result<UserInfo, ApiError> {
    let user = headers
        .get("impersonate-user")
        .map(|v| header_text(v, "Impersonate-User"))
        .transpose()?;
    let groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .map(|v| header_text(v, "Impersonate-Group"))
        .collect::<Result<_, _>>()?;
    let uid = headers
        .get("impersonate-uid")
        .map(|v| header_text(v, "Impersonate-Uid"))
        .transpose()?;
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix("impersonate-extra-") {
            let key = percent_decode(key);
            extra
                .entry(key)
                .or_default()
                .push(header_text(value, "Impersonate-Extra")?);
        }
    }
    let Some(username) = user else {
        if !groups.is_empty() || uid.is_some() || !extra.is_empty() {
            return Err(ApiError::internal(
                "requested impersonation of groups, uid or extra without impersonating a user",
            ));
        }
        return Ok(caller.clone());
    };

    let check = |attrs: Attributes| -> Result<(), ApiError> {
        if authz.authorize(caller, &attrs).allowed {
            Ok(())
        } else {
            Err(ApiError::forbidden(attrs.forbidden_message(caller)))
        }
    };
    match service_account_parts(&username) {
        Some((ns, name)) => check(Attributes::resource(
            "impersonate",
            "",
            "serviceaccounts",
            "",
            ns,
            name,
        ))?,
        None => check(Attributes::resource(
            "impersonate",
            "",
            "users",
            "",
            "",
            &username,
        ))?,
    }
    for group in &groups {
        check(Attributes::resource("impersonate", "", "groups", "", "", group))?;
    }
    if let Some(uid) = &uid {
        check(Attributes::resource(
            "impersonate",
            "authentication.k8s.io",
            "uids",
            "",
            "",
            uid,
        ))?;
    }
    for (key, values) in &extra {
        for value in values {
            check(Attributes::resource(
                "impersonate",
                "authentication.k8s.io",
                "userextras",
                key,
                "",
                value,
            ))?;
        }
    }
    let mut user = if username == "system:anonymous" {
        UserInfo {
            username,
            groups,
            ..UserInfo::default()
        }
    } else {
        UserInfo::authenticated(username, groups)
    };
    if user.username == "system:anonymous" && !user.in_group("system:unauthenticated") {
        user.groups.push("system:unauthenticated".into());
    }
    user.groups.dedup();
    user.uid = uid.unwrap_or_default();
    user.extra = extra;
    debug_assert!(user.username == "system:anonymous" || user.in_group(AUTHENTICATED));
    Ok(user)
}

fn header_text(value: &http::HeaderValue, name: &str) -> Result<String, ApiError> {
    value
        .to_str()
        .map(str::to_string)
        .map_err(|_| ApiError::bad_request(format!("invalid {name} header value")))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::bootstrap_policy;
    use crate::kinds;
    use crate::store::Store;
    use serde_json::{Value, json};
    use std::sync::Arc;

    fn identity(name: &str, token: &str, groups: &[&str]) -> Identity {
        Identity {
            name: name.into(),
            user: None,
            uid: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            token: token.into(),
            certificate: false,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn certificate_then_token_then_401() {
        let authn = Authenticator::new(&[identity("alice", "t-alice", &["projectcapsule.dev"])]);
        let cert = ("bob".to_string(), vec!["devs".to_string()]);
        let u = authn
            .authenticate(Some(&cert), &headers(&[("authorization", "Bearer t-alice")]))
            .unwrap();
        assert_eq!(u.username, "bob");
        assert_eq!(u.groups, ["devs", AUTHENTICATED]);
        let u = authn
            .authenticate(None, &headers(&[("authorization", "Bearer t-alice")]))
            .unwrap();
        assert_eq!(u.username, "alice");
        assert_eq!(
            authn
                .authenticate(None, &headers(&[("authorization", "Bearer nope")]))
                .unwrap_err()
                .code,
            401
        );
        assert_eq!(authn.authenticate(None, &HeaderMap::new()).unwrap_err().code, 401);
    }

    #[test]
    fn websocket_bearer_is_base64url() {
        // "a-b?c" encodes with URL-safe characters.
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("tok>>?~");
        let h = headers(&[(
            "sec-websocket-protocol",
            &format!("v5.channel.k8s.io, {WEBSOCKET_BEARER_PREFIX}{encoded}"),
        )]);
        assert_eq!(bearer_token(&h).as_deref(), Some("tok>>?~"));
    }

    fn authorizer(extra: Vec<Value>) -> Authorizer {
        let store = Arc::new(Store::default());
        for o in bootstrap_policy().into_iter().chain(extra) {
            let k =
                kinds::by_api_version_kind(o["apiVersion"].as_str().unwrap(), o["kind"].as_str().unwrap())
                    .unwrap();
            store.create(k, "", o).unwrap();
        }
        Authorizer::new(store)
    }

    #[test]
    fn impersonation_needs_permission_for_every_part() {
        let impersonator = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "impersonator"},
            "rules": [{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}]});
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "proxy-impersonates"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "impersonator"},
            "subjects": [{"kind": "User", "name": "proxy"}]});
        let authz = authorizer(vec![impersonator, binding]);
        let proxy = UserInfo::authenticated("proxy", []);
        let h = headers(&[
            ("impersonate-user", "alice"),
            ("impersonate-group", "g1"),
            ("impersonate-group", "g2"),
        ]);
        let u = impersonate(&proxy, &h, &authz).unwrap();
        assert_eq!(u.username, "alice");
        assert_eq!(u.groups, ["g1", "g2", AUTHENTICATED]);

        let alice = UserInfo::authenticated("alice", []);
        let err = impersonate(&alice, &headers(&[("impersonate-user", "bob")]), &authz).unwrap_err();
        assert_eq!(err.code, 403);
        assert_eq!(
            err.message,
            "users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
        );
        let extra = headers(&[("impersonate-user", "alice"), ("impersonate-extra-scopes", "x")]);
        assert_eq!(impersonate(&proxy, &extra, &authz).unwrap_err().code, 403);
        assert_eq!(
            impersonate(&proxy, &headers(&[("impersonate-group", "g")]), &authz)
                .unwrap_err()
                .code,
            500
        );
        assert_eq!(impersonate(&alice, &HeaderMap::new(), &authz).unwrap(), alice);
    }
}
