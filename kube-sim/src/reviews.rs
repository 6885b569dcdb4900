//! The review kinds: POST computes an answer from the same authenticator and RBAC model the server enforces, and
//! stores nothing — TokenReview, SelfSubjectReview, SubjectAccessReview, LocalSubjectAccessReview,
//! SelfSubjectAccessReview and SelfSubjectRulesReview.

use serde_json::{Map, Value, json};

use crate::authn::Authenticator;
use crate::authz::{Attributes, Authorizer};
use crate::identity::UserInfo;
use crate::kinds::Kind;
use crate::status::ApiError;

/// Answers a review `body` posted by `requester` (namespace from the URL for LocalSubjectAccessReview).
pub fn answer(
    kind: &Kind,
    body: &Value,
    requester: &UserInfo,
    namespace: Option<&str>,
    authn: &Authenticator,
    authz: &Authorizer,
) -> Result<Value, ApiError> {
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let status = match kind.kind {
        "TokenReview" => token_review(&spec, authn)?,
        "SelfSubjectReview" => json!({ "userInfo": user_json(requester) }),
        "SubjectAccessReview" => access_review(&spec, &subject_of(kind, &spec)?, None, authz)?,
        "LocalSubjectAccessReview" => access_review(&spec, &subject_of(kind, &spec)?, namespace, authz)?,
        "SelfSubjectAccessReview" => access_review(&spec, requester, None, authz)?,
        "SelfSubjectRulesReview" => rules_review(&spec, requester, authz, kind)?,
        other => return Err(ApiError::internal(format!("{other} is not a review kind"))),
    };
    let mut out = json!({
        "kind": kind.kind,
        "apiVersion": kind.api_version(),
        "metadata": { "creationTimestamp": null },
        "spec": spec,
        "status": status,
    });
    if let Some(name) = body.pointer("/metadata/name") {
        out["metadata"]["name"] = name.clone();
    }
    if kind.kind == "SelfSubjectReview" {
        out.as_object_mut().map(|o| o.remove("spec"));
    }
    Ok(out)
}

fn user_json(user: &UserInfo) -> Value {
    let mut v = json!({ "username": user.username, "groups": user.groups });
    if !user.uid.is_empty() {
        v["uid"] = json!(user.uid);
    }
    if !user.extra.is_empty() {
        v["extra"] = json!(user.extra);
    }
    v
}

fn token_review(spec: &Value, authn: &Authenticator) -> Result<Value, ApiError> {
    let token = spec.get("token").and_then(Value::as_str).unwrap_or("");
    if token.is_empty() {
        return Err(ApiError::invalid(
            "TokenReview",
            "authentication.k8s.io",
            "",
            "spec.token",
            "Required value",
        ));
    }
    let audiences = spec.get("audiences").cloned().unwrap_or_else(|| json!([]));
    Ok(match authn.user_for_token(token) {
        Some(user) => json!({ "authenticated": true, "user": user_json(user), "audiences": audiences }),
        None => json!({ "authenticated": false, "user": {}, "audiences": audiences }),
    })
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The user a (Local)SubjectAccessReview asks about, exactly as given (no groups are added).
fn subject_of(kind: &Kind, spec: &Value) -> Result<UserInfo, ApiError> {
    let username = spec.get("user").and_then(Value::as_str).unwrap_or("").to_string();
    let groups = strings(spec.get("groups"));
    if username.is_empty() && groups.is_empty() {
        return Err(ApiError::invalid(
            kind.kind,
            kind.group,
            "",
            "spec.user",
            "at least one of user or group must be specified",
        ));
    }
    let extra = spec
        .get("extra")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), strings(Some(v)))).collect())
        .unwrap_or_default();
    Ok(UserInfo {
        username,
        uid: spec.get("uid").and_then(Value::as_str).unwrap_or("").to_string(),
        groups,
        extra,
    })
}

fn access_review(
    spec: &Value,
    user: &UserInfo,
    url_namespace: Option<&str>,
    authz: &Authorizer,
) -> Result<Value, ApiError> {
    let text = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    let attrs = if let Some(ra) = spec.get("resourceAttributes") {
        let namespace = text(ra, "namespace");
        if let Some(url_ns) = url_namespace
            && namespace != url_ns
        {
            return Err(ApiError::bad_request(format!(
                "spec.resourceAttributes.namespace must match namespace: {url_ns}"
            )));
        }
        Attributes::resource(
            &text(ra, "verb"),
            &text(ra, "group"),
            &text(ra, "resource"),
            &text(ra, "subresource"),
            &namespace,
            &text(ra, "name"),
        )
    } else if let Some(nra) = spec.get("nonResourceAttributes") {
        Attributes::non_resource(&text(nra, "verb"), &text(nra, "path"))
    } else {
        return Err(ApiError::invalid(
            "SubjectAccessReview",
            "authorization.k8s.io",
            "",
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    };
    let decision = authz.authorize(user, &attrs);
    let mut status = json!({ "allowed": decision.allowed });
    if decision.allowed {
        status["reason"] = json!(decision.reason);
    }
    Ok(status)
}

fn rules_review(spec: &Value, user: &UserInfo, authz: &Authorizer, kind: &Kind) -> Result<Value, ApiError> {
    let Some(namespace) = spec
        .get("namespace")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return Err(ApiError::invalid(
            kind.kind,
            kind.group,
            "",
            "spec.namespace",
            "Required value",
        ));
    };
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for (rule, _) in authz.rules_for(user, namespace) {
        let json = rule.to_json();
        if rule.non_resource_urls.is_empty() {
            resource_rules.push(json);
        } else {
            non_resource_rules.push(json);
        }
    }
    let mut status = Map::new();
    status.insert("resourceRules".into(), json!(resource_rules));
    status.insert("nonResourceRules".into(), json!(non_resource_rules));
    status.insert("incomplete".into(), json!(false));
    Ok(Value::Object(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::bootstrap_policy;
    use crate::fixture::Identity;
    use crate::kinds::{self, lookup};
    use crate::store::Store;
    use std::sync::Arc;

    fn setup() -> (Authenticator, Authorizer) {
        let store = Arc::new(Store::default());
        for o in bootstrap_policy() {
            let k =
                kinds::by_api_version_kind(o["apiVersion"].as_str().unwrap(), o["kind"].as_str().unwrap())
                    .unwrap();
            store.create(k, "", o).unwrap();
        }
        let alice = Identity {
            name: "alice".into(),
            user: None,
            uid: Some("u-1".into()),
            groups: vec!["projectcapsule.dev".into()],
            token: "t-alice".into(),
            certificate: false,
        };
        (Authenticator::new(&[alice]), Authorizer::new(store))
    }

    #[test]
    fn token_review_answers_from_the_static_tokens() {
        let (authn, authz) = setup();
        let kind = lookup("authentication.k8s.io", "v1", "tokenreviews").unwrap();
        let admin = UserInfo::authenticated("admin", ["system:masters".to_string()]);
        let ok = answer(
            kind,
            &json!({"spec": {"token": "t-alice"}}),
            &admin,
            None,
            &authn,
            &authz,
        )
        .unwrap();
        assert_eq!(ok["status"]["authenticated"], true);
        assert_eq!(ok["status"]["user"]["username"], "alice");
        assert_eq!(ok["status"]["user"]["uid"], "u-1");
        assert_eq!(
            ok["status"]["user"]["groups"],
            json!(["projectcapsule.dev", "system:authenticated"])
        );
        let bad = answer(
            kind,
            &json!({"spec": {"token": "nope"}}),
            &admin,
            None,
            &authn,
            &authz,
        )
        .unwrap();
        assert_eq!(bad["status"]["authenticated"], false);
        assert_eq!(
            answer(kind, &json!({"spec": {}}), &admin, None, &authn, &authz)
                .unwrap_err()
                .code,
            422
        );
    }

    #[test]
    fn access_reviews_use_the_rbac_model() {
        let (authn, authz) = setup();
        let sar = lookup("authorization.k8s.io", "v1", "subjectaccessreviews").unwrap();
        let admin = UserInfo::authenticated("admin", ["system:masters".to_string()]);
        let ask = |user: &str, groups: Value| {
            json!({"spec": {"user": user, "groups": groups,
                "resourceAttributes": {"verb": "list", "resource": "nodes"}}})
        };
        let denied = answer(
            sar,
            &ask("alice", json!(["projectcapsule.dev"])),
            &admin,
            None,
            &authn,
            &authz,
        )
        .unwrap();
        assert_eq!(denied["status"]["allowed"], false);
        let allowed = answer(
            sar,
            &ask("root", json!(["system:masters"])),
            &admin,
            None,
            &authn,
            &authz,
        )
        .unwrap();
        assert_eq!(allowed["status"]["allowed"], true);

        let ssar = lookup("authorization.k8s.io", "v1", "selfsubjectaccessreviews").unwrap();
        let alice = authn.user_for_token("t-alice").unwrap().clone();
        let body = json!({"spec": {"resourceAttributes": {"verb": "create", "group": "authorization.k8s.io",
            "resource": "selfsubjectaccessreviews"}}});
        let me = answer(ssar, &body, &alice, None, &authn, &authz).unwrap();
        assert_eq!(me["status"]["allowed"], true);
        assert!(
            me["status"]["reason"]
                .as_str()
                .unwrap()
                .contains("system:basic-user")
        );

        let ssrr = lookup("authorization.k8s.io", "v1", "selfsubjectrulesreviews").unwrap();
        let rules = answer(
            ssrr,
            &json!({"spec": {"namespace": "default"}}),
            &alice,
            None,
            &authn,
            &authz,
        )
        .unwrap();
        assert_eq!(rules["status"]["incomplete"], false);
        assert!(!rules["status"]["nonResourceRules"].as_array().unwrap().is_empty());

        let ssr = lookup("authentication.k8s.io", "v1", "selfsubjectreviews").unwrap();
        let who = answer(ssr, &json!({}), &alice, None, &authn, &authz).unwrap();
        assert_eq!(who["status"]["userInfo"]["username"], "alice");
    }
}
