//! Who the proxy filters, with the real `kubectl` through `capsule-proxy`: group and service-account owners,
//! ignored users and groups, callers who are no Capsule users, `kubectl auth can-i`, `--as` / `--as-group`
//! impersonation, and the `-A` lists of namespaced kinds.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use serde_json::json;
use support::capsule::{
    ALL_NAMESPACES, LogOnFailure, NAMESPACED_NAMES, admin, admin_apply, admin_patch_status, direct_lines,
    env_with_identities, eventually_lines, proxied_lines, start_synced, stderr_of_failure,
};
use support::{Env, ok};

/// alice's namespaces (tenant oil).
const OIL: [&str; 2] = ["namespace/oil-dev", "namespace/oil-prod"];
/// The gas tenant's namespaces.
const GAS: [&str; 1] = ["namespace/gas-dev"];
/// A service account of the oil tenant, as kube-apiserver names it.
const GITOPS: &str = "system:serviceaccount:oil-dev:gitops";

/// A ClusterRole to list namespaces and its binding to `user`.
fn namespace_reader_for(user: &str) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: namespace-reader}}\n\
         rules: [{{apiGroups: [\"\"], resources: [namespaces], verbs: [get, list, watch]}}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {user}-reads-namespaces}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: namespace-reader}}\n\
         subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_owners_see_their_groups_tenants() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["carol", "carol-cert"] {
        let names = proxied_lines(&proxy, &env, identity, &["get", "ns", "-o", "name"]).await;
        assert_eq!(names, GAS, "{identity}");
        let names = proxied_lines(&proxy, &env, identity, &["get", "tenants", "-o", "name"]).await;
        assert_eq!(names, ["tenant.capsule.clastix.io/gas"], "{identity}");
        let pods = proxied_lines(
            &proxy,
            &env,
            identity,
            &["get", "pods", "-n", "gas-dev", "-o", "name"],
        )
        .await;
        assert_eq!(
            pods,
            ["pod/worker"],
            "{identity}: her group's RoleBinding still decides in gas-dev"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_owners_see_their_tenant() {
    let env = env_with_identities(&format!(
        "identities:\n- {{name: gitops, user: \"{GITOPS}\", token: gitops-token}}\n"
    ))
    .await;
    // The service account, and the RoleBinding Capsule gives an owner in each tenant namespace.
    admin_apply(
        &env,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: gitops, namespace: oil-dev}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n\
         metadata: {name: capsule-oil-1-admin, namespace: oil-dev}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}\n\
         subjects: [{kind: ServiceAccount, name: gitops, namespace: oil-dev}]\n",
    )
    .await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    // Not yet a Capsule user: passed through, and its own RBAC refuses.
    let err = stderr_of_failure(&proxy.run(&env, "gitops", &["get", "ns"]).await);
    assert!(err.contains("(Forbidden)"), "{err}");

    // Capsule makes the service account an owner of oil: a Capsule user, in the Tenant's owners.
    admin_patch_status(
        &env,
        "capsuleconfigurations.capsule.clastix.io",
        "default",
        json!({"users": [{"kind": "Group", "name": "projectcapsule.dev"}, {"kind": "ServiceAccount", "name": GITOPS}]}),
    )
    .await;
    let owner =
        json!([{"op": "add", "path": "/spec/owners/-", "value": {"kind": "ServiceAccount", "name": GITOPS}}]);
    admin(
        &env,
        &["patch", "tenant", "oil", "--type=json", "-p", &owner.to_string()],
    )
    .await;
    admin_patch_status(
        &env,
        "tenants.capsule.clastix.io",
        "oil",
        json!({"owners": [
            {"kind": "User", "name": "alice", "clusterRoles": ["admin", "capsule-namespace-deleter"]},
            {"kind": "ServiceAccount", "name": GITOPS, "clusterRoles": ["admin"]},
        ]}),
    )
    .await;
    eventually_lines(&proxy, &env, "gitops", &["get", "ns", "-o", "name"], &OIL).await;
    let names = proxied_lines(&proxy, &env, "gitops", &["get", "tenants", "-o", "name"]).await;
    assert_eq!(names, ["tenant.capsule.clastix.io/oil"]);
    let err = stderr_of_failure(&proxy.run(&env, "gitops", &["get", "ns", "gas-dev"]).await);
    assert!(err.contains("(NotFound)"), "{err}");
    // Its own token still decides elsewhere.
    let pods = proxied_lines(
        &proxy,
        &env,
        "gitops",
        &["get", "pods", "-n", "oil-dev", "-o", "name"],
    )
    .await;
    assert_eq!(pods, ["pod/web"]);
    // Impersonated by the admin, it is the same owner: kube-apiserver's service-account groups are added.
    let names = proxied_lines(
        &proxy,
        &env,
        "admin",
        &["get", "ns", "--as", GITOPS, "-o", "name"],
    )
    .await;
    assert_eq!(names, OIL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignored_users_and_groups_pass_through() {
    let env = Env::start().await;
    let by_group = start_synced(&env, &["--ignored-user-group=projectcapsule.dev"]).await;
    let _log = LogOnFailure(&by_group);
    let by_name = start_synced(&env, &["--ignored-username=alice"]).await;
    let _log_by_name = LogOnFailure(&by_name);
    let get_ns = ["get", "ns", "-o", "name"];
    // alice's own RBAC does not list namespaces: through either proxy, the API server's own refusal.
    let direct = stderr_of_failure(&env.run("alice", &get_ns).await);
    assert!(direct.contains("(Forbidden)"), "{direct}");
    for proxy in [&by_group, &by_name] {
        let through = stderr_of_failure(&proxy.run(&env, "alice", &get_ns).await);
        assert_eq!(through, direct);
    }
    let bob_direct = stderr_of_failure(&env.run("bob", &get_ns).await);
    assert_eq!(
        stderr_of_failure(&by_group.run(&env, "bob", &get_ns).await),
        bob_direct
    );
    // bob is not ignored by name: still filtered.
    assert_eq!(proxied_lines(&by_name, &env, "bob", &get_ns).await, GAS);

    // Once her RBAC lists every namespace, so does the proxy for her.
    admin_apply(&env, &namespace_reader_for("alice")).await;
    assert_eq!(direct_lines(&env, "alice", &get_ns).await, ALL_NAMESPACES);
    for proxy in [&by_group, &by_name] {
        for identity in ["alice", "alice-cert"] {
            let names = proxied_lines(proxy, &env, identity, &get_ns).await;
            assert_eq!(names, ALL_NAMESPACES, "{identity}");
        }
        // Other Capsule routes pass through as well.
        let err = stderr_of_failure(&proxy.run(&env, "alice", &["get", "nodes"]).await);
        assert!(err.contains("(Forbidden)"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_can_i_reports_what_the_proxy_grants() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["alice", "alice-cert"] {
        for args in [
            &["auth", "can-i", "list", "namespaces"][..],
            &["auth", "can-i", "list", "pods", "-A"],
        ] {
            let out = proxy.run(&env, identity, args).await;
            assert_eq!(ok(&out).trim(), "yes", "{identity} {args:?}");
        }
        // What the API server grants stays granted; what it refuses stays refused.
        let own = proxy
            .run(
                &env,
                identity,
                &["auth", "can-i", "delete", "pods", "-n", "oil-dev"],
            )
            .await;
        assert_eq!(ok(&own).trim(), "yes", "{identity}");
        let foreign = proxy
            .run(
                &env,
                identity,
                &["auth", "can-i", "delete", "pods", "-n", "gas-dev"],
            )
            .await;
        assert_eq!(
            String::from_utf8_lossy(&foreign.stdout).trim(),
            "no",
            "{identity}"
        );
        let rules = ok(&proxy
            .run(&env, identity, &["auth", "can-i", "--list", "-n", "default"])
            .await);
        assert!(
            rules
                .lines()
                .any(|l| l.split_whitespace().eq(["namespaces", "[]", "[]", "[list]"])),
            "{identity}: {rules}"
        );
    }
    // Without the proxy: no.
    let direct = env.run("alice", &["auth", "can-i", "list", "namespaces"]).await;
    assert_eq!(String::from_utf8_lossy(&direct.stdout).trim(), "no");
    assert_eq!(direct.status.code(), Some(1));
    let rules = ok(&env
        .run("alice", &["auth", "can-i", "--list", "-n", "default"])
        .await);
    assert!(
        !rules
            .lines()
            .any(|l| l.split_whitespace().eq(["namespaces", "[]", "[]", "[list]"])),
        "{rules}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impersonation_is_reviewed_and_its_groups_filtered() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let get_ns = ["get", "ns", "-o", "name"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&get_ns[..], extra].concat() };
    // The admin may impersonate: alice with her Capsule group is filtered as alice.
    let names = proxied_lines(
        &proxy,
        &env,
        "admin",
        &with(&["--as", "alice", "--as-group", "projectcapsule.dev"]),
    )
    .await;
    assert_eq!(names, OIL);
    // Impersonating alice alone drops her groups: no Capsule user, so her own RBAC answers.
    let err = stderr_of_failure(&proxy.run(&env, "admin", &with(&["--as", "alice"])).await);
    assert!(err.contains("(Forbidden)") && err.contains("\"alice\""), "{err}");
    // alice may not impersonate bob, with a token or a certificate, on filtered and other routes alike.
    for identity in ["alice", "alice-cert"] {
        for args in [
            with(&["--as", "bob"]),
            vec!["get", "pods", "-n", "gas-dev", "--as", "bob"],
        ] {
            let err = stderr_of_failure(&proxy.run(&env, identity, &args).await);
            assert!(
                err.contains("(Forbidden)") && err.contains("impersonate"),
                "{identity} {args:?}: {err}"
            );
        }
    }

    // `--impersonation-group-regexp` keeps only matching groups; `--ignored-impersonation-group` drops some.
    let keep_capsule = start_synced(&env, &["--impersonation-group-regexp=^projectcapsule\\.dev$"]).await;
    let _log_keep = LogOnFailure(&keep_capsule);
    let drop_gas = start_synced(&env, &["--ignored-impersonation-group=gas-.*"]).await;
    let _log_drop = LogOnFailure(&drop_gas);
    let as_gas_owner = with(&[
        "--as",
        "dave",
        "--as-group",
        "projectcapsule.dev",
        "--as-group",
        "gas-ops",
    ]);
    assert_eq!(proxied_lines(&proxy, &env, "admin", &as_gas_owner).await, GAS);
    for filtered in [&keep_capsule, &drop_gas] {
        let out = filtered.run(&env, "admin", &as_gas_owner).await;
        assert_eq!(ok(&out), "", "gas-ops was dropped: dave owns nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_who_are_no_capsule_users_pass_through() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for args in [
        &["get", "ns", "-o", "name"][..],
        &["get", "nodes", "-o", "name"],
        &["get", "pods", "-A", "-o", "name"],
        &["get", "tenants", "-o", "name"],
        &["get", "ns", "oil-dev"],
    ] {
        let direct = stderr_of_failure(&env.run("dave", args).await);
        for identity in ["dave", "dave-cert"] {
            let through = stderr_of_failure(&proxy.run(&env, identity, args).await);
            assert_eq!(through, direct, "{identity} {args:?}");
        }
    }
    admin_apply(&env, &namespace_reader_for("dave")).await;
    for identity in ["dave", "dave-cert"] {
        let names = proxied_lines(&proxy, &env, identity, &["get", "ns", "-o", "name"]).await;
        assert_eq!(names, ALL_NAMESPACES, "{identity}");
    }
    // The admin (system:masters, no Capsule user) sees everything, unchanged.
    let pods = proxied_lines(
        &proxy,
        &env,
        "admin",
        &["get", "pods", "-A", "-o", NAMESPACED_NAMES],
    )
    .await;
    assert_eq!(pods, ["gas-dev/worker", "kube-system/coredns", "oil-dev/web"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_gate_off_owners_list_namespaced_kinds_across_namespaces_by_the_managed_by_label() {
    // Go's behaviour, kept behind `ProxyAllNamespaced=false` (the fan-out is `capsule_all_namespaces.rs`'s).
    let env = Env::start().await;
    let proxy = start_synced(&env, &["--feature-gates=ProxyAllNamespaced=false"]).await;
    let _log = LogOnFailure(&proxy);
    let all_pods = ["get", "pods", "-A", "-o", NAMESPACED_NAMES];
    // Nothing carries the label yet.
    for identity in ["alice", "bob"] {
        assert_eq!(ok(&proxy.run(&env, identity, &all_pods).await), "", "{identity}");
    }
    admin(
        &env,
        &[
            "label",
            "pod",
            "web",
            "-n",
            "oil-dev",
            "capsule.clastix.io/managed-by=oil",
        ],
    )
    .await;
    admin(
        &env,
        &[
            "label",
            "pod",
            "worker",
            "-n",
            "gas-dev",
            "capsule.clastix.io/managed-by=gas",
        ],
    )
    .await;
    for (identity, expected) in [
        ("alice", "oil-dev/web"),
        ("alice-cert", "oil-dev/web"),
        ("bob", "gas-dev/worker"),
        ("carol", "gas-dev/worker"),
    ] {
        assert_eq!(
            proxied_lines(&proxy, &env, identity, &all_pods).await,
            [expected],
            "{identity}"
        );
    }
    // Without the proxy, an owner may not list pods across namespaces.
    let direct = stderr_of_failure(&env.run("alice", &all_pods).await);
    assert!(direct.contains("(Forbidden)"), "{direct}");
}
