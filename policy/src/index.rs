//! The mutable ownership state the control plane's watch tasks update, one `apply` / `delete` / `reset` set per
//! watched kind, from which immutable [`Snapshot`]s are built.
//!
//! ```text
//!  Tenant watch ───────────────┐
//!  ProxySetting watch ─────────┤ apply / delete / reset ──▶ Index ──snapshot(generation)──▶ Snapshot
//!  GlobalProxySettings watch ──┤
//!  CapsuleConfiguration watch ─┘
//! ```
//!
//! Records are parsed when applied (names interned, owner keys and legacy operations resolved), so building a
//! snapshot only clones `Arc`s and fills hash maps. Every method is pure: no I/O, no locks, no clock (one atomic
//! remembers the last build, so [`Index::snapshot`] can take `&self`). An apply or reset that leaves the parsed
//! state unchanged is not a change, so the publisher can skip it.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cluster_objects::{ClusterObjectRecord, ClusterObjects, ObjectKind};
use crate::discovery::ApiResources;
use crate::model::{CapsuleConfigurationRecord, GlobalProxySettingsRecord, ProxySettingRecord, TenantRecord};
use crate::role_bindings::{RoleBindingNamespaces, RoleBindingRecord};
use crate::snapshot::{self, CapsuleUsers, GlobalView, ProxySettingView, Snapshot, TenantView};

/// The state of the watched Capsule objects. Owned and updated by the control plane; [`Index::snapshot`] turns
/// it into a [`Snapshot`].
#[derive(Debug, Default)]
pub struct Index {
    /// Tenants by name.
    tenants: BTreeMap<Arc<str>, Arc<TenantView>>,
    /// ProxySettings by namespace, then name.
    proxy_settings: BTreeMap<String, BTreeMap<String, ProxySettingView>>,
    /// GlobalProxySettings by name.
    global_proxy_settings: BTreeMap<String, GlobalView>,
    capsule_users: Arc<CapsuleUsers>,
    /// Names and labels of namespaces, nodes, classes and persistent volumes.
    objects: ClusterObjects,
    /// What discovery last said.
    api_resources: Arc<ApiResources>,
    /// The RoleBinding reflector's subject → namespaces (empty unless it runs).
    role_bindings: RoleBindingNamespaces,
    /// Bumped by every change.
    revision: u64,
    /// `revision + 1` when last built or taken, 0 before.
    built: AtomicU64,
}

// === impl Index ===

impl Index {
    /// An empty index: no tenants, no settings, no Capsule users.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the Tenant `tenant.name`.
    pub fn apply_tenant(&mut self, tenant: TenantRecord) {
        let view = TenantView::from_record(tenant);
        if !self.tenants.get(view.name()).is_some_and(|old| **old == view) {
            self.tenants.insert(Arc::clone(view.name_arc()), Arc::new(view));
            self.bump();
        }
    }

    /// Removes the Tenant `name`.
    pub fn delete_tenant(&mut self, name: &str) {
        if self.tenants.remove(name).is_some() {
            self.bump();
        }
    }

    /// Replaces every Tenant with `tenants` (after a relist); a later duplicate name wins.
    pub fn reset_tenants(&mut self, tenants: Vec<TenantRecord>) {
        let mut next = BTreeMap::new();
        for tenant in tenants {
            let view = TenantView::from_record(tenant);
            // Keep the old `Arc` of an unchanged tenant: snapshots old and new then share it.
            let view = match self.tenants.get(view.name()) {
                Some(old) if **old == view => Arc::clone(old),
                _ => Arc::new(view),
            };
            next.insert(Arc::clone(view.name_arc()), view);
        }
        if next != self.tenants {
            self.tenants = next;
            self.bump();
        }
    }

    /// Adds or replaces the ProxySetting `namespace/name`.
    pub fn apply_proxy_setting(&mut self, proxy_setting: ProxySettingRecord) {
        let view = ProxySettingView::from_record(&proxy_setting);
        let by_name = self.proxy_settings.entry(proxy_setting.namespace).or_default();
        if by_name.get(&proxy_setting.name) != Some(&view) {
            by_name.insert(proxy_setting.name, view);
            self.bump();
        }
    }

    /// Removes the ProxySetting `namespace/name`.
    pub fn delete_proxy_setting(&mut self, namespace: &str, name: &str) {
        let Some(by_name) = self.proxy_settings.get_mut(namespace) else {
            return;
        };
        let removed = by_name.remove(name).is_some();
        if by_name.is_empty() {
            self.proxy_settings.remove(namespace);
        }
        if removed {
            self.bump();
        }
    }

    /// Replaces every ProxySetting with `proxy_settings` (after a relist); a later duplicate wins.
    pub fn reset_proxy_settings(&mut self, proxy_settings: Vec<ProxySettingRecord>) {
        let mut next: BTreeMap<String, BTreeMap<String, ProxySettingView>> = BTreeMap::new();
        for ps in proxy_settings {
            let view = ProxySettingView::from_record(&ps);
            next.entry(ps.namespace).or_default().insert(ps.name, view);
        }
        if next != self.proxy_settings {
            self.proxy_settings = next;
            self.bump();
        }
    }

    /// Adds or replaces the GlobalProxySettings `name`.
    pub fn apply_global_proxy_settings(&mut self, settings: GlobalProxySettingsRecord) {
        let view = GlobalView::from_record(&settings);
        if self.global_proxy_settings.get(&settings.name) != Some(&view) {
            self.global_proxy_settings.insert(settings.name, view);
            self.bump();
        }
    }

    /// Removes the GlobalProxySettings `name`.
    pub fn delete_global_proxy_settings(&mut self, name: &str) {
        if self.global_proxy_settings.remove(name).is_some() {
            self.bump();
        }
    }

    /// Replaces every GlobalProxySettings with `settings` (after a relist); a later duplicate wins.
    pub fn reset_global_proxy_settings(&mut self, settings: Vec<GlobalProxySettingsRecord>) {
        let next: BTreeMap<String, GlobalView> = settings
            .into_iter()
            .map(|s| {
                let view = GlobalView::from_record(&s);
                (s.name, view)
            })
            .collect();
        if next != self.global_proxy_settings {
            self.global_proxy_settings = next;
            self.bump();
        }
    }

    /// Sets the CapsuleConfiguration (`None`: deleted or not yet seen, so nobody is a Capsule user).
    pub fn set_capsule_configuration(&mut self, configuration: Option<CapsuleConfigurationRecord>) {
        let users = CapsuleUsers::from_record(configuration.as_ref());
        if *self.capsule_users != users {
            self.capsule_users = Arc::new(users);
            self.bump();
        }
    }

    /// Adds or replaces a cluster-scoped object (namespace, node, class, persistent volume).
    pub fn apply_object(&mut self, kind: impl Into<ObjectKind>, object: ClusterObjectRecord) {
        if self.objects.apply(kind, object) {
            self.bump();
        }
    }

    /// Removes a cluster-scoped object.
    pub fn delete_object(&mut self, kind: impl Into<ObjectKind>, name: &str) {
        if self.objects.delete(kind, name) {
            self.bump();
        }
    }

    /// Replaces every object of `kind` (after a list) and marks the kind listed.
    pub fn reset_objects(&mut self, kind: impl Into<ObjectKind>, objects: Vec<ClusterObjectRecord>) {
        if self.objects.reset(kind, objects) {
            self.bump();
        }
    }

    /// Replaces what discovery says (after a discovery run).
    pub fn set_api_resources(&mut self, resources: ApiResources) {
        if *self.api_resources != resources {
            self.api_resources = Arc::new(resources);
            self.bump();
        }
    }

    /// A counter bumped by every change.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Whether something changed since the last [`Index::snapshot`] or [`Index::take_changed`] (true before
    /// either).
    pub fn changed_since_last_build(&self) -> bool {
        self.built.load(Ordering::Relaxed) != self.revision.wrapping_add(1)
    }

    /// Whether something changed since the last [`Index::snapshot`] or `take_changed`, and marks the current
    /// state as seen: `if index.take_changed() { publish(index.snapshot(next_generation)) }`.
    pub fn take_changed(&mut self) -> bool {
        let changed = self.changed_since_last_build();
        *self.built.get_mut() = self.revision.wrapping_add(1);
        changed
    }

    /// Builds an immutable snapshot tagged `generation`, and records that it was built.
    ///
    /// Cost: linear in tenants, namespaces, owner entries and setting subjects; strings are shared, not copied.
    pub fn snapshot(&self, generation: u64) -> Snapshot {
        self.built.store(self.revision.wrapping_add(1), Ordering::Relaxed);
        let mut snapshot = snapshot::build(
            generation,
            Arc::clone(&self.capsule_users),
            self.tenants.values(),
            self.proxy_settings.values().flat_map(|by_name| by_name.values()),
            self.global_proxy_settings.values(),
        );
        snapshot.set_cluster_objects(self.objects.clone());
        snapshot.set_api_resources(Arc::clone(&self.api_resources));
        snapshot.set_role_bindings(self.role_bindings.shared());
        snapshot
    }

    /// Adds or replaces a RoleBinding of the reflector.
    pub fn apply_role_binding(&mut self, record: RoleBindingRecord) {
        if self.role_bindings.apply(record) {
            self.bump();
        }
    }

    /// Removes the RoleBinding `namespace/name` from the reflector.
    pub fn delete_role_binding(&mut self, namespace: &str, name: &str) {
        if self.role_bindings.delete(namespace, name) {
            self.bump();
        }
    }

    /// Replaces every RoleBinding of the reflector.
    pub fn reset_role_bindings(&mut self, records: Vec<RoleBindingRecord>) {
        let mut fresh = RoleBindingNamespaces::default();
        fresh.reset(records);
        // What snapshots see decides whether the index changed; the bindings are taken over either way.
        let changed = self.role_bindings.shared() != fresh.shared();
        self.role_bindings = fresh;
        if changed {
            self.bump();
        }
    }

    /// How many Tenants, ProxySettings and GlobalProxySettings the index holds.
    pub fn counts(&self) -> IndexCounts {
        IndexCounts {
            tenants: self.tenants.len(),
            proxy_settings: self.proxy_settings.values().map(BTreeMap::len).sum(),
            global_proxy_settings: self.global_proxy_settings.len(),
        }
    }

    /// Records a change.
    fn bump(&mut self) {
        self.revision = self.revision.wrapping_add(1);
    }
}

/// Object counts of an [`Index`], for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexCounts {
    /// Tenants.
    pub tenants: usize,
    /// ProxySettings.
    pub proxy_settings: usize,
    /// GlobalProxySettings.
    pub global_proxy_settings: usize,
}
