//! The real `kubectl` through `capsule-proxy` to kube-sim: every request passes through unchanged, callers
//! keep their identity.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use serde_json::{Value, json};
use support::proxy::Proxy;
use support::{Env, LINE_DEADLINE, Streaming, failed, lines, ok};

/// The proxy's service account, as kube-sim authenticates it.
const PROXY_SA: &str = "system:serviceaccount:capsule-system:capsule-proxy";

/// Prints the proxy's log when the test fails while it is held.
struct LogOnFailure<'p>(&'p Proxy);

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- capsule-proxy log ---\n{}--- end of log ---", self.0.log());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_certificate_users_list_through_the_proxy() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["alice", "alice-cert"] {
        let pods = ok(&proxy
            .run(&env, identity, &["get", "pods", "-n", "oil-dev", "-o", "name"])
            .await);
        assert_eq!(lines(&pods), ["pod/web"], "{identity}");
    }
    let audit = env.sim.audit();
    let token = audit
        .iter()
        .find(|e| e.user == "alice" && e.impersonator.is_none());
    assert!(
        token.is_some(),
        "the token user reached kube-sim as herself: {audit:?}"
    );
    let cert = audit
        .iter()
        .find(|e| e.user == "alice" && e.impersonator.as_deref() == Some(PROXY_SA));
    assert!(
        cert.is_some(),
        "the certificate user was impersonated by the proxy: {audit:?}"
    );
}

/// apply (create, then update), patch, label, get, delete of a ConfigMap in oil-dev as `identity`, through
/// the proxy; then checks kube-sim's audit: every write reached it as alice, impersonated by `impersonator`.
async fn configmap_lifecycle(identity: &str, impersonator: Option<&str>) {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let name = "settings";
    let manifest = |mode: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: oil-dev\n  labels: {{app: web}}\n\
             data:\n  mode: {mode}\n"
        )
    };
    let file = env.file("cm.yaml", &manifest("blue"));
    let file = file.to_str().unwrap();
    let created = ok(&proxy.run(&env, identity, &["apply", "-f", file]).await);
    assert_eq!(created.trim(), format!("configmap/{name} created"));
    env.file("cm.yaml", &manifest("green"));
    let updated = ok(&proxy.run(&env, identity, &["apply", "-f", file]).await);
    assert_eq!(updated.trim(), format!("configmap/{name} configured"));

    let patched = ok(&proxy
        .run(
            &env,
            identity,
            &[
                "patch",
                "cm",
                name,
                "-n",
                "oil-dev",
                "-p",
                r#"{"data":{"size":"large"}}"#,
            ],
        )
        .await);
    assert_eq!(patched.trim(), format!("configmap/{name} patched"));
    let labeled = ok(&proxy
        .run(
            &env,
            identity,
            &["label", "cm", name, "-n", "oil-dev", "tier=gold"],
        )
        .await);
    assert_eq!(labeled.trim(), format!("configmap/{name} labeled"));

    let cm = ok(&proxy
        .run(
            &env,
            identity,
            &["get", "cm", name, "-n", "oil-dev", "-o", "json"],
        )
        .await);
    let cm: Value = serde_json::from_str(&cm).unwrap();
    assert_eq!(cm["data"], json!({"mode": "green", "size": "large"}), "{cm}");
    assert_eq!(
        cm["metadata"]["labels"],
        json!({"app": "web", "tier": "gold"}),
        "{cm}"
    );
    // kube-sim holds the same object.
    let listed = ok(&proxy
        .run(&env, identity, &["get", "cm", "-n", "oil-dev", "-o", "name"])
        .await);
    assert!(lines(&listed).contains(&format!("configmap/{name}")), "{listed}");

    let deleted = ok(&proxy
        .run(&env, identity, &["delete", "cm", name, "-n", "oil-dev"])
        .await);
    assert_eq!(deleted.trim(), format!("configmap \"{name}\" deleted"));
    let gone = failed(
        &proxy
            .run(&env, identity, &["get", "cm", name, "-n", "oil-dev"])
            .await,
    );
    assert!(
        gone.contains(&format!(
            "Error from server (NotFound): configmaps \"{name}\" not found"
        )),
        "{gone}"
    );

    // The audit: each write, as alice, impersonated (or not) as expected; no configmap request went any other
    // way.
    let audit = env.sim.audit();
    let configmaps: Vec<_> = audit.iter().filter(|e| e.resource == "configmaps").collect();
    for entry in &configmaps {
        assert_eq!(entry.user, "alice", "{entry:?}");
        assert_eq!(entry.impersonator.as_deref(), impersonator, "{entry:?}");
        assert!(
            entry.groups.iter().any(|g| g == "projectcapsule.dev"),
            "{entry:?}"
        );
    }
    let collection = "/api/v1/namespaces/oil-dev/configmaps";
    let object = format!("{collection}/{name}");
    let codes = |verb: &str| -> Vec<u16> {
        let path = if verb == "create" {
            collection
        } else {
            object.as_str()
        };
        configmaps
            .iter()
            .filter(|e| e.verb == verb && e.path == path)
            .map(|e| e.code)
            .collect()
    };
    assert_eq!(codes("create"), [201], "{configmaps:#?}");
    // Second apply, patch, label.
    assert_eq!(codes("patch"), [200, 200, 200], "{configmaps:#?}");
    assert_eq!(codes("delete"), [200], "{configmaps:#?}");
    let gets = codes("get");
    assert_eq!(gets.last(), Some(&404), "{configmaps:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_user_writes_reach_the_api_server_as_herself() {
    configmap_lifecycle("alice", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_user_writes_are_impersonated_by_the_proxy() {
    configmap_lifecycle("alice-cert", Some(PROXY_SA)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_whoami_shows_the_certificate_identity() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let whoami = ok(&proxy
        .run(&env, "alice-cert", &["auth", "whoami", "-o", "json"])
        .await);
    let whoami: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(whoami["status"]["userInfo"]["username"], "alice", "{whoami}");
    assert_eq!(
        whoami["status"]["userInfo"]["groups"],
        json!(["projectcapsule.dev", "system:authenticated"]),
        "{whoami}"
    );
    let table = ok(&proxy.run(&env, "alice-cert", &["auth", "whoami"]).await);
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().eq(["Username", "alice"])),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_pods_watch_relays_events_as_they_happen() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["alice", "alice-cert"] {
        let mut cmd = proxy.kubectl(&env, identity);
        cmd.args(["get", "pods", "-n", "oil-dev", "-w", "--output-watch-events"]);
        let mut watch = Streaming::spawn(cmd);
        let header = watch.next_line().await.unwrap();
        assert!(
            header
                .split_whitespace()
                .eq(["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]),
            "{header}"
        );
        let web = watch.next_line().await.unwrap();
        assert!(web.starts_with("ADDED "), "{web}");
        assert_eq!(web.split_whitespace().nth(1), Some("web"), "{web}");
        // Created only once the list was printed: the line can only come from the relayed watch stream.
        let pod = format!("late-{}", identity.replace("-cert", "-c"));
        // The EVENT column of a line about that pod.
        let event_of = |line: &str| -> Option<String> {
            let mut words = line.split_whitespace();
            let event = words.next()?;
            (words.next()? == pod).then(|| event.to_string())
        };
        env.sim
            .apply(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": "oil-dev"},
                "spec": {"containers": [{"name": "app", "image": "busybox"}]}}))
            .unwrap();
        let added = watch.until(|l| event_of(l).is_some()).await;
        assert_eq!(event_of(&added).as_deref(), Some("ADDED"), "{added}");
        // Still live: the deletion is relayed too.
        env.sim.delete("v1", "Pod", "oil-dev", &pod).unwrap();
        let deleted = watch.until(|l| event_of(l).is_some()).await;
        assert_eq!(event_of(&deleted).as_deref(), Some("DELETED"), "{deleted}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_relays_new_lines_and_ends_with_the_pod() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let mut cmd = proxy.kubectl(&env, "alice-cert");
    cmd.args(["logs", "-f", "web", "-n", "oil-dev"]);
    let mut logs = Streaming::spawn(cmd);
    assert_eq!(logs.next_line().await.as_deref(), Some("nginx: starting"));
    assert_eq!(logs.next_line().await.as_deref(), Some("nginx: listening on :80"));
    for line in ["GET / 200", "GET /health 200"] {
        env.sim.append_log("oil-dev", "web", line);
        assert_eq!(logs.next_line().await.as_deref(), Some(line));
    }
    env.sim.delete("v1", "Pod", "oil-dev", "web").unwrap();
    assert_eq!(logs.next_line().await, None, "the stream ends with the pod");
    let status = tokio::time::timeout(LINE_DEADLINE, logs.child.wait())
        .await
        .expect("kubectl logs -f exited once the pod was gone")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_commands_for_token_and_certificate_users() {
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for identity in ["alice", "alice-cert"] {
        let out = ok(&proxy
            .run(
                &env,
                identity,
                &["exec", "-n", "oil-dev", "web", "--", "echo", "hi"],
            )
            .await);
        assert_eq!(out, "hi\n", "{identity}");
        let failing = proxy
            .run(&env, identity, &["exec", "-n", "oil-dev", "web", "--", "false"])
            .await;
        assert_eq!(
            failing.status.code(),
            Some(1),
            "{identity}: {}",
            String::from_utf8_lossy(&failing.stderr)
        );
    }
    let execs: Vec<_> = env
        .sim
        .audit()
        .into_iter()
        .filter(|e| e.path.ends_with("/pods/web/exec"))
        .collect();
    assert!(
        execs
            .iter()
            .any(|e| e.user == "alice" && e.impersonator.is_none()),
        "{execs:#?}"
    );
    assert!(
        execs
            .iter()
            .any(|e| e.user == "alice" && e.impersonator.as_deref() == Some(PROXY_SA)),
        "{execs:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_list_streams_through_in_little_memory() {
    const COUNT: usize = 200;
    const VALUE_BYTES: usize = 100 * 1024;
    let env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    for i in 0..COUNT {
        // Different contents per object, so nothing compresses into a repeat.
        let value: String = std::iter::repeat_n(format!("{i:04}-abcdefghij-"), VALUE_BYTES / 16).collect();
        env.sim
            .apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("big-{i:03}"), "namespace": "oil-prod"},
                "data": {"blob": value}}))
            .unwrap();
    }
    // Warm up (TLS sessions, discovery), so the list is all that can raise the peak afterwards.
    ok(&proxy
        .run(
            &env,
            "admin",
            &["get", "configmaps", "-n", "oil-dev", "-o", "name"],
        )
        .await);
    let before = proxy.peak_rss_kib();
    let out = proxy
        .run(&env, "admin", &["get", "configmaps", "-A", "-o", "json"])
        .await;
    let json = ok(&out);
    assert!(json.len() >= 20_000_000, "{} bytes", json.len());
    let list: Value = serde_json::from_str(&json).unwrap();
    let items = list["items"].as_array().unwrap();
    let big: Vec<&Value> = items
        .iter()
        .filter(|i| i["metadata"]["name"].as_str().unwrap().starts_with("big-"))
        .collect();
    assert_eq!(big.len(), COUNT);
    for item in &big {
        assert_eq!(
            item["data"]["blob"].as_str().unwrap().len(),
            VALUE_BYTES / 16 * 16
        );
    }
    let peak = proxy.peak_rss_kib();
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
    // A buffered body would have added its 20 MB; a relayed one adds next to nothing.
    assert!(
        peak - before < 8 * 1024,
        "the list raised the peak RSS from {before} to {peak} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_outage_ends_watches_and_the_proxy_recovers() {
    let mut env = Env::start().await;
    let proxy = Proxy::start(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let get_ns = ["get", "ns", "oil-dev", "-o", "name"];
    // Warm the discovery cache and the proxy's upstream pool: the pooled connections go stale below.
    assert_eq!(
        ok(&proxy.run(&env, "admin", &get_ns).await).trim(),
        "namespace/oil-dev"
    );

    let mut cmd = proxy.kubectl(&env, "alice");
    cmd.args(["get", "pods", "-n", "oil-dev", "-w", "-o", "name"]);
    let mut watch = Streaming::spawn(cmd);
    assert_eq!(watch.next_line().await.as_deref(), Some("pod/web"));
    env.sim.stop().await;
    // kube-sim closed the watch; the proxy ends the relayed stream and kubectl exits.
    assert_eq!(watch.next_line().await, None, "the watch ended");
    tokio::time::timeout(LINE_DEADLINE, watch.child.wait())
        .await
        .expect("kubectl get -w exited once the API server was gone")
        .unwrap();

    // `-v=6` logs the status line of each response.
    let down = proxy
        .run(&env, "admin", &["-v=6", "get", "ns", "oil-dev", "-o", "name"])
        .await;
    let err = failed(&down);
    assert!(err.contains(r#"status="502 Bad Gateway""#), "{err}");
    assert!(
        err.contains("Error from server (InternalError): capsule-proxy cannot reach the API server: "),
        "{err}"
    );
    assert!(proxy.log().contains("API server unreachable"), "{}", proxy.log());
    // The proxy itself keeps answering.
    let health = ok(&proxy.run(&env, "admin", &["get", "--raw", "/_healthz"]).await);
    assert_eq!(health.trim(), "ok");

    env.sim.restart().await.unwrap();
    assert_eq!(
        ok(&proxy.run(&env, "admin", &get_ns).await).trim(),
        "namespace/oil-dev"
    );
    let pods = ok(&proxy
        .run(
            &env,
            "alice-cert",
            &["get", "pods", "-n", "oil-dev", "-o", "name"],
        )
        .await);
    assert_eq!(lines(&pods), ["pod/web"]);
}
