//! Discovery: `/version`, `/api`, `/apis`, `/apis/<group>` and the group-version resource lists, in both the
//! legacy form (`APIVersions`, `APIGroupList`, `APIGroup`, `APIResourceList`) and the aggregated form
//! (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`), all derived from the kinds served now
//! ([`ServedKinds`]: the built-in table and the custom resources of stored CustomResourceDefinitions).
//!
//! How client-go (v1.32, the `kubectl` we serve) reads these, which is what the shapes here follow:
//! - `DiscoveryClient` asks `/api` and `/apis` with `Accept: application/json;g=apidiscovery.k8s.io;v=v2;
//!   as=APIGroupDiscoveryList,<the same for v2beta1>,application/json` and decides by the response
//!   `Content-Type` (media type `application/json` with parameters `g`, `v`, `as` in any order).
//!   With the aggregated form it never fetches `/apis/<g>/<v>`.
//! - `SplitGroupsAndResources` turns each aggregated group into an `APIGroup` whose preferred version is the
//!   first non-stale version, so versions are listed preferred first with `freshness: Current`. A resource
//!   without a non-empty `responseKind` is dropped; `scope == "Namespaced"` gives `namespaced`; each
//!   subresource needs its own `responseKind` and becomes `<resource>/<subresource>` with the parent's
//!   singular name and scope.
//! - The core group is the aggregated item with an empty name; `/apis` never lists it.

use serde_json::{Map, Value, json};

use crate::catalog::ServedKinds;
use crate::kinds::{KINDS, Kind};

/// `Content-Type` of an aggregated discovery response.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// `Content-Type` of every other discovery response.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The `gitVersion` kube-sim reports (also the OpenAPI `info.version`).
pub const GIT_VERSION: &str = "v1.33.0-kube-sim";

/// Verbs of a `status` subresource.
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
/// Verbs of `pods/log`.
const LOG_VERBS: &[&str] = &["get"];
/// Verbs of `pods/exec` (GET upgrades to a stream, POST too).
const EXEC_VERBS: &[&str] = &["create", "get"];

/// What discovery says about one subresource of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// Subresource name (`status`, `log`, `exec`).
    pub name: &'static str,
    /// `kind` of the subresource's request/response object.
    pub kind: &'static str,
    /// Supported verbs.
    pub verbs: &'static [&'static str],
}

/// The subresources of `kind` with their response kinds and verbs, as kube-apiserver publishes them.
pub fn subresources(kind: &Kind) -> impl Iterator<Item = Subresource> + '_ {
    kind.subresources.iter().map(move |&name| match name {
        "log" => Subresource {
            name,
            kind: kind.kind,
            verbs: LOG_VERBS,
        },
        "exec" => Subresource {
            name,
            kind: "PodExecOptions",
            verbs: EXEC_VERBS,
        },
        _ => Subresource {
            name,
            kind: kind.kind,
            verbs: STATUS_VERBS,
        },
    })
}

/// `/version`: a `version.Info`.
pub fn version() -> Value {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{arch}", std::env::consts::OS),
    })
}

/// Versions served in the core group, in table order.
fn core_versions() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KINDS.iter().filter(|k| k.group.is_empty()) {
        if !out.contains(&k.version) {
            out.push(k.version);
        }
    }
    out
}

/// `groupVersion` string: `v1` or `group/version`.
fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `/api`: the legacy `APIVersions`.
pub fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": core_versions(),
        "serverAddressByClientCIDRs": [],
    })
}

/// One `APIGroup` object (without `kind`/`apiVersion`).
fn group_entry(group: &str, versions: &[&str]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": group_version(group, v), "version": v}))
        .collect();
    let preferred = list.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": list, "preferredVersion": preferred})
}

/// `/apis`: the legacy `APIGroupList`, preferred version first in every group.
pub fn api_group_list(served: &ServedKinds) -> Value {
    let groups: Vec<Value> = served
        .groups()
        .iter()
        .map(|(g, versions)| group_entry(g, versions))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`: the `APIGroup`, or `None` if the group is not served.
pub fn api_group(served: &ServedKinds, group: &str) -> Option<Value> {
    let groups = served.groups();
    let (name, versions) = groups.iter().find(|(g, _)| *g == group)?;
    let mut entry = group_entry(name, versions);
    if let Value::Object(map) = &mut entry {
        map.insert("kind".into(), "APIGroup".into());
        map.insert("apiVersion".into(), "v1".into());
    }
    Some(entry)
}

/// One legacy `APIResource` entry.
fn resource_entry(k: &Kind) -> Value {
    let mut r = json!({
        "name": k.resource,
        "singularName": k.singular,
        "namespaced": k.namespaced,
        "kind": k.kind,
        "verbs": k.verbs,
    });
    if let Value::Object(map) = &mut r {
        if !k.short_names.is_empty() {
            map.insert("shortNames".into(), json!(k.short_names));
        }
        if !k.categories.is_empty() {
            map.insert("categories".into(), json!(k.categories));
        }
    }
    r
}

/// `/api/<v>` or `/apis/<group>/<v>`: the `APIResourceList` including subresources, or `None` if the
/// group-version is not served.
pub fn api_resource_list(served: &ServedKinds, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for k in served.in_group_version(group, version) {
        resources.push(resource_entry(k));
        for sub in subresources(k) {
            resources.push(json!({
                "name": format!("{}/{}", k.resource, sub.name),
                "singularName": "",
                "namespaced": k.namespaced,
                "kind": sub.kind,
                "verbs": sub.verbs,
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version(group, version),
        "resources": resources,
    }))
}

/// One parsed media range of an `Accept` header.
#[derive(Debug, Clone)]
pub(crate) struct MediaRange<'a> {
    /// `type/subtype`, lower-cased.
    pub(crate) essence: String,
    /// Parameters other than `q`, keys lower-cased, values unquoted.
    params: Vec<(String, &'a str)>,
}

impl MediaRange<'_> {
    /// The value of parameter `key` (lower-case), if present.
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Whether the range has no parameters besides `q`.
    pub(crate) fn is_plain(&self) -> bool {
        self.params.is_empty()
    }

    /// Whether plain JSON satisfies this range (`application/json`, `application/*`, `*/*`).
    pub(crate) fn matches_json(&self) -> bool {
        matches!(
            self.essence.as_str(),
            "application/json" | "application/*" | "*/*"
        )
    }
}

/// The media ranges of `accept`, best first: ordered by `q` (default 1), ties in header order; `q=0` ranges
/// are dropped.
pub(crate) fn media_ranges(accept: &str) -> Vec<MediaRange<'_>> {
    let mut out: Vec<(f32, MediaRange<'_>)> = Vec::new();
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let essence = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        if essence.is_empty() {
            continue;
        }
        let mut q = 1.0_f32;
        let mut params = Vec::new();
        for p in pieces {
            let Some((k, v)) = p.split_once('=') else { continue };
            let key = k.trim().to_ascii_lowercase();
            let value = v.trim().trim_matches('"');
            if key == "q" {
                q = value.parse().unwrap_or(1.0);
            } else {
                params.push((key, value));
            }
        }
        if q > 0.0 {
            out.push((q, MediaRange { essence, params }));
        }
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, r)| r).collect()
}

/// Whether `accept` prefers the aggregated `apidiscovery.k8s.io/v2` list over plain JSON.
///
/// True when a `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList` range comes before any
/// range plain JSON satisfies; ranges kube-sim cannot produce (protobuf, `v2beta1`) are skipped.
pub fn wants_aggregated(accept: &str) -> bool {
    for range in media_ranges(accept) {
        if range.essence == "application/json"
            && range.param("g") == Some("apidiscovery.k8s.io")
            && range.param("v") == Some("v2")
            && range.param("as") == Some("APIGroupDiscoveryList")
        {
            return true;
        }
        if range.matches_json() && range.is_plain() {
            return false;
        }
    }
    false
}

/// One aggregated `APIResourceDiscovery`.
fn aggregated_resource(k: &Kind) -> Value {
    let gvk = |kind: &str| json!({"group": k.group, "version": k.version, "kind": kind});
    let mut r = Map::new();
    r.insert("resource".into(), k.resource.into());
    r.insert("responseKind".into(), gvk(k.kind));
    r.insert(
        "scope".into(),
        if k.namespaced { "Namespaced" } else { "Cluster" }.into(),
    );
    r.insert("singularResource".into(), k.singular.into());
    r.insert("verbs".into(), json!(k.verbs));
    if !k.short_names.is_empty() {
        r.insert("shortNames".into(), json!(k.short_names));
    }
    if !k.categories.is_empty() {
        r.insert("categories".into(), json!(k.categories));
    }
    let subs: Vec<Value> = subresources(k)
        .map(|s| json!({"subresource": s.name, "responseKind": gvk(s.kind), "verbs": s.verbs}))
        .collect();
    if !subs.is_empty() {
        r.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(r)
}

/// One aggregated `APIGroupDiscovery` (`name` empty for the core group).
fn aggregated_group(served: &ServedKinds, group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = served
                .in_group_version(group, v)
                .map(aggregated_resource)
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({})
    } else {
        json!({"name": group})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// The aggregated `APIGroupDiscoveryList` for `/api` (`core`) or `/apis`.
pub fn aggregated(served: &ServedKinds, core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(served, "", &core_versions())]
    } else {
        served
            .groups()
            .iter()
            .map(|(g, versions)| aggregated_group(served, g, versions))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// Answers a discovery path (`/version`, `/api`, `/apis`, `/api/<v>`, `/apis/<g>`, `/apis/<g>/<v>`, with or
/// without a trailing slash or query) with the document and its `Content-Type`; `None` for any other path
/// or an unserved group/version.
pub fn route(path: &str, accept: &str, served: &ServedKinds) -> Option<(Value, &'static str)> {
    let path = path.split('?').next().unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let plain = |v: Value| Some((v, JSON_CONTENT_TYPE));
    match segments.as_slice() {
        ["version"] => plain(version()),
        ["api"] if wants_aggregated(accept) => Some((aggregated(served, true), AGGREGATED_CONTENT_TYPE)),
        ["api"] => plain(api_versions()),
        ["apis"] if wants_aggregated(accept) => Some((aggregated(served, false), AGGREGATED_CONTENT_TYPE)),
        ["apis"] => plain(api_group_list(served)),
        ["api", v] => plain(api_resource_list(served, "", v)?),
        ["apis", g] if !g.is_empty() => plain(api_group(served, g)?),
        ["apis", g, v] if !g.is_empty() => plain(api_resource_list(served, g, v)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `Accept` header client-go v1.32 sends for `/api` and `/apis`.
    const CLIENT_GO_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,\
        application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    fn builtin() -> ServedKinds {
        ServedKinds::builtin()
    }

    fn find<'a>(list: &'a Value, key: &str, name: &str) -> &'a Value {
        list.as_array().unwrap().iter().find(|r| r[key] == name).unwrap()
    }

    #[test]
    fn version_reports_1_33() {
        let v = version();
        assert_eq!(v["major"], "1");
        assert_eq!(v["minor"], "33");
        assert_eq!(v["gitVersion"], GIT_VERSION);
        assert!(v["platform"].as_str().unwrap().contains('/'));
    }

    #[test]
    fn legacy_api_and_groups() {
        assert_eq!(api_versions()["versions"], json!(["v1"]));
        let list = api_group_list(&builtin());
        let groups = &list["groups"];
        assert!(groups.as_array().unwrap().iter().all(|g| g["name"] != ""));
        let capsule = find(groups, "name", "capsule.clastix.io");
        assert_eq!(
            capsule["preferredVersion"]["groupVersion"],
            "capsule.clastix.io/v1beta2"
        );
        assert_eq!(capsule["versions"][1]["version"], "v1beta1");
        let group = api_group(&builtin(), "rbac.authorization.k8s.io").unwrap();
        assert_eq!(group["kind"], "APIGroup");
        assert_eq!(group["preferredVersion"]["version"], "v1");
        assert!(api_group(&builtin(), "apps").is_none());
    }

    #[test]
    fn core_resource_list_has_subresources() {
        let list = api_resource_list(&builtin(), "", "v1").unwrap();
        assert_eq!(list["groupVersion"], "v1");
        let res = &list["resources"];
        let ns = find(res, "name", "namespaces");
        assert_eq!(ns["namespaced"], false);
        assert_eq!(ns["shortNames"], json!(["ns"]));
        assert_eq!(ns["singularName"], "namespace");
        let pods = find(res, "name", "pods");
        assert_eq!(pods["categories"], json!(["all"]));
        let exec = find(res, "name", "pods/exec");
        assert_eq!(exec["kind"], "PodExecOptions");
        assert_eq!(exec["verbs"], json!(["create", "get"]));
        let log = find(res, "name", "pods/log");
        assert_eq!(
            (log["kind"].as_str(), log["verbs"].clone()),
            (Some("Pod"), json!(["get"]))
        );
        let status = find(res, "name", "namespaces/status");
        assert_eq!(status["verbs"], json!(["get", "patch", "update"]));
        assert_eq!(status["kind"], "Namespace");
        assert!(api_resource_list(&builtin(), "", "v2").is_none());
    }

    #[test]
    fn crd_resource_list() {
        let list = api_resource_list(&builtin(), "capsule.clastix.io", "v1beta2").unwrap();
        let tnt = find(&list["resources"], "name", "tenants");
        assert_eq!(tnt["shortNames"], json!(["tnt"]));
        assert_eq!(tnt["kind"], "Tenant");
        assert_eq!(
            find(&list["resources"], "name", "tenants/status")["kind"],
            "Tenant"
        );
        let v1beta1 = api_resource_list(&builtin(), "capsule.clastix.io", "v1beta1").unwrap();
        assert_eq!(
            find(&v1beta1["resources"], "name", "proxysettings")["namespaced"],
            true
        );
    }

    #[test]
    fn aggregated_lists_follow_client_go_shape() {
        let core = aggregated(&builtin(), true);
        assert_eq!(core["kind"], "APIGroupDiscoveryList");
        assert_eq!(core["apiVersion"], "apidiscovery.k8s.io/v2");
        let items = core["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0]["metadata"].get("name").is_none());
        let v1 = &items[0]["versions"][0];
        assert_eq!(
            (v1["version"].as_str(), v1["freshness"].as_str()),
            (Some("v1"), Some("Current"))
        );
        let pods = find(&v1["resources"], "resource", "pods");
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(
            pods["responseKind"],
            json!({"group": "", "version": "v1", "kind": "Pod"})
        );
        let exec = find(&pods["subresources"], "subresource", "exec");
        assert_eq!(exec["responseKind"]["kind"], "PodExecOptions");
        assert_eq!(find(&v1["resources"], "resource", "nodes")["scope"], "Cluster");

        let apis = aggregated(&builtin(), false);
        let items = &apis["items"];
        assert!(
            items
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["metadata"]["name"] != "")
        );
    }

    #[test]
    fn aggregated_capsule_prefers_v1beta2() {
        let apis = aggregated(&builtin(), false);
        let capsule = apis["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["metadata"]["name"] == "capsule.clastix.io")
            .unwrap();
        assert_eq!(capsule["versions"][0]["version"], "v1beta2");
        assert_eq!(capsule["versions"][1]["version"], "v1beta1");
        let tenants = find(&capsule["versions"][0]["resources"], "resource", "tenants");
        assert_eq!(tenants["shortNames"], json!(["tnt"]));
        assert_eq!(
            tenants["subresources"][0]["verbs"],
            json!(["get", "patch", "update"])
        );
    }

    #[test]
    fn accept_negotiation() {
        assert!(wants_aggregated(CLIENT_GO_ACCEPT));
        assert!(!wants_aggregated("application/json"));
        assert!(!wants_aggregated(""));
        assert!(!wants_aggregated("*/*"));
        assert!(!wants_aggregated(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
        ));
        assert!(!wants_aggregated(
            "application/json, application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        ));
        assert!(wants_aggregated(
            "application/json;q=0.5, application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io"
        ));
        assert!(wants_aggregated(
            "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,\
             application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        ));
    }

    #[test]
    fn routes_discovery_paths() {
        let (v, ct) = route("/api", CLIENT_GO_ACCEPT, &builtin()).unwrap();
        assert_eq!(
            (v["kind"].as_str(), ct),
            (Some("APIGroupDiscoveryList"), AGGREGATED_CONTENT_TYPE)
        );
        let (v, ct) = route("/apis/", "application/json", &builtin()).unwrap();
        assert_eq!(
            (v["kind"].as_str(), ct),
            (Some("APIGroupList"), JSON_CONTENT_TYPE)
        );
        assert_eq!(
            route("/api/", "application/json", &builtin()).unwrap().0["kind"],
            "APIVersions"
        );
        assert_eq!(route("/version", "", &builtin()).unwrap().0["major"], "1");
        assert_eq!(
            route("/api/v1", CLIENT_GO_ACCEPT, &builtin()).unwrap().0["kind"],
            "APIResourceList"
        );
        assert_eq!(
            route("/apis/storage.k8s.io/", "", &builtin()).unwrap().0["kind"],
            "APIGroup"
        );
        assert_eq!(
            route("/apis/storage.k8s.io/v1?timeout=32s", "", &builtin())
                .unwrap()
                .0["groupVersion"],
            "storage.k8s.io/v1"
        );
        for missing in [
            "/",
            "/apis/apps",
            "/apis/storage.k8s.io/v2",
            "/api/v1/pods",
            "/healthz",
            "apis",
            "/apis//v1",
        ] {
            assert!(route(missing, "", &builtin()).is_none(), "{missing}");
        }
    }
}
