//! Properties over random small inputs: the snapshot answers like a naive reading of §2.6/§2.7 straight from
//! the records, and the index reaches the same snapshot however the same state was fed to it.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;

use super::fixtures::rule;
use super::*;
use crate::index::Index;
use crate::model::{
    CapsuleConfigurationRecord, ClusterResourceRule, GlobalProxySettingsRecord, GlobalRule, LegacyKind,
    LegacyOperations, LegacyProxySetting, ProxySettingRecord, ProxySubject, Subject, SubjectKind,
    TenantOwnerSpec, TenantRecord,
};

/// How many cases each snapshot property runs.
const SNAPSHOT_CASES: u32 = 1_024;

const NAMES: [&str; 4] = ["a", "b", "system:serviceaccount:n:s", ""];
const NAMESPACES: [&str; 5] = ["n0", "n1", "n2", "n3", "n4"];

/// A subject or caller name: mostly `a` or `b`, so that callers often meet the subjects of the records; sometimes
/// a service account or the empty name.
pub(super) fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&NAMES[..2]),
        1 => prop::sample::select(&NAMES[2..]),
    ]
    .prop_map(str::to_owned)
}

fn subject() -> impl Strategy<Value = Subject> {
    let kind =
        prop::sample::select(&[SubjectKind::User, SubjectKind::Group, SubjectKind::ServiceAccount][..]);
    (kind, name()).prop_map(|(kind, name)| Subject { kind, name })
}

fn legacy_settings() -> impl Strategy<Value = Vec<LegacyProxySetting>> {
    let kind = prop::sample::select(&[LegacyKind::Nodes, LegacyKind::StorageClasses][..]);
    let setting =
        (kind, any::<(bool, bool, bool)>()).prop_map(|(kind, (list, update, delete))| LegacyProxySetting {
            kind,
            operations: LegacyOperations { list, update, delete },
        });
    vec(setting, 0..3)
}

fn rules() -> impl Strategy<Value = Vec<ClusterResourceRule>> {
    vec(prop::sample::select(&["r0", "r1", "r2"][..]).prop_map(rule), 0..3)
}

fn namespaces() -> impl Strategy<Value = Vec<String>> {
    vec(
        prop::sample::select(&NAMESPACES[..]).prop_map(str::to_owned),
        0..4,
    )
}

fn tenant_record() -> impl Strategy<Value = TenantRecord> {
    let owner = (subject(), legacy_settings()).prop_map(|(subject, proxy_settings)| TenantOwnerSpec {
        subject,
        proxy_settings,
    });
    let name = prop::sample::select(&["t0", "t1", "t2", "t3"][..]);
    (name, vec(owner, 0..4), vec(subject(), 0..4), namespaces()).prop_map(
        |(name, spec_owners, status_owners, namespaces)| TenantRecord {
            name: name.to_owned(),
            spec_owners,
            status_owners,
            namespaces,
            ..TenantRecord::default()
        },
    )
}

fn proxy_setting_record() -> impl Strategy<Value = ProxySettingRecord> {
    let subject =
        (subject(), rules(), legacy_settings()).prop_map(|(subject, cluster_resources, proxy_settings)| {
            ProxySubject {
                subject,
                cluster_resources,
                proxy_settings,
            }
        });
    let namespace = prop::sample::select(&["n0", "n1", "n2", "n5"][..]);
    let name = prop::sample::select(&["p0", "p1"][..]);
    (namespace, name, vec(subject, 1..4)).prop_map(|(namespace, name, subjects)| ProxySettingRecord {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        subjects,
    })
}

fn global_record() -> impl Strategy<Value = GlobalProxySettingsRecord> {
    let rule = (vec(subject(), 0..3), rules()).prop_map(|(subjects, cluster_resources)| GlobalRule {
        subjects,
        cluster_resources,
    });
    let name = prop::sample::select(&["g0", "g1"][..]);
    (name, vec(rule, 1..3)).prop_map(|(name, rules)| GlobalProxySettingsRecord {
        name: name.to_owned(),
        rules,
    })
}

#[derive(Debug, Clone)]
pub(super) struct State {
    tenants: Vec<TenantRecord>,
    proxy_settings: Vec<ProxySettingRecord>,
    globals: Vec<GlobalProxySettingsRecord>,
    configuration: Option<CapsuleConfigurationRecord>,
}

pub(super) fn state() -> impl Strategy<Value = State> {
    let users = vec(subject(), 0..5).prop_map(|users| CapsuleConfigurationRecord { users });
    let configuration = prop::option::weighted(0.8, users);
    (
        vec(tenant_record(), 0..5),
        vec(proxy_setting_record(), 0..5),
        vec(global_record(), 0..3),
        configuration,
    )
        .prop_map(|(tenants, proxy_settings, globals, configuration)| State {
            tenants,
            proxy_settings,
            globals,
            configuration,
        })
}

pub(super) fn build_by_reset(state: &State) -> Snapshot {
    let mut index = Index::new();
    index.reset_tenants(state.tenants.clone());
    index.reset_proxy_settings(state.proxy_settings.clone());
    index.reset_global_proxy_settings(state.globals.clone());
    index.set_capsule_configuration(state.configuration.clone());
    index.snapshot(42)
}

// === the reference: §2.6 / §2.7 read literally, straight from the records ===

/// Last record per key wins, sorted by key: what applying the records one by one leaves.
fn latest<K: Ord, T: Clone>(records: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let by_key: BTreeMap<K, T> = records.iter().map(|r| (key(r), r.clone())).collect();
    by_key.into_values().collect()
}

pub(super) type Entry = (
    String,
    GrantOrigin,
    [LegacyOperations; 6],
    Vec<ClusterResourceRule>,
);

fn legacy_table(settings: &[LegacyProxySetting]) -> [LegacyOperations; 6] {
    LegacyKind::ALL.map(|kind| {
        let mut ops = LegacyOperations::default();
        for s in settings.iter().filter(|s| s.kind == kind) {
            ops.list |= s.operations.list;
            ops.update |= s.operations.update;
            ops.delete |= s.operations.delete;
        }
        ops
    })
}

pub(super) fn reference(state: &State, user: &str, groups: &[String], gate: bool) -> Vec<Entry> {
    let tenants = latest(&state.tenants, |t| t.name.clone());
    let proxy_settings = latest(&state.proxy_settings, |p| (p.namespace.clone(), p.name.clone()));
    let globals = latest(&state.globals, |g| g.name.clone());
    let no_legacy = [LegacyOperations::default(); 6];
    let legacy = |settings: &[LegacyProxySetting]| if gate { no_legacy } else { legacy_table(settings) };

    let user_kind = if user.starts_with("system:serviceaccount:") {
        SubjectKind::ServiceAccount
    } else {
        SubjectKind::User
    };
    let keys = std::iter::once(Subject::new(user_kind, user)).chain(
        groups
            .iter()
            .map(|g| Subject::new(SubjectKind::Group, g.as_str())),
    );
    let mut out = Vec::new();
    for key in keys {
        for ps in &proxy_settings {
            let Some(subject) = ps.subjects.iter().rev().find(|s| s.subject == key) else {
                continue;
            };
            let Some(tenant) = tenants.iter().find(|t| t.namespaces.contains(&ps.namespace)) else {
                continue;
            };
            out.push((
                tenant.name.clone(),
                GrantOrigin::ProxySetting,
                legacy(&subject.proxy_settings),
                subject.cluster_resources.clone(),
            ));
        }
        if gate && !key.name.is_empty() {
            for global in &globals {
                let matching: Vec<&GlobalRule> = global
                    .rules
                    .iter()
                    .flat_map(|r| r.subjects.iter().filter(|s| **s == key).map(move |_| r))
                    .collect();
                if !matching.is_empty() {
                    let resources = matching
                        .iter()
                        .flat_map(|r| r.cluster_resources.clone())
                        .collect();
                    out.push((
                        GLOBAL_TENANT.to_owned(),
                        GrantOrigin::Global,
                        no_legacy,
                        resources,
                    ));
                }
            }
        }
        for tenant in tenants.iter().filter(|t| t.status_owners.contains(&key)) {
            let spec = tenant.spec_owners.iter().rev().find(|o| o.subject == key);
            let settings = spec.map(|o| o.proxy_settings.as_slice()).unwrap_or_default();
            out.push((
                tenant.name.clone(),
                GrantOrigin::TenantOwner,
                legacy(settings),
                Vec::new(),
            ));
        }
    }
    out
}

fn answer(tenants: &ProxyTenants<'_>) -> Vec<Entry> {
    tenants
        .iter()
        .map(|t| {
            let ops = LegacyKind::ALL.map(|kind| t.legacy_operations(kind));
            (
                t.name().to_owned(),
                t.origin(),
                ops,
                t.cluster_resources().to_vec(),
            )
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    ApplyTenant(Box<TenantRecord>),
    DeleteTenant(String),
    ApplyProxySetting(ProxySettingRecord),
    DeleteProxySetting(String, String),
    ApplyGlobal(GlobalProxySettingsRecord),
    DeleteGlobal(String),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        tenant_record().prop_map(|t| Op::ApplyTenant(Box::new(t))),
        prop::sample::select(&["t0", "t1", "t9"][..]).prop_map(|n| Op::DeleteTenant(n.to_owned())),
        proxy_setting_record().prop_map(Op::ApplyProxySetting),
        (
            prop::sample::select(&["n0", "n5"][..]),
            prop::sample::select(&["p0", "p1"][..])
        )
            .prop_map(|(ns, n)| Op::DeleteProxySetting(ns.to_owned(), n.to_owned())),
        global_record().prop_map(Op::ApplyGlobal),
        prop::sample::select(&["g0", "g9"][..]).prop_map(|n| Op::DeleteGlobal(n.to_owned())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(SNAPSHOT_CASES))]

    #[test]
    fn answers_like_the_reference(
        state in state(),
        user in name(),
        groups in vec(name(), 0..3),
        gate in any::<bool>(),
    ) {
        let snapshot = build_by_reset(&state);
        let got = snapshot.proxy_tenants(&user, &groups, gate);
        let want = reference(&state, &user, &groups, gate);
        prop_assert_eq!(answer(&got), want.as_slice());

        let mut names: Vec<&str> = want.iter().map(|e| e.0.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        prop_assert_eq!(got.tenant_names(), names.clone());

        let tenants = latest(&state.tenants, |t| t.name.clone());
        let mut namespaces: Vec<&str> = tenants
            .iter()
            .filter(|t| names.contains(&t.name.as_str()))
            .flat_map(|t| t.namespaces.iter().map(String::as_str))
            .collect();
        namespaces.sort_unstable();
        namespaces.dedup();
        prop_assert_eq!(got.namespaces(), namespaces);

        let rules: Vec<ClusterResourceRule> = want.iter().flat_map(|e| e.3.clone()).collect();
        prop_assert_eq!(got.cluster_resources().cloned().collect::<Vec<_>>(), rules);

        for ns in NAMESPACES {
            let want = tenants.iter().find(|t| t.namespaces.iter().any(|n| n == ns)).map(|t| t.name.as_str());
            prop_assert_eq!(snapshot.tenant_of_namespace(ns).map(TenantView::name), want);
        }
        for t in &tenants {
            prop_assert_eq!(snapshot.tenant(&t.name).map(TenantView::name), Some(t.name.as_str()));
        }
        prop_assert_eq!(snapshot.tenants().len(), tenants.len());

        let users = state.configuration.iter().flat_map(|c| &c.users);
        let want_capsule = users.clone().any(|s| s.kind != SubjectKind::Group && s.name == user)
            || users.clone().any(|s| s.kind == SubjectKind::Group && groups.contains(&s.name));
        prop_assert_eq!(snapshot.is_capsule_user(&user, &groups), want_capsule);
    }

    #[test]
    fn reset_equals_applying_one_by_one(state in state()) {
        let mut index = Index::new();
        for t in state.tenants.clone() {
            index.apply_tenant(t);
        }
        for p in state.proxy_settings.clone() {
            index.apply_proxy_setting(p);
        }
        for g in state.globals.clone() {
            index.apply_global_proxy_settings(g);
        }
        index.set_capsule_configuration(state.configuration.clone());
        prop_assert_eq!(index.snapshot(42), build_by_reset(&state));

        // Resetting to the state the index already holds is no change.
        let revision = index.revision();
        index.reset_tenants(state.tenants.clone());
        index.reset_proxy_settings(state.proxy_settings.clone());
        index.reset_global_proxy_settings(state.globals);
        index.set_capsule_configuration(state.configuration);
        prop_assert_eq!(index.revision(), revision);
        prop_assert!(!index.changed_since_last_build());
    }

    #[test]
    fn any_event_sequence_equals_a_reset_to_its_outcome(start in state(), ops in vec(op(), 0..12)) {
        let mut index = Index::new();
        index.reset_tenants(start.tenants.clone());
        index.reset_proxy_settings(start.proxy_settings.clone());
        index.reset_global_proxy_settings(start.globals.clone());

        let mut tenants: BTreeMap<String, TenantRecord> =
            start.tenants.into_iter().map(|t| (t.name.clone(), t)).collect();
        let mut proxy_settings: BTreeMap<(String, String), ProxySettingRecord> = start
            .proxy_settings
            .into_iter()
            .map(|p| ((p.namespace.clone(), p.name.clone()), p))
            .collect();
        let mut globals: BTreeMap<String, GlobalProxySettingsRecord> =
            start.globals.into_iter().map(|g| (g.name.clone(), g)).collect();
        for op in ops {
            match op {
                Op::ApplyTenant(t) => {
                    index.apply_tenant((*t).clone());
                    tenants.insert(t.name.clone(), *t);
                }
                Op::DeleteTenant(n) => {
                    index.delete_tenant(&n);
                    tenants.remove(&n);
                }
                Op::ApplyProxySetting(p) => {
                    index.apply_proxy_setting(p.clone());
                    proxy_settings.insert((p.namespace.clone(), p.name.clone()), p);
                }
                Op::DeleteProxySetting(ns, n) => {
                    index.delete_proxy_setting(&ns, &n);
                    proxy_settings.remove(&(ns, n));
                }
                Op::ApplyGlobal(g) => {
                    index.apply_global_proxy_settings(g.clone());
                    globals.insert(g.name.clone(), g);
                }
                Op::DeleteGlobal(n) => {
                    index.delete_global_proxy_settings(&n);
                    globals.remove(&n);
                }
            }
        }
        let outcome = State {
            tenants: tenants.into_values().collect(),
            proxy_settings: proxy_settings.into_values().collect(),
            globals: globals.into_values().collect(),
            configuration: None,
        };
        prop_assert_eq!(index.snapshot(42), build_by_reset(&outcome));
    }
}
