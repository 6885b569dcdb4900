//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`): what kube-apiserver checks when one is written, the
//! status its controllers set (names accepted, established, stored versions), and the [`Kind`]s of the custom
//! resources it serves, which [`crate::catalog::ServedKinds`] adds to the built-in table.
//!
//! Served as kube-apiserver serves them: every `served: true` version, listed by Kubernetes' version priority
//! (`v2` > `v1` > `v1beta2` > `v1beta1` > `v1alpha1` > any other name alphabetically, so the first is the
//! group's preferred version), with the verbs of a stored kind and a `status` subresource when the version
//! declares one; deleting a definition deletes its objects. A definition is established as soon as it is
//! stored.
//!
//! Not modelled: schema validation, pruning and defaulting, conversion between versions (objects are served
//! as stored), the `scale` subresource, `additionalPrinterColumns` (Tables print `Name` and `Age`), OpenAPI
//! publishing, name conflicts between definitions. A definition of a resource kube-sim serves built in
//! (Capsule's) is stored and established but changes nothing.
//!
//! The [`Kind`]s are interned for the life of the process (one per distinct definition of a version), so the
//! `&'static Kind`s every request carries work for custom resources too.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock;
use crate::kinds::{CRUD, Kind, Storage};
use crate::status::ApiError;

/// API group of CustomResourceDefinitions.
pub const GROUP: &str = "apiextensions.k8s.io";
/// Resource of CustomResourceDefinitions.
pub const RESOURCE: &str = "customresourcedefinitions";
/// `kind` of a CustomResourceDefinition.
const KIND: &str = "CustomResourceDefinition";

/// Whether `group`/`resource` names the CustomResourceDefinitions themselves.
pub fn is_definition(group: &str, resource: &str) -> bool {
    group == GROUP && resource == RESOURCE
}

/// The part of `spec` kube-sim reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    group: String,
    #[serde(default)]
    names: Names,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    versions: Vec<VersionSpec>,
}

/// `spec.names`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Names {
    #[serde(default)]
    plural: String,
    #[serde(default)]
    singular: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    list_kind: String,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
}

impl Names {
    /// The names with kube-apiserver's defaults filled in (`singular` = lower-case kind, `listKind` =
    /// `<kind>List`).
    fn defaulted(&self) -> Value {
        let singular = if self.singular.is_empty() {
            self.kind.to_ascii_lowercase()
        } else {
            self.singular.clone()
        };
        let list_kind = if self.list_kind.is_empty() {
            format!("{}List", self.kind)
        } else {
            self.list_kind.clone()
        };
        let mut names = json!({
            "plural": self.plural,
            "singular": singular,
            "kind": self.kind,
            "listKind": list_kind,
        });
        if !self.short_names.is_empty() {
            names["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            names["categories"] = json!(self.categories);
        }
        names
    }
}

/// One entry of `spec.versions`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionSpec {
    #[serde(default)]
    name: String,
    #[serde(default)]
    served: bool,
    #[serde(default)]
    storage: bool,
    #[serde(default)]
    subresources: Option<Subresources>,
}

/// `spec.versions[].subresources`.
#[derive(Debug, Default, Deserialize)]
struct Subresources {
    #[serde(default)]
    status: Option<Value>,
}

fn spec(crd: &Value) -> Spec {
    crd.get("spec")
        .and_then(|s| Spec::deserialize(s).ok())
        .unwrap_or_default()
}

/// Whether `s` is a lower-case RFC 1123 subdomain (`a-z`, `0-9`, `-`, `.`; alphanumeric at both ends).
fn is_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether `s` is a lower-case RFC 1035 label (what `names.plural` and `names.singular` must be).
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Checks a definition as kube-apiserver's validation does, for the fields kube-sim reads: the name is
/// `<plural>.<group>`, the group a dotted subdomain, the names valid, the scope known, and there is at least
/// one version, exactly one of them the storage version.
pub fn validate(crd: &Value) -> Result<(), ApiError> {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let spec = spec(crd);
    let invalid = |field: &str, message: String| ApiError::invalid(KIND, GROUP, name, field, &message);
    if !is_subdomain(&spec.group) || !spec.group.contains('.') {
        return Err(invalid(
            "spec.group",
            format!(
                "Invalid value: \"{}\": should be a domain with at least one dot",
                spec.group
            ),
        ));
    }
    if !is_label(&spec.names.plural) {
        return Err(invalid(
            "spec.names.plural",
            format!(
                "Invalid value: \"{}\": a lowercase RFC 1035 label must consist of lower case alphanumeric characters or '-'",
                spec.names.plural
            ),
        ));
    }
    if !spec.names.singular.is_empty() && !is_label(&spec.names.singular) {
        return Err(invalid(
            "spec.names.singular",
            format!(
                "Invalid value: \"{}\": a lowercase RFC 1035 label must consist of lower case alphanumeric characters or '-'",
                spec.names.singular
            ),
        ));
    }
    if spec.names.kind.is_empty() {
        return Err(invalid("spec.names.kind", "Required value".into()));
    }
    let expected = format!("{}.{}", spec.names.plural, spec.group);
    if name != expected {
        return Err(invalid(
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if !matches!(spec.scope.as_str(), "Cluster" | "Namespaced") {
        return Err(invalid(
            "spec.scope",
            format!(
                "Unsupported value: \"{}\": supported values: \"Cluster\", \"Namespaced\"",
                spec.scope
            ),
        ));
    }
    if spec.versions.is_empty() {
        return Err(invalid("spec.versions", "Required value".into()));
    }
    for (i, v) in spec.versions.iter().enumerate() {
        if !is_label(&v.name) {
            return Err(invalid(
                &format!("spec.versions[{i}].name"),
                format!("Invalid value: \"{}\": must be a DNS-1035 label", v.name),
            ));
        }
        if spec.versions[..i].iter().any(|earlier| earlier.name == v.name) {
            return Err(invalid(
                &format!("spec.versions[{i}].name"),
                format!("Duplicate value: \"{}\"", v.name),
            ));
        }
    }
    if spec.versions.iter().filter(|v| v.storage).count() != 1 {
        return Err(invalid(
            "spec.versions",
            "Invalid value: must have exactly one version marked as storage version".into(),
        ));
    }
    Ok(())
}

/// The (group, plural) a definition's objects are stored under, if it has them.
pub fn resource_of(crd: &Value) -> Option<(String, String)> {
    let spec = spec(crd);
    (!spec.group.is_empty() && !spec.names.plural.is_empty()).then_some((spec.group, spec.names.plural))
}

/// Sets the status kube-apiserver's controllers maintain: `acceptedNames` (the defaulted names),
/// `NamesAccepted` and `Established` conditions (a condition already true keeps its transition time) and
/// `storedVersions` (every version ever marked as storage).
pub fn set_status(crd: &mut Value) {
    let spec = spec(crd);
    let previous = crd.get("status").cloned().unwrap_or(Value::Null);
    let since = |condition: &str| -> Value {
        previous
            .get("conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == condition && c["status"] == "True")
            })
            .and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(clock::now()))
    };
    let mut stored: Vec<String> = previous
        .get("storedVersions")
        .and_then(Value::as_array)
        .map(|vs| vs.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    for v in spec.versions.iter().filter(|v| v.storage) {
        if !stored.contains(&v.name) {
            stored.push(v.name.clone());
        }
    }
    let status = json!({
        "acceptedNames": spec.names.defaulted(),
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": since("NamesAccepted")},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": since("Established")},
        ],
        "storedVersions": stored,
    });
    if let Some(o) = crd.as_object_mut() {
        o.insert("status".into(), status);
    }
}

/// Kubernetes' version priority (`version.CompareKubeAwareVersionStrings`), highest first: GA before beta
/// before alpha, then the higher major, then the higher minor; names that are not Kubernetes versions come
/// last, alphabetically.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    match (kube_version(a), kube_version(b)) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// `(stage, major, minor)` of `v<major>[(alpha|beta)<minor>]`, stage 2 for GA, 1 for beta, 0 for alpha.
fn kube_version(v: &str) -> Option<(u8, u64, u64)> {
    let rest = v.strip_prefix('v')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (major, rest) = rest.split_at(digits);
    let major: u64 = major.parse().ok().filter(|m| *m > 0)?;
    if rest.is_empty() {
        return Some((2, major, 0));
    }
    let (stage, minor) = if let Some(minor) = rest.strip_prefix("beta") {
        (1, minor)
    } else {
        (0, rest.strip_prefix("alpha")?)
    };
    if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stage, major, minor.parse().ok()?))
}

/// Everything that tells one custom [`Kind`] from another, to intern it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct KindKey {
    group: String,
    version: String,
    resource: String,
    singular: String,
    kind: String,
    namespaced: bool,
    short_names: Vec<String>,
    categories: Vec<String>,
    status: bool,
}

/// Interned custom kinds, one per distinct [`KindKey`].
static INTERNED: Mutex<BTreeMap<KindKey, &'static Kind>> = Mutex::new(BTreeMap::new());

fn leak_strs(strings: &[String]) -> &'static [&'static str] {
    let leaked: Vec<&'static str> = strings.iter().map(|s| &*s.clone().leak()).collect();
    leaked.leak()
}

fn intern(key: KindKey) -> &'static Kind {
    let mut interned = INTERNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(kind) = interned.get(&key) {
        return kind;
    }
    let kind: &'static Kind = Box::leak(Box::new(Kind {
        group: key.group.clone().leak(),
        version: key.version.clone().leak(),
        resource: key.resource.clone().leak(),
        singular: key.singular.clone().leak(),
        kind: key.kind.clone().leak(),
        namespaced: key.namespaced,
        short_names: leak_strs(&key.short_names),
        categories: leak_strs(&key.categories),
        verbs: CRUD,
        subresources: if key.status { &["status"] } else { &[] },
        storage: Storage::Stored,
    }));
    interned.insert(key, kind);
    kind
}

/// The kinds a (valid) definition serves, one per served version, by version priority.
pub fn served_kinds(crd: &Value) -> Vec<&'static Kind> {
    let spec = spec(crd);
    let names = spec.names.defaulted();
    let singular = names["singular"].as_str().unwrap_or_default().to_string();
    let mut versions: Vec<&VersionSpec> = spec.versions.iter().filter(|v| v.served).collect();
    versions.sort_by(|a, b| compare_versions(&a.name, &b.name));
    versions
        .into_iter()
        .map(|v| {
            intern(KindKey {
                group: spec.group.clone(),
                version: v.name.clone(),
                resource: spec.names.plural.clone(),
                singular: singular.clone(),
                kind: spec.names.kind.clone(),
                namespaced: spec.scope == "Namespaced",
                short_names: spec.names.short_names.clone(),
                categories: spec.names.categories.clone(),
                status: v.subresources.as_ref().is_some_and(|s| s.status.is_some()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widgets(versions: Value) -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                "scope": "Namespaced",
                "versions": versions,
            },
        })
    }

    #[test]
    fn versions_sort_by_kubernetes_priority() {
        let mut versions = vec![
            "foo10",
            "v1alpha1",
            "v1",
            "v2beta1",
            "v1beta2",
            "foo1",
            "v11alpha2",
            "v2",
            "v1beta1",
        ];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            versions,
            [
                "v2",
                "v1",
                "v2beta1",
                "v1beta2",
                "v1beta1",
                "v11alpha2",
                "v1alpha1",
                "foo1",
                "foo10"
            ]
        );
    }

    #[test]
    fn served_versions_become_interned_kinds() {
        let crd = widgets(json!([
            {"name": "v1beta1", "served": true, "storage": false},
            {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
            {"name": "v1alpha1", "served": false, "storage": false},
        ]));
        validate(&crd).unwrap();
        let kinds = served_kinds(&crd);
        let versions: Vec<_> = kinds.iter().map(|k| k.version).collect();
        assert_eq!(versions, ["v1", "v1beta1"]);
        let v1 = kinds[0];
        assert_eq!(
            (v1.group, v1.resource, v1.singular, v1.kind, v1.namespaced),
            ("example.com", "widgets", "widget", "Widget", true)
        );
        assert_eq!(v1.short_names, ["wd"]);
        assert!(v1.has_subresource("status") && !kinds[1].has_subresource("status"));
        assert!(v1.supports("watch") && v1.supports("deletecollection"));
        assert!(
            std::ptr::eq(served_kinds(&crd)[0], v1),
            "an unchanged definition reuses its kinds"
        );
    }

    #[test]
    fn invalid_definitions_are_refused_with_422() {
        let ok = widgets(json!([{"name": "v1", "served": true, "storage": true}]));
        validate(&ok).unwrap();
        let mut wrong_name = ok.clone();
        wrong_name["metadata"]["name"] = json!("gadgets.example.com");
        let mut no_dot = ok.clone();
        no_dot["spec"]["group"] = json!("example");
        let mut scope = ok.clone();
        scope["spec"]["scope"] = json!("Global");
        let two_storage = widgets(json!([
            {"name": "v1", "served": true, "storage": true},
            {"name": "v2", "served": true, "storage": true},
        ]));
        let duplicate = widgets(json!([
            {"name": "v1", "served": true, "storage": true},
            {"name": "v1", "served": true, "storage": false},
        ]));
        let mut no_kind = ok;
        no_kind["spec"]["names"]["kind"] = json!("");
        for (crd, field) in [
            (wrong_name, "metadata.name"),
            (no_dot, "spec.group"),
            (scope, "spec.scope"),
            (two_storage, "spec.versions"),
            (duplicate, "spec.versions[1].name"),
            (no_kind, "spec.names.kind"),
        ] {
            let error = validate(&crd).unwrap_err();
            assert_eq!(error.code, 422, "{field}");
            assert!(error.message.contains(field), "{field}: {}", error.message);
        }
    }

    #[test]
    fn status_accepts_names_and_keeps_transition_times() {
        let mut crd = widgets(json!([{"name": "v1", "served": true, "storage": true}]));
        set_status(&mut crd);
        let status = crd["status"].clone();
        assert_eq!(status["acceptedNames"]["singular"], "widget");
        assert_eq!(status["acceptedNames"]["listKind"], "WidgetList");
        assert_eq!(status["conditions"][1]["type"], "Established");
        assert_eq!(status["conditions"][1]["status"], "True");
        assert_eq!(status["storedVersions"], json!(["v1"]));
        crd["spec"]["versions"] = json!([
            {"name": "v1", "served": true, "storage": false},
            {"name": "v2", "served": true, "storage": true},
        ]);
        set_status(&mut crd);
        assert_eq!(crd["status"]["storedVersions"], json!(["v1", "v2"]));
        assert_eq!(
            crd["status"]["conditions"][1]["lastTransitionTime"],
            status["conditions"][1]["lastTransitionTime"]
        );
        assert_eq!(
            resource_of(&crd),
            Some(("example.com".to_string(), "widgets".to_string()))
        );
    }
}
