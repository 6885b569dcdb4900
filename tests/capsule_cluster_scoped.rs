//! Capsule's generic cluster-scoped stories with the real `kubectl` through `capsule-proxy` started with
//! `--feature-gates=ProxyClusterScoped=true`: GlobalProxySettings and ProxySetting `clusterResources` rules
//! decide which objects of any cluster-scoped kind an owner lists and gets, and nothing else leaks.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use support::Env;
use support::capsule::{
    LogOnFailure, admin, admin_apply, eventually, eventually_lines, proxied_lines, start_synced,
    stderr_of_failure,
};
use support::proxy::Proxy;

/// The gate that turns the generic cluster-scoped routes on.
const GATE: &str = "--feature-gates=ProxyClusterScoped=true";

/// ClusterRoles and a ClusterRoleBinding labelled for the rules below.
const RBAC_OBJECTS: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: oil-viewer, labels: {tenant: oil}}
rules: [{apiGroups: [\"\"], resources: [pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: oil-editor, labels: {tenant: oil}}
rules: [{apiGroups: [\"\"], resources: [pods], verbs: [create, update]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: gas-viewer, labels: {tenant: gas}}
rules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: shared-reader, labels: {tenant: shared}}
rules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: oil-get-only, labels: {get-only: \"true\"}}
rules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shared-binding, labels: {tenant: shared}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: shared-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: projectcapsule.dev}]
";

/// The rules: alice gets two (same key, so a union) and a get-only one; carol's group a rule matching nothing;
/// bob only rules for other kinds; a rule for subjects nobody is. Namespaces and tenants are selected too.
const GLOBAL_SETTINGS: &str = "\
apiVersion: capsule.clastix.io/v1beta1
kind: GlobalProxySettings
metadata: {name: global-proxy-settings}
spec:
  rules:
  - subjects: [{kind: User, name: alice}]
    clusterResources:
    - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], selector: {matchLabels: {tenant: oil}}}
  - subjects: [{kind: User, name: alice}]
    clusterResources:
    - {apiGroups: [rbac.authorization.k8s.io/v1], resources: [\"*\"], selector: {matchLabels: {tenant: shared}}}
    - apiGroups: [rbac.authorization.k8s.io]
      resources: [clusterroles]
      operations: [Get]
      selector: {matchLabels: {get-only: \"true\"}}
  - subjects: [{kind: Group, name: gas-ops}]
    clusterResources:
    - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], selector: {matchLabels: {tenant: nobody}}}
    - {apiGroups: [capsule.clastix.io], resources: [tenants], selector: {matchLabels: {kubernetes.io/metadata.name: oil}}}
  - subjects: [{kind: User, name: bob}]
    clusterResources:
    - {apiGroups: [\"\"], resources: [clusterroles], selector: {matchLabels: {tenant: gas}}}
    - {apiGroups: [rbac.authorization.k8s.io], resources: [roles], selector: {matchLabels: {tenant: gas}}}
    - {apiGroups: [\"\"], resources: [namespaces], selector: {matchLabels: {kubernetes.io/metadata.name: default}}}
    - apiGroups: [\"\"]
      resources: [namespaces]
      operations: [Get]
      selector: {matchLabels: {capsule.clastix.io/tenant: oil}}
  - subjects: [{kind: User, name: eve}, {kind: Group, name: gas-admins}, {kind: ServiceAccount, name: bob}]
    clusterResources:
    - {apiGroups: [\"*\"], resources: [\"*\"], selector: {matchLabels: {tenant: gas}}}
";

/// A kube-sim with the labelled RBAC objects and the global rules, and the proxy with the gate on.
async fn start_with_global_rules() -> (Env, Proxy) {
    let env = Env::start().await;
    admin_apply(&env, RBAC_OBJECTS).await;
    admin_apply(&env, GLOBAL_SETTINGS).await;
    let proxy = start_synced(&env, &[GATE]).await;
    (env, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_select_what_owners_list() {
    let (env, proxy) = start_with_global_rules().await;
    let _log = LogOnFailure(&proxy);
    let roles = ["get", "clusterroles", "-o", "name"];
    for identity in ["alice", "alice-cert"] {
        // Two rules on one label key: their union; the get-only object is not listed.
        let names = proxied_lines(&proxy, &env, identity, &roles).await;
        assert_eq!(
            names,
            [
                "clusterrole.rbac.authorization.k8s.io/oil-editor",
                "clusterrole.rbac.authorization.k8s.io/oil-viewer",
                "clusterrole.rbac.authorization.k8s.io/shared-reader",
            ],
            "{identity}"
        );
        // A `group/version` pattern with resources `*` opens the bindings of that group too.
        let names = proxied_lines(
            &proxy,
            &env,
            identity,
            &["get", "clusterrolebindings", "-o", "name"],
        )
        .await;
        assert_eq!(
            names,
            ["clusterrolebinding.rbac.authorization.k8s.io/shared-binding"],
            "{identity}"
        );
    }
    // A rule whose selector matches nothing, and rules for other kinds: an empty list, not an error.
    for identity in ["carol", "bob"] {
        let out = proxy.run(&env, identity, &roles).await;
        assert_eq!(support::ok(&out), "", "{identity}");
    }
    // Rules for namespaces and tenants add to what the tenants own.
    let names = proxied_lines(&proxy, &env, "bob", &["get", "ns", "-o", "name"]).await;
    assert_eq!(names, ["namespace/default", "namespace/gas-dev"]);
    let names = proxied_lines(&proxy, &env, "carol", &["get", "tenants", "-o", "name"]).await;
    assert_eq!(
        names,
        ["tenant.capsule.clastix.io/gas", "tenant.capsule.clastix.io/oil"]
    );
    // With the gate on, the legacy tenant specs open nothing: no rule names nodes or storage classes.
    for kind in ["nodes", "storageclasses", "persistentvolumes"] {
        let out = proxy.run(&env, "alice", &["get", kind, "-o", "name"]).await;
        assert_eq!(support::ok(&out), "", "alice {kind}");
    }
    // Without the proxy, alice may not list cluster roles at all.
    let direct = stderr_of_failure(&env.run("alice", &roles).await);
    assert!(direct.contains("(Forbidden)"), "{direct}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_decide_named_gets_and_writes_stay_the_callers() {
    let (env, proxy) = start_with_global_rules().await;
    let _log = LogOnFailure(&proxy);
    let get = |name: &'static str| ["get", "clusterrole", name, "-o", "jsonpath={.metadata.name}"];
    for identity in ["alice", "alice-cert"] {
        // List implies Get; a get-only rule permits the get.
        for name in ["oil-viewer", "shared-reader", "oil-get-only"] {
            let out = proxy.run(&env, identity, &get(name)).await;
            assert_eq!(support::ok(&out), name, "{identity}");
        }
        // An object no rule selects is decided by the caller's own RBAC.
        let err = stderr_of_failure(&proxy.run(&env, identity, &get("gas-viewer")).await);
        assert!(err.contains("(Forbidden)"), "{identity}: {err}");
    }
    // Wrong group, wrong kind, wrong subject kind: nothing for bob.
    let err = stderr_of_failure(&proxy.run(&env, "bob", &get("gas-viewer")).await);
    assert!(err.contains("(Forbidden)"), "{err}");
    // A get-only rule on namespaces: bob gets oil-dev, which his list does not show.
    let got = proxied_lines(&proxy, &env, "bob", &["get", "ns", "oil-dev", "-o", "name"]).await;
    assert_eq!(got, ["namespace/oil-dev"]);

    // Creating and deleting cluster roles is the caller's business: refused by alice's RBAC.
    let create = [
        "create",
        "clusterrole",
        "alice-made",
        "--verb=get",
        "--resource=pods",
    ];
    let err = stderr_of_failure(&proxy.run(&env, "alice", &create).await);
    assert!(err.contains("(Forbidden)"), "{err}");
    for name in ["oil-viewer", "gas-viewer"] {
        let err = stderr_of_failure(&proxy.run(&env, "alice", &["delete", "clusterrole", name]).await);
        assert!(err.contains("(Forbidden)"), "{name}: {err}");
    }
    let left = admin(&env, &["get", "clusterroles", "-l", "tenant", "-o", "name"]).await;
    assert_eq!(support::lines(&left).len(), 4, "nothing was deleted: {left}");
    let made = stderr_of_failure(&env.run("admin", &["get", "clusterrole", "alice-made"]).await);
    assert!(made.contains("(NotFound)"), "{made}");
    // kubectl auth can-i agrees with the rules.
    let can = proxy
        .run(
            &env,
            "alice",
            &["auth", "can-i", "list", "clusterroles.rbac.authorization.k8s.io"],
        )
        .await;
    assert_eq!(support::ok(&can).trim(), "yes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_setting_opens_its_tenant_to_its_subjects() {
    let env = Env::start().await;
    admin_apply(&env, RBAC_OBJECTS).await;
    let proxy = start_synced(&env, &[GATE]).await;
    let _log = LogOnFailure(&proxy);
    let roles = ["get", "clusterroles", "-o", "name"];
    assert_eq!(support::ok(&proxy.run(&env, "bob", &roles).await), "");
    // alice's tenant lets bob read the oil cluster roles.
    admin_apply(
        &env,
        "apiVersion: capsule.clastix.io/v1beta1\nkind: ProxySetting\nmetadata: {name: sre-readers, namespace: oil-dev}\n\
         spec:\n  subjects:\n  - kind: User\n    name: bob\n    clusterResources:\n    \
         - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], selector: {matchLabels: {tenant: oil}}}\n",
    )
    .await;
    let expected = [
        "clusterrole.rbac.authorization.k8s.io/oil-editor",
        "clusterrole.rbac.authorization.k8s.io/oil-viewer",
    ];
    eventually_lines(&proxy, &env, "bob", &roles, &expected).await;
    // A ProxySetting's subject is given the whole tenant of its namespace.
    let names = proxied_lines(&proxy, &env, "bob", &["get", "ns", "-o", "name"]).await;
    assert_eq!(
        names,
        ["namespace/gas-dev", "namespace/oil-dev", "namespace/oil-prod"]
    );
    // Nobody else gained anything.
    assert_eq!(support::ok(&proxy.run(&env, "carol", &roles).await), "");
    let names = proxied_lines(&proxy, &env, "alice", &["get", "ns", "-o", "name"]).await;
    assert_eq!(names, ["namespace/oil-dev", "namespace/oil-prod"]);
}

/// A cluster-scoped custom resource kind, `widgets.example.com`.
const WIDGET_CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_defined_after_the_start_is_intercepted() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[GATE]).await;
    let _log = LogOnFailure(&proxy);
    admin_apply(&env, WIDGET_CRD).await;
    let widgets = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w-oil, labels: {tenant: oil}}\n\
                   spec: {size: 1}\n---\napiVersion: example.com/v1\nkind: Widget\n\
                   metadata: {name: w-gas, labels: {tenant: gas}}\nspec: {size: 2}\n";
    let file = env.file("widgets.yaml", widgets);
    eventually("the admin creates widgets", async || {
        let out = env.run("admin", &["apply", "-f", file.to_str().unwrap()]).await;
        if out.status.success() {
            Ok(())
        } else {
            Err(support::capsule::describe(&out))
        }
    })
    .await;
    admin_apply(
        &env,
        "apiVersion: capsule.clastix.io/v1beta1\nkind: GlobalProxySettings\nmetadata: {name: widgets}\nspec:\n  \
         rules:\n  - subjects: [{kind: User, name: alice}]\n    clusterResources:\n    \
         - {apiGroups: [example.com], resources: [widgets], selector: {matchLabels: {tenant: oil}}}\n",
    )
    .await;
    let list = ["get", "widgets.example.com", "-o", "name"];
    eventually_lines(&proxy, &env, "alice", &list, &["widget.example.com/w-oil"]).await;
    let got = proxied_lines(&proxy, &env, "alice", &["get", "widget", "w-oil", "-o", "name"]).await;
    assert_eq!(got, ["widget.example.com/w-oil"]);
    let err = stderr_of_failure(&proxy.run(&env, "alice", &["get", "widget", "w-gas"]).await);
    assert!(err.contains("(Forbidden)"), "{err}");
    // bob has no rule for widgets: an empty list.
    assert_eq!(support::ok(&proxy.run(&env, "bob", &list).await), "");
}

/// The NAME and READY cells of `kubectl get <kind>` (the default table), as `name=ready` lines.
fn ready_cells(table: &str) -> Vec<String> {
    let mut rows = table.lines();
    let header: Vec<&str> = rows.next().unwrap_or_default().split_whitespace().collect();
    let ready = header.iter().position(|h| *h == "READY");
    rows.filter_map(|row| {
        let cells: Vec<&str> = row.split_whitespace().collect();
        Some(format!("{}={}", cells.first()?, cells.get(ready?)?))
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_settings_show_ready_and_unusable_rules_are_not_ready() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[GATE]).await;
    let _log = LogOnFailure(&proxy);
    admin_apply(
        &env,
        "apiVersion: capsule.clastix.io/v1beta1\nkind: ProxySetting\nmetadata: {name: sre-readers, namespace: oil-dev}\n\
         spec:\n  subjects:\n  - kind: User\n    name: bob\n    clusterResources:\n    \
         - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], selector: {matchLabels: {tenant: oil}}}\n\
         ---\n\
         apiVersion: capsule.clastix.io/v1beta1\nkind: ProxySetting\nmetadata: {name: half-written, namespace: oil-dev}\n\
         spec:\n  subjects:\n  - kind: User\n    name: bob\n    clusterResources:\n    \
         - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], selector: {matchExpressions: [{key: tenant, operator: In}]}}\n",
    )
    .await;
    // The CRDs' READY column, as `kubectl get` prints it for anyone allowed to list them.
    let listing = ["get", "proxysettings", "-n", "oil-dev"];
    eventually("both ProxySettings report Ready", async || {
        let out = proxy.run(&env, "admin", &listing).await;
        let cells = ready_cells(&String::from_utf8_lossy(&out.stdout));
        if cells == ["half-written=False", "sre-readers=True"] {
            Ok(())
        } else {
            Err(format!("{cells:?}: {}", String::from_utf8_lossy(&out.stderr)))
        }
    })
    .await;
    let why = admin(
        &env,
        &[
            "get",
            "proxysetting",
            "half-written",
            "-n",
            "oil-dev",
            "-o",
            "jsonpath={.status.conditions[0].reason}: {.status.conditions[0].message}",
        ],
    )
    .await;
    assert!(
        why.starts_with("InvalidSpec: rules not applied: spec.subjects[0].clusterResources[0].selector"),
        "{why}"
    );
}
