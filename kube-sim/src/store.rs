//! The object store: every object of every stored kind, one cluster-wide resourceVersion counter, and a bounded
//! history of change events that watches replay from.
//!
//! Objects are `serde_json::Value`s behind `Arc`, each kept with its JSON encoding ([`Stored`], made when it is
//! written), keyed by (group, resource, namespace, name). Writes take one
//! mutex, bump the resourceVersion, append an [`Event`] to the history and broadcast it; a watch subscribes under
//! the same lock, so it sees every event after the point it started from, with no gap and no duplicate.
//!
//! The store also keeps which kinds are served ([`ServedKinds`]): writing a CustomResourceDefinition checks it,
//! sets its status and rebuilds the served kinds under the same lock; deleting one deletes its objects first.
//!
//! Simplifications (kube-sim is a test double): deletion is immediate (finalizers and graceful deletion are
//! recorded but not waited for), deleting a namespace deletes its contents at once, and paging continues over the
//! current state rather than a consistent snapshot.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::catalog::ServedKinds;
use crate::encoded::{EventLines, Stored};
use crate::kinds::Kind;
use crate::status::ApiError;
use crate::{clock, crd};

/// Where an object lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// API group of the kind.
    pub group: &'static str,
    /// Plural resource of the kind.
    pub resource: &'static str,
    /// Namespace, empty for cluster-scoped kinds.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl ObjectKey {
    /// The key of `name` in `namespace` of `kind`.
    pub fn new(kind: &Kind, namespace: &str, name: &str) -> Self {
        Self {
            group: kind.group,
            resource: kind.resource,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// A watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// The object was created.
    Added,
    /// The object changed.
    Modified,
    /// The object was deleted.
    Deleted,
}

impl EventType {
    /// The wire name: `ADDED`, `MODIFIED`, `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, as recorded in the history.
#[derive(Debug, Clone)]
pub struct Event {
    /// The resourceVersion the change produced.
    pub resource_version: u64,
    /// What happened.
    pub kind: EventType,
    /// Which object.
    pub key: ObjectKey,
    /// The object after the change (for deletes: the last state, with the delete's resourceVersion).
    pub object: Arc<Value>,
    /// The object before the change, for modifications.
    pub old: Option<Arc<Value>>,
    /// `object` as JSON.
    pub json: Bytes,
    /// The JSON event lines of this event, made once for every watcher.
    lines: EventLines,
}

impl Event {
    /// An event about `object`, encoded as `json`.
    pub fn new(
        resource_version: u64,
        kind: EventType,
        key: ObjectKey,
        object: Stored,
        old: Option<Arc<Value>>,
    ) -> Self {
        Self {
            resource_version,
            kind,
            key,
            object: object.object,
            old,
            json: object.json,
            lines: EventLines::default(),
        }
    }

    /// The JSON watch line of this event's object as a `seen_as` event (a watch on a selector sees a
    /// modification as ADDED or DELETED), encoded once whatever the number of watchers.
    pub fn json_line(&self, seen_as: EventType) -> Bytes {
        let slot = match seen_as {
            EventType::Added => 0,
            EventType::Modified => 1,
            EventType::Deleted => 2,
        };
        self.lines.get(slot, seen_as.as_str(), &self.json)
    }
}

/// Default number of events the history keeps for watches to resume from.
pub const DEFAULT_HISTORY: usize = 10_000;
/// Capacity of the live event channel; a watch that falls further behind is ended.
const LIVE_CAPACITY: usize = 4096;

struct Inner {
    resource_version: u64,
    objects: BTreeMap<ObjectKey, Stored>,
    history: VecDeque<Arc<Event>>,
    history_limit: usize,
    /// Lowest resourceVersion a watch may resume from (exclusive): events after it are all in `history`.
    oldest_resumable: u64,
    /// The built-in kinds and those of the stored CustomResourceDefinitions.
    served: ServedKinds,
}

/// The object store shared by all request handlers.
pub struct Store {
    inner: Mutex<Inner>,
    live: broadcast::Sender<Arc<Event>>,
}

/// A watch's starting point: the events it missed and the live feed after them.
pub struct Subscription {
    /// Events after the requested resourceVersion, oldest first.
    pub backlog: Vec<Arc<Event>>,
    /// Live events after the backlog.
    pub live: broadcast::Receiver<Arc<Event>>,
    /// The store's resourceVersion when the subscription was taken.
    pub resource_version: u64,
}

/// A listing: objects in key order and the resourceVersion they were read at.
pub struct Listing {
    /// The matching objects.
    pub items: Vec<Arc<Value>>,
    /// The store's resourceVersion at read time.
    pub resource_version: u64,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(DEFAULT_HISTORY)
    }
}

impl Store {
    /// An empty store keeping `history_limit` events.
    pub fn new(history_limit: usize) -> Self {
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        Self {
            inner: Mutex::new(Inner {
                resource_version: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                history_limit: history_limit.max(1),
                oldest_resumable: 1,
                served: ServedKinds::builtin(),
            }),
            live,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way later readers care about.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    /// The kinds served now: the built-in ones and those of the stored CustomResourceDefinitions.
    pub fn kinds(&self) -> ServedKinds {
        self.lock().served.clone()
    }

    /// One object.
    pub fn get(&self, kind: &Kind, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.lock()
            .objects
            .get(&ObjectKey::new(kind, namespace, name))
            .map(|s| Arc::clone(&s.object))
    }

    /// One object with its JSON encoding.
    pub fn get_stored(&self, kind: &Kind, namespace: &str, name: &str) -> Option<Stored> {
        self.lock()
            .objects
            .get(&ObjectKey::new(kind, namespace, name))
            .cloned()
    }

    /// All objects of `kind`, in one namespace or (with `None`) everywhere, in (namespace, name) order,
    /// starting after `after` (a `namespace/name` continue position) when given.
    pub fn list(&self, kind: &Kind, namespace: Option<&str>, after: Option<(&str, &str)>) -> Listing {
        let inner = self.lock();
        let items = inner
            .scan(kind, namespace)
            .filter(|(k, _)| after.is_none_or(|(ns, n)| (k.namespace.as_str(), k.name.as_str()) > (ns, n)))
            .map(|(_, v)| Arc::clone(&v.object))
            .collect();
        Listing {
            items,
            resource_version: inner.resource_version,
        }
    }

    /// As [`Store::list`], each object with its JSON encoding; and the resourceVersion read at.
    pub fn list_stored(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        after: Option<(&str, &str)>,
    ) -> (Vec<Stored>, u64) {
        let inner = self.lock();
        let items = inner
            .scan(kind, namespace)
            .filter(|(k, _)| after.is_none_or(|(ns, n)| (k.namespace.as_str(), k.name.as_str()) > (ns, n)))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.resource_version)
    }

    /// Creates an object, filling server-set metadata. Fails if it exists.
    pub fn create(&self, kind: &Kind, namespace: &str, mut object: Value) -> Result<Arc<Value>, ApiError> {
        let mut inner = self.lock();
        let name = object_name(&object).to_string();
        if kind.namespaced && kind.resource != "namespaces" {
            let ns_key = ObjectKey {
                group: "",
                resource: "namespaces",
                namespace: String::new(),
                name: namespace.into(),
            };
            if !inner.objects.contains_key(&ns_key) {
                return Err(ApiError::not_found("", "namespaces", namespace));
            }
        }
        let key = ObjectKey::new(kind, if kind.namespaced { namespace } else { "" }, &name);
        if inner.objects.contains_key(&key) {
            return Err(ApiError::already_exists(kind.group, kind.resource, &name));
        }
        let rv = inner.resource_version + 1;
        let meta = metadata_mut(&mut object);
        // A uid given by a fixture (a controller restoring state) is kept; the API handler never passes one.
        if meta.get("uid").and_then(Value::as_str).is_none_or(str::is_empty) {
            meta.insert("uid".into(), json!(clock::new_uid()));
        }
        meta.insert("creationTimestamp".into(), json!(clock::now()));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        if kind.namespaced {
            meta.insert("namespace".into(), json!(namespace));
        } else {
            meta.remove("namespace");
        }
        meta.remove("deletionTimestamp");
        if object.get("spec").is_some() {
            metadata_mut(&mut object).insert("generation".into(), json!(1));
        }
        if kind.resource == "namespaces" {
            default_namespace(&mut object, &name);
        }
        if crd::is_definition(kind.group, kind.resource) {
            crd::validate(&object)?;
            crd::set_status(&mut object);
        }
        let object = Arc::new(object);
        inner.commit(&self.live, rv, EventType::Added, key, Arc::clone(&object), None);
        Ok(object)
    }

    /// Replaces an object. When the new object carries a resourceVersion it must be the current one.
    /// Server-owned metadata (uid, creationTimestamp) is kept; `generation` moves when `spec` changes.
    pub fn update(
        &self,
        kind: &Kind,
        namespace: &str,
        name: &str,
        mut object: Value,
    ) -> Result<Arc<Value>, ApiError> {
        let mut inner = self.lock();
        let key = ObjectKey::new(kind, if kind.namespaced { namespace } else { "" }, name);
        let Some(old) = inner.objects.get(&key).map(|s| Arc::clone(&s.object)) else {
            return Err(ApiError::not_found(kind.group, kind.resource, name));
        };
        let wanted_rv = object
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !wanted_rv.is_empty()
            && Some(wanted_rv) != old.pointer("/metadata/resourceVersion").and_then(Value::as_str)
        {
            return Err(ApiError::conflict(kind.group, kind.resource, name));
        }
        let rv = inner.resource_version + 1;
        let old_meta = old
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let generation = old_meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
        let spec_changed = old.get("spec") != object.get("spec");
        let meta = metadata_mut(&mut object);
        for field in ["uid", "creationTimestamp", "namespace", "deletionTimestamp"] {
            match old_meta.get(field) {
                Some(v) => meta.insert(field.into(), v.clone()),
                None => meta.remove(field),
            };
        }
        meta.insert("name".into(), json!(name));
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        if object.get("spec").is_some() {
            let generation = if spec_changed || generation == 0 {
                generation + 1
            } else {
                generation
            };
            metadata_mut(&mut object).insert("generation".into(), json!(generation));
        }
        if crd::is_definition(kind.group, kind.resource) {
            crd::validate(&object)?;
            if let Some(status) = old.get("status")
                && let Some(o) = object.as_object_mut()
            {
                o.insert("status".into(), status.clone());
            }
            crd::set_status(&mut object);
        }
        if *old == object {
            return Ok(old);
        }
        let object = Arc::new(object);
        inner.commit(
            &self.live,
            rv,
            EventType::Modified,
            key,
            Arc::clone(&object),
            Some(old),
        );
        Ok(object)
    }

    /// Deletes an object (and, for a namespace, everything in it; for a CustomResourceDefinition, every object
    /// of its resource) and returns its last state.
    pub fn delete(&self, kind: &Kind, namespace: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        let mut inner = self.lock();
        let key = ObjectKey::new(kind, if kind.namespaced { namespace } else { "" }, name);
        let Some(current) = inner.objects.get(&key).map(|s| Arc::clone(&s.object)) else {
            return Err(ApiError::not_found(kind.group, kind.resource, name));
        };
        if crd::is_definition(kind.group, kind.resource)
            && let Some((group, resource)) = crd::resource_of(&current)
            && let Some(served) = inner
                .served
                .custom()
                .iter()
                .find(|k| k.group == group && k.resource == resource)
                .copied()
        {
            let instances: Vec<ObjectKey> = inner
                .scan_resource(served.group, served.resource, None)
                .map(|(k, _)| k.clone())
                .collect();
            for k in instances {
                inner.remove(&self.live, k);
            }
        }
        if kind.resource == "namespaces" {
            let contents: Vec<ObjectKey> = inner
                .objects
                .keys()
                .filter(|k| k.namespace == name && !k.namespace.is_empty())
                .cloned()
                .collect();
            for k in contents {
                inner.remove(&self.live, k);
            }
        }
        inner
            .remove(&self.live, key)
            .ok_or_else(|| ApiError::not_found(kind.group, kind.resource, name))
    }

    /// Subscribes to changes after `from`. `None` means "now" (the caller lists first). Fails with 410 when the
    /// history no longer covers `from`.
    pub fn subscribe(&self, from: Option<u64>) -> Result<Subscription, ApiError> {
        let inner = self.lock();
        let live = self.live.subscribe();
        let current = inner.resource_version;
        let backlog = match from {
            None => Vec::new(),
            Some(rv) if rv >= current => Vec::new(),
            Some(rv) if rv < inner.oldest_resumable => {
                return Err(ApiError::gone(format!(
                    "too old resource version: {rv} ({})",
                    inner.oldest_resumable
                )));
            }
            Some(rv) => inner
                .history
                .iter()
                .filter(|e| e.resource_version > rv)
                .cloned()
                .collect(),
        };
        Ok(Subscription {
            backlog,
            live,
            resource_version: current,
        })
    }

    /// Lists `kind` and subscribes to what follows, atomically: the live feed starts right after the listing.
    pub fn list_and_subscribe(&self, kind: &Kind, namespace: Option<&str>) -> (Listing, Subscription) {
        let inner = self.lock();
        let live = self.live.subscribe();
        let items = inner
            .scan(kind, namespace)
            .map(|(_, v)| Arc::clone(&v.object))
            .collect();
        let rv = inner.resource_version;
        (
            Listing {
                items,
                resource_version: rv,
            },
            Subscription {
                backlog: Vec::new(),
                live,
                resource_version: rv,
            },
        )
    }

    /// Forgets the whole history, so every watch resuming from an older resourceVersion gets 410 Gone.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.oldest_resumable = inner.resource_version;
    }

    /// Whether a continue position taken at `rv` can still be served.
    pub fn is_compacted(&self, rv: u64) -> bool {
        rv < self.lock().oldest_resumable
    }
}

impl Inner {
    /// The objects of `kind`, in one namespace or everywhere, in key order.
    fn scan<'a>(
        &'a self,
        kind: &Kind,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Stored)> + 'a {
        self.scan_resource(kind.group, kind.resource, namespace)
    }

    /// The objects of `group`/`resource`, in one namespace or everywhere, in key order.
    fn scan_resource<'a>(
        &'a self,
        group: &'static str,
        resource: &'static str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Stored)> + 'a {
        let lo = ObjectKey {
            group,
            resource,
            namespace: namespace.unwrap_or("").to_string(),
            name: String::new(),
        };
        self.objects.range(lo..).take_while(move |(k, _)| {
            k.group == group && k.resource == resource && namespace.is_none_or(|ns| k.namespace == ns)
        })
    }

    fn commit(
        &mut self,
        live: &broadcast::Sender<Arc<Event>>,
        rv: u64,
        kind: EventType,
        key: ObjectKey,
        object: Arc<Value>,
        old: Option<Arc<Value>>,
    ) {
        self.resource_version = rv;
        let stored = Stored::new(object);
        if kind == EventType::Deleted {
            self.objects.remove(&key);
        } else {
            self.objects.insert(key.clone(), stored.clone());
        }
        if crd::is_definition(key.group, key.resource) {
            let definitions = self
                .scan_resource(crd::GROUP, crd::RESOURCE, None)
                .map(|(_, v)| v.object.as_ref());
            self.served = ServedKinds::with_definitions(definitions);
        }
        let event = Arc::new(Event::new(rv, kind, key, stored, old));
        if self.history.len() >= self.history_limit
            && let Some(dropped) = self.history.pop_front()
        {
            self.oldest_resumable = dropped.resource_version;
        }
        self.history.push_back(Arc::clone(&event));
        // No receivers is fine: nobody is watching.
        let _ = live.send(event);
    }

    fn remove(&mut self, live: &broadcast::Sender<Arc<Event>>, key: ObjectKey) -> Option<Arc<Value>> {
        let old = Arc::clone(&self.objects.get(&key)?.object);
        let rv = self.resource_version + 1;
        let mut last = (*old).clone();
        metadata_mut(&mut last).insert("resourceVersion".into(), json!(rv.to_string()));
        let last = Arc::new(last);
        self.commit(live, rv, EventType::Deleted, key, Arc::clone(&last), Some(old));
        Some(last)
    }
}

/// `metadata.name` of an object, or `""`.
pub fn object_name(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `metadata.labels` of an object.
pub fn labels(object: &Value) -> Option<&Map<String, Value>> {
    object.pointer("/metadata/labels").and_then(Value::as_object)
}

/// The `metadata` map of an object, created when missing.
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = json!({});
    }
    let Value::Object(fields) = object else {
        unreachable!("object was just made a JSON object")
    };
    let meta = fields.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    let Value::Object(meta) = meta else {
        unreachable!("metadata was just made a JSON object")
    };
    meta
}

/// What kube-apiserver fills in on every namespace: the name label and the Active phase.
fn default_namespace(object: &mut Value, name: &str) {
    let meta = metadata_mut(object);
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if let Some(labels) = labels.as_object_mut() {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    if let Some(o) = object.as_object_mut() {
        o.entry("spec")
            .or_insert_with(|| json!({ "finalizers": ["kubernetes"] }));
        o.insert("status".into(), json!({ "phase": "Active" }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::lookup;

    fn ns(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    }

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": []}})
    }

    #[test]
    fn create_get_update_delete_bump_resource_version() {
        let store = Store::default();
        let namespaces = lookup("", "v1", "namespaces").unwrap();
        let a = store.create(namespaces, "", ns("a")).unwrap();
        assert_eq!(a["metadata"]["resourceVersion"], "2");
        assert_eq!(a["metadata"]["labels"]["kubernetes.io/metadata.name"], "a");
        assert_eq!(a["status"]["phase"], "Active");
        assert!(
            store
                .create(namespaces, "", ns("a"))
                .is_err_and(|e| e.code == 409)
        );

        let mut changed = (*a).clone();
        changed["metadata"]["labels"]["team"] = json!("x");
        let b = store.update(namespaces, "", "a", changed.clone()).unwrap();
        assert_eq!(b["metadata"]["resourceVersion"], "3");
        assert_eq!(b["metadata"]["uid"], a["metadata"]["uid"]);
        // The stale resourceVersion of `changed` ("2") now conflicts.
        assert!(
            store
                .update(namespaces, "", "a", changed)
                .is_err_and(|e| e.code == 409)
        );

        let gone = store.delete(namespaces, "", "a").unwrap();
        assert_eq!(gone["metadata"]["resourceVersion"], "4");
        assert!(store.get(namespaces, "", "a").is_none());
        assert!(store.delete(namespaces, "", "a").is_err_and(|e| e.code == 404));
    }

    #[test]
    fn namespaced_objects_need_their_namespace_and_die_with_it() {
        let store = Store::default();
        let namespaces = lookup("", "v1", "namespaces").unwrap();
        let pods = lookup("", "v1", "pods").unwrap();
        assert!(store.create(pods, "nope", pod("p")).is_err_and(|e| e.code == 404));
        store.create(namespaces, "", ns("a")).unwrap();
        store.create(namespaces, "", ns("b")).unwrap();
        store.create(pods, "a", pod("p1")).unwrap();
        store.create(pods, "b", pod("p2")).unwrap();
        assert_eq!(store.list(pods, None, None).items.len(), 2);
        assert_eq!(store.list(pods, Some("a"), None).items.len(), 1);
        store.delete(namespaces, "", "a").unwrap();
        let left = store.list(pods, None, None).items;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["metadata"]["namespace"], "b");
    }

    #[test]
    fn list_pages_after_a_position() {
        let store = Store::default();
        let namespaces = lookup("", "v1", "namespaces").unwrap();
        for n in ["a", "b", "c"] {
            store.create(namespaces, "", ns(n)).unwrap();
        }
        let rest = store.list(namespaces, None, Some(("", "a"))).items;
        let names: Vec<_> = rest.iter().map(|o| object_name(o).to_string()).collect();
        assert_eq!(names, ["b", "c"]);
    }

    #[test]
    fn subscriptions_replay_history_and_expire() {
        let store = Store::new(2);
        let namespaces = lookup("", "v1", "namespaces").unwrap();
        store.create(namespaces, "", ns("a")).unwrap(); // rv 2
        store.create(namespaces, "", ns("b")).unwrap(); // rv 3
        store.create(namespaces, "", ns("c")).unwrap(); // rv 4, drops rv 2 from history
        let sub = store.subscribe(Some(2)).unwrap();
        let rvs: Vec<u64> = sub.backlog.iter().map(|e| e.resource_version).collect();
        assert_eq!(rvs, [3, 4]);
        assert!(store.subscribe(Some(1)).is_err_and(|e| e.code == 410));
        store.compact();
        assert!(store.subscribe(Some(3)).is_err_and(|e| e.code == 410));
        assert!(store.subscribe(Some(4)).unwrap().backlog.is_empty());
    }

    #[tokio::test]
    async fn live_events_follow_the_subscription() {
        let store = Store::default();
        let namespaces = lookup("", "v1", "namespaces").unwrap();
        let mut sub = store.subscribe(None).unwrap();
        store.create(namespaces, "", ns("a")).unwrap();
        let event = sub.live.recv().await.unwrap();
        assert_eq!(event.kind, EventType::Added);
        assert_eq!(event.key.name, "a");
    }
}
