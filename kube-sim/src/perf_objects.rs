//! The perf suite's objects, added on top of a fixture by `kube-sim serve --perf-objects`:
//!
//! - namespaces `perf-1k`, `perf-10k`, `perf-1m` and `perf-20m`, whose ConfigMap lists are about 1,000, 10,000,
//!   1,000,000 and 20,000,000 bytes of JSON (see [`LIST_SIZES`]), made of ConfigMaps shaped like real ones
//!   (Helm labels and annotations, managedFields, several config-file keys);
//! - namespace `perf-watch` with one ConfigMap `tick`, to update for watch-event load;
//! - tenant `fan`, owned by identity `erin` (token `erin-token`, a client certificate, group
//!   `projectcapsule.dev`), with 100 namespaces `fan-000`…`fan-099` of 5 pods each, labelled, owned and bound as
//!   Capsule does it, for the all-namespaces fan-out.
//!
//! erin may read (`view`) the perf namespaces; the admin reads and writes everything as `system:masters`. No
//! other identity gets anything, so the demo's owners see what they saw before.

use serde_json::{Map, Value, json};

use crate::fixture::{Fixture, Identity};

/// The sized list namespaces: (namespace, ConfigMaps in it, bytes of its JSON list).
pub const LIST_SIZES: [(&str, usize, usize); 4] = [
    ("perf-1k", 1, 1_000),
    ("perf-10k", 4, 10_000),
    ("perf-1m", 200, 1_000_000),
    ("perf-20m", 2_000, 20_000_000),
];
/// The namespace of the ConfigMap updated for watch load.
pub const WATCH_NAMESPACE: &str = "perf-watch";
/// The ConfigMap updated for watch load.
pub const WATCH_CONFIGMAP: &str = "tick";
/// The fan-out tenant.
pub const FAN_TENANT: &str = "fan";
/// Namespaces of the fan-out tenant.
pub const FAN_NAMESPACES: usize = 100;
/// Pods in each fan-out namespace.
pub const FAN_PODS: usize = 5;
/// The fan-out tenant's owner.
pub const FAN_OWNER: &str = "erin";

const FAN_TENANT_UID: &str = "6d1e7a0c-0000-4000-8000-0000000003fa";
/// ConfigMaps smaller than this are made with kubectl rather than Helm (fewer labels and managed fields).
const LIGHT_BELOW: usize = 2048;
/// The largest data value of one key; bigger ConfigMaps have more keys.
const MAX_VALUE_BYTES: usize = 4096;
/// `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"NNNNN"},"items":[`…`]}` and a newline.
const LIST_ENVELOPE_BYTES: usize = 88;
/// A resourceVersion of the width a perf cluster's have, to size objects with.
const RV_PLACEHOLDER: &str = "12345";
const TIMESTAMP: &str = "2026-11-24T00:00:00Z";

/// The perf objects and identity as a fixture, to merge into the one served.
pub fn fixture() -> Fixture {
    let mut objects = Vec::new();
    for (namespace, count, bytes) in LIST_SIZES {
        objects.push(plain_namespace(namespace));
        objects.push(reader_binding(namespace));
        let per_object = bytes.saturating_sub(LIST_ENVELOPE_BYTES + count.saturating_sub(1)) / count;
        objects.extend((0..count).map(|i| sized_configmap(namespace, i, per_object)));
    }
    objects.push(plain_namespace(WATCH_NAMESPACE));
    objects.push(reader_binding(WATCH_NAMESPACE));
    objects.push(tick());
    objects.push(fan_tenant());
    for n in 0..FAN_NAMESPACES {
        let namespace = fan_namespace_name(n);
        objects.push(fan_namespace(&namespace));
        objects.push(owner_binding(&namespace));
        objects.extend((0..FAN_PODS).map(|p| fan_pod(&namespace, p)));
    }
    Fixture {
        identities: vec![Identity {
            name: FAN_OWNER.into(),
            user: None,
            uid: None,
            groups: vec!["projectcapsule.dev".into()],
            token: format!("{FAN_OWNER}-token"),
            certificate: true,
        }],
        objects,
        pod_logs: Vec::new(),
    }
}

/// `fan-000` … `fan-099`.
pub fn fan_namespace_name(n: usize) -> String {
    format!("{FAN_TENANT}-{n:03}")
}

fn plain_namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "capsule-proxy-perf"}}})
}

fn reader_binding(namespace: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": {"name": "perf-view", "namespace": namespace},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
           "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": FAN_OWNER}]})
}

/// A ConfigMap as a Helm release leaves it, `bytes` long once served (with uid, resourceVersion and
/// creationTimestamp), its data split into config-file keys of at most [`MAX_VALUE_BYTES`].
fn sized_configmap(namespace: &str, index: usize, bytes: usize) -> Value {
    let name = format!("{namespace}-config-{index:04}");
    let mut object = if bytes < LIGHT_BELOW {
        kubectl_configmap(namespace, &name, index)
    } else {
        helm_configmap(namespace, &name, index)
    };
    // Keys are added until the rest fits one value; the last value is padded to the exact size.
    let mut keys = 0;
    loop {
        let key = format!("config-{keys:02}.properties");
        set_key(&mut object, &key, "");
        let room = bytes.saturating_sub(served_len(&object));
        let value = config_text(index, keys, room.min(MAX_VALUE_BYTES));
        set_key(&mut object, &key, &value);
        keys += 1;
        if room <= MAX_VALUE_BYTES {
            break;
        }
    }
    object
}

/// A ConfigMap as `kubectl create configmap` and `kubectl label` leave it, with no data yet.
fn kubectl_configmap(namespace: &str, name: &str, index: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid(namespace, index),
            "labels": {"app": "perf-app"},
            "managedFields": [{
                "manager": "kubectl-create",
                "operation": "Update",
                "apiVersion": "v1",
                "time": TIMESTAMP,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}},
            }],
        },
        "data": {},
    })
}

fn uid(namespace: &str, index: usize) -> String {
    format!("6d1e7a0c-{:04x}-4000-8000-{index:012x}", namespace.len())
}

/// Labels, annotations and managedFields of a Helm-installed ConfigMap, with no data yet.
fn helm_configmap(namespace: &str, name: &str, index: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid(namespace, index),
            "labels": {
                "app.kubernetes.io/name": "perf-app",
                "app.kubernetes.io/instance": namespace,
                "app.kubernetes.io/component": "config",
                "app.kubernetes.io/managed-by": "Helm",
                "helm.sh/chart": "perf-app-1.4.2",
            },
            "annotations": {
                "meta.helm.sh/release-name": namespace,
                "meta.helm.sh/release-namespace": namespace,
            },
            "managedFields": [{
                "manager": "helm",
                "operation": "Update",
                "apiVersion": "v1",
                "time": TIMESTAMP,
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:data": {".": {}},
                    "f:metadata": {
                        "f:annotations": {".": {}, "f:meta.helm.sh/release-name": {},
                                          "f:meta.helm.sh/release-namespace": {}},
                        "f:labels": {".": {}, "f:app.kubernetes.io/component": {},
                                     "f:app.kubernetes.io/instance": {}, "f:app.kubernetes.io/managed-by": {},
                                     "f:app.kubernetes.io/name": {}, "f:helm.sh/chart": {}},
                    },
                },
            }],
        },
        "data": {},
    })
}

/// Sets `data[key]` and lists the key in the managedFields, as the API server records it.
fn set_key(object: &mut Value, key: &str, value: &str) {
    if let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) {
        data.insert(key.into(), json!(value));
    }
    if let Some(fields) = object
        .pointer_mut("/metadata/managedFields/0/fieldsV1/f:data")
        .and_then(Value::as_object_mut)
    {
        fields.insert(format!("f:{key}"), json!({}));
    }
}

/// The JSON length of `object` as served: with the fields the API server sets on create.
fn served_len(object: &Value) -> usize {
    let mut served = object.clone();
    if let Some(meta) = served.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), json!(RV_PLACEHOLDER));
        meta.insert("creationTimestamp".into(), json!(TIMESTAMP));
    }
    serde_json::to_vec(&served).map_or(0, |v| v.len())
}

/// `len` bytes of a Java-style properties file (no character JSON escapes, so its JSON length is `len + 2`).
fn config_text(object: usize, key: usize, len: usize) -> String {
    let mut text = String::with_capacity(len + 64);
    let mut line = 0;
    while text.len() < len {
        text.push_str(&format!(
            "app.settings.s{object}.k{key}.option{line:04}=value-{:08x} ",
            (object * 7919 + key * 104_729 + line * 31) % 0xffff_ffff
        ));
        line += 1;
    }
    text.truncate(len);
    text
}

fn tick() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": WATCH_CONFIGMAP, "namespace": WATCH_NAMESPACE,
                        "labels": {"app.kubernetes.io/part-of": "capsule-proxy-perf"}},
           "data": {"count": "0"}})
}

fn fan_tenant() -> Value {
    let namespaces: Vec<String> = (0..FAN_NAMESPACES).map(fan_namespace_name).collect();
    json!({
        "apiVersion": "capsule.clastix.io/v1beta2",
        "kind": "Tenant",
        "metadata": {"name": FAN_TENANT, "uid": FAN_TENANT_UID,
                     "labels": {"kubernetes.io/metadata.name": FAN_TENANT}},
        "spec": {"owners": [{"kind": "User", "name": FAN_OWNER}]},
        "status": {
            "state": "Active",
            "size": FAN_NAMESPACES,
            "conditions": [
                {"type": "Cordoned", "status": "False", "reason": "Active", "message": "",
                 "lastTransitionTime": TIMESTAMP},
                {"type": "Ready", "status": "True", "reason": "Succeeded", "message": "reconciled",
                 "lastTransitionTime": TIMESTAMP},
            ],
            "namespaces": namespaces,
            "owners": [{"kind": "User", "name": FAN_OWNER,
                        "clusterRoles": ["admin", "capsule-namespace-deleter"]}],
        },
    })
}

fn fan_namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name,
                        "labels": {"capsule.clastix.io/tenant": FAN_TENANT, "projectcapsule.dev/tenant": FAN_TENANT},
                        "ownerReferences": [{"apiVersion": "capsule.clastix.io/v1beta2", "kind": "Tenant",
                                             "name": FAN_TENANT, "uid": FAN_TENANT_UID,
                                             "controller": true, "blockOwnerDeletion": true}]}})
}

fn owner_binding(namespace: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": {"name": format!("capsule-{FAN_TENANT}-0-admin"), "namespace": namespace},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
           "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": FAN_OWNER}]})
}

fn fan_pod(namespace: &str, index: usize) -> Value {
    let mut labels = Map::new();
    labels.insert("app".into(), json!("web"));
    labels.insert("pod-template-hash".into(), json!("5d8f7c9b4"));
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": format!("web-5d8f7c9b4-{index}"), "namespace": namespace, "labels": labels},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                    "restartPolicy": "Always", "serviceAccountName": "default"}})
}
