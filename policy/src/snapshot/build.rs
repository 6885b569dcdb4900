//! Building a [`Snapshot`] from parsed records: one pass per kind, only `Arc` clones and hash inserts.

use std::collections::HashMap;
use std::sync::Arc;

use super::proxy_tenants::{Grant, KeyGrants};
use super::view::{CapsuleUsers, GlobalView, KeyGrant, ProxySettingView, TenantView};
use super::{GrantOrigin, Snapshot, TenantId, kind_slot};

/// Builds a snapshot. `tenants` must be sorted by name with unique names; `proxy_settings` and `globals` come in
/// the order their grants should appear within one owner key.
pub(crate) fn build<'a>(
    generation: u64,
    capsule_users: Arc<CapsuleUsers>,
    tenants: impl Iterator<Item = &'a Arc<TenantView>>,
    proxy_settings: impl Iterator<Item = &'a ProxySettingView>,
    globals: impl Iterator<Item = &'a GlobalView>,
) -> Snapshot {
    let tenants: Box<[Arc<TenantView>]> = tenants.cloned().collect();

    let mut tenant_by_namespace = HashMap::with_capacity(tenants.iter().map(|t| t.namespaces().len()).sum());
    for (id, tenant) in (0..).zip(tenants.iter()) {
        for ns in tenant.namespaces() {
            // First (smallest-named) tenant wins; Go takes whichever the cache lists first.
            tenant_by_namespace.entry(Arc::clone(ns)).or_insert(id);
        }
    }

    let mut keys = Builders::default();

    // (2) ProxySettings: the tenant of the ProxySetting's namespace, if any.
    for ps in proxy_settings {
        let Some(&tenant) = tenant_by_namespace.get(&*ps.namespace) else {
            continue;
        };
        for key in ps.grants.iter() {
            keys.push(key, grant(Some(tenant), GrantOrigin::ProxySetting, key));
        }
    }
    keys.for_each(|b| b.global_start = b.grants.len());

    // (3) GlobalProxySettings: the synthetic `global` tenant, filtered out at lookup without the gate.
    for global in globals {
        for key in global.grants.iter() {
            keys.push(key, grant(None, GrantOrigin::Global, key));
        }
    }
    keys.for_each(|b| b.global_end = b.grants.len());

    // (1) Tenants by `status.owners`.
    for (id, tenant) in (0..).zip(tenants.iter()) {
        for key in tenant.owner_grants() {
            keys.push(key, grant(Some(id), GrantOrigin::TenantOwner, key));
        }
    }

    Snapshot {
        generation,
        capsule_users,
        tenants,
        tenant_by_namespace,
        objects: Default::default(),
        api_resources: Default::default(),
        label_exact: Default::default(),
        role_bindings: Default::default(),
        grants: keys.0.map(|by_name| {
            by_name
                .into_iter()
                .map(|(name, b)| {
                    let grants = KeyGrants {
                        grants: b.grants.into_boxed_slice(),
                        global_start: b.global_start,
                        global_end: b.global_end,
                    };
                    (name, grants)
                })
                .collect()
        }),
    }
}

fn grant(tenant: Option<TenantId>, origin: GrantOrigin, key: &KeyGrant) -> Grant {
    Grant {
        tenant,
        origin,
        legacy: key.legacy,
        cluster_resources: key.cluster_resources.clone(),
    }
}

/// The grants of one owner key while building.
#[derive(Default)]
struct KeyBuilder {
    grants: Vec<Grant>,
    global_start: usize,
    global_end: usize,
}

/// Per owner kind, owner name → its grants while building.
#[derive(Default)]
struct Builders([HashMap<Arc<str>, KeyBuilder>; 3]);

impl Builders {
    fn push(&mut self, key: &KeyGrant, grant: Grant) {
        let by_name = &mut self.0[kind_slot(key.kind)];
        match by_name.get_mut(&*key.name) {
            Some(b) => b.grants.push(grant),
            None => {
                // A key first seen in a later phase has no grants of the earlier phases: 0 is right for both marks.
                let b = KeyBuilder {
                    grants: vec![grant],
                    ..KeyBuilder::default()
                };
                by_name.insert(Arc::clone(&key.name), b);
            }
        }
    }

    fn for_each(&mut self, f: impl Fn(&mut KeyBuilder)) {
        self.0.iter_mut().flat_map(|m| m.values_mut()).for_each(f);
    }
}
