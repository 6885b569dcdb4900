//! The Capsule stories' harness: a proxy that holds its first ownership snapshot, cluster changes made by the
//! admin with `kubectl` straight against kube-sim, and deadline-bounded waits for a change to show through the
//! proxy.

use std::process::Output;
use std::time::Duration;

use kube_sim::{Fixture, KubeSim, SimConfig};
use serde_json::Value;

use super::proxy::Proxy;
use super::{Env, LINE_DEADLINE, Streaming, demo_fixture, lines, ok};

/// Deadline for a cluster change to show through the proxy.
pub const CHANGE_DEADLINE: Duration = Duration::from_secs(30);
/// Pause between two probes of a change.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// UID of the demo Tenant `oil` (its namespaces' owner references name it).
pub const OIL_UID: &str = "6d1e7a0c-0000-4000-8000-00000000011a";
/// Every namespace of the demo cluster, as `kubectl get ns -o name` prints them (sorted).
pub const ALL_NAMESPACES: [&str; 6] = [
    "namespace/capsule-system",
    "namespace/default",
    "namespace/gas-dev",
    "namespace/kube-system",
    "namespace/oil-dev",
    "namespace/oil-prod",
];

/// Prints the proxy's log when the test fails while it is held.
pub struct LogOnFailure<'p>(pub &'p Proxy);

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- capsule-proxy log ---\n{}--- end of log ---", self.0.log());
        }
    }
}

/// A kube-sim with the demo fixture plus the identities of `identities_yaml` (an `identities:` fixture list).
pub async fn env_with_identities(identities_yaml: &str) -> Env {
    let mut fixture = demo_fixture();
    let extra = Fixture::parse(identities_yaml).expect("the extra identities parse");
    fixture.identities.extend(extra.identities);
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = KubeSim::start(SimConfig::new(fixture, dir.path().join("state")))
        .await
        .expect("kube-sim starts");
    Env { sim, dir }
}

/// Starts the proxy in front of `env` with `args` and waits until its core holds an ownership snapshot (before
/// that, Capsule routes answer 503).
pub async fn start_synced(env: &Env, args: &[&str]) -> Proxy {
    let proxy = Proxy::start(env, args).await;
    proxy
        .wait_for_log("the first snapshot on core 0", |log| {
            log.lines()
                .any(|l| l.contains("snapshot received") && l.contains("core=0"))
        })
        .await;
    proxy
}

/// Stdout and stderr of a kubectl run, for failure messages.
pub fn describe(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Stderr of a run that failed; panics when it succeeded.
pub fn stderr_of_failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "kubectl unexpectedly succeeded: {}",
        describe(out)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Applies `yaml` as the admin, straight against kube-sim; returns kubectl's output.
pub async fn admin_apply(env: &Env, yaml: &str) -> String {
    let file = env.file("admin-apply.yaml", yaml);
    ok(&env.run("admin", &["apply", "-f", file.to_str().unwrap()]).await)
}

/// Runs kubectl as the admin, straight against kube-sim; panics when it fails.
pub async fn admin(env: &Env, args: &[&str]) -> String {
    ok(&env.run("admin", args).await)
}

/// Merge-patches the `status` subresource of the cluster-scoped object `resource`/`name` as the admin, the way
/// Capsule's controllers write status.
pub async fn admin_patch_status(env: &Env, resource: &str, name: &str, status: Value) {
    let patch = serde_json::json!({ "status": status }).to_string();
    admin(
        env,
        &[
            "patch",
            resource,
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ],
    )
    .await;
}

/// Sets `status.namespaces` of Tenant `tenant` (and `status.size`), as Capsule does when a namespace joins or
/// leaves it.
pub async fn set_tenant_namespaces(env: &Env, tenant: &str, namespaces: &[&str]) {
    let status = serde_json::json!({ "namespaces": namespaces, "size": namespaces.len() });
    admin_patch_status(env, "tenants.capsule.clastix.io", tenant, status).await;
}

/// A Namespace as Capsule creates it for Tenant `tenant` (uid `tenant_uid`): tenant labels and the Tenant as
/// its controlling owner.
pub fn tenant_namespace_yaml(name: &str, tenant: &str, tenant_uid: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n    \
         capsule.clastix.io/tenant: {tenant}\n    projectcapsule.dev/tenant: {tenant}\n  ownerReferences:\n  \
         - apiVersion: capsule.clastix.io/v1beta2\n    kind: Tenant\n    name: {tenant}\n    uid: {tenant_uid}\n    \
         controller: true\n    blockOwnerDeletion: true\n"
    )
}

/// The sorted output lines of a successful kubectl run through the proxy as `identity`.
pub async fn proxied_lines(proxy: &Proxy, env: &Env, identity: &str, args: &[&str]) -> Vec<String> {
    lines(&ok(&proxy.run(env, identity, args).await))
}

/// The sorted output lines of a successful kubectl run as `identity` straight against kube-sim.
pub async fn direct_lines(env: &Env, identity: &str, args: &[&str]) -> Vec<String> {
    lines(&ok(&env.run(identity, args).await))
}

/// Probes until `probe` answers `Ok`, every [`POLL_INTERVAL`], for at most [`CHANGE_DEADLINE`]; panics with
/// `what` and the last answer otherwise.
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Result<T, String>) -> T {
    let mut last = String::from("(never probed)");
    let polling = async {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        loop {
            tick.tick().await;
            match probe().await {
                Ok(value) => return value,
                Err(why) => last = why,
            }
        }
    };
    let result = tokio::time::timeout(CHANGE_DEADLINE, polling).await;
    match result {
        Ok(value) => value,
        Err(_) => panic!("{what}: not within {CHANGE_DEADLINE:?}; last answer: {last}"),
    }
}

/// Runs `args` through the proxy as `identity` until it succeeds with exactly the sorted lines `expected`.
pub async fn eventually_lines(proxy: &Proxy, env: &Env, identity: &str, args: &[&str], expected: &[&str]) {
    let what = format!("{identity}: kubectl {} shows {expected:?}", args.join(" "));
    eventually(&what, async || {
        let out = proxy.run(env, identity, args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && lines(&stdout) == expected {
            Ok(())
        } else {
            Err(describe(&out))
        }
    })
    .await;
}

/// Waits until a streaming kubectl's output ends and the process exits, within the line deadline; returns the
/// lines it printed before the end.
pub async fn until_stream_ends(stream: &mut Streaming) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(line) = stream.next_line().await {
        seen.push(line);
    }
    tokio::time::timeout(LINE_DEADLINE, stream.child.wait())
        .await
        .expect("kubectl exited once its stream ended")
        .expect("waiting for kubectl");
    seen
}

/// `-o jsonpath` printing `namespace/name` of every listed object, one per line.
pub const NAMESPACED_NAMES: &str =
    "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}";

/// The `metadata.name` of every item of a JSON list.
pub fn item_names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|item| item["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// The `namespace/name` of every item of a JSON list, in the order of the list.
pub fn item_keys(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|item| {
            let meta = &item["metadata"];
            let namespace = meta["namespace"]
                .as_str()
                .unwrap_or_else(|| panic!("a namespace: {item}"));
            let name = meta["name"].as_str().unwrap_or_else(|| panic!("a name: {item}"));
            format!("{namespace}/{name}")
        })
        .collect()
}

/// `s` escaped for a query string (everything but RFC 3986's unreserved characters).
pub fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
