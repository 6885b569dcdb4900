//! The kinds the proxy filters for tenant owners: their paths, object kinds and legacy `proxySettings` names.

/// A kind whose objects the proxy filters for tenant owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Namespace,
    Node,
    StorageClass,
    IngressClass,
    PriorityClass,
    RuntimeClass,
    PersistentVolume,
    Tenant,
}

impl Kind {
    /// Every filtered kind.
    pub const ALL: [Kind; 8] = [
        Kind::Namespace,
        Kind::Node,
        Kind::StorageClass,
        Kind::IngressClass,
        Kind::PriorityClass,
        Kind::RuntimeClass,
        Kind::PersistentVolume,
        Kind::Tenant,
    ];
    /// The class kinds, opened by the tenants' allowed lists.
    pub const CLASSES: [Kind; 4] = [
        Kind::StorageClass,
        Kind::IngressClass,
        Kind::PriorityClass,
        Kind::RuntimeClass,
    ];
    /// The kinds a tenant owner's legacy `proxySettings` name.
    pub const LEGACY: [Kind; 6] = [
        Kind::Node,
        Kind::StorageClass,
        Kind::IngressClass,
        Kind::PriorityClass,
        Kind::RuntimeClass,
        Kind::PersistentVolume,
    ];

    /// The group-version path prefix: `/api/v1` or `/apis/<group>/<version>`.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Namespace | Kind::Node | Kind::PersistentVolume => "/api/v1",
            Kind::StorageClass => "/apis/storage.k8s.io/v1",
            Kind::IngressClass => "/apis/networking.k8s.io/v1",
            Kind::PriorityClass => "/apis/scheduling.k8s.io/v1",
            Kind::RuntimeClass => "/apis/node.k8s.io/v1",
            Kind::Tenant => "/apis/capsule.clastix.io/v1beta2",
        }
    }

    /// The plural resource name.
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Node => "nodes",
            Kind::StorageClass => "storageclasses",
            Kind::IngressClass => "ingressclasses",
            Kind::PriorityClass => "priorityclasses",
            Kind::RuntimeClass => "runtimeclasses",
            Kind::PersistentVolume => "persistentvolumes",
            Kind::Tenant => "tenants",
        }
    }

    /// The `kind` of its objects.
    pub fn object_kind(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Node => "Node",
            Kind::StorageClass => "StorageClass",
            Kind::IngressClass => "IngressClass",
            Kind::PriorityClass => "PriorityClass",
            Kind::RuntimeClass => "RuntimeClass",
            Kind::PersistentVolume => "PersistentVolume",
            Kind::Tenant => "Tenant",
        }
    }

    /// The kind of an object's or a list's `kind` (`Namespace`, `NamespaceList`).
    pub fn of_object_kind(kind: &str) -> Option<Kind> {
        let kind = kind.strip_suffix("List").unwrap_or(kind);
        Kind::ALL.into_iter().find(|k| k.object_kind() == kind)
    }

    /// The `proxySettings` kind of a legacy kind.
    pub fn proxy_setting(self) -> Option<&'static str> {
        match self {
            Kind::Node => Some("Nodes"),
            Kind::StorageClass => Some("StorageClasses"),
            Kind::IngressClass => Some("IngressClasses"),
            Kind::PriorityClass => Some("PriorityClasses"),
            Kind::RuntimeClass => Some("RuntimeClasses"),
            Kind::PersistentVolume => Some("PersistentVolumes"),
            Kind::Namespace | Kind::Tenant => None,
        }
    }

    /// `apiVersion` of its objects.
    pub fn api_version(self) -> &'static str {
        self.prefix()
            .trim_start_matches("/apis/")
            .trim_start_matches("/api/")
    }

    /// The prefix of the generated names of its objects.
    pub fn name_prefix(self) -> &'static str {
        match self {
            Kind::StorageClass => "sc",
            Kind::IngressClass => "ic",
            Kind::PriorityClass => "pc",
            Kind::RuntimeClass => "rc",
            Kind::Namespace => "ns",
            Kind::Node => "node",
            Kind::PersistentVolume => "pv",
            Kind::Tenant => "tenant",
        }
    }

    /// A name no object of this kind has.
    pub fn missing_name(self) -> String {
        format!("{}-missing", self.name_prefix())
    }
}
