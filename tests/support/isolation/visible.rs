//! What a caller may see, computed from the generated model alone (never from the proxy's policy crate): the
//! tenants it owns as a user, a service account or through a group, and from them the namespaces, tenants,
//! nodes, classes and volumes it is entitled to.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Caller, Cluster, Kind, Subject};

/// The expected answers for one caller authenticated one way.
#[derive(Debug, Clone, Default)]
pub struct Visibility {
    /// Whether the proxy filters the caller (a Capsule user); everyone else is passed through and owns nothing
    /// the API server would show them.
    pub capsule_user: bool,
    /// The names of each kind the caller may see.
    pub names: BTreeMap<Kind, BTreeSet<String>>,
    /// The class kinds no tenant of the caller lets it list: the list answers `400 not allowed`.
    pub list_refused: BTreeSet<Kind>,
}

impl Visibility {
    /// Nothing at all: an unauthenticated request.
    pub fn nothing() -> Self {
        Self::default()
    }

    /// What `caller` may see when it authenticates with its token (`bearer`) or its client certificate.
    pub fn of(cluster: &Cluster, caller: &Caller, bearer: bool) -> Self {
        let groups = caller.groups_seen(bearer);
        let mut keys = vec![caller.user_subject()];
        keys.extend(groups.iter().cloned().map(Subject::Group));
        let capsule_user = cluster.capsule_users.iter().any(|u| match u {
            Subject::Group(g) => groups.contains(g),
            Subject::User(name) | Subject::ServiceAccount(name) => *name == caller.username,
        });
        let mut out = Self {
            capsule_user,
            ..Self::default()
        };
        if !capsule_user {
            return out;
        }
        // Every (tenant, owner entry) the caller matches; a tenant owned twice counts twice.
        let grants: Vec<(usize, &BTreeSet<Kind>)> = cluster
            .tenants
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.owners.iter().map(move |o| (i, o)))
            .filter(|(_, owner)| keys.contains(&owner.subject))
            .map(|(i, owner)| (i, &owner.list_kinds))
            .collect();
        let owned: BTreeSet<usize> = grants.iter().map(|(i, _)| *i).collect();
        let mut add = |kind: Kind, name: &str| {
            out.names.entry(kind).or_default().insert(name.to_string());
        };
        for &i in &owned {
            let tenant = &cluster.tenants[i];
            add(Kind::Tenant, &tenant.name);
            for ns in &tenant.namespaces {
                add(Kind::Namespace, ns);
            }
            for node in &cluster.objects[&Kind::Node] {
                if tenant
                    .node_selector
                    .iter()
                    .all(|(k, v)| node.labels.get(k) == Some(v))
                {
                    add(Kind::Node, &node.name);
                }
            }
        }
        for kind in Kind::CLASSES {
            let allowing: Vec<usize> = grants
                .iter()
                .filter(|(_, kinds)| kinds.contains(&kind))
                .map(|(i, _)| *i)
                .collect();
            if allowing.is_empty() {
                out.list_refused.insert(kind);
                continue;
            }
            for class in &cluster.objects[&kind] {
                let visible = allowing.iter().any(|&i| {
                    cluster.tenants[i].allowed.get(&kind).is_some_and(|list| {
                        // Runtime classes are opened by their labels only.
                        (kind != Kind::RuntimeClass && list.names_open(&class.name))
                            || list.selects(&class.labels)
                    })
                });
                if visible {
                    add(kind, &class.name);
                }
            }
        }
        let volume_tenants: BTreeSet<&str> = grants
            .iter()
            .filter(|(_, kinds)| kinds.contains(&Kind::PersistentVolume))
            .map(|(i, _)| cluster.tenants[*i].name.as_str())
            .collect();
        for volume in &cluster.objects[&Kind::PersistentVolume] {
            let tenant = volume.labels.get(super::model::TENANT_LABEL);
            if tenant.is_some_and(|t| volume_tenants.contains(t.as_str())) {
                add(Kind::PersistentVolume, &volume.name);
            }
        }
        out
    }

    /// The names of `kind` the caller may see.
    pub fn of_kind(&self, kind: Kind) -> BTreeSet<String> {
        self.names.get(&kind).cloned().unwrap_or_default()
    }

    /// Whether the caller may see the object `name` of `kind`.
    pub fn sees(&self, kind: Kind, name: &str) -> bool {
        self.names.get(&kind).is_some_and(|names| names.contains(name))
    }
}
