//! RBAC authorization evaluated over the stored `rbac.authorization.k8s.io/v1` objects, as kube-apiserver's RBAC
//! authorizer does: `system:masters` is always allowed; otherwise a ClusterRoleBinding, or a RoleBinding in the
//! request's namespace, must bind the user (by name, group or service account) to a role with a matching rule.
//!
//! Also: the bootstrap policy kube-apiserver creates at start (`cluster-admin`, `admin`, `edit`, `view`,
//! discovery and self-review roles for `system:authenticated`) and the rules listing behind
//! SelfSubjectRulesReview. Not modelled: ClusterRole aggregation rules, escalation checks on RBAC writes.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::identity::{MASTERS, UserInfo, service_account_parts};
use crate::kinds::{self, Kind};
use crate::store::Store;

/// What is being asked, in RBAC terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Verb (`get`, `list`, `impersonate`, …).
    pub verb: String,
    /// API group for resource requests.
    pub group: String,
    /// Resource for resource requests; empty for non-resource requests.
    pub resource: String,
    /// Subresource, if any.
    pub subresource: String,
    /// Namespace, empty for cluster scope.
    pub namespace: String,
    /// Object name, if any.
    pub name: String,
    /// Path, for non-resource requests.
    pub path: String,
}

impl Attributes {
    /// Attributes of a resource request.
    pub fn resource(
        verb: &str,
        group: &str,
        resource: &str,
        subresource: &str,
        namespace: &str,
        name: &str,
    ) -> Self {
        Self {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespace: namespace.into(),
            name: name.into(),
            path: String::new(),
        }
    }

    /// Attributes of a non-resource request.
    pub fn non_resource(verb: &str, path: &str) -> Self {
        Self {
            verb: verb.into(),
            path: path.into(),
            ..Self::default()
        }
    }

    /// Whether this is a resource request.
    pub fn is_resource(&self) -> bool {
        !self.resource.is_empty()
    }

    /// kube-apiserver's 403 message for this request made by `user`.
    pub fn forbidden_message(&self, user: &UserInfo) -> String {
        if !self.is_resource() {
            return format!(
                "forbidden: User \"{}\" cannot {} path \"{}\"",
                user.username, self.verb, self.path
            );
        }
        let qualified = crate::status::qualified(&self.group, &self.resource);
        let subject = if self.name.is_empty() {
            qualified
        } else {
            format!("{qualified} \"{}\"", self.name)
        };
        let resource = if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        };
        let scope = if self.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{}\"", self.namespace)
        };
        format!(
            "{subject} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
            user.username, self.verb, self.group
        )
    }
}

/// An authorization decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Which binding allowed it (empty when denied).
    pub reason: String,
}

/// One RBAC rule, as stored in a role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// `verbs`.
    pub verbs: Vec<String>,
    /// `apiGroups`.
    pub api_groups: Vec<String>,
    /// `resources` (may be `res/sub`, `*`, `*/sub`, `res/*`).
    pub resources: Vec<String>,
    /// `resourceNames`.
    pub resource_names: Vec<String>,
    /// `nonResourceURLs`.
    pub non_resource_urls: Vec<String>,
}

impl Rule {
    fn from_json(v: &Value) -> Self {
        let strings = |field: &str| -> Vec<String> {
            v.get(field)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        Self {
            verbs: strings("verbs"),
            api_groups: strings("apiGroups"),
            resources: strings("resources"),
            resource_names: strings("resourceNames"),
            non_resource_urls: strings("nonResourceURLs"),
        }
    }

    /// Whether this rule allows `attrs`.
    pub fn allows(&self, attrs: &Attributes) -> bool {
        let verb = self.verbs.iter().any(|v| v == "*" || *v == attrs.verb);
        if !verb {
            return false;
        }
        if !attrs.is_resource() {
            return self.non_resource_urls.iter().any(|u| {
                u == "*" || *u == attrs.path || u.strip_suffix('*').is_some_and(|p| attrs.path.starts_with(p))
            });
        }
        let group = self.api_groups.iter().any(|g| g == "*" || *g == attrs.group);
        let combined = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        let resource = self.resources.iter().any(|r| {
            r == "*"
                || *r == combined
                || (attrs.subresource.is_empty() && *r == attrs.resource)
                || (!attrs.subresource.is_empty()
                    && (*r == format!("*/{}", attrs.subresource) || *r == format!("{}/*", attrs.resource)))
        });
        let name = self.resource_names.is_empty()
            || (!attrs.name.is_empty() && self.resource_names.contains(&attrs.name));
        group && resource && name
    }

    /// The rule as `rbac/v1` JSON.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "verbs": self.verbs });
        if !self.non_resource_urls.is_empty() {
            v["nonResourceURLs"] = json!(self.non_resource_urls);
            return v;
        }
        v["apiGroups"] = json!(self.api_groups);
        v["resources"] = json!(self.resources);
        if !self.resource_names.is_empty() {
            v["resourceNames"] = json!(self.resource_names);
        }
        v
    }
}

fn kind(resource: &str) -> &'static Kind {
    match kinds::KINDS
        .iter()
        .find(|k| k.group == "rbac.authorization.k8s.io" && k.resource == resource)
    {
        Some(k) => k,
        None => unreachable!("RBAC kinds are in the static table"),
    }
}

fn subject_matches(subject: &Value, user: &UserInfo, binding_namespace: &str) -> bool {
    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    match subject.get("kind").and_then(Value::as_str) {
        Some("User") => name == user.username,
        Some("Group") => user.in_group(name),
        Some("ServiceAccount") => {
            let ns = subject
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(binding_namespace);
            service_account_parts(&user.username) == Some((ns, name))
        }
        _ => false,
    }
}

/// The RBAC authorizer over a store.
pub struct Authorizer {
    store: Arc<Store>,
}

impl Authorizer {
    /// An authorizer reading roles and bindings from `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// Rules granted to `user` in `namespace` (cluster-wide bindings always; RoleBindings of `namespace` when
    /// non-empty), each with a description of the binding that grants it.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<(Rule, String)> {
        let mut out = Vec::new();
        if user.in_group(MASTERS) {
            let all = Rule {
                verbs: vec!["*".into()],
                api_groups: vec!["*".into()],
                resources: vec!["*".into()],
                ..Rule::default()
            };
            let urls = Rule {
                verbs: vec!["*".into()],
                non_resource_urls: vec!["*".into()],
                ..Rule::default()
            };
            out.push((all, "system:masters".into()));
            out.push((urls, "system:masters".into()));
        }
        for binding in self.store.list(kind("clusterrolebindings"), None, None).items {
            self.collect(&binding, user, "", "ClusterRoleBinding", &mut out);
        }
        if !namespace.is_empty() {
            for binding in self.store.list(kind("rolebindings"), Some(namespace), None).items {
                self.collect(&binding, user, namespace, "RoleBinding", &mut out);
            }
        }
        out
    }

    fn collect(
        &self,
        binding: &Value,
        user: &UserInfo,
        namespace: &str,
        binding_kind: &str,
        out: &mut Vec<(Rule, String)>,
    ) {
        let subjects = binding.get("subjects").and_then(Value::as_array);
        let Some(subject) = subjects.and_then(|s| s.iter().find(|s| subject_matches(s, user, namespace)))
        else {
            return;
        };
        let role_kind = binding
            .pointer("/roleRef/kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        let role_name = binding
            .pointer("/roleRef/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let role = match role_kind {
            "ClusterRole" => self.store.get(kind("clusterroles"), "", role_name),
            "Role" if !namespace.is_empty() => self.store.get(kind("roles"), namespace, role_name),
            _ => None,
        };
        let Some(role) = role else { return };
        let binding_name = crate::store::object_name(binding);
        let scope = if namespace.is_empty() {
            String::new()
        } else {
            format!(" in namespace \"{namespace}\"")
        };
        let why = format!(
            "RBAC: allowed by {binding_kind} \"{binding_name}{}\" of {role_kind} \"{role_name}\" to {} \"{}\"",
            if namespace.is_empty() {
                String::new()
            } else {
                format!("/{namespace}")
            },
            subject.get("kind").and_then(Value::as_str).unwrap_or(""),
            subject.get("name").and_then(Value::as_str).unwrap_or(""),
        ) + &scope;
        for rule in role.get("rules").and_then(Value::as_array).into_iter().flatten() {
            out.push((Rule::from_json(rule), why.clone()));
        }
    }

    /// Decides whether `user` may do `attrs`.
    pub fn authorize(&self, user: &UserInfo, attrs: &Attributes) -> Decision {
        if user.in_group(MASTERS) {
            return Decision {
                allowed: true,
                reason: "system:masters".into(),
            };
        }
        self.rules_for(user, &attrs.namespace)
            .into_iter()
            .find(|(rule, _)| rule.allows(attrs))
            .map_or(
                Decision {
                    allowed: false,
                    reason: String::new(),
                },
                |(_, reason)| Decision {
                    allowed: true,
                    reason,
                },
            )
    }
}

/// The RBAC objects kube-apiserver creates at start (a faithful subset of its bootstrap policy).
pub fn bootstrap_policy() -> Vec<Value> {
    let cluster_role = |name: &str, rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
               "rules": rules})
    };
    let bind = |name: &str, role: &str, group: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})
    };
    let read = json!(["get", "list", "watch"]);
    let write = json!(["create", "delete", "deletecollection", "patch", "update"]);
    let namespaced_core = json!(["pods", "pods/log", "pods/status", "configmaps", "serviceaccounts"]);
    vec![
        cluster_role(
            "cluster-admin",
            json!([
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        ),
        cluster_role(
            "system:discovery",
            json!([
            {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz",
                                 "/openapi", "/openapi/*", "/version", "/version/"], "verbs": ["get"]}]),
        ),
        cluster_role(
            "system:public-info-viewer",
            json!([
            {"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
        ),
        cluster_role(
            "system:basic-user",
            json!([
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
        ),
        cluster_role(
            "view",
            json!([
            {"apiGroups": [""], "resources": namespaced_core, "verbs": read},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": read}]),
        ),
        cluster_role(
            "edit",
            json!([
            {"apiGroups": [""], "resources": namespaced_core, "verbs": read},
            {"apiGroups": [""], "resources": ["pods", "configmaps", "serviceaccounts"], "verbs": write},
            {"apiGroups": [""], "resources": ["pods/exec", "pods/attach", "pods/portforward"], "verbs": ["get", "create"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": read}]),
        ),
        cluster_role(
            "admin",
            json!([
            {"apiGroups": [""], "resources": namespaced_core, "verbs": read},
            {"apiGroups": [""], "resources": ["pods", "configmaps", "serviceaccounts"], "verbs": write},
            {"apiGroups": [""], "resources": ["pods/exec", "pods/attach", "pods/portforward"], "verbs": ["get", "create"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": ["*"]},
            {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
            {"apiGroups": ["capsule.clastix.io"], "resources": ["proxysettings"], "verbs": ["*"]},
            {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": read}]),
        ),
        bind("cluster-admin", "cluster-admin", MASTERS),
        bind("system:discovery", "system:discovery", "system:authenticated"),
        bind(
            "system:public-info-viewer",
            "system:public-info-viewer",
            "system:authenticated",
        ),
        bind("system:basic-user", "system:basic-user", "system:authenticated"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::UserInfo;

    fn store_with(objects: Vec<Value>) -> Arc<Store> {
        let store = Arc::new(Store::default());
        let namespaces = kinds::lookup("", "v1", "namespaces").unwrap();
        store
            .create(namespaces, "", json!({"metadata": {"name": "oil-dev"}}))
            .unwrap();
        for o in bootstrap_policy().into_iter().chain(objects) {
            let k =
                kinds::by_api_version_kind(o["apiVersion"].as_str().unwrap(), o["kind"].as_str().unwrap())
                    .unwrap();
            let ns = o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            store.create(k, &ns, o).unwrap();
        }
        store
    }

    fn alice() -> UserInfo {
        UserInfo::authenticated("alice", ["projectcapsule.dev".to_string()])
    }

    #[test]
    fn masters_and_bootstrap_roles() {
        let authz = Authorizer::new(store_with(vec![]));
        let admin = UserInfo::authenticated("admin", [MASTERS.to_string()]);
        assert!(
            authz
                .authorize(&admin, &Attributes::resource("delete", "", "nodes", "", "", "n1"))
                .allowed
        );
        let a = alice();
        assert!(
            authz
                .authorize(
                    &a,
                    &Attributes::non_resource("get", "/apis/capsule.clastix.io/v1beta2")
                )
                .allowed
        );
        assert!(
            authz
                .authorize(
                    &a,
                    &Attributes::resource(
                        "create",
                        "authorization.k8s.io",
                        "selfsubjectaccessreviews",
                        "",
                        "",
                        ""
                    )
                )
                .allowed
        );
        let list_ns = Attributes::resource("list", "", "namespaces", "", "", "");
        assert!(!authz.authorize(&a, &list_ns).allowed);
        assert_eq!(
            list_ns.forbidden_message(&a),
            "namespaces is forbidden: User \"alice\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
        );
    }

    #[test]
    fn role_bindings_grant_only_in_their_namespace() {
        let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "owner", "namespace": "oil-dev"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "User", "name": "alice"}]});
        let authz = Authorizer::new(store_with(vec![rb]));
        let a = alice();
        let in_ns = Attributes::resource("list", "", "pods", "", "oil-dev", "");
        let decision = authz.authorize(&a, &in_ns);
        assert!(decision.allowed);
        assert!(
            decision.reason.contains("RoleBinding \"owner/oil-dev\""),
            "{}",
            decision.reason
        );
        assert!(
            authz
                .authorize(
                    &a,
                    &Attributes::resource("create", "", "pods", "exec", "oil-dev", "p")
                )
                .allowed
        );
        assert!(
            !authz
                .authorize(&a, &Attributes::resource("list", "", "pods", "", "gas-dev", ""))
                .allowed
        );
        assert!(
            !authz
                .authorize(&a, &Attributes::resource("list", "", "pods", "", "", ""))
                .allowed
        );
    }

    #[test]
    fn rule_matching_details() {
        let rule = Rule {
            verbs: vec!["get".into()],
            api_groups: vec!["".into()],
            resources: vec!["nodes".into()],
            resource_names: vec!["n1".into()],
            ..Rule::default()
        };
        assert!(rule.allows(&Attributes::resource("get", "", "nodes", "", "", "n1")));
        assert!(!rule.allows(&Attributes::resource("get", "", "nodes", "", "", "n2")));
        assert!(!rule.allows(&Attributes::resource("get", "", "nodes", "status", "", "n1")));
        let sub = Rule {
            verbs: vec!["*".into()],
            api_groups: vec!["*".into()],
            resources: vec!["*/status".into()],
            ..Rule::default()
        };
        assert!(sub.allows(&Attributes::resource("update", "x", "things", "status", "", "a")));
        assert!(!sub.allows(&Attributes::resource("update", "x", "things", "", "", "a")));
        let sa = UserInfo::authenticated("system:serviceaccount:capsule-system:capsule-proxy", []);
        let subject =
            json!({"kind": "ServiceAccount", "name": "capsule-proxy", "namespace": "capsule-system"});
        assert!(subject_matches(&subject, &sa, ""));
        assert!(!subject_matches(&subject, &alice(), ""));
    }
}
