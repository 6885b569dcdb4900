//! The cluster model of the isolation test: Capsule tenants with user, group and service-account owners (each
//! with its legacy `proxySettings`), namespaces with the tenant their owner reference names, nodes, classes and
//! the tenants' allowed lists, persistent volumes, the CapsuleConfiguration's users, and the callers.

use std::collections::{BTreeMap, BTreeSet};

pub use super::kinds::Kind;

/// The label Capsule puts on a tenant's namespaces (and the proxy selects persistent volumes by).
pub const TENANT_LABEL: &str = "capsule.clastix.io/tenant";
/// The newer spelling of [`TENANT_LABEL`], also set by Capsule.
pub const PROJECT_TENANT_LABEL: &str = "projectcapsule.dev/tenant";
/// The label kube-apiserver puts on every namespace (and the proxy's name selectors use).
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The group the CapsuleConfiguration always names.
pub const CAPSULE_GROUP: &str = "projectcapsule.dev";
/// The namespaces every cluster has, owned by no tenant.
pub const SYSTEM_NAMESPACES: [&str; 3] = ["default", "kube-system", "capsule-system"];

/// Who owns a tenant, or is a Capsule user: `(kind, name)` as Capsule writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    User(String),
    Group(String),
    /// The full `system:serviceaccount:<namespace>:<name>` user name.
    ServiceAccount(String),
}

impl Subject {
    /// Capsule's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::User(_) => "User",
            Subject::Group(_) => "Group",
            Subject::ServiceAccount(_) => "ServiceAccount",
        }
    }

    /// Capsule's `name`.
    pub fn name(&self) -> &str {
        match self {
            Subject::User(n) | Subject::Group(n) | Subject::ServiceAccount(n) => n,
        }
    }
}

/// One tenant owner and the legacy kinds its `proxySettings` allow to `List`.
#[derive(Debug, Clone)]
pub struct Owner {
    pub subject: Subject,
    pub list_kinds: BTreeSet<Kind>,
}

/// A tenant's allowed list of one class kind (`spec.storageClasses`, …).
#[derive(Debug, Clone, Default)]
pub struct AllowedList {
    pub names: Vec<String>,
    pub default: Option<String>,
    /// The names it opens end in `-<flavor>` (`allowedRegex: ^.*-<flavor>$`).
    pub flavor_regex: Option<String>,
    pub match_labels: BTreeMap<String, String>,
    /// One `matchExpressions` entry: `key In (values)`.
    pub match_in: Option<(String, Vec<String>)>,
}

impl AllowedList {
    /// Whether the list has a label selector.
    pub fn has_selector(&self) -> bool {
        !self.match_labels.is_empty() || self.match_in.is_some()
    }

    /// Whether its label selector selects `labels` (false without a selector).
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.has_selector()
            && self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self
                .match_in
                .as_ref()
                .is_none_or(|(k, values)| labels.get(k).is_some_and(|v| values.contains(v)))
    }

    /// Whether a name is opened by the names, the default or the regex.
    pub fn names_open(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
            || self.default.as_deref() == Some(name)
            || self
                .flavor_regex
                .as_ref()
                .is_some_and(|f| name.ends_with(&format!("-{f}")))
    }
}

/// A Capsule tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: String,
    pub uid: String,
    /// `spec.owners` and `status.owners` (Capsule keeps them equal).
    pub owners: Vec<Owner>,
    /// `status.namespaces`; each of them names the tenant in its owner references.
    pub namespaces: Vec<String>,
    pub node_selector: BTreeMap<String, String>,
    pub allowed: BTreeMap<Kind, AllowedList>,
}

/// A named object with labels.
#[derive(Debug, Clone)]
pub struct Object {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// A namespace, and the index of the tenant its owner reference names.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub object: Object,
    pub tenant: Option<usize>,
}

/// Someone who sends requests: a kube-sim identity with a token and maybe a client certificate.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The kube-sim identity (file stem of its kubeconfig).
    pub identity: String,
    pub username: String,
    /// Groups as the client certificate carries them (kube-sim's TokenReview adds `system:authenticated` and a
    /// service account's groups).
    pub groups: Vec<String>,
    pub token: String,
    pub certificate: bool,
}

impl Caller {
    /// The groups the proxy learns: from the TokenReview for a bearer token, from the certificate otherwise.
    pub fn groups_seen(&self, bearer: bool) -> Vec<String> {
        let mut groups = self.groups.clone();
        if bearer {
            if let Some(namespace) = self.service_account_namespace() {
                groups.push("system:serviceaccounts".to_string());
                groups.push(format!("system:serviceaccounts:{namespace}"));
            }
            groups.push("system:authenticated".to_string());
        }
        groups
    }

    /// The namespace of a service account's user name.
    pub fn service_account_namespace(&self) -> Option<&str> {
        let rest = self.username.strip_prefix("system:serviceaccount:")?;
        rest.split_once(':').map(|(namespace, _)| namespace)
    }

    /// The owner key of the user name: a service account or a user.
    pub fn user_subject(&self) -> Subject {
        if self.service_account_namespace().is_some() {
            Subject::ServiceAccount(self.username.clone())
        } else {
            Subject::User(self.username.clone())
        }
    }
}

/// The whole generated cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub seed: u64,
    pub tenants: Vec<Tenant>,
    pub namespaces: Vec<Namespace>,
    /// Nodes, classes and persistent volumes by kind.
    pub objects: BTreeMap<Kind, Vec<Object>>,
    pub callers: Vec<Caller>,
    /// The CapsuleConfiguration's `status.users`.
    pub capsule_users: Vec<Subject>,
}

impl Cluster {
    /// The objects of a kind that exist, by name (tenants and namespaces included).
    pub fn names_of(&self, kind: Kind) -> Vec<String> {
        match kind {
            Kind::Namespace => self.namespaces.iter().map(|n| n.object.name.clone()).collect(),
            Kind::Tenant => self.tenants.iter().map(|t| t.name.clone()).collect(),
            _ => self
                .objects
                .get(&kind)
                .map(|objects| objects.iter().map(|o| o.name.clone()).collect())
                .unwrap_or_default(),
        }
    }

    /// Every group some tenant is owned by.
    pub fn owner_groups(&self) -> BTreeSet<String> {
        self.tenants
            .iter()
            .flat_map(|t| &t.owners)
            .filter_map(|o| match &o.subject {
                Subject::Group(g) => Some(g.clone()),
                _ => None,
            })
            .collect()
    }
}
