//! Metadata-only watches of the cluster-scoped objects the filtered routes decide on: namespaces (names,
//! labels and first owner reference, for the namespace get route and the namespace gate), nodes, storage /
//! ingress / priority / runtime classes and persistent volumes (names and labels, for the legacy routes).
//!
//! The namespace watch holds back the first snapshot like the Capsule watches (every cluster serves
//! namespaces); the legacy kinds do not (a kind an API server does not serve would never list), and the
//! snapshot tells which kinds have been listed.

use std::sync::Arc;

use capsule_proxy_policy::cluster_objects::{ClusterObjectRecord, ObjectKind, OwnerRecord};
use capsule_proxy_policy::model::LegacyKind;
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolume};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::node::v1::RuntimeClass;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::core::PartialObjectMeta;
use kube::{Api, Client, ResourceExt};
use tokio::sync::mpsc::UnboundedSender;

use crate::index_events::IndexEvent;
use crate::status::ControlStatus;
use crate::watches::{self, Change, WatchSpec};

/// Starts the namespace watch and the six legacy kinds' watches.
pub(crate) fn spawn_all(client: &Client, tx: &UnboundedSender<IndexEvent>, status: &Arc<ControlStatus>) {
    spawn::<Namespace>(
        |c| IndexEvent::Objects(ObjectKind::Namespaces, c),
        client,
        tx,
        status,
    );
    spawn::<Node>(
        |c| IndexEvent::Objects(LegacyKind::Nodes.into(), c),
        client,
        tx,
        status,
    );
    spawn::<StorageClass>(
        |c| IndexEvent::Objects(LegacyKind::StorageClasses.into(), c),
        client,
        tx,
        status,
    );
    spawn::<IngressClass>(
        |c| IndexEvent::Objects(LegacyKind::IngressClasses.into(), c),
        client,
        tx,
        status,
    );
    spawn::<PriorityClass>(
        |c| IndexEvent::Objects(LegacyKind::PriorityClasses.into(), c),
        client,
        tx,
        status,
    );
    spawn::<RuntimeClass>(
        |c| IndexEvent::Objects(LegacyKind::RuntimeClasses.into(), c),
        client,
        tx,
        status,
    );
    spawn::<PersistentVolume>(
        |c| IndexEvent::Objects(LegacyKind::PersistentVolumes.into(), c),
        client,
        tx,
        status,
    );
}

fn spawn<K>(
    event: fn(Change<ClusterObjectRecord, String>) -> IndexEvent,
    client: &Client,
    tx: &UnboundedSender<IndexEvent>,
    status: &Arc<ControlStatus>,
) where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Default,
{
    let spec = WatchSpec {
        api: Api::<PartialObjectMeta<K>>::all(client.clone()),
        field_selector: None,
        record: record::<K>,
        key: |meta: &PartialObjectMeta<K>| meta.name_any(),
        event,
    };
    tokio::spawn(watches::run(spec, tx.clone(), Arc::clone(status)));
}

/// Name, labels and first owner reference of an object.
fn record<K: kube::Resource>(meta: &PartialObjectMeta<K>) -> ClusterObjectRecord {
    ClusterObjectRecord {
        name: meta.name_any(),
        labels: meta.labels().clone().into_iter().collect(),
        owner: meta.owner_references().first().map(|o| OwnerRecord {
            kind: o.kind.clone(),
            name: o.name.clone(),
        }),
    }
}
