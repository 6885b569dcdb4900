//! The all-namespaces fan-out with the real `kubectl` (and raw HTTP where kubectl cannot show it): a Capsule
//! user's list or watch of a namespaced kind across all namespaces (`kubectl get pods -A`, `GET /api/v1/pods`)
//! is answered from one request per namespace of her tenants that a SubjectAccessReview lets her list, sent
//! with her own credential and merged into one answer (`<Kind>List`, Table or PartialObjectMetadataList, pages
//! with the proxy's continue tokens, one merged watch). Callers who are no Capsule users pass through
//! untouched; `--feature-gates=ProxyAllNamespaced=false` keeps Go's `capsule.clastix.io/managed-by` filter.
//!
//! Every test seeds the same pods (and, where it needs them, configmaps) as the admin, straight against
//! kube-sim: besides the demo fixture's `oil-dev/web`, `gas-dev/worker` and `kube-system/coredns`, one or two
//! named after their namespace in oil-dev, oil-prod, gas-dev and default.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::collections::BTreeSet;

use kube_sim::cluster::Options;
use serde_json::Value;
use support::capsule::{
    LogOnFailure, NAMESPACED_NAMES, OIL_UID, admin, admin_apply, describe, eventually, eventually_lines,
    item_keys, proxied_lines, query_escape, set_tenant_namespaces, start_synced, stderr_of_failure,
    tenant_namespace_yaml, until_stream_ends,
};
use support::proxy::Proxy;
use support::raw::{Conn, Response, get};
use support::{Env, LINE_DEADLINE, Streaming, lines, ok};

/// The proxy's service account, as kube-sim authenticates it.
const PROXY_SA: &str = "system:serviceaccount:capsule-system:capsule-proxy";

/// The seeded pods as `namespace/name`: the fixture's pods are `oil-dev/web`, `gas-dev/worker` and
/// `kube-system/coredns`; the tests add these.
const SEEDED_PODS: [&str; 5] = [
    "oil-dev/oil-dev-a",
    "oil-prod/oil-prod-a",
    "oil-prod/oil-prod-b",
    "gas-dev/gas-dev-a",
    "default/default-a",
];
/// The pods of alice's namespaces (tenant oil: oil-dev, oil-prod), sorted.
const ALICE_PODS: [&str; 4] = [
    "oil-dev/oil-dev-a",
    "oil-dev/web",
    "oil-prod/oil-prod-a",
    "oil-prod/oil-prod-b",
];
/// The pods of bob's (and carol's) namespace (tenant gas: gas-dev), sorted.
const BOB_PODS: [&str; 2] = ["gas-dev/gas-dev-a", "gas-dev/worker"];
/// Every pod of the cluster, sorted.
const EVERY_POD: [&str; 8] = [
    "default/default-a",
    "gas-dev/gas-dev-a",
    "gas-dev/worker",
    "kube-system/coredns",
    "oil-dev/oil-dev-a",
    "oil-dev/web",
    "oil-prod/oil-prod-a",
    "oil-prod/oil-prod-b",
];
/// The seeded configmaps as `namespace/name` (the fixture has none).
const SEEDED_CONFIGMAPS: [&str; 4] = [
    "oil-dev/oil-dev-cm",
    "oil-prod/oil-prod-cm",
    "gas-dev/gas-dev-cm",
    "default/default-cm",
];
/// The configmaps of alice's namespaces, sorted.
const ALICE_CONFIGMAPS: [&str; 2] = ["oil-dev/oil-dev-cm", "oil-prod/oil-prod-cm"];
/// alice's namespaces.
const ALICE_NAMESPACES: [&str; 2] = ["oil-dev", "oil-prod"];
/// `Accept` of a metadata-only list (as client-go's metadata client and kube-rs' metadata API send it).
const ACCEPT_METADATA_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
/// `kubectl get` printing one `namespace/name` line per object of a watch (each object on its own, not a list).
const WATCHED_NAMES: &str = "jsonpath={.metadata.namespace}/{.metadata.name}{\"\\n\"}";

// --- setup ---------------------------------------------------------------------------------------------------

/// A Pod manifest for `key` (`namespace/name`): one container, labelled `app: <name>`.
fn pod_yaml(key: &str) -> String {
    let (namespace, name) = key.split_once('/').unwrap();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels: {{app: {name}}}\n\
         spec:\n  containers:\n  - {{name: app, image: busybox:1.36}}\n"
    )
}

/// Creates `keys` (`namespace/name`) as pods, as the admin straight against kube-sim.
async fn create_pods(env: &Env, keys: &[&str]) {
    let docs: Vec<String> = keys.iter().map(|key| pod_yaml(key)).collect();
    admin_apply(env, &docs.join("---\n")).await;
}

/// Creates [`SEEDED_PODS`].
async fn seed_pods(env: &Env) {
    create_pods(env, &SEEDED_PODS).await;
}

/// Creates [`SEEDED_CONFIGMAPS`], as the admin straight against kube-sim.
async fn seed_configmaps(env: &Env) {
    let docs: Vec<String> = SEEDED_CONFIGMAPS
        .iter()
        .map(|key| {
            let (namespace, name) = key.split_once('/').unwrap();
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n\
                 data: {{secret-of: {namespace}}}\n"
            )
        })
        .collect();
    admin_apply(env, &docs.join("---\n")).await;
}

/// kube-sim with the demo cluster and [`SEEDED_PODS`], and the proxy (with `args`) holding its first snapshot.
async fn seeded(args: &[&str]) -> (Env, Proxy) {
    let env = Env::start().await;
    seed_pods(&env).await;
    let proxy = start_synced(&env, args).await;
    (env, proxy)
}

// --- reading answers -----------------------------------------------------------------------------------------

/// The `namespace/name` of every data row of `kubectl get … -A` tables (the default output; `get all` prints one
/// table per kind, each with its header), sorted. Panics unless every table's first column is NAMESPACE.
fn table_rows(stdout: &str) -> Vec<String> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in stdout.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        match cells.as_slice() {
            [] => in_table = false,
            ["NAMESPACE", "NAME", ..] => in_table = true,
            [namespace, name, ..] if in_table => rows.push(format!("{namespace}/{name}")),
            _ => panic!("a line outside a NAMESPACE table: {line:?} in\n{stdout}"),
        }
    }
    rows.sort();
    rows
}

/// The `namespace/name` of every item of a JSON list, sorted.
fn sorted_item_keys(list: &Value) -> Vec<String> {
    let mut keys = item_keys(list);
    keys.sort();
    keys
}

/// The JSON stdout of a successful kubectl run.
fn ok_json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", describe(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(out)))
}

/// `GET path` with alice's bearer token and exactly one `Accept` header, `accept`.
async fn get_as_alice_accepting(conn: &mut Conn, path: &str, accept: &str) -> Response {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: kubernetes\r\nAccept: {accept}\r\nAuthorization: Bearer alice-token\r\n\r\n"
    );
    conn.exchange(&request).await
}

// --- lists with kubectl --------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_sees_exactly_her_namespaces_pods_with_get_pods_all_namespaces() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["alice", "alice-cert"] {
        let out = proxy.run(&env, identity, &["get", "pods", "-A"]).await;
        let table = ok(&out);
        // One merged table: one header, the NAMESPACE column naming only her namespaces.
        let headers = table.lines().filter(|l| l.starts_with("NAMESPACE")).count();
        assert_eq!(headers, 1, "{identity}: one table: {}", describe(&out));
        assert_eq!(table_rows(&table), ALICE_PODS, "{identity}:\n{table}");
        // The same set by name.
        let names = proxied_lines(
            &proxy,
            &env,
            identity,
            &["get", "pods", "-A", "-o", NAMESPACED_NAMES],
        )
        .await;
        assert_eq!(names, ALICE_PODS, "{identity}");
    }
    // kube-sim answered one list per namespace of hers, never a list across all namespaces (the proxy's
    // included); the token user's lists went with her own token, the certificate user's impersonated.
    let audit = env.sim.audit();
    let pod_lists: Vec<_> = audit
        .iter()
        .filter(|e| e.resource == "pods" && e.verb == "list")
        .collect();
    assert!(
        pod_lists.iter().all(|e| e.path != "/api/v1/pods"),
        "no list of pods across all namespaces reached kube-sim: {pod_lists:#?}"
    );
    for namespace in ALICE_NAMESPACES {
        let path = format!("/api/v1/namespaces/{namespace}/pods");
        let by_token = pod_lists
            .iter()
            .any(|e| e.path == path && e.user == "alice" && e.impersonator.is_none() && e.code == 200);
        assert!(
            by_token,
            "alice listed {namespace} with her token: {pod_lists:#?}"
        );
        let by_cert = pod_lists
            .iter()
            .any(|e| e.path == path && e.user == "alice" && e.impersonator.as_deref() == Some(PROXY_SA));
        assert!(
            by_cert,
            "alice-cert listed {namespace} impersonated: {pod_lists:#?}"
        );
    }
    for entry in &pod_lists {
        let namespace = entry.path.split('/').nth(4).unwrap_or_default();
        assert!(
            ALICE_NAMESPACES.contains(&namespace),
            "a pod list outside alice's namespaces: {entry:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_and_his_group_see_exactly_gas_dev_pods_with_get_pods_all_namespaces() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    // bob owns gas as a user, carol through the owner group gas-ops.
    for identity in ["bob", "bob-cert", "carol"] {
        let table = ok(&proxy.run(&env, identity, &["get", "pods", "-A"]).await);
        assert_eq!(table_rows(&table), BOB_PODS, "{identity}:\n{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dave_who_is_no_capsule_user_is_forbidden_as_by_the_api_server() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    for args in [
        &["get", "pods", "-A"][..],
        &["get", "pods", "-A", "-o", "json"],
        &["get", "configmaps", "-A"],
    ] {
        let direct = stderr_of_failure(&env.run("dave", args).await);
        assert!(
            direct.contains("(Forbidden)") && direct.contains("at the cluster scope"),
            "{args:?}: {direct}"
        );
        for identity in ["dave", "dave-cert"] {
            let through = stderr_of_failure(&proxy.run(&env, identity, args).await);
            assert_eq!(through, direct, "{identity} {args:?}");
        }
    }
    // Passed through: kube-sim refused dave's lists across all namespaces, and was asked nothing per namespace.
    let audit = env.sim.audit();
    let dave: Vec<_> = audit.iter().filter(|e| e.user == "dave").collect();
    assert!(
        dave.iter()
            .filter(|e| e.verb == "list")
            .all(|e| !e.path.starts_with("/api/v1/namespaces/") && e.code == 403),
        "{dave:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_sees_every_pod_passed_through_unchanged() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    let table = ok(&proxy.run(&env, "admin", &["get", "pods", "-A"]).await);
    assert_eq!(table_rows(&table), EVERY_POD, "{table}");
    let names = proxied_lines(
        &proxy,
        &env,
        "admin",
        &["get", "pods", "-A", "-o", NAMESPACED_NAMES],
    )
    .await;
    assert_eq!(names, EVERY_POD);
    // The PodList is kube-sim's own (same resourceVersion, same items), from one list across all namespaces.
    let raw = ["get", "--raw", "/api/v1/pods"];
    let through = ok_json(&proxy.run(&env, "admin", &raw).await);
    let direct = ok_json(&env.run("admin", &raw).await);
    assert_eq!(through, direct);
    let audit = env.sim.audit();
    let admin_lists: Vec<_> = audit
        .iter()
        .filter(|e| e.user == "admin" && e.resource == "pods" && e.verb == "list")
        .collect();
    assert!(
        admin_lists.iter().all(|e| e.path == "/api/v1/pods"),
        "{admin_lists:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_gets_one_pod_list_with_a_resource_version_as_json() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    // `-o json`: kubectl prints the items it got (as a `List` of its own).
    let printed = ok_json(
        &proxy
            .run(&env, "alice", &["get", "pods", "-A", "-o", "json"])
            .await,
    );
    assert_eq!(sorted_item_keys(&printed), ALICE_PODS, "{printed}");
    for item in printed["items"].as_array().unwrap() {
        assert_eq!(item["kind"], "Pod", "{item}");
        assert_eq!(item["apiVersion"], "v1", "{item}");
    }
    // The proxy's answer itself: one PodList with a resourceVersion.
    let list = ok_json(&proxy.run(&env, "alice", &["get", "--raw", "/api/v1/pods"]).await);
    assert_eq!(list["kind"], "PodList", "{list}");
    assert_eq!(list["apiVersion"], "v1", "{list}");
    let version = list["metadata"]["resourceVersion"].as_str().unwrap_or_default();
    assert!(!version.is_empty(), "a resourceVersion: {list}");
    assert!(
        list["metadata"]["continue"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "a whole list has no continue token: {list}"
    );
    assert_eq!(sorted_item_keys(&list), ALICE_PODS, "{list}");
}

// --- pages ---------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_pages_through_her_pods_with_chunk_size_and_the_proxys_continue_tokens() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    let whole = ok(&proxy.run(&env, "alice", &["get", "pods", "-A"]).await);
    assert_eq!(table_rows(&whole), ALICE_PODS, "{whole}");
    // kubectl asks for one object a page and follows the continue tokens until there are none.
    let out = proxy
        .run(&env, "alice", &["get", "pods", "-A", "--chunk-size=1", "-v=6"])
        .await;
    let chunked = ok(&out);
    assert_eq!(table_rows(&chunked), ALICE_PODS, "{}", describe(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    let followed = log
        .lines()
        .filter(|l| l.contains("/api/v1/pods?") && l.contains("continue="))
        .count();
    assert!(
        followed >= ALICE_PODS.len() - 1,
        "kubectl followed a continue token per further page:\n{log}"
    );
    // The same as alice-cert, by name.
    let names = proxied_lines(
        &proxy,
        &env,
        "alice-cert",
        &["get", "pods", "-A", "--chunk-size=1", "-o", NAMESPACED_NAMES],
    )
    .await;
    assert_eq!(names, ALICE_PODS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_pages_of_one_pod_hold_each_of_alices_pods_exactly_once() {
    let (_env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/api/v1/pods?limit=1".to_string();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 4 * ALICE_PODS.len(), "the pages never ended: {seen:?}");
        let page = conn
            .exchange(&get(&path, Some("alice-token")))
            .await
            .expect_ok_json(200);
        assert_eq!(page["kind"], "PodList", "{page}");
        assert_eq!(page["apiVersion"], "v1", "{page}");
        let items = page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("items: {page}"));
        assert!(
            items.len() <= 1,
            "a page of limit=1 holds one object at most: {page}"
        );
        seen.extend(sorted_item_keys(&page));
        match page["metadata"]["continue"].as_str() {
            Some(token) if !token.is_empty() => {
                path = format!("/api/v1/pods?limit=1&continue={}", query_escape(token));
            }
            _ => break,
        }
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "an object on two pages: {seen:?}");
    seen.sort();
    assert_eq!(seen, ALICE_PODS);
    assert!(pages >= ALICE_PODS.len(), "{pages} pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_or_foreign_continue_token_is_a_bad_request() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    // A token of kube-sim's own, for one namespace's list: not one the proxy gave out.
    let direct = ok_json(
        &env.run(
            "alice",
            &["get", "--raw", "/api/v1/namespaces/oil-prod/pods?limit=1"],
        )
        .await,
    );
    let foreign = direct["metadata"]["continue"]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| panic!("kube-sim gave a continue token: {direct}"))
        .to_string();
    let mut conn = Conn::open(&proxy).await;
    for token in ["garbage", foreign.as_str()] {
        let path = format!("/api/v1/pods?limit=1&continue={}", query_escape(token));
        let response = conn.exchange(&get(&path, Some("alice-token"))).await;
        assert_eq!(response.status, 400, "continue={token}: {}", response.text());
        let status = response.expect_status(400);
        assert_eq!(status["reason"], "BadRequest", "{token}: {status}");
    }
    // Through kubectl: a BadRequest.
    let err = stderr_of_failure(
        &proxy
            .run(
                &env,
                "alice",
                &["get", "--raw", "/api/v1/pods?limit=1&continue=garbage"],
            )
            .await,
    );
    assert!(err.contains("(BadRequest)"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continue_token_whose_upstream_list_expired_is_410_expired() {
    // kube-sim keeps few events, so a handful of writes makes an old list's continue token expire.
    let env = Env::start_with(Options {
        history_limit: 4,
        ..Options::default()
    })
    .await;
    seed_pods(&env).await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    // Both of alice's namespaces hold two pods: the first page of one pod stops inside a namespace's list.
    let first = conn
        .exchange(&get("/api/v1/pods?limit=1", Some("alice-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(sorted_item_keys(&first).len(), 1, "{first}");
    let token = first["metadata"]["continue"]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| panic!("a continue token after the first page: {first}"))
        .to_string();
    // The same, straight against kube-sim, as the premise: a namespace's continue token before the writes.
    let direct_first = ok_json(
        &env.run(
            "alice",
            &["get", "--raw", "/api/v1/namespaces/oil-prod/pods?limit=1"],
        )
        .await,
    );
    let direct_token = direct_first["metadata"]["continue"].as_str().unwrap().to_string();

    let configmaps: Vec<String> = (0..10)
        .map(|i| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: churn-{i}, namespace: default}}\n")
        })
        .collect();
    admin_apply(&env, &configmaps.join("---\n")).await;

    let direct = env
        .run(
            "alice",
            &[
                "get",
                "--raw",
                &format!(
                    "/api/v1/namespaces/oil-prod/pods?limit=1&continue={}",
                    query_escape(&direct_token)
                ),
            ],
        )
        .await;
    assert!(
        stderr_of_failure(&direct).contains("(Expired)"),
        "kube-sim expired its own token: {}",
        describe(&direct)
    );
    let path = format!("/api/v1/pods?limit=1&continue={}", query_escape(&token));
    let response = conn.exchange(&get(&path, Some("alice-token"))).await;
    assert_eq!(response.status, 410, "an expired page: {}", response.text());
    let status = response.expect_status(410);
    assert_eq!(status["reason"], "Expired", "{status}");
}

// --- other kinds and forms -----------------------------------------------------------------------------------

/// A namespaced custom resource kind in the `all` category, `gadgets.example.com`.
const GADGET_CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList, categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_sees_every_kind_of_get_all_in_her_namespaces_only() {
    let env = Env::start().await;
    seed_pods(&env).await;
    admin_apply(&env, GADGET_CRD).await;
    // A gadget in each tenant namespace; alice and bob may read gadgets where they own the namespace.
    let gadgets: String = ["oil-dev", "oil-prod", "gas-dev"]
        .iter()
        .map(|ns| {
            format!(
                "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {{name: g-{ns}, namespace: {ns}}}\n---\n"
            )
        })
        .collect();
    let file = env.file("gadgets.yaml", &gadgets);
    eventually("the admin creates gadgets", async || {
        let out = env.run("admin", &["apply", "-f", file.to_str().unwrap()]).await;
        if out.status.success() {
            Ok(())
        } else {
            Err(describe(&out))
        }
    })
    .await;
    let mut rbac = String::from(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: gadget-reader}\nrules:\n\
         - {apiGroups: [example.com], resources: [gadgets], verbs: [get, list, watch]}\n",
    );
    for (namespace, user) in [("oil-dev", "alice"), ("oil-prod", "alice"), ("gas-dev", "bob")] {
        rbac.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n\
             metadata: {{name: gadget-reader, namespace: {namespace}}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gadget-reader}}\n\
             subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]\n"
        ));
    }
    admin_apply(&env, &rbac).await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);

    let table = ok(&proxy.run(&env, "alice", &["get", "all", "-A"]).await);
    let mut expected: Vec<String> = ALICE_PODS
        .iter()
        .map(|key| {
            let (namespace, name) = key.split_once('/').unwrap();
            format!("{namespace}/pod/{name}")
        })
        .collect();
    expected.extend([
        "oil-dev/gadget.example.com/g-oil-dev".to_string(),
        "oil-prod/gadget.example.com/g-oil-prod".to_string(),
    ]);
    expected.sort();
    assert_eq!(table_rows(&table), expected, "{table}");
    assert!(!table.contains("gas-dev"), "{table}");
    // The admin, passed through, sees the gas one too.
    let all = ok(&proxy.run(&env, "admin", &["get", "all", "-A"]).await);
    assert!(
        table_rows(&all).contains(&"gas-dev/gadget.example.com/g-gas-dev".to_string()),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_gets_a_metadata_only_list_of_her_namespaces_configmaps() {
    let env = Env::start().await;
    seed_configmaps(&env).await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    let response = get_as_alice_accepting(&mut conn, "/api/v1/configmaps", ACCEPT_METADATA_LIST).await;
    let list = response.expect_ok_json(200);
    assert!(
        response
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "{response:?}"
    );
    assert_eq!(list["kind"], "PartialObjectMetadataList", "{list}");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1", "{list}");
    assert!(
        !list["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{list}"
    );
    assert_eq!(sorted_item_keys(&list), ALICE_CONFIGMAPS, "{list}");
    for item in list["items"].as_array().unwrap() {
        assert_eq!(item["kind"], "PartialObjectMetadata", "{item}");
        assert_eq!(item["apiVersion"], "meta.k8s.io/v1", "{item}");
        assert!(item.get("data").is_none(), "metadata only: {item}");
    }
    // As plain JSON, the same configmaps with their data.
    let full = conn
        .exchange(&get("/api/v1/configmaps", Some("alice-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(full["kind"], "ConfigMapList", "{full}");
    assert_eq!(sorted_item_keys(&full), ALICE_CONFIGMAPS, "{full}");
}

// --- watches -------------------------------------------------------------------------------------------------

/// The next line of a running watch, within the line deadline; panics with `waiting_for` when it ends or
/// stays silent.
async fn next_watch_line(watch: &mut Streaming, waiting_for: &str) -> String {
    match tokio::time::timeout(LINE_DEADLINE, watch.stdout.next_line()).await {
        Ok(Ok(Some(line))) => line,
        Ok(Ok(None)) => panic!("the watch ended; {waiting_for}"),
        Ok(Err(e)) => panic!("reading the watch: {e}; {waiting_for}"),
        Err(_) => panic!("nothing more from the watch within {LINE_DEADLINE:?}; {waiting_for}"),
    }
}

/// Reads `namespace/name` lines of a running watch until every one of `wanted` was seen; panics on a line
/// outside `allowed` namespaces. Returns every line read.
async fn watch_until(watch: &mut Streaming, wanted: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut missing: BTreeSet<&str> = wanted.iter().copied().collect();
    while !missing.is_empty() {
        let line = next_watch_line(watch, &format!("still missing {missing:?}, seen {seen:?}")).await;
        let namespace = line.split('/').next().unwrap_or_default();
        assert!(
            allowed.contains(&namespace),
            "a pod outside {allowed:?} in the watch: {line:?} (seen {seen:?})"
        );
        missing.remove(line.as_str());
        seen.push(line);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_watches_her_namespaces_pods_and_never_sees_gas_dev() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    let mut cmd = proxy.kubectl(&env, "alice");
    cmd.args(["get", "pods", "-A", "-w", "-o", WATCHED_NAMES]);
    let mut watch = Streaming::spawn(cmd);
    // The list before the watch.
    watch_until(&mut watch, &ALICE_PODS, &ALICE_NAMESPACES).await;

    create_pods(&env, &["oil-prod/oil-prod-new"]).await;
    watch_until(&mut watch, &["oil-prod/oil-prod-new"], &ALICE_NAMESPACES).await;

    // A gas pod, then one more pod in each of her namespaces: once both show, the gas one had every chance.
    create_pods(&env, &["gas-dev/gas-dev-new"]).await;
    create_pods(&env, &["oil-dev/oil-dev-late", "oil-prod/oil-prod-late"]).await;
    watch_until(
        &mut watch,
        &["oil-dev/oil-dev-late", "oil-prod/oil-prod-late"],
        &ALICE_NAMESPACES,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_watches_with_the_default_table_output() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    let mut cmd = proxy.kubectl(&env, "alice");
    cmd.args(["get", "pods", "-A", "-w", "--output-watch-events"]);
    let mut watch = Streaming::spawn(cmd);
    let header = next_watch_line(&mut watch, "the table header").await;
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        columns.get(..3),
        Some(&["EVENT", "NAMESPACE", "NAME"][..]),
        "{header}"
    );
    let mut rows = Vec::new();
    while rows.len() < ALICE_PODS.len() {
        rows.push(next_event_row(&mut watch, &rows).await);
    }
    let mut initial = rows.clone();
    initial.sort();
    let expected: Vec<String> = ALICE_PODS.iter().map(|key| format!("ADDED {key}")).collect();
    assert_eq!(initial, expected);
    create_pods(&env, &["gas-dev/gas-dev-new", "oil-dev/oil-dev-new"]).await;
    while !rows.iter().any(|r| r == "ADDED oil-dev/oil-dev-new") {
        rows.push(next_event_row(&mut watch, &rows).await);
    }
}

/// The next `EVENT NAMESPACE NAME …` row of a `kubectl get -A -w --output-watch-events` table, as
/// `EVENT namespace/name`; panics on a namespace not alice's (`before`: the rows read so far).
async fn next_event_row(watch: &mut Streaming, before: &[String]) -> String {
    let line = next_watch_line(watch, &format!("a row after {before:?}")).await;
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert!(cells.len() >= 3, "a row: {line:?}");
    assert!(
        ALICE_NAMESPACES.contains(&cells[1]),
        "a pod outside alice's namespaces: {line:?} after {before:?}"
    );
    format!("{} {}/{}", cells[0], cells[1], cells[2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alices_watch_ends_expired_when_her_tenant_loses_a_namespace() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    let mut cmd = proxy.kubectl(&env, "alice");
    cmd.args(["get", "--raw", "/api/v1/pods?watch=true"]);
    let mut watch = Streaming::spawn(cmd);
    let mut added = Vec::new();
    while added.len() < ALICE_PODS.len() {
        let line = next_watch_line(&mut watch, &format!("an event after {added:?}")).await;
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(event["type"], "ADDED", "{line}");
        let meta = &event["object"]["metadata"];
        added.push(format!(
            "{}/{}",
            meta["namespace"].as_str().unwrap(),
            meta["name"].as_str().unwrap()
        ));
    }
    added.sort();
    assert_eq!(added, ALICE_PODS, "the watch starts with her pods");

    set_tenant_namespaces(&env, "oil", &["oil-dev"]).await;
    let rest = until_stream_ends(&mut watch).await;
    let events: Vec<Value> = rest
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    for event in &events {
        if let Some(namespace) = event["object"]["metadata"]["namespace"].as_str() {
            assert!(ALICE_NAMESPACES.contains(&namespace), "{event}");
        }
    }
    let last = events
        .last()
        .unwrap_or_else(|| panic!("an event before the end: {rest:?}"));
    assert_eq!(last["type"], "ERROR", "{last}");
    assert_eq!(last["object"]["kind"], "Status", "{last}");
    assert_eq!(last["object"]["code"], 410, "{last}");
    assert_eq!(last["object"]["reason"], "Expired", "{last}");
    // The next list follows her new namespaces.
    eventually_lines(
        &proxy,
        &env,
        "alice",
        &["get", "pods", "-A", "-o", NAMESPACED_NAMES],
        &["oil-dev/oil-dev-a", "oil-dev/web"],
    )
    .await;
}

// --- RBAC inside a tenant ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_namespace_where_rbac_denies_listing_is_left_out() {
    let (env, proxy) = seeded(&[]).await;
    let _log = LogOnFailure(&proxy);
    // Capsule made oil-locked for the oil tenant, but alice has no RoleBinding there.
    admin_apply(&env, &tenant_namespace_yaml("oil-locked", "oil", OIL_UID)).await;
    set_tenant_namespaces(&env, "oil", &["oil-dev", "oil-prod", "oil-locked"]).await;
    create_pods(&env, &["oil-locked/locked-a"]).await;
    let direct = stderr_of_failure(&env.run("alice", &["get", "pods", "-n", "oil-locked"]).await);
    assert!(direct.contains("(Forbidden)"), "{direct}");
    // The list above went straight to kube-sim: only what the proxy sends from here on counts.
    let before = env.sim.audit().len();
    // The proxy knows the namespace is hers.
    eventually_lines(
        &proxy,
        &env,
        "alice",
        &["get", "ns", "-o", "name"],
        &["namespace/oil-dev", "namespace/oil-locked", "namespace/oil-prod"],
    )
    .await;

    let table = ok(&proxy.run(&env, "alice", &["get", "pods", "-A"]).await);
    assert_eq!(table_rows(&table), ALICE_PODS, "{table}");
    let list = ok_json(&proxy.run(&env, "alice", &["get", "--raw", "/api/v1/pods"]).await);
    assert_eq!(sorted_item_keys(&list), ALICE_PODS, "{list}");
    // The SubjectAccessReview said no: no list of oil-locked was sent on her behalf.
    let audit = env.sim.audit();
    let locked: Vec<_> = audit[before..]
        .iter()
        .filter(|e| e.user == "alice" && e.path.starts_with("/api/v1/namespaces/oil-locked/pods"))
        .filter(|e| e.verb == "list")
        .collect();
    assert!(locked.is_empty(), "{locked:#?}");
}

// --- Go's behaviour behind the gate --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_gate_off_alice_sees_only_pods_labelled_managed_by_her_tenant() {
    let (env, proxy) = seeded(&["--feature-gates=ProxyAllNamespaced=false"]).await;
    let _log = LogOnFailure(&proxy);
    let out = proxy.run(&env, "alice", &["get", "pods", "-A"]).await;
    assert_eq!(ok(&out), "", "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No resources found"), "{err}");

    admin(
        &env,
        &[
            "label",
            "pod",
            "oil-prod-a",
            "-n",
            "oil-prod",
            "capsule.clastix.io/managed-by=oil",
        ],
    )
    .await;
    let table = ok(&proxy.run(&env, "alice", &["get", "pods", "-A"]).await);
    assert_eq!(table_rows(&table), ["oil-prod/oil-prod-a"], "{table}");
    let names = lines(&ok(&proxy
        .run(&env, "alice", &["get", "pods", "-A", "-o", NAMESPACED_NAMES])
        .await));
    assert_eq!(names, ["oil-prod/oil-prod-a"]);
}
