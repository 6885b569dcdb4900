//! Kubernetes objects → the policy crate's records. Unknown kinds, operators or operations, and selectors
//! apimachinery would refuse, are skipped (never a crash) and named in the object's
//! [`Problems`](crate::problems::Problems): a Tenant's are logged as warnings, a ProxySetting's or
//! GlobalProxySettings' also reach its `Ready` condition ([`crate::setting_status`]).

use std::collections::BTreeMap;

use capsule_proxy_policy::model::{
    AllowedList, CapsuleConfigurationRecord, ClusterOperations, ClusterResourceRule,
    GlobalProxySettingsRecord, GlobalRule, LabelSelector, LegacyKind, LegacyOperations, LegacyProxySetting,
    ProxySettingRecord, ProxySubject, SelectorOperator, SelectorRequirement, Subject, SubjectKind,
    TenantOwnerSpec, TenantRecord,
};
use capsule_proxy_policy::role_bindings::{self, RoleBindingRecord};
use capsule_proxy_policy::selector::Selector;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::ResourceExt;

use crate::crds::{
    AllowedListSpec, CapsuleConfiguration, ClusterResourceSpec, GlobalProxySettings, LabelSelectorSpec,
    LegacyProxySettingSpec, ProxySetting, SelectorRequirementSpec, SubjectSpec, Tenant,
};
use crate::problems::Problems;
use crate::setting_status::{StatusReport, StatusTarget};

fn subject(kind: &str, name: &str, at: &str, problems: &mut Problems) -> Option<Subject> {
    let kind = match kind {
        "User" => SubjectKind::User,
        "Group" => SubjectKind::Group,
        "ServiceAccount" => SubjectKind::ServiceAccount,
        other => {
            problems.push(
                &format!("{at}.kind"),
                format_args!("unknown kind {other:?} (subject {name:?})"),
            );
            return None;
        }
    };
    Some(Subject::new(kind, name))
}

fn subjects(specs: &[SubjectSpec], at: &str, problems: &mut Problems) -> Vec<Subject> {
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| subject(&s.kind, &s.name, &format!("{at}[{i}]"), problems))
        .collect()
}

fn legacy(specs: &[LegacyProxySettingSpec], at: &str, problems: &mut Problems) -> Vec<LegacyProxySetting> {
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, spec)| {
            let at = format!("{at}[{i}]");
            let kind = match spec.kind.as_str() {
                "Nodes" => LegacyKind::Nodes,
                "StorageClasses" => LegacyKind::StorageClasses,
                "IngressClasses" => LegacyKind::IngressClasses,
                "PriorityClasses" => LegacyKind::PriorityClasses,
                "RuntimeClasses" => LegacyKind::RuntimeClasses,
                "PersistentVolumes" => LegacyKind::PersistentVolumes,
                other => {
                    problems.push(&format!("{at}.kind"), format_args!("unknown kind {other:?}"));
                    return None;
                }
            };
            let mut operations = LegacyOperations::default();
            for op in &spec.operations {
                match op.as_str() {
                    "List" => operations.list = true,
                    "Update" => operations.update = true,
                    "Delete" => operations.delete = true,
                    other => problems.push(
                        &format!("{at}.operations"),
                        format_args!("unknown operation {other:?}"),
                    ),
                }
            }
            Some(LegacyProxySetting { kind, operations })
        })
        .collect()
}

fn requirements(
    specs: &[SelectorRequirementSpec],
    at: &str,
    problems: &mut Problems,
) -> Vec<SelectorRequirement> {
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let operator = match r.operator.as_str() {
                "In" => SelectorOperator::In,
                "NotIn" => SelectorOperator::NotIn,
                "Exists" => SelectorOperator::Exists,
                "DoesNotExist" => SelectorOperator::DoesNotExist,
                other => {
                    let at = format!("{at}.matchExpressions[{i}].operator");
                    problems.push(&at, format_args!("unknown operator {other:?} (key {:?})", r.key));
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

/// A label selector; one apimachinery would refuse (bad key or value, `In` without values, …) is a problem:
/// the policy crate then gives it no effect.
fn selector(spec: &LabelSelectorSpec, at: &str, problems: &mut Problems) -> LabelSelector {
    let selector = LabelSelector {
        match_labels: spec.match_labels.clone(),
        match_expressions: requirements(&spec.match_expressions, at, problems),
    };
    if let Err(e) = Selector::from_label_selector(&selector) {
        problems.push(at, format_args!("invalid selector: {e}"));
    }
    selector
}

fn allowed(spec: &AllowedListSpec, at: &str, problems: &mut Problems) -> AllowedList {
    AllowedList {
        allowed: spec.allowed.clone(),
        default: spec.default.clone(),
        allowed_regex: spec.allowed_regex.clone().filter(|r| !r.is_empty()),
        selector: LabelSelector {
            match_labels: spec.match_labels.clone(),
            match_expressions: requirements(&spec.match_expressions, at, problems),
        },
    }
}

fn cluster_rules(
    specs: &[ClusterResourceSpec],
    at: &str,
    problems: &mut Problems,
) -> Vec<ClusterResourceRule> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let at = format!("{at}[{i}]");
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
                    other => problems.push(
                        &format!("{at}.operations"),
                        format_args!("unknown operation {other:?}"),
                    ),
                }
            }
            ClusterResourceRule {
                api_groups: spec.api_groups.clone(),
                resources: spec.resources.clone(),
                operations,
                selector: selector(&spec.selector, &format!("{at}.selector"), problems),
            }
        })
        .collect()
}

/// A Tenant's record; what cannot be used is skipped with a warning.
pub fn tenant(tenant: &Tenant) -> TenantRecord {
    let mut problems = Problems::default();
    let record = tenant_record(tenant, &mut problems);
    problems.warn(&format!("Tenant {}", tenant.name_any()));
    record
}

fn tenant_record(tenant: &Tenant, problems: &mut Problems) -> TenantRecord {
    let status = tenant.status.clone().unwrap_or_default();
    let spec = &tenant.spec;
    TenantRecord {
        name: tenant.name_any(),
        labels: tenant.labels().clone().into_iter().collect::<BTreeMap<_, _>>(),
        spec_owners: spec
            .owners
            .iter()
            .enumerate()
            .filter_map(|(i, owner)| {
                let at = format!("spec.owners[{i}]");
                Some(TenantOwnerSpec {
                    subject: subject(&owner.kind, &owner.name, &at, problems)?,
                    proxy_settings: legacy(&owner.proxy_settings, &format!("{at}.proxySettings"), problems),
                })
            })
            .collect(),
        status_owners: subjects(&status.owners, "status.owners", problems),
        namespaces: status.namespaces,
        node_selector: spec.node_selector.clone(),
        storage_classes: spec
            .storage_classes
            .as_ref()
            .map(|a| allowed(a, "spec.storageClasses", problems)),
        ingress_classes: spec
            .ingress_options
            .as_ref()
            .and_then(|o| o.allowed_classes.as_ref())
            .map(|a| allowed(a, "spec.ingressOptions.allowedClasses", problems)),
        priority_classes: spec
            .priority_classes
            .as_ref()
            .map(|a| allowed(a, "spec.priorityClasses", problems)),
        runtime_classes: spec
            .runtime_classes
            .as_ref()
            .map(|a| allowed(a, "spec.runtimeClasses", problems)),
    }
}

/// A ProxySetting's record, and the report its status is written from.
pub fn proxy_setting(setting: &ProxySetting) -> (ProxySettingRecord, StatusReport) {
    let mut problems = Problems::default();
    let namespace = setting.namespace().unwrap_or_default();
    let name = setting.name_any();
    let subjects = setting
        .spec
        .subjects
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let at = format!("spec.subjects[{i}]");
            Some(ProxySubject {
                subject: subject(&s.kind, &s.name, &at, &mut problems)?,
                cluster_resources: cluster_rules(
                    &s.cluster_resources,
                    &format!("{at}.clusterResources"),
                    &mut problems,
                ),
                proxy_settings: legacy(&s.proxy_settings, &format!("{at}.proxySettings"), &mut problems),
            })
        })
        .collect();
    problems.warn(&format!("ProxySetting {namespace}/{name}"));
    let report = StatusReport::new(
        StatusTarget::ProxySetting {
            namespace: namespace.clone(),
            name: name.clone(),
        },
        setting.metadata.generation.unwrap_or(0),
        setting.status.clone().unwrap_or_default(),
        problems,
    );
    let record = ProxySettingRecord {
        namespace,
        name,
        subjects,
    };
    (record, report)
}

/// A GlobalProxySettings' record, and the report its status is written from.
pub fn global_proxy_settings(settings: &GlobalProxySettings) -> (GlobalProxySettingsRecord, StatusReport) {
    let mut problems = Problems::default();
    let name = settings.name_any();
    let rules = settings
        .spec
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let at = format!("spec.rules[{i}]");
            GlobalRule {
                subjects: subjects(&rule.subjects, &format!("{at}.subjects"), &mut problems),
                cluster_resources: cluster_rules(
                    &rule.cluster_resources,
                    &format!("{at}.clusterResources"),
                    &mut problems,
                ),
            }
        })
        .collect();
    problems.warn(&format!("GlobalProxySettings {name}"));
    let report = StatusReport::new(
        StatusTarget::GlobalProxySettings { name: name.clone() },
        settings.metadata.generation.unwrap_or(0),
        settings.status.clone().unwrap_or_default(),
        problems,
    );
    (GlobalProxySettingsRecord { name, rules }, report)
}

/// The CapsuleConfiguration's record (`status.users`).
pub fn capsule_configuration(config: &CapsuleConfiguration) -> CapsuleConfigurationRecord {
    let mut problems = Problems::default();
    let record = CapsuleConfigurationRecord {
        users: config
            .status
            .as_ref()
            .map(|s| subjects(&s.users, "status.users", &mut problems))
            .unwrap_or_default(),
    };
    problems.warn(&format!("CapsuleConfiguration {}", config.name_any()));
    record
}

/// A RoleBinding as the reflector keeps it: its subjects, ServiceAccounts with their namespace; subjects of
/// kinds RBAC does not know are skipped with a warning.
pub fn role_binding(binding: &RoleBinding) -> RoleBindingRecord {
    let namespace = binding.namespace().unwrap_or_default();
    let name = binding.name_any();
    let subjects = binding
        .subjects
        .iter()
        .flatten()
        .filter_map(|s| {
            let subject = role_bindings::subject_of(&s.kind, &s.name, s.namespace.as_deref(), &namespace);
            if subject.is_none() {
                tracing::warn!(binding = %format!("{namespace}/{name}"), kind = %s.kind, "skipping a RoleBinding subject of unknown kind");
            }
            subject
        })
        .collect();
    RoleBindingRecord {
        namespace,
        name,
        subjects,
    }
}
