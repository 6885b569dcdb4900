//! Kubernetes objects → the policy crate's records. Unknown kinds, operators or operations are skipped with a
//! warning (never a crash), as Capsule's own validation would have refused them.

use std::collections::BTreeMap;

use capsule_proxy_policy::model::{
    AllowedList, CapsuleConfigurationRecord, ClusterOperations, ClusterResourceRule,
    GlobalProxySettingsRecord, GlobalRule, LabelSelector, LegacyKind, LegacyOperations, LegacyProxySetting,
    ProxySettingRecord, ProxySubject, SelectorOperator, SelectorRequirement, Subject, SubjectKind,
    TenantOwnerSpec, TenantRecord,
};
use kube::ResourceExt;

use crate::crds::{
    AllowedListSpec, CapsuleConfiguration, ClusterResourceSpec, GlobalProxySettings, LabelSelectorSpec,
    LegacyProxySettingSpec, ProxySetting, SelectorRequirementSpec, SubjectSpec, Tenant,
};

fn subject(kind: &str, name: &str) -> Option<Subject> {
    let kind = match kind {
        "User" => SubjectKind::User,
        "Group" => SubjectKind::Group,
        "ServiceAccount" => SubjectKind::ServiceAccount,
        other => {
            tracing::warn!(kind = other, name, "skipping a subject of unknown kind");
            return None;
        }
    };
    Some(Subject::new(kind, name))
}

fn subjects(specs: &[SubjectSpec]) -> Vec<Subject> {
    specs.iter().filter_map(|s| subject(&s.kind, &s.name)).collect()
}

fn legacy(specs: &[LegacyProxySettingSpec]) -> Vec<LegacyProxySetting> {
    specs
        .iter()
        .filter_map(|spec| {
            let kind = match spec.kind.as_str() {
                "Nodes" => LegacyKind::Nodes,
                "StorageClasses" => LegacyKind::StorageClasses,
                "IngressClasses" => LegacyKind::IngressClasses,
                "PriorityClasses" => LegacyKind::PriorityClasses,
                "RuntimeClasses" => LegacyKind::RuntimeClasses,
                "PersistentVolumes" => LegacyKind::PersistentVolumes,
                other => {
                    tracing::warn!(kind = other, "skipping a proxy setting of unknown kind");
                    return None;
                }
            };
            let mut operations = LegacyOperations::default();
            for op in &spec.operations {
                match op.as_str() {
                    "List" => operations.list = true,
                    "Update" => operations.update = true,
                    "Delete" => operations.delete = true,
                    other => tracing::warn!(operation = other, "skipping an unknown proxy setting operation"),
                }
            }
            Some(LegacyProxySetting { kind, operations })
        })
        .collect()
}

fn requirements(specs: &[SelectorRequirementSpec]) -> Vec<SelectorRequirement> {
    specs
        .iter()
        .filter_map(|r| {
            let operator = match r.operator.as_str() {
                "In" => SelectorOperator::In,
                "NotIn" => SelectorOperator::NotIn,
                "Exists" => SelectorOperator::Exists,
                "DoesNotExist" => SelectorOperator::DoesNotExist,
                other => {
                    tracing::warn!(operator = other, key = %r.key, "skipping a selector requirement");
                    return None;
                }
            };
            Some(SelectorRequirement {
                key: r.key.clone(),
                operator,
                values: r.values.clone(),
            })
        })
        .collect()
}

fn selector(spec: &LabelSelectorSpec) -> LabelSelector {
    LabelSelector {
        match_labels: spec.match_labels.clone(),
        match_expressions: requirements(&spec.match_expressions),
    }
}

fn allowed(spec: &AllowedListSpec) -> AllowedList {
    AllowedList {
        allowed: spec.allowed.clone(),
        default: spec.default.clone(),
        allowed_regex: spec.allowed_regex.clone().filter(|r| !r.is_empty()),
        selector: LabelSelector {
            match_labels: spec.match_labels.clone(),
            match_expressions: requirements(&spec.match_expressions),
        },
    }
}

fn cluster_rules(specs: &[ClusterResourceSpec]) -> Vec<ClusterResourceRule> {
    specs
        .iter()
        .map(|spec| {
            let mut operations = ClusterOperations::default();
            if spec.operations.is_empty() {
                operations = ClusterOperations {
                    list: true,
                    get: true,
                };
            }
            for op in &spec.operations {
                match op.as_str() {
                    // `List` implies `Get`.
                    "List" => {
                        operations = ClusterOperations {
                            list: true,
                            get: true,
                        }
                    }
                    "Get" => operations.get = true,
                    other => tracing::warn!(
                        operation = other,
                        "skipping an unknown clusterResources operation"
                    ),
                }
            }
            ClusterResourceRule {
                api_groups: spec.api_groups.clone(),
                resources: spec.resources.clone(),
                operations,
                selector: selector(&spec.selector),
            }
        })
        .collect()
}

/// A Tenant's record.
pub fn tenant(tenant: &Tenant) -> TenantRecord {
    let status = tenant.status.clone().unwrap_or_default();
    let spec = &tenant.spec;
    TenantRecord {
        name: tenant.name_any(),
        labels: tenant.labels().clone().into_iter().collect::<BTreeMap<_, _>>(),
        spec_owners: spec
            .owners
            .iter()
            .filter_map(|owner| {
                Some(TenantOwnerSpec {
                    subject: subject(&owner.kind, &owner.name)?,
                    proxy_settings: legacy(&owner.proxy_settings),
                })
            })
            .collect(),
        status_owners: subjects(&status.owners),
        namespaces: status.namespaces,
        node_selector: spec.node_selector.clone(),
        storage_classes: spec.storage_classes.as_ref().map(allowed),
        ingress_classes: spec
            .ingress_options
            .as_ref()
            .and_then(|o| o.allowed_classes.as_ref())
            .map(allowed),
        priority_classes: spec.priority_classes.as_ref().map(allowed),
        runtime_classes: spec.runtime_classes.as_ref().map(allowed),
    }
}

/// A ProxySetting's record.
pub fn proxy_setting(setting: &ProxySetting) -> ProxySettingRecord {
    ProxySettingRecord {
        namespace: setting.namespace().unwrap_or_default(),
        name: setting.name_any(),
        subjects: setting
            .spec
            .subjects
            .iter()
            .filter_map(|s| {
                Some(ProxySubject {
                    subject: subject(&s.kind, &s.name)?,
                    cluster_resources: cluster_rules(&s.cluster_resources),
                    proxy_settings: legacy(&s.proxy_settings),
                })
            })
            .collect(),
    }
}

/// A GlobalProxySettings' record.
pub fn global_proxy_settings(settings: &GlobalProxySettings) -> GlobalProxySettingsRecord {
    GlobalProxySettingsRecord {
        name: settings.name_any(),
        rules: settings
            .spec
            .rules
            .iter()
            .map(|rule| GlobalRule {
                subjects: subjects(&rule.subjects),
                cluster_resources: cluster_rules(&rule.cluster_resources),
            })
            .collect(),
    }
}

/// The CapsuleConfiguration's record (`status.users`).
pub fn capsule_configuration(config: &CapsuleConfiguration) -> CapsuleConfigurationRecord {
    CapsuleConfigurationRecord {
        users: config
            .status
            .as_ref()
            .map(|s| subjects(&s.users))
            .unwrap_or_default(),
    }
}
