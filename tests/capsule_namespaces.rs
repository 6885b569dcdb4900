//! Capsule's namespace stories with the real `kubectl` through `capsule-proxy`: each owner lists, watches and
//! gets exactly their tenants' namespaces, no selector trick shows a foreign one, an ownership change ends a
//! running watch, and a named object in a missing namespace is NotFound rather than Forbidden.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::collections::BTreeSet;

use support::Env;
use support::Streaming;
use support::capsule::{
    LogOnFailure, NAMESPACED_NAMES, OIL_UID, admin_apply, describe, eventually_lines, item_names,
    proxied_lines, set_tenant_namespaces, start_synced, stderr_of_failure, tenant_namespace_yaml,
    until_stream_ends,
};
use support::raw::{Conn, get};

/// The proxy's service account, as kube-sim authenticates it.
const PROXY_SA: &str = "system:serviceaccount:capsule-system:capsule-proxy";
/// alice's namespaces (tenant oil).
const OIL: [&str; 2] = ["namespace/oil-dev", "namespace/oil-prod"];
/// bob's namespaces (tenant gas).
const GAS: [&str; 1] = ["namespace/gas-dev"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_list_exactly_their_namespaces() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for (identity, expected) in [
        ("alice", &OIL[..]),
        ("alice-cert", &OIL[..]),
        ("bob", &GAS[..]),
        ("bob-cert", &GAS[..]),
    ] {
        let names = proxied_lines(&proxy, &env, identity, &["get", "ns", "-o", "name"]).await;
        assert_eq!(names, expected, "{identity}");
    }
    // Without the proxy, an owner may not list namespaces at all.
    let direct = stderr_of_failure(&env.run("alice", &["get", "ns", "-o", "name"]).await);
    assert!(direct.contains("(Forbidden)"), "{direct}");
    // The filtered lists reached kube-sim as the proxy, with a label selector.
    let audit = env.sim.audit();
    // (The proxy's own watches list namespaces too, without a label selector.)
    let lists: Vec<_> = audit
        .iter()
        .filter(|e| e.path == "/api/v1/namespaces" && e.verb == "list" && e.user == PROXY_SA)
        .filter(|e| e.query.contains("labelSelector="))
        .collect();
    assert_eq!(lists.len(), 4, "{audit:#?}");
    for entry in lists {
        assert_eq!(entry.code, 200, "{entry:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_get_their_namespaces_and_others_are_not_found() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["alice", "alice-cert"] {
        for own in ["oil-dev", "oil-prod"] {
            let got = proxied_lines(&proxy, &env, identity, &["get", "ns", own, "-o", "name"]).await;
            assert_eq!(got, [format!("namespace/{own}")], "{identity}");
        }
        // Another tenant's namespace, and one owned by no tenant: NotFound, never Forbidden.
        for other in ["gas-dev", "default", "kube-system"] {
            let err = stderr_of_failure(&proxy.run(&env, identity, &["get", "ns", other]).await);
            assert!(
                err.contains(&format!("(NotFound): namespaces \"{other}\" not found")),
                "{identity} {other}: {err}"
            );
            assert!(
                !err.to_lowercase().contains("forbidden"),
                "{identity} {other}: {err}"
            );
        }
    }
    let err = stderr_of_failure(&proxy.run(&env, "bob", &["get", "ns", "oil-dev"]).await);
    assert!(
        err.contains("(NotFound): namespaces \"oil-dev\" not found"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_joining_the_tenant_shows_in_the_watch() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let allowed: BTreeSet<&str> = ["namespace/oil-dev", "namespace/oil-prod", "namespace/oil-new"].into();
    let spawn = || {
        let mut cmd = proxy.kubectl(&env, "alice");
        cmd.args(["get", "ns", "-w", "-o", "name"]);
        Streaming::spawn(cmd)
    };
    let mut watch = spawn();
    let first = [watch.next_line().await.unwrap(), watch.next_line().await.unwrap()];
    assert_eq!(first, OIL, "the list before the watch");

    // Capsule creates the namespace for the tenant and records it in the Tenant's status.
    admin_apply(&env, &tenant_namespace_yaml("oil-new", "oil", OIL_UID)).await;
    set_tenant_namespaces(&env, "oil", &["oil-dev", "oil-prod", "oil-new"]).await;

    // The running watch shows it; if the proxy ends the watch because alice's selector changed, kubectl
    // exits and a client lists and watches again, as kubectl's users do.
    let mut restarts = 0;
    loop {
        match watch.next_line().await {
            Some(line) if line == "namespace/oil-new" => break,
            Some(line) => assert!(allowed.contains(line.as_str()), "a foreign namespace: {line}"),
            None => {
                watch.child.wait().await.unwrap();
                restarts += 1;
                assert!(restarts <= 3, "the watch kept ending without showing oil-new");
                watch = spawn();
            }
        }
    }
    let all_oil = ["namespace/oil-dev", "namespace/oil-new", "namespace/oil-prod"];
    eventually_lines(&proxy, &env, "alice", &["get", "ns", "-o", "name"], &all_oil).await;
    let names = proxied_lines(&proxy, &env, "bob", &["get", "ns", "-o", "name"]).await;
    assert_eq!(names, GAS, "bob does not see the new namespace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_selector_tricks_never_show_a_foreign_namespace() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let cases: [(&str, &[&str]); 8] = [
        ("kubernetes.io/metadata.name=gas-dev", &[]),
        ("kubernetes.io/metadata.name in (gas-dev)", &[]),
        (
            "kubernetes.io/metadata.name in (gas-dev,oil-dev)",
            &["namespace/oil-dev"],
        ),
        ("kubernetes.io/metadata.name!=oil-dev", &["namespace/oil-prod"]),
        (
            "kubernetes.io/metadata.name notin (oil-dev)",
            &["namespace/oil-prod"],
        ),
        ("!capsule.clastix.io/tenant", &[]),
        ("capsule.clastix.io/tenant=gas", &[]),
        ("capsule.clastix.io/tenant in (oil,gas)", &OIL),
    ];
    for (selector, expected) in cases {
        for identity in ["alice", "alice-cert"] {
            let names = proxied_lines(
                &proxy,
                &env,
                identity,
                &["get", "ns", "-l", selector, "-o", "name"],
            )
            .await;
            assert_eq!(names, expected, "{identity} -l {selector:?}");
        }
    }
    // A field selector passes through, ANDed with the proxy's label selector.
    let names = proxied_lines(
        &proxy,
        &env,
        "alice",
        &[
            "get",
            "ns",
            "--field-selector",
            "metadata.name=gas-dev",
            "-o",
            "name",
        ],
    )
    .await;
    assert!(names.is_empty(), "{names:?}");
    // Raw queries: every labelSelector parameter is the caller's, ANDed with the proxy's; escapes decode.
    let raw = |query: &str| format!("/api/v1/namespaces?{query}");
    for (query, expected) in [
        (
            "labelSelector=capsule.clastix.io/tenant%3Dgas&labelSelector=x",
            vec![],
        ),
        (
            "labelSelector=kubernetes.io/metadata.name%3Dgas-dev&labelSelector=kubernetes.io/metadata.name%3Doil-dev",
            vec![],
        ),
        (
            "labelSelector=kubernetes.io%2Fmetadata.name+in+%28gas-dev%2Coil-dev%29",
            vec!["oil-dev"],
        ),
        (
            "labelSelector=kubernetes.io/metadata.name%21%3Doil-prod",
            vec!["oil-dev"],
        ),
    ] {
        let out = ok_json(&proxy.run(&env, "alice", &["get", "--raw", &raw(query)]).await);
        assert_eq!(item_names(&out), expected, "{query}");
    }
}

/// The JSON stdout of a successful run.
fn ok_json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", describe(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(out)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_query_tricks_are_merged_or_refused() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    // Byte for byte as sent: an escaped parameter name is still a labelSelector, duplicates are ANDed.
    for (query, expected) in [
        ("label%53elector=capsule.clastix.io%2Ftenant%3Dgas", vec![]),
        (
            "labelSelector=&labelSelector=capsule.clastix.io%2Ftenant%3Dgas",
            vec![],
        ),
        ("labelSelector=x%2Cy&labelSelector=", vec![]),
        (
            "labelSelector=kubernetes.io%2Fmetadata.name%3Doil-dev",
            vec!["oil-dev"],
        ),
        ("limit=500&labelSelector=", vec!["oil-dev", "oil-prod"]),
    ] {
        let response = conn
            .exchange(&get(&format!("/api/v1/namespaces?{query}"), Some("alice-token")))
            .await;
        let list = response.expect_ok_json(200);
        assert_eq!(item_names(&list), expected, "{query}");
    }
    // kube-sim saw one labelSelector per filtered request (the proxy's own watches send none).
    let audit = env.sim.audit();
    let filtered: Vec<_> = audit
        .iter()
        .filter(|e| e.path == "/api/v1/namespaces" && e.user == PROXY_SA && e.query.contains("labelSelector"))
        .collect();
    assert_eq!(filtered.len(), 5, "{audit:#?}");
    for entry in filtered {
        assert_eq!(entry.query.matches("labelSelector=").count(), 1, "{entry:?}");
    }
    // What kube-apiserver would read differently, or not at all: 400.
    for query in [
        "labelSelector=a;b",
        "labelSelector=%zz",
        "labelSelector=kubernetes.io%2Fmetadata.name+in+%28gas-dev",
        "labelSelector=x&labelSelector=%3D%3Dbad",
    ] {
        let response = conn
            .exchange(&get(&format!("/api/v1/namespaces?{query}"), Some("alice-token")))
            .await;
        response.expect_status(400);
    }
    // Through kubectl too: a malformed selector is a BadRequest.
    for identity in ["alice", "alice-cert"] {
        let err = stderr_of_failure(
            &proxy
                .run(
                    &env,
                    identity,
                    &["get", "ns", "-l", "kubernetes.io/metadata.name in (gas-dev"],
                )
                .await,
        );
        assert!(err.contains("(BadRequest)"), "{identity}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_the_tenant_ends_the_watch_and_the_next_list_follows() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let mut cmd = proxy.kubectl(&env, "alice");
    cmd.args(["get", "ns", "-w", "-o", "name"]);
    let mut watch = Streaming::spawn(cmd);
    let first = [watch.next_line().await.unwrap(), watch.next_line().await.unwrap()];
    assert_eq!(first, OIL);

    set_tenant_namespaces(&env, "oil", &["oil-dev"]).await;
    let rest = until_stream_ends(&mut watch).await;
    for line in rest.iter().filter(|l| l.starts_with("namespace/")) {
        assert!(
            OIL.contains(&line.as_str()),
            "a foreign namespace in the watch: {rest:?}"
        );
    }
    eventually_lines(
        &proxy,
        &env,
        "alice",
        &["get", "ns", "-o", "name"],
        &["namespace/oil-dev"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopting_a_namespace_ends_the_raw_watch_and_the_next_list_follows() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    // A namespace the admin made, not (yet) part of any tenant.
    admin_apply(
        &env,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: oil-tools}\n",
    )
    .await;
    let mut cmd = proxy.kubectl(&env, "alice");
    cmd.args(["get", "--raw", "/api/v1/namespaces?watch=true"]);
    let mut watch = Streaming::spawn(cmd);
    let mut added = BTreeSet::new();
    while added.len() < 2 {
        let line = watch.next_line().await.expect("an event");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(event["type"], "ADDED", "{line}");
        added.insert(event["object"]["metadata"]["name"].as_str().unwrap().to_string());
    }
    assert_eq!(
        added,
        BTreeSet::from(["oil-dev".to_string(), "oil-prod".to_string()])
    );

    set_tenant_namespaces(&env, "oil", &["oil-dev", "oil-prod", "oil-tools"]).await;
    let rest = until_stream_ends(&mut watch).await;
    for line in &rest {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(name) = event["object"]["metadata"]["name"].as_str() {
            assert!(
                name.starts_with("oil-"),
                "a foreign namespace in the watch: {line}"
            );
        }
    }
    eventually_lines(
        &proxy,
        &env,
        "alice",
        &["get", "ns", "-o", "name"],
        &["namespace/oil-dev", "namespace/oil-prod", "namespace/oil-tools"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_in_missing_namespaces_are_not_found_and_in_foreign_ones_forbidden() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["alice", "alice-cert"] {
        let missing = proxy
            .run(&env, identity, &["get", "configmap", "x", "-n", "does-not-exist"])
            .await;
        // kubectl follows a NotFound with a GET of the namespace to word its error; the proxy answers that one
        // with a 404 too (the namespace does not exist), as Go does.
        let err = stderr_of_failure(&missing);
        assert!(
            err.contains("(NotFound)")
                && (err.contains("configmaps \"x\" not found")
                    || err.contains("namespaces \"does-not-exist\" not found")),
            "{identity}: {err}"
        );
        let foreign = proxy
            .run(&env, identity, &["get", "configmap", "x", "-n", "gas-dev"])
            .await;
        let err = stderr_of_failure(&foreign);
        assert!(err.contains("(Forbidden)"), "{identity}: {err}");
        // In her own namespace, the object's own answer.
        let own = proxy
            .run(&env, identity, &["get", "configmap", "x", "-n", "oil-dev"])
            .await;
        let err = stderr_of_failure(&own);
        assert!(
            err.contains("(NotFound): configmaps \"x\" not found"),
            "{identity}: {err}"
        );
    }
    // Without the proxy, kube-apiserver says Forbidden for the missing namespace too.
    let direct = env
        .run("alice", &["get", "configmap", "x", "-n", "does-not-exist"])
        .await;
    assert!(stderr_of_failure(&direct).contains("(Forbidden)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reflector_adds_namespaces_where_the_caller_is_bound() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &["--enable-reflector"]).await;
    let _log = LogOnFailure(&proxy);
    let list = ["get", "ns", "-o", "name"];
    assert_eq!(proxied_lines(&proxy, &env, "alice", &list).await, OIL);
    // kubectl create sends the RoleBindings as protobuf: a User subject, and a ServiceAccount of another
    // namespace that shares alice's name.
    bind_alice_in_gas_dev(&env).await;
    support::ok(
        &env.run(
            "admin",
            &[
                "create",
                "rolebinding",
                "robots",
                "-n",
                "default",
                "--clusterrole=view",
                "--serviceaccount=kube-system:alice",
            ],
        )
        .await,
    );
    eventually_lines(
        &proxy,
        &env,
        "alice",
        &list,
        &["namespace/gas-dev", "namespace/oil-dev", "namespace/oil-prod"],
    )
    .await;
    let got = proxied_lines(&proxy, &env, "alice", &["get", "ns", "gas-dev", "-o", "name"]).await;
    assert_eq!(got, ["namespace/gas-dev"]);
    // Her `-A` reaches the namespace too (the fan-out asks about every namespace of her RoleBindings, as her).
    let all_pods = ["get", "pods", "-A", "-o", NAMESPACED_NAMES];
    assert_eq!(
        proxied_lines(&proxy, &env, "alice", &all_pods).await,
        ["gas-dev/worker", "oil-dev/web"]
    );
    // The ServiceAccount subject is kube-system's, not a user called alice: `default` stays hidden.
    let err = stderr_of_failure(&proxy.run(&env, "alice", &["get", "ns", "default"]).await);
    assert!(err.contains("(NotFound)"), "{err}");
    // Nobody else gains anything; the binding gone, the namespace goes.
    assert_eq!(proxied_lines(&proxy, &env, "bob", &list).await, GAS);
    support::ok(
        &env.run(
            "admin",
            &["delete", "rolebinding", "alice-reads-gas", "-n", "gas-dev"],
        )
        .await,
    );
    eventually_lines(&proxy, &env, "alice", &list, &OIL).await;
    assert_eq!(
        proxied_lines(&proxy, &env, "alice", &all_pods).await,
        ["oil-dev/web"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_reflector_a_rolebinding_opens_nothing() {
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    bind_alice_in_gas_dev(&env).await;
    // A change the proxy does watch, made after the binding, shows the binding had its chance to count.
    set_tenant_namespaces(&env, "oil", &["oil-dev"]).await;
    eventually_lines(
        &proxy,
        &env,
        "alice",
        &["get", "ns", "-o", "name"],
        &["namespace/oil-dev"],
    )
    .await;
}

/// Binds alice to `view` in gas-dev, another tenant's namespace (`kubectl create rolebinding`, sent as protobuf).
async fn bind_alice_in_gas_dev(env: &Env) {
    let bind = [
        "create",
        "rolebinding",
        "alice-reads-gas",
        "-n",
        "gas-dev",
        "--clusterrole=view",
        "--user=alice",
    ];
    support::ok(&env.run("admin", &bind).await);
}
