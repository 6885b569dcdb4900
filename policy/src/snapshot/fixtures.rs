//! Builder fixtures for index and snapshot tests:
//! `tenant("oil").owner_user("alice").namespaces(["oil-dev"]).build()`.

use std::collections::BTreeMap;

use crate::model::{
    AllowedList, CapsuleConfigurationRecord, ClusterOperations, ClusterResourceRule,
    GlobalProxySettingsRecord, GlobalRule, LabelSelector, LegacyKind, LegacyOperations, LegacyProxySetting,
    ProxySettingRecord, ProxySubject, Subject, SubjectKind, TenantOwnerSpec, TenantRecord,
};

pub(crate) fn user(name: &str) -> Subject {
    Subject::new(SubjectKind::User, name)
}

pub(crate) fn group(name: &str) -> Subject {
    Subject::new(SubjectKind::Group, name)
}

pub(crate) fn sa(name: &str) -> Subject {
    Subject::new(SubjectKind::ServiceAccount, name)
}

/// `ops("LUD")`: List, Update, Delete by initial.
pub(crate) fn ops(letters: &str) -> LegacyOperations {
    LegacyOperations {
        list: letters.contains('L'),
        update: letters.contains('U'),
        delete: letters.contains('D'),
    }
}

pub(crate) fn legacy(kind: LegacyKind, letters: &str) -> LegacyProxySetting {
    LegacyProxySetting {
        kind,
        operations: ops(letters),
    }
}

/// A rule opening `resource` in the core group for List and Get, selecting `rule=<resource>`.
pub(crate) fn rule(resource: &str) -> ClusterResourceRule {
    ClusterResourceRule {
        api_groups: vec![String::new()],
        resources: vec![resource.to_owned()],
        operations: ClusterOperations {
            list: true,
            get: true,
        },
        selector: LabelSelector {
            match_labels: BTreeMap::from([("rule".to_owned(), resource.to_owned())]),
            match_expressions: Vec::new(),
        },
    }
}

pub(crate) fn strings<const N: usize>(items: [&str; N]) -> Vec<String> {
    items.into_iter().map(str::to_owned).collect()
}

// === tenant ===

pub(crate) fn tenant(name: &str) -> TenantBuilder {
    TenantBuilder(TenantRecord {
        name: name.to_owned(),
        labels: BTreeMap::from([("kubernetes.io/metadata.name".to_owned(), name.to_owned())]),
        ..TenantRecord::default()
    })
}

pub(crate) struct TenantBuilder(TenantRecord);

impl TenantBuilder {
    /// An owner in both `spec.owners` and `status.owners`.
    pub(crate) fn owner(self, subject: Subject) -> Self {
        self.owner_with(subject, Vec::new())
    }

    pub(crate) fn owner_user(self, name: &str) -> Self {
        self.owner(user(name))
    }

    pub(crate) fn owner_group(self, name: &str) -> Self {
        self.owner(group(name))
    }

    pub(crate) fn owner_sa(self, name: &str) -> Self {
        self.owner(sa(name))
    }

    /// An owner in both `spec.owners` (with legacy settings) and `status.owners`.
    pub(crate) fn owner_with(mut self, subject: Subject, settings: Vec<LegacyProxySetting>) -> Self {
        self.0.status_owners.push(subject.clone());
        self.spec_owner(subject, settings)
    }

    /// Only in `spec.owners`.
    pub(crate) fn spec_owner(mut self, subject: Subject, settings: Vec<LegacyProxySetting>) -> Self {
        self.0.spec_owners.push(TenantOwnerSpec {
            subject,
            proxy_settings: settings,
        });
        self
    }

    /// Only in `status.owners`.
    pub(crate) fn status_owner(mut self, subject: Subject) -> Self {
        self.0.status_owners.push(subject);
        self
    }

    pub(crate) fn namespaces<const N: usize>(mut self, namespaces: [&str; N]) -> Self {
        self.0.namespaces.extend(strings(namespaces));
        self
    }

    pub(crate) fn label(mut self, key: &str, value: &str) -> Self {
        self.0.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    pub(crate) fn node_selector(mut self, key: &str, value: &str) -> Self {
        self.0.node_selector.insert(key.to_owned(), value.to_owned());
        self
    }

    pub(crate) fn storage_classes(mut self, allowed: AllowedList) -> Self {
        self.0.storage_classes = Some(allowed);
        self
    }

    pub(crate) fn build(self) -> TenantRecord {
        self.0
    }
}

// === ProxySetting ===

pub(crate) fn proxy_setting(namespace: &str, name: &str) -> ProxySettingBuilder {
    ProxySettingBuilder(ProxySettingRecord {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        subjects: Vec::new(),
    })
}

pub(crate) struct ProxySettingBuilder(ProxySettingRecord);

impl ProxySettingBuilder {
    pub(crate) fn subject(self, subject: Subject) -> Self {
        self.subject_with(subject, Vec::new(), Vec::new())
    }

    pub(crate) fn subject_with(
        mut self,
        subject: Subject,
        cluster_resources: Vec<ClusterResourceRule>,
        proxy_settings: Vec<LegacyProxySetting>,
    ) -> Self {
        self.0.subjects.push(ProxySubject {
            subject,
            cluster_resources,
            proxy_settings,
        });
        self
    }

    pub(crate) fn build(self) -> ProxySettingRecord {
        self.0
    }
}

// === GlobalProxySettings ===

pub(crate) fn global(name: &str) -> GlobalBuilder {
    GlobalBuilder(GlobalProxySettingsRecord {
        name: name.to_owned(),
        rules: Vec::new(),
    })
}

pub(crate) struct GlobalBuilder(GlobalProxySettingsRecord);

impl GlobalBuilder {
    pub(crate) fn rule(
        mut self,
        subjects: Vec<Subject>,
        cluster_resources: Vec<ClusterResourceRule>,
    ) -> Self {
        self.0.rules.push(GlobalRule {
            subjects,
            cluster_resources,
        });
        self
    }

    pub(crate) fn build(self) -> GlobalProxySettingsRecord {
        self.0
    }
}

// === CapsuleConfiguration ===

pub(crate) fn capsule_configuration(users: Vec<Subject>) -> CapsuleConfigurationRecord {
    CapsuleConfigurationRecord { users }
}
