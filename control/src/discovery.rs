//! API discovery for the generic routes: every group's preferred version and that version's resources, read
//! from `/api`, `/apis` and the preferred group-versions' resource lists, into [`ApiResources`].
//!
//! It runs once before the first snapshot (the first publish waits for it, retrying with backoff), then again
//! whenever a CustomResourceDefinition or an APIService changes (metadata-only watches; changes within
//! [`DEBOUNCE`] make one run), so a kind installed later is routed without a restart (the Go proxy discovers
//! once at start). A group-version whose resource list fails (an aggregated API answering 503) is skipped
//! with a warning — keeping what the last run found for it, if anything — and the run is repeated with
//! backoff until every group-version answers; a run that cannot read `/api` or `/apis` keeps the last result
//! and retries with backoff.

use std::time::Duration;

use capsule_proxy_policy::discovery::{ApiResource, ApiResources};
use futures_util::future::join_all;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroupList, APIResourceList, APIVersions};
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::core::PartialObjectMeta;
use kube::{Api, Client};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::time::Instant;

use crate::status::ControlStatus;
use crate::watches::{self, Change, WatchSpec};

/// After a CRD or APIService change, wait this long for more before discovering once.
pub const DEBOUNCE: Duration = Duration::from_secs(1);
/// First retry delay after a failed or partial run; doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// Longest delay between retries.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// Why a discovery run found nothing.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// `/api` could not be read.
    #[error("reading the core API versions (/api): {0}")]
    CoreVersions(#[source] kube::Error),
    /// `/apis` could not be read.
    #[error("reading the API groups (/apis): {0}")]
    Groups(#[source] kube::Error),
}

/// What one discovery run found.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The preferred versions' resources.
    pub resources: ApiResources,
    /// Preferred group-versions (`v1`, `group/version`) whose resource lists could not be read.
    pub skipped: Vec<String>,
}

/// Every group's preferred version, as `(group, version)`, the core group first: `/api`'s first version (the
/// core group has one, `v1`), and each group's `preferredVersion` (its first version when none is named).
pub fn preferred_versions(core: &APIVersions, groups: &APIGroupList) -> Vec<(String, String)> {
    let core = core.versions.first().map(|v| (String::new(), v.clone()));
    let groups = groups.groups.iter().filter_map(|g| {
        let version = g
            .preferred_version
            .as_ref()
            .map(|p| p.version.clone())
            .or_else(|| g.versions.first().map(|v| v.version.clone()))?;
        Some((g.name.clone(), version))
    });
    core.into_iter().chain(groups).collect()
}

/// The resources of one group-version's resource list, sub-resources left out. `group` and `version` are the
/// list's (a resource's own `group`/`version` name what it answers with, not where it is served).
pub fn resources_of(group: &str, version: &str, list: &APIResourceList) -> Vec<ApiResource> {
    list.resources
        .iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            resource: r.name.clone(),
            kind: r.kind.clone(),
            namespaced: r.namespaced,
            verbs: r.verbs.clone(),
        })
        .collect()
}

/// `v1` or `group/version`.
fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// One discovery run: the group lists, then every preferred group-version's resource list at once. A
/// group-version whose list fails keeps its resources from `previous` (the last run's result).
pub async fn discover(client: &Client, previous: &ApiResources) -> Result<Discovered, DiscoveryError> {
    let core = client
        .list_core_api_versions()
        .await
        .map_err(DiscoveryError::CoreVersions)?;
    let groups = client.list_api_groups().await.map_err(DiscoveryError::Groups)?;
    let preferred = preferred_versions(&core, &groups);
    let lists = join_all(preferred.iter().map(|(group, version)| async move {
        if group.is_empty() {
            client.list_core_api_resources(version).await
        } else {
            client
                .list_api_group_resources(&group_version(group, version))
                .await
        }
    }))
    .await;
    Ok(assemble(preferred, lists, previous))
}

/// One run's result from the preferred group-versions and their resource lists (in the same order); a failed
/// list is skipped with a warning and keeps its resources from `previous`.
pub fn assemble<E: std::fmt::Display>(
    preferred: Vec<(String, String)>,
    lists: impl IntoIterator<Item = Result<APIResourceList, E>>,
    previous: &ApiResources,
) -> Discovered {
    let mut resources = Vec::new();
    let mut skipped = Vec::new();
    for ((group, version), list) in preferred.iter().zip(lists) {
        match list {
            Ok(list) => resources.extend(resources_of(group, version, &list)),
            Err(error) => {
                let gv = group_version(group, version);
                tracing::warn!(group_version = %gv, %error, "discovery skipped a group version");
                skipped.push(gv);
                resources.extend(
                    previous
                        .iter()
                        .filter(|r| r.group == *group && r.version == *version)
                        .cloned(),
                );
            }
        }
    }
    Discovered {
        resources: ApiResources::new(resources, preferred),
        skipped,
    }
}

/// Runs discovery now and on every CRD / APIService change until `tx`'s receiver is gone; each result goes to
/// `tx` as `event(resources)`.
pub(crate) async fn run<E: Send + 'static>(
    client: Client,
    event: fn(ApiResources) -> E,
    tx: UnboundedSender<E>,
    status: std::sync::Arc<ControlStatus>,
) {
    let (changed_tx, mut changed) = mpsc::unbounded_channel();
    tokio::spawn(watches::run(
        WatchSpec {
            api: Api::<PartialObjectMeta<CustomResourceDefinition>>::all(client.clone()),
            field_selector: None,
            record: |_| (),
            key: |_| (),
            event: |_: Change<(), ()>| (),
        },
        changed_tx.clone(),
        std::sync::Arc::clone(&status),
    ));
    tokio::spawn(watches::run(
        WatchSpec {
            api: Api::<PartialObjectMeta<APIService>>::all(client.clone()),
            field_selector: None,
            record: |_| (),
            key: |_| (),
            event: |_: Change<(), ()>| (),
        },
        changed_tx,
        status,
    ));

    let mut retry = FIRST_RETRY;
    let mut last = ApiResources::default();
    loop {
        // When to run again without a change: never after a complete run, later after a failed or partial one.
        let retry_at = match discover(&client, &last).await {
            Ok(found) => {
                tracing::info!(
                    resources = found.resources.iter().len(),
                    skipped = found.skipped.len(),
                    "API discovery done"
                );
                last = found.resources.clone();
                if tx.send(event(found.resources)).is_err() {
                    return;
                }
                if found.skipped.is_empty() {
                    None
                } else {
                    Some(Instant::now() + retry)
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?retry, "API discovery failed; keeping the last result");
                Some(Instant::now() + retry)
            }
        };
        retry = match retry_at {
            Some(_) => (retry * 2).min(MAX_RETRY),
            None => FIRST_RETRY,
        };
        let change = match retry_at {
            Some(at) => match tokio::time::timeout_at(at, changed.recv()).await {
                Ok(change) => change,
                Err(_elapsed) => continue,
            },
            None => changed.recv().await,
        };
        if change.is_none() {
            // The watches are gone: only when the runtime shuts down.
            return;
        }
        // A CRD arrives as several events (added, then established): take them all in one run.
        tokio::time::sleep(DEBOUNCE).await;
        while changed.try_recv().is_ok() {}
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroup, APIResource, GroupVersionForDiscovery};

    use super::*;

    fn gv(group: &str, version: &str) -> GroupVersionForDiscovery {
        GroupVersionForDiscovery {
            group_version: group_version(group, version),
            version: version.into(),
        }
    }

    fn resource(name: &str, kind: &str, namespaced: bool, verbs: &[&str]) -> APIResource {
        APIResource {
            name: name.into(),
            kind: kind.into(),
            namespaced,
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            singular_name: String::new(),
            ..Default::default()
        }
    }

    #[test]
    fn preferred_versions_come_from_the_groups() {
        let core = APIVersions {
            versions: vec!["v1".into()],
            ..Default::default()
        };
        let groups = APIGroupList {
            groups: vec![
                APIGroup {
                    name: "capsule.clastix.io".into(),
                    preferred_version: Some(gv("capsule.clastix.io", "v1beta2")),
                    versions: vec![
                        gv("capsule.clastix.io", "v1beta1"),
                        gv("capsule.clastix.io", "v1beta2"),
                    ],
                    ..Default::default()
                },
                APIGroup {
                    name: "example.com".into(),
                    preferred_version: None,
                    versions: vec![gv("example.com", "v1alpha1")],
                    ..Default::default()
                },
                APIGroup {
                    name: "empty.example.com".into(),
                    ..Default::default()
                },
            ],
        };
        assert_eq!(
            preferred_versions(&core, &groups),
            [
                ("".to_string(), "v1".to_string()),
                ("capsule.clastix.io".into(), "v1beta2".into()),
                ("example.com".into(), "v1alpha1".into()),
            ]
        );
    }

    #[test]
    fn resource_lists_lose_their_subresources() {
        let list = APIResourceList {
            group_version: "v1".into(),
            resources: vec![
                resource("nodes", "Node", false, &["get", "list", "watch"]),
                resource("nodes/status", "Node", false, &["get", "patch"]),
                resource("pods", "Pod", true, &["get", "list"]),
            ],
        };
        let resources = resources_of("", "v1", &list);
        assert_eq!(
            resources,
            [
                ApiResource {
                    group: String::new(),
                    version: "v1".into(),
                    resource: "nodes".into(),
                    kind: "Node".into(),
                    namespaced: false,
                    verbs: vec!["get".into(), "list".into(), "watch".into()],
                },
                ApiResource {
                    group: String::new(),
                    version: "v1".into(),
                    resource: "pods".into(),
                    kind: "Pod".into(),
                    namespaced: true,
                    verbs: vec!["get".into(), "list".into()],
                },
            ]
        );
        let discovered = ApiResources::new(resources, [(String::new(), "v1".to_string())]);
        assert!(
            discovered
                .get("", "v1", "nodes")
                .is_some_and(|n| n.supports("watch"))
        );
    }

    #[test]
    fn a_failing_group_version_is_skipped_and_keeps_its_last_resources() {
        let list = |gv: &str, name: &str, kind: &str| APIResourceList {
            group_version: gv.into(),
            resources: vec![resource(name, kind, false, &["get", "list"])],
        };
        let preferred = vec![
            (String::new(), "v1".to_string()),
            ("metrics.k8s.io".to_string(), "v1beta1".to_string()),
        ];
        let first = assemble(
            preferred.clone(),
            [
                Ok::<_, String>(list("v1", "nodes", "Node")),
                Ok(list("metrics.k8s.io/v1beta1", "nodes", "NodeMetrics")),
            ],
            &ApiResources::default(),
        );
        assert!(first.skipped.is_empty());
        assert_eq!(first.resources.iter().len(), 2);

        let unavailable = assemble(
            preferred.clone(),
            [
                Ok(list("v1", "nodes", "Node")),
                Err("the server is currently unable to handle the request".to_string()),
            ],
            &first.resources,
        );
        assert_eq!(unavailable.skipped, ["metrics.k8s.io/v1beta1"]);
        assert_eq!(unavailable.resources, first.resources, "the last result is kept");

        let never_seen = assemble(
            preferred,
            [Ok(list("v1", "nodes", "Node")), Err("503".to_string())],
            &ApiResources::default(),
        );
        assert!(
            never_seen
                .resources
                .get("metrics.k8s.io", "v1beta1", "nodes")
                .is_none()
        );
        assert!(never_seen.resources.is_preferred("metrics.k8s.io", "v1beta1"));
    }
}
