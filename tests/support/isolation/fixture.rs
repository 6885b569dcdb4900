//! The generated [`Cluster`] as a kube-sim fixture: identities with tokens (and client certificates), the
//! Capsule objects as Capsule writes them, and the proxy's own identity and RBAC taken from the demo fixture.

use std::collections::BTreeMap;

use kube_sim::Fixture;
use kube_sim::fixture::Identity;
use serde_json::{Map, Value, json};

use super::super::demo_fixture;
use super::model::{AllowedList, Cluster, Kind, Object, Subject};

/// The proxy's identity in the demo fixture.
const PROXY_IDENTITY: &str = "capsule-proxy";

/// The fixture kube-sim starts from.
pub fn fixture(cluster: &Cluster) -> Fixture {
    let demo = demo_fixture();
    let mut identities: Vec<Identity> = demo
        .identities
        .iter()
        .filter(|id| id.name == PROXY_IDENTITY)
        .cloned()
        .collect();
    identities.extend(cluster.callers.iter().map(|caller| Identity {
        name: caller.identity.clone(),
        user: Some(caller.username.clone()),
        uid: None,
        groups: caller.groups.clone(),
        token: caller.token.clone(),
        certificate: caller.certificate,
    }));
    let mut objects: Vec<Value> = cluster
        .namespaces
        .iter()
        .map(|ns| {
            let mut metadata = metadata(&ns.object);
            if let Some(index) = ns.tenant {
                let tenant = &cluster.tenants[index];
                metadata.insert(
                    "ownerReferences".to_string(),
                    json!([{
                        "apiVersion": "capsule.clastix.io/v1beta2", "kind": "Tenant", "name": tenant.name,
                        "uid": tenant.uid, "controller": true, "blockOwnerDeletion": true,
                    }]),
                );
            }
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
        })
        .collect();
    // The proxy's service account (its namespace exists now), ClusterRole and binding.
    objects.extend(
        demo.objects
            .iter()
            .filter(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(PROXY_IDENTITY))
            .cloned(),
    );
    let users: Vec<Value> = cluster.capsule_users.iter().map(subject).collect();
    objects.push(json!({
        "apiVersion": "capsule.clastix.io/v1beta2", "kind": "CapsuleConfiguration",
        "metadata": {"name": "default"},
        "spec": {"users": users},
        "status": {"users": users},
    }));
    objects.extend(cluster.tenants.iter().map(|tenant| {
        let spec_owners: Vec<Value> = tenant
            .owners
            .iter()
            .map(|owner| {
                let settings: Vec<Value> = owner
                    .list_kinds
                    .iter()
                    .filter_map(|kind| kind.proxy_setting())
                    .map(|kind| json!({"kind": kind, "operations": ["List"]}))
                    .collect();
                let mut entry = subject(&owner.subject);
                entry["proxySettings"] = json!(settings);
                entry
            })
            .collect();
        let status_owners: Vec<Value> = tenant
            .owners
            .iter()
            .map(|owner| {
                let mut entry = subject(&owner.subject);
                entry["clusterRoles"] = json!(["admin", "capsule-namespace-deleter"]);
                entry
            })
            .collect();
        let mut spec = json!({"owners": spec_owners});
        if !tenant.node_selector.is_empty() {
            spec["nodeSelector"] = json!(tenant.node_selector);
        }
        for (kind, list) in &tenant.allowed {
            let list = allowed_list(list);
            match kind {
                Kind::StorageClass => spec["storageClasses"] = list,
                Kind::IngressClass => spec["ingressOptions"] = json!({"allowedClasses": list}),
                Kind::PriorityClass => spec["priorityClasses"] = list,
                Kind::RuntimeClass => spec["runtimeClasses"] = list,
                _ => unreachable!("only classes have allowed lists"),
            }
        }
        json!({
            "apiVersion": "capsule.clastix.io/v1beta2", "kind": "Tenant",
            "metadata": {"name": tenant.name, "uid": tenant.uid,
                         "labels": {"kubernetes.io/metadata.name": tenant.name}},
            "spec": spec,
            "status": {"state": "Active", "size": tenant.namespaces.len(),
                       "namespaces": tenant.namespaces, "owners": status_owners},
        })
    }));
    for (kind, list) in &cluster.objects {
        objects.extend(list.iter().map(|object| cluster_object(*kind, object)));
    }
    Fixture {
        identities,
        objects,
        pod_logs: Vec::new(),
    }
}

fn metadata(object: &Object) -> Map<String, Value> {
    let mut metadata = Map::new();
    metadata.insert("name".to_string(), json!(object.name));
    metadata.insert("labels".to_string(), json!(object.labels));
    metadata
}

fn subject(subject: &Subject) -> Value {
    json!({"kind": subject.kind(), "name": subject.name()})
}

fn allowed_list(list: &AllowedList) -> Value {
    let mut out = json!({});
    if !list.names.is_empty() {
        out["allowed"] = json!(list.names);
    }
    if let Some(default) = &list.default {
        out["default"] = json!(default);
    }
    if let Some(flavor) = &list.flavor_regex {
        out["allowedRegex"] = json!(format!("^.*-{flavor}$"));
    }
    if !list.match_labels.is_empty() {
        out["matchLabels"] = json!(list.match_labels);
    }
    if let Some((key, values)) = &list.match_in {
        out["matchExpressions"] = json!([{"key": key, "operator": "In", "values": values}]);
    }
    out
}

/// A node, class or persistent volume with the fields kube-sim and kubectl expect.
fn cluster_object(kind: Kind, object: &Object) -> Value {
    let mut value = json!({
        "apiVersion": kind.api_version(), "kind": kind.object_kind(), "metadata": metadata(object),
    });
    let extra: BTreeMap<&str, Value> = match kind {
        Kind::Node => BTreeMap::from([(
            "status",
            json!({"conditions": [{"type": "Ready", "status": "True"}]}),
        )]),
        Kind::StorageClass => BTreeMap::from([
            ("provisioner", json!("kubernetes.io/no-provisioner")),
            ("reclaimPolicy", json!("Delete")),
            ("volumeBindingMode", json!("Immediate")),
        ]),
        Kind::IngressClass => BTreeMap::from([("spec", json!({"controller": "k8s.io/ingress-nginx"}))]),
        Kind::PriorityClass => BTreeMap::from([("value", json!(100)), ("globalDefault", json!(false))]),
        Kind::RuntimeClass => BTreeMap::from([("handler", json!("runc"))]),
        Kind::PersistentVolume => BTreeMap::from([
            (
                "spec",
                json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}),
            ),
            ("status", json!({"phase": "Available"})),
        ]),
        Kind::Namespace | Kind::Tenant => unreachable!("namespaces and tenants are written on their own"),
    };
    for (field, extra) in extra {
        value[field] = extra;
    }
    value
}
