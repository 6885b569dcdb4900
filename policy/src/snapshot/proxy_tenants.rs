//! The answer to "which tenants does this caller own" ([`ProxyTenants`]) and its entries ([`ProxyTenant`]),
//! plus the precomputed per-owner-key grant lists they are read from.

use std::sync::Arc;

use super::{Snapshot, TenantId, TenantView};
use crate::model::{ClusterResourceRule, LegacyKind, LegacyOperations};
use crate::snapshot::view::LegacyTable;

/// The name of the synthetic tenant GlobalProxySettings grants appear as.
pub const GLOBAL_TENANT: &str = "global";

/// Why a caller has a [`ProxyTenant`] (§2.7 of the behaviour reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantOrigin {
    /// A Tenant whose `status.owners` names the caller's key.
    TenantOwner,
    /// A ProxySetting in one of the tenant's namespaces whose `spec.subjects` names the caller's key.
    ProxySetting,
    /// A GlobalProxySettings rule naming the caller's key: the synthetic `global` tenant.
    Global,
}

/// One precomputed grant of an owner key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// `None` for the synthetic `global` tenant.
    pub(crate) tenant: Option<TenantId>,
    pub(crate) origin: GrantOrigin,
    pub(crate) legacy: LegacyTable,
    pub(crate) cluster_resources: Option<Arc<[ClusterResourceRule]>>,
}

/// All grants of one owner key in Go's order: ProxySetting tenants, then `global` ones, then owned tenants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyGrants {
    pub(crate) grants: Box<[Grant]>,
    /// `grants[global_start..global_end]` are the [`GrantOrigin::Global`] ones, skipped without the gate.
    pub(crate) global_start: usize,
    pub(crate) global_end: usize,
}

impl KeyGrants {
    /// The grants visible with or without the `ProxyClusterScoped` gate, as at most two runs.
    pub(crate) fn visible(&self, cluster_scoped_gate: bool) -> [&[Grant]; 2] {
        if cluster_scoped_gate {
            return [&self.grants, &[]];
        }
        let (start, end) = (self.global_start, self.global_end);
        [
            self.grants.get(..start).unwrap_or_default(),
            self.grants.get(end..).unwrap_or_default(),
        ]
    }
}

/// The tenants a caller gets, in Go's `getTenantsForOwner` order: the user (or service account) key first, then
/// one group key per group in the given order; per key ProxySetting tenants, `global` entries (gate on only),
/// then owned tenants. Like Go it keeps duplicates: a tenant owned both as a user and through a group appears
/// twice, each entry with its own legacy operations and cluster resources.
#[derive(Debug, Clone)]
pub struct ProxyTenants<'a> {
    snapshot: &'a Snapshot,
    runs: Vec<&'a [Grant]>,
    legacy_enabled: bool,
}

/// One entry of [`ProxyTenants`] (Go's `ProxyTenant`).
#[derive(Debug, Clone, Copy)]
pub struct ProxyTenant<'a> {
    name: &'a str,
    tenant: Option<&'a TenantView>,
    origin: GrantOrigin,
    /// `None` when the cluster-scoped gate is on (Go leaves the map nil) and for `global`.
    legacy: Option<LegacyTable>,
    cluster_resources: &'a [ClusterResourceRule],
}

// === impl ProxyTenants ===

impl<'a> ProxyTenants<'a> {
    pub(crate) fn new(snapshot: &'a Snapshot, runs: Vec<&'a [Grant]>, cluster_scoped_gate: bool) -> Self {
        Self {
            snapshot,
            runs,
            legacy_enabled: !cluster_scoped_gate,
        }
    }

    /// The entries, in Go's order.
    pub fn iter(&self) -> impl Iterator<Item = ProxyTenant<'a>> + '_ {
        let (snapshot, legacy_enabled) = (self.snapshot, self.legacy_enabled);
        self.runs.iter().flat_map(|run| run.iter()).map(move |grant| {
            let tenant = grant.tenant.and_then(|id| snapshot.tenant_by_id(id));
            ProxyTenant {
                name: tenant.map_or(GLOBAL_TENANT, TenantView::name),
                tenant,
                origin: grant.origin,
                legacy: (legacy_enabled && grant.origin != GrantOrigin::Global).then_some(grant.legacy),
                cluster_resources: grant.cluster_resources.as_deref().unwrap_or_default(),
            }
        })
    }

    /// How many entries there are (duplicates included).
    pub fn len(&self) -> usize {
        self.runs.iter().map(|run| run.len()).sum()
    }

    /// Whether the caller has no tenant at all.
    pub fn is_empty(&self) -> bool {
        self.runs.iter().all(|run| run.is_empty())
    }

    /// The union of every entry's `status.namespaces`, sorted and deduplicated.
    pub fn namespaces(&self) -> Vec<&'a str> {
        let mut ids: Vec<TenantId> = self
            .runs
            .iter()
            .flat_map(|r| r.iter())
            .filter_map(|g| g.tenant)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut names: Vec<&'a str> = ids
            .into_iter()
            .filter_map(|id| self.snapshot.tenant_by_id(id))
            .flat_map(|t| t.namespaces().iter().map(|ns| &**ns))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The entries' tenant names (`global` included when present), sorted and deduplicated.
    pub fn tenant_names(&self) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = self.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Whether some entry is the tenant `name` (`global` matches the synthetic tenant).
    pub fn contains_tenant(&self, name: &str) -> bool {
        self.iter().any(|t| t.name == name)
    }

    /// Every entry's `clusterResources` rules, in entry order, duplicates kept (as Go's loops see them).
    pub fn cluster_resources(&self) -> impl Iterator<Item = &'a ClusterResourceRule> + '_ {
        self.iter().flat_map(|t| t.cluster_resources.iter())
    }

    /// The entries whose legacy operations for `kind` allow the HTTP `method` (never any with the gate on).
    pub fn legacy_allowed<'b>(
        &'b self,
        kind: LegacyKind,
        method: &'b str,
    ) -> impl Iterator<Item = ProxyTenant<'a>> + 'b {
        self.iter().filter(move |t| t.legacy_allows(kind, method))
    }
}

// === impl ProxyTenant ===

impl<'a> ProxyTenant<'a> {
    /// The tenant's name, or `global` for the synthetic GlobalProxySettings tenant.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The tenant, or `None` for the synthetic `global` tenant (empty spec and status).
    pub fn tenant(&self) -> Option<&'a TenantView> {
        self.tenant
    }

    /// Why the caller has this entry.
    pub fn origin(&self) -> GrantOrigin {
        self.origin
    }

    /// The tenant's `status.namespaces` (none for `global`).
    pub fn namespaces(&self) -> &'a [Arc<str>] {
        self.tenant.map(TenantView::namespaces).unwrap_or_default()
    }

    /// The legacy operations on `kind`, from the matching `spec.owners[]` entry or ProxySetting subject; all
    /// false with the cluster-scoped gate on and for `global`.
    pub fn legacy_operations(&self, kind: LegacyKind) -> LegacyOperations {
        self.legacy.map(|t| t.get(kind)).unwrap_or_default()
    }

    /// Whether the legacy operations on `kind` allow the HTTP `method` (see
    /// [`LegacyOperations::allows_method`]).
    pub fn legacy_allows(&self, kind: LegacyKind, method: &str) -> bool {
        self.legacy_operations(kind).allows_method(method)
    }

    /// The `clusterResources` rules: the ProxySetting subject's, or the union of the matching GlobalProxySettings
    /// rules'; none for Tenant owners.
    pub fn cluster_resources(&self) -> &'a [ClusterResourceRule] {
        self.cluster_resources
    }
}
