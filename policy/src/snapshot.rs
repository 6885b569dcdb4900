//! The immutable ownership snapshot every data-plane core reads through an `Arc<Snapshot>`.
//!
//! The control thread builds it from the [`crate::index::Index`]; once built it never changes. Every lookup is a
//! hash probe or a binary search plus work proportional to the answer:
//!
//! ```text
//!  owner key (kind, name) ──grants──▶ [ProxySetting tenants | global | owned tenants] ──TenantId──▶ TenantView
//!  namespace ─────────────────────────────────────────────────────────────────────TenantId──▶ TenantView
//! ```
//!
//! Tenant resolution follows Go capsule-proxy's `getTenantsForOwner` exactly (behaviour reference §2.7); the
//! grant lists of every owner key are precomputed, so a request only concatenates the lists of its own keys.
//! Where Go's answer depends on informer-cache order (several ProxySettings or GlobalProxySettings for one key,
//! a namespace listed by two tenants) the snapshot picks a fixed order: by namespace and name, by name, and the
//! tenant with the smallest name.

mod build;
mod proxy_tenants;
mod view;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod generator_rates;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

pub(crate) use build::build;
use proxy_tenants::KeyGrants;
pub use proxy_tenants::{GLOBAL_TENANT, GrantOrigin, ProxyTenant, ProxyTenants};
pub use view::TenantView;
pub(crate) use view::{CapsuleUsers, GlobalView, ProxySettingView};

use crate::cluster_objects::{ClusterObjectRecord, ClusterObjects, ObjectKind};
use crate::discovery::ApiResources;
use crate::model::SubjectKind;
use crate::role_bindings::ReflectedNamespaces;

pub use crate::model::SERVICE_ACCOUNT_PREFIX;

/// The label Capsule puts on every namespace of a tenant, valued with the tenant's name.
pub const TENANT_LABEL: &str = "capsule.clastix.io/tenant";

/// A tenant's position in [`Snapshot::tenants`].
pub(crate) type TenantId = u32;

/// Who owns what, at one point in time. `Send + Sync`; share it as `Arc<Snapshot>`.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    generation: u64,
    capsule_users: Arc<CapsuleUsers>,
    /// Sorted by name, names unique; a [`TenantId`] indexes it.
    tenants: Box<[Arc<TenantView>]>,
    /// `status.namespaces` → the tenant with the smallest name listing it.
    tenant_by_namespace: HashMap<Arc<str>, TenantId>,
    /// Per owner kind (see [`kind_slot`]): owner name → its grants.
    grants: [HashMap<Arc<str>, KeyGrants>; 3],
    /// Names and labels of namespaces, nodes, classes and persistent volumes (shared with the index).
    objects: ClusterObjects,
    /// What discovery said (shared with the index).
    api_resources: Arc<ApiResources>,
    /// Per tenant (by [`TenantId`]): [`Snapshot::tenant_label_exact`].
    label_exact: Box<[bool]>,
    /// The RoleBinding reflector's subject → namespaces (shared with the index; empty unless it runs).
    role_bindings: Arc<ReflectedNamespaces>,
}

/// The slot of `kind` in [`Snapshot::grants`].
fn kind_slot(kind: SubjectKind) -> usize {
    match kind {
        SubjectKind::User => 0,
        SubjectKind::Group => 1,
        SubjectKind::ServiceAccount => 2,
    }
}

// === impl Snapshot ===

impl Snapshot {
    /// A snapshot with nothing in it, generation 0: nobody is a Capsule user and nobody owns anything.
    pub fn empty() -> Self {
        Self {
            generation: 0,
            capsule_users: Arc::default(),
            tenants: Box::default(),
            tenant_by_namespace: HashMap::new(),
            grants: Default::default(),
            objects: ClusterObjects::default(),
            api_resources: Arc::default(),
            label_exact: Box::default(),
            role_bindings: Arc::default(),
        }
    }

    /// The generation it was built with.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the caller is a Capsule user (§2.6): one of `groups` is a `Group` entry of the CapsuleConfiguration
    /// `status.users`, or `user` is one of its `User` or `ServiceAccount` entries. Ignored users are the caller's
    /// business, not the snapshot's.
    pub fn is_capsule_user(&self, user: &str, groups: &[String]) -> bool {
        self.capsule_users.contains(user, groups)
    }

    /// The caller's tenants, as Go's `getTenantsForOwner` finds them (§2.7).
    ///
    /// Owner keys: `ServiceAccount:<user>` when `user` starts with `system:serviceaccount:`, else `User:<user>`,
    /// then `Group:<g>` for each of `groups` in order. Per key: (1) tenants whose `status.owners` holds the key,
    /// with the legacy `proxySettings` of the `spec.owners` entry of exactly that kind and name; (2) for each
    /// ProxySetting whose `spec.subjects` holds the key, the tenant whose `status.namespaces` holds the
    /// ProxySetting's namespace (skipped when there is none), with that subject's `proxySettings` and
    /// `clusterResources`; (3) only with `cluster_scoped_gate` (`ProxyClusterScoped`), per GlobalProxySettings
    /// naming the key, a synthetic tenant `global` with the matching rules' `clusterResources`. Entries come in
    /// Go's order: per key (2), (3), (1).
    pub fn proxy_tenants(
        &self,
        user: &str,
        groups: &[String],
        cluster_scoped_gate: bool,
    ) -> ProxyTenants<'_> {
        let user_kind = if user.starts_with(SERVICE_ACCOUNT_PREFIX) {
            SubjectKind::ServiceAccount
        } else {
            SubjectKind::User
        };
        let keys =
            std::iter::once((user_kind, user)).chain(groups.iter().map(|g| (SubjectKind::Group, g.as_str())));
        let mut runs = Vec::new();
        for (kind, name) in keys {
            if let Some(grants) = self.grants[kind_slot(kind)].get(name) {
                runs.extend(
                    grants
                        .visible(cluster_scoped_gate)
                        .into_iter()
                        .filter(|run| !run.is_empty()),
                );
            }
        }
        ProxyTenants::new(self, runs, cluster_scoped_gate)
    }

    /// The tenant named `name`.
    pub fn tenant(&self, name: &str) -> Option<&TenantView> {
        let at = self.tenants.binary_search_by(|t| t.name().cmp(name)).ok()?;
        self.tenants.get(at).map(|t| &**t)
    }

    /// The tenant whose `status.namespaces` lists `namespace` (the smallest name if several do).
    pub fn tenant_of_namespace(&self, namespace: &str) -> Option<&TenantView> {
        self.tenant_by_id(*self.tenant_by_namespace.get(namespace)?)
    }

    /// Every tenant, sorted by name.
    pub fn tenants(&self) -> impl ExactSizeIterator<Item = &TenantView> {
        self.tenants.iter().map(|t| &**t)
    }

    /// Names and labels of the listed nodes, classes and persistent volumes.
    pub fn cluster_objects(&self) -> &ClusterObjects {
        &self.objects
    }

    /// The namespace `name`, as the namespace watch last saw it.
    pub fn namespace(&self, name: &str) -> Option<&ClusterObjectRecord> {
        self.objects.get(ObjectKind::Namespaces, name)
    }

    /// Whether the namespaces labelled `capsule.clastix.io/tenant=<tenant>` are exactly the tenant's
    /// `status.namespaces`, so that a selector on that label is equivalent to the list of names. False until
    /// namespaces have been listed, and for names that are not valid label values. Precomputed: O(1).
    pub fn tenant_label_exact(&self, tenant: &str) -> bool {
        self.tenants
            .binary_search_by(|t| t.name().cmp(tenant))
            .ok()
            .and_then(|at| self.label_exact.get(at).copied())
            .unwrap_or(false)
    }

    /// Computes [`Snapshot::tenant_label_exact`] for every tenant: one pass over the namespaces.
    fn compute_label_exact(&mut self) {
        let Some(namespaces) = self.objects.of_kind(ObjectKind::Namespaces) else {
            self.label_exact = vec![false; self.tenants.len()].into_boxed_slice();
            return;
        };
        let mut labelled: HashMap<&str, usize> = HashMap::new();
        for ns in namespaces {
            if let Some(value) = ns.labels.get(TENANT_LABEL) {
                *labelled.entry(value.as_str()).or_default() += 1;
            }
        }
        let exact = self
            .tenants
            .iter()
            .map(|tenant| {
                let name = tenant.name();
                name.len() <= 63
                    && labelled.get(name).copied().unwrap_or(0) == tenant.namespaces().len()
                    && tenant.namespaces().iter().all(|ns| {
                        self.namespace(ns)
                            .is_some_and(|ns| ns.labels.get(TENANT_LABEL).is_some_and(|v| v == name))
                    })
            })
            .collect();
        self.label_exact = exact;
    }

    /// What discovery said: the preferred versions' resources.
    pub fn api_resources(&self) -> &ApiResources {
        &self.api_resources
    }

    pub(crate) fn set_api_resources(&mut self, resources: Arc<ApiResources>) {
        self.api_resources = resources;
    }

    pub(crate) fn set_role_bindings(&mut self, role_bindings: Arc<ReflectedNamespaces>) {
        self.role_bindings = role_bindings;
    }

    /// The namespaces where the caller is a subject of a RoleBinding (the reflector; empty when it is off).
    pub fn reflected_namespaces(&self, user: &str, groups: &[String]) -> std::collections::BTreeSet<&str> {
        self.role_bindings.namespaces_of(user, groups)
    }

    pub(crate) fn set_cluster_objects(&mut self, objects: ClusterObjects) {
        self.objects = objects;
        self.compute_label_exact();
    }

    pub(crate) fn tenant_by_id(&self, id: TenantId) -> Option<&TenantView> {
        self.tenants.get(id as usize).map(|t| &**t)
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        Self::empty()
    }
}
