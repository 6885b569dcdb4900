//! The simulated cluster behind the HTTP server: store, authenticator, RBAC, logs, options, and an audit trail of
//! every request (who, what, answer) that tests read to check what the API server saw.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::authn::Authenticator;
use crate::authz::{Authorizer, bootstrap_policy};
use crate::catalog::ServedKinds;
use crate::faults::WatchFaults;
use crate::fixture::Fixture;
use crate::kinds::Kind;
use crate::logs::LogStore;
use crate::status::ApiError;
use crate::store::{Store, metadata_mut};

/// Tunables of a simulated API server.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Watch duration when the client gives no `timeoutSeconds`.
    pub default_watch_timeout: Duration,
    /// Largest request body accepted (kube-apiserver: 3 MiB).
    pub max_body_bytes: usize,
    /// Events kept for watches to resume from.
    pub history_limit: usize,
    /// Audit entries kept.
    pub audit_limit: usize,
    /// How long a connection may sit idle between requests (or take to send a head) before the server closes
    /// it. kube-apiserver's Go server closes idle keep-alive connections too; load balancers in front of it
    /// often after a few minutes.
    pub idle_timeout: Duration,
    /// Largest chunk of a chunked JSON answer of an object or list, in data bytes; answers of at most 2 KiB go
    /// out with a `Content-Length`, as kube-apiserver's do. 0 sends every answer with a `Content-Length`.
    pub chunk_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            bookmark_interval: Duration::from_secs(30),
            default_watch_timeout: Duration::from_secs(1800),
            max_body_bytes: 3 * 1024 * 1024,
            history_limit: crate::store::DEFAULT_HISTORY,
            audit_limit: 10_000,
            idle_timeout: Duration::from_secs(30),
            chunk_bytes: crate::chunked::DEFAULT_CHUNK_BYTES,
        }
    }
}

/// One served request, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Effective username (after impersonation); empty when unauthenticated.
    pub user: String,
    /// Effective groups.
    pub groups: Vec<String>,
    /// The authenticated caller when it impersonated someone.
    pub impersonator: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Kubernetes verb for resource requests (`list`, `create`, …), else the lower-case method.
    pub verb: String,
    /// Resource for resource requests (`tokenreviews`), else empty.
    pub resource: String,
    /// Response status code.
    pub code: u16,
    /// The request's `Accept` (a test reads what a proxy asked for on its caller's behalf).
    pub accept: Option<String>,
    /// The request's `Accept-Encoding` (kube-apiserver compresses large answers when it is `gzip`).
    pub accept_encoding: Option<String>,
}

/// The cluster state shared by every connection.
pub struct Cluster {
    /// Objects.
    pub store: Arc<Store>,
    /// Token and certificate authentication.
    pub authn: Authenticator,
    /// RBAC.
    pub authz: Authorizer,
    /// Pod logs.
    pub logs: LogStore,
    /// Tunables.
    pub options: Options,
    /// Resources whose watches are broken.
    pub watch_faults: WatchFaults,
    latency_ms: AtomicU64,
    audit: Mutex<VecDeque<AuditEntry>>,
}

impl Cluster {
    /// A cluster seeded with the bootstrap RBAC policy and the fixture's objects and logs.
    pub fn new(fixture: &Fixture, options: Options) -> Result<Self, ApiError> {
        let store = Arc::new(Store::new(options.history_limit));
        let cluster = Self {
            authn: Authenticator::new(&fixture.identities),
            authz: Authorizer::new(Arc::clone(&store)),
            store,
            logs: LogStore::default(),
            options,
            watch_faults: WatchFaults::default(),
            latency_ms: AtomicU64::new(0),
            audit: Mutex::new(VecDeque::new()),
        };
        for object in bootstrap_policy()
            .into_iter()
            .chain(fixture.objects.iter().cloned())
        {
            cluster.apply(object)?;
        }
        for log in &fixture.pod_logs {
            for line in &log.lines {
                cluster.logs.append(&log.namespace, &log.pod, "", line);
            }
        }
        Ok(cluster)
    }

    /// Creates or replaces an object as a controller would: status is kept as given, and pods get a Running
    /// status when they have none (kube-sim plays the kubelet).
    pub fn apply(&self, mut object: Value) -> Result<Arc<Value>, ApiError> {
        let kind = kind_of(&self.store.kinds(), &object)?;
        let namespace = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if kind.namespaced && namespace.is_empty() {
            return Err(ApiError::bad_request(format!(
                "{} objects need metadata.namespace",
                kind.kind
            )));
        }
        if kind.kind == "Pod" {
            run_pod(&mut object);
        }
        let name = crate::store::object_name(&object).to_string();
        match self.store.get(kind, &namespace, &name) {
            None => self.store.create(kind, &namespace, object),
            Some(_) => {
                metadata_mut(&mut object).remove("resourceVersion");
                self.store.update(kind, &namespace, &name, object)
            }
        }
    }

    /// Deletes an object by apiVersion, kind, namespace and name.
    pub fn remove(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        let k = self
            .store
            .kinds()
            .by_api_version_kind(api_version, kind)
            .ok_or_else(|| ApiError::bad_request(format!("kind {kind} of {api_version} is not served")))?;
        let deleted = self.store.delete(k, namespace, name)?;
        if k.kind == "Pod" {
            self.logs.forget(namespace, name);
        }
        Ok(deleted)
    }

    /// Delay added before answering every request.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    /// Sets the delay added before answering every request.
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms.store(
            u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Records a served request.
    pub fn record(&self, entry: AuditEntry) {
        let mut audit = self
            .audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if audit.len() >= self.options.audit_limit {
            audit.pop_front();
        }
        audit.push_back(entry);
    }

    /// A copy of the audit trail, oldest first.
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.audit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// The served kind of an object, from its `apiVersion` and `kind`.
pub fn kind_of(served: &ServedKinds, object: &Value) -> Result<&'static Kind, ApiError> {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    served.by_api_version_kind(api_version, kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "no kind \"{kind}\" is registered for version \"{api_version}\""
        ))
    })
}

/// Gives a pod without status the status a kubelet would report once its containers run.
pub fn run_pod(pod: &mut Value) {
    if pod.pointer("/status/phase").is_some() {
        return;
    }
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    json!({"name": c.get("name").cloned().unwrap_or(Value::Null),
                           "image": c.get("image").cloned().unwrap_or(Value::Null),
                           "ready": true, "restartCount": 0, "started": true,
                           "state": {"running": {"startedAt": crate::clock::now()}}})
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(o) = pod.as_object_mut() {
        o.insert(
            "status".into(),
            json!({"phase": "Running", "podIP": "10.244.0.10", "hostIP": "172.18.0.2",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": containers, "startTime": crate::clock::now()}),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds;

    #[test]
    fn seeds_policy_fixture_objects_and_running_pods() {
        let fixture = Fixture::parse(
            "objects:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n\
             - {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: a}, spec: {containers: [{name: c, image: busybox}]}}\n\
             podLogs:\n- {namespace: a, pod: p, lines: [hello]}\n",
        )
        .unwrap();
        let cluster = Cluster::new(&fixture, Options::default()).unwrap();
        let pods = kinds::lookup("", "v1", "pods").unwrap();
        let pod = cluster.store.get(pods, "a", "p").unwrap();
        assert_eq!(pod["status"]["phase"], "Running");
        assert_eq!(pod["status"]["containerStatuses"][0]["name"], "c");
        let roles = kinds::lookup("rbac.authorization.k8s.io", "v1", "clusterroles").unwrap();
        assert!(cluster.store.get(roles, "", "cluster-admin").is_some());
        assert_eq!(cluster.logs.tail("a", "p", "", None).lines[0].text, "hello");

        let mut changed = (*pod).clone();
        changed["metadata"]["labels"] = json!({"x": "y"});
        assert_eq!(cluster.apply(changed).unwrap()["metadata"]["labels"]["x"], "y");
        cluster.remove("v1", "Pod", "a", "p").unwrap();
        assert!(cluster.store.get(pods, "a", "p").is_none());
        assert!(
            cluster
                .apply(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}))
                .is_err()
        );
    }
}
