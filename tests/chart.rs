//! The Helm chart, `charts/capsule-proxy`: lint-clean, every scenario (ours and the upstream chart's own value
//! files) renders objects a Kubernetes 1.33 API server accepts, its CRDs are the binary's, and the pod it
//! describes really runs: the rendered container's arguments and environment, started against kube-sim, serve
//! a tenant owner's `kubectl get namespaces` and answer the readiness probe where the chart points it.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use support::raw::{Conn, get, poll_until};
use support::{chart, kubectl_with, lines, ok, run};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Deadline for the proxy to print its ready line and for the probe to answer.
const START_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_chart_lints_and_every_scenario_renders_valid_objects() {
    let report = chart::tool(&["check"]).await;
    // One line per scenario: the defaults, ours in ci/, and the upstream chart's value files.
    let scenarios = report.lines().filter(|l| l.starts_with("ok ")).count();
    let ours = std::fs::read_dir(chart::root().join("charts/capsule-proxy/ci"))
        .unwrap()
        .count();
    let upstream = std::fs::read_dir(chart::root().join("charts/tests/upstream-values"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert_eq!(scenarios, 1 + ours + upstream, "{report}");
    assert!(
        upstream >= 8,
        "the upstream chart's values.yaml and its seven ci files: {report}"
    );
}

#[test]
fn the_charts_crds_are_the_binarys() {
    let stream = capsule_proxy::crds_command::render().unwrap();
    let dir = chart::root().join("charts/capsule-proxy/crds");
    let mut expected = BTreeMap::new();
    for document in stream.split("---\n").filter(|d| !d.trim().is_empty()) {
        let crd: serde_yaml::Value = serde_yaml::from_str(document).unwrap();
        let plural = crd["spec"]["names"]["plural"].as_str().unwrap().to_string();
        expected.insert(
            format!("capsule.clastix.io_{plural}.yaml"),
            format!("---\n{document}"),
        );
    }
    if std::env::var_os("UPDATE_CHART_CRDS").is_some() {
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        found.insert(name, std::fs::read_to_string(&path).unwrap());
    }
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "charts/capsule-proxy/crds holds one file per CRD of `capsule-proxy crds`"
    );
    for (name, text) in &expected {
        assert!(
            found[name] == *text,
            "charts/capsule-proxy/crds/{name} differs from `capsule-proxy crds`; \
             rerun this test with UPDATE_CHART_CRDS=1 to rewrite it"
        );
    }
}

/// The proxy container of the rendered Deployment.
struct RenderedPod {
    args: Vec<String>,
    env: Vec<Value>,
    /// Mount path → volume name.
    mounts: Vec<(String, String)>,
    /// Container port name → number.
    ports: BTreeMap<String, u16>,
    readiness: Value,
}

impl RenderedPod {
    fn from(objects: &[Value]) -> Self {
        let deployment = objects
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "capsule-proxy")
            .expect("the chart renders the proxy's Deployment");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let strings = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        Self {
            args: strings(&container["args"]),
            env: container["env"].as_array().unwrap().clone(),
            mounts: container["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["mountPath"].as_str().unwrap().into(),
                        m["name"].as_str().unwrap().into(),
                    )
                })
                .collect(),
            ports: container["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().into(),
                        p["containerPort"].as_u64().unwrap() as u16,
                    )
                })
                .collect(),
            readiness: container["readinessProbe"].clone(),
        }
    }

    /// The arguments with each mounted directory replaced by a local one (`<dir>/<volume name>`).
    fn args_with_mounts_at(&self, dir: &Path) -> Vec<String> {
        self.args
            .iter()
            .map(|arg| {
                self.mounts.iter().fold(arg.clone(), |arg, (path, volume)| {
                    arg.replace(&format!("{path}/"), &format!("{}/", dir.join(volume).display()))
                })
            })
            .collect()
    }

    /// The environment: literal values, and the downward API's `metadata.namespace` as the release namespace.
    fn env_vars(&self, namespace: &str) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|e| {
                let name = e["name"].as_str().unwrap().to_string();
                let value = match (&e["value"], &e["valueFrom"]["fieldRef"]["fieldPath"]) {
                    (Value::String(v), _) => v.clone(),
                    (_, Value::String(field)) if field == "metadata.namespace" => namespace.to_string(),
                    _ => panic!("an env var the test cannot map: {e}"),
                };
                (name, value)
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rendered_pod_serves_a_tenant_owner_against_kube_sim() {
    let env = support::Env::start().await;
    let dir = env.dir.path();
    let objects = chart::render("-", dir).await;
    let pod = RenderedPod::from(&objects);

    // The chart mounts Secret <fullname> (tls.crt, tls.key) as volume `certs`: write a certificate there.
    let (cert, key) = support::proxy::serving_cert();
    let certs = dir.join("volumes/certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("tls.crt"), &cert).unwrap();
    std::fs::write(certs.join("tls.key"), &key).unwrap();
    let args = pod.args_with_mounts_at(&dir.join("volumes"));
    assert!(
        args.iter()
            .any(|a| a == &format!("--ssl-cert-path={}", certs.join("tls.crt").display()))
    );

    // The chart's ports are fixed (the rendered arguments are used as they are): say so if one is taken.
    for (name, port) in &pod.ports {
        if let Err(e) = std::net::TcpListener::bind(("0.0.0.0", *port)) {
            panic!("port {port} ({name}), which the chart's pod uses, is taken on this machine: {e}");
        }
    }

    // Exactly the rendered arguments and environment; the API server is kube-sim, through KUBECONFIG (in a pod
    // the service account's in-cluster configuration plays that part).
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_capsule-proxy"));
    proxy
        .args(&args)
        .env_clear()
        .envs(pod.env_vars("capsule-system"))
        .env("KUBECONFIG", env.kubeconfig("capsule-proxy"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = proxy.spawn().unwrap();
    let log = dir.join("proxy.log");
    let stderr = child.stderr.take().unwrap();
    let log_copy = tokio::spawn(copy_to(stderr, log.clone()));
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(START_DEADLINE, stdout.next_line())
        .await
        .expect("the proxy printed its ready line in time")
        .unwrap()
        .unwrap_or_else(|| {
            panic!(
                "the proxy exited: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    let port = pod.ports["proxy"];
    assert!(
        ready.starts_with(&format!("capsule-proxy ready on https://0.0.0.0:{port} (1 cores")),
        "{ready}"
    );

    // The readiness probe, where the chart points it: path and named port from the rendered probe.
    let probe = &pod.readiness["httpGet"];
    let probe_port = pod.ports[probe["port"].as_str().unwrap()];
    let probe_addr: SocketAddr = ([127, 0, 0, 1], probe_port).into();
    let path = probe["path"].as_str().unwrap().to_string();
    let answered = poll_until(START_DEADLINE, || {
        let path = path.clone();
        async move {
            let response = Conn::plain(probe_addr).await.exchange(&get(&path, None)).await;
            (response.status == 200).then_some(response.text())
        }
    })
    .await;
    assert_eq!(
        answered.as_deref(),
        Some("ok"),
        "{path} on the probe port answers 200 once ready"
    );

    // A tenant owner's kubectl, pointed at the proxy's port with the serving certificate's CA.
    let kubeconfig = owner_kubeconfig(&env, "alice", &format!("https://127.0.0.1:{port}"), &cert, dir);
    let namespaces =
        ok(&run(kubectl_with(&kubeconfig, &dir.join("kube-cache")).args(["get", "ns", "-o", "name"])).await);
    assert_eq!(lines(&namespaces), ["namespace/oil-dev", "namespace/oil-prod"]);

    // Metrics on the port the chart names `metrics`, with the driver the cores run.
    let metrics: SocketAddr = ([127, 0, 0, 1], pod.ports["metrics"]).into();
    let scrape = support::metrics::scrape(metrics).await;
    assert_eq!(
        scrape.series("capsule_proxy_cores").values().sum::<f64>(),
        1.0,
        "{:?}",
        scrape.0.keys()
    );

    child.kill().await.unwrap();
    log_copy.abort();
}

/// kube-sim's kubeconfig of `identity`, pointed at `server` and trusting `ca_pem`.
fn owner_kubeconfig(env: &support::Env, identity: &str, server: &str, ca_pem: &str, dir: &Path) -> PathBuf {
    let source = std::fs::read_to_string(env.kubeconfig(identity)).unwrap();
    let mut config: serde_yaml::Value = serde_yaml::from_str(&source).unwrap();
    let cluster = &mut config["clusters"][0]["cluster"];
    cluster["server"] = server.into();
    cluster["certificate-authority-data"] = STANDARD.encode(ca_pem).into();
    let path = dir.join(format!("{identity}-via-chart-pod.kubeconfig"));
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    path
}

/// Copies the proxy's stderr into `path`, so a failure can show it.
async fn copy_to(stderr: tokio::process::ChildStderr, path: PathBuf) {
    let mut lines = BufReader::new(stderr).lines();
    let mut text = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        text.push_str(&line);
        text.push('\n');
        let _ = std::fs::write(&path, &text);
    }
}
