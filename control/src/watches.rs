//! One list-and-watch loop per kind, turned into index changes: every list arrives as one `Reset`, then
//! `Apply` / `Delete` per event. A watch that ends resumes from the last version it saw (the API server then
//! sends every change since); one whose version expired (410) lists again.
//!
//! Failures are seen at once (the kube client does not retry, see `runtime::client`): each is counted
//! (`capsule_proxy_watch_restarts_total`) and retried with [`Backoff`], never sooner than the API server's
//! `retryAfterSeconds`. The loop tells [`ControlStatus`] when its watch request is accepted (the watch is up)
//! and when it fails (down), which `capsule_proxy_watch_up`, the snapshot's staleness and `/readyz` follow; a
//! watch that breaks is logged once at ERROR, and once at INFO when it streams again. While one is down the
//! index keeps what it had, so the last good snapshot stays published.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use kube::api::{ListParams, WatchEvent, WatchParams};
use kube::core::Status;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::UnboundedSender;

use crate::backoff::Backoff;
use crate::status::ControlStatus;
use crate::watch_health::Transition;

/// Objects per list page (client-go's default).
const PAGE_SIZE: u32 = 500;
/// How long the API server keeps one watch open (`timeoutSeconds`, kube-rs's default).
const WATCH_TIMEOUT_SECS: u32 = 290;
/// Longest wait for a list page or for the answer to a watch request (kube-apiserver's own request timeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A watch silent this long (no event, no bookmark, no end past its timeout) has lost its connection.
const IDLE_TIMEOUT: Duration = Duration::from_secs(WATCH_TIMEOUT_SECS as u64 + 30);
/// A watch that ends (or expires) sooner than this after it opened waits a backoff step before watching or
/// listing again, so a server that closes every watch at once is not asked in a tight loop.
const SHORTEST_WATCH: Duration = Duration::from_secs(1);

/// A change to one kind's objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<R, K> {
    /// An object was added or modified.
    Apply(R),
    /// An object was deleted.
    Delete(K),
    /// The complete current set (after a list).
    Reset(Vec<R>),
}

/// How one watched kind maps to the index. Watch `Api<PartialObjectMeta<K>>` for metadata only (kinds whose
/// spec and status are not needed).
pub struct WatchSpec<K, R, Key, E> {
    /// The API to watch.
    pub api: Api<K>,
    /// Field selector of the list and the watch.
    pub field_selector: Option<String>,
    /// Object → record.
    pub record: fn(&K) -> R,
    /// Object → key (for deletes).
    pub key: fn(&K) -> Key,
    /// Change → index event.
    pub event: fn(Change<R, Key>) -> E,
}

/// Why a list or watch of a kind failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The list request failed.
    #[error("listing: {}", describe(.0))]
    List(#[source] kube::Error),
    /// The list came without a resourceVersion to watch from.
    #[error("the list has no resourceVersion to watch from")]
    NoResourceVersion,
    /// The watch request failed.
    #[error("starting the watch: {}", describe(.0))]
    Start(#[source] kube::Error),
    /// The watch stream broke.
    #[error("reading the watch: {}", describe(.0))]
    Stream(#[source] kube::Error),
    /// The API server sent an ERROR event.
    #[error("the watch sent an error: {} {}: {}", .0.code, .0.reason, .0.message)]
    Event(Box<Status>),
    /// The watch went silent past its timeout.
    #[error("no event for {0:?}")]
    Idle(Duration),
    /// A list page or a watch request got no answer in time.
    #[error("no answer for {0:?}")]
    Unanswered(Duration),
}

impl WatchError {
    /// The wait the API server asked for (`retryAfterSeconds` of a 429 or 503 Status).
    pub fn retry_after(&self) -> Option<Duration> {
        let (Self::List(kube::Error::Api(status))
        | Self::Start(kube::Error::Api(status))
        | Self::Event(status)) = self
        else {
            return None;
        };
        let seconds = status.details.as_ref()?.retry_after_seconds;
        (seconds > 0).then(|| Duration::from_secs(u64::from(seconds)))
    }
}

/// An API error as `code reason: message`, other errors as they print.
fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} {}: {}", status.code, status.reason, status.message),
        other => other.to_string(),
    }
}

/// Runs the list-and-watch loop of `spec`'s kind until the receiving side of `tx` is gone.
pub async fn run<K, R, Key, E>(
    spec: WatchSpec<K, R, Key, E>,
    tx: UnboundedSender<E>,
    status: Arc<ControlStatus>,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    K::DynamicType: Default,
{
    let resource = K::plural(&K::DynamicType::default()).into_owned();
    status.watch_registered(&resource);
    let mut watch = Watch {
        spec,
        tx,
        status,
        resource,
        backoff: Backoff::default(),
    };
    watch.run().await;
}

/// How one watch stream ended.
#[derive(Debug)]
enum End {
    /// The server ended it (its timeout): watch again from the last version.
    Closed,
    /// The last version is too old (410): list again.
    Expired,
    /// It failed.
    Failed(WatchError),
    /// Nobody receives the changes any more.
    Stopped,
}

/// What one watch event means.
#[derive(Debug)]
enum Step<R, Key> {
    /// A change for the index.
    Change(Change<R, Key>),
    /// Nothing for the index (a bookmark).
    Skip,
    /// The stream is over.
    End(End),
}

/// The meaning of `event`; `version` follows the versions it carries.
fn step<K: Resource, R, Key>(
    event: WatchEvent<K>,
    version: &mut String,
    record: fn(&K) -> R,
    key: fn(&K) -> Key,
) -> Step<R, Key> {
    let mut seen = |object: &K| {
        if let Some(v) = object.meta().resource_version.as_ref().filter(|v| !v.is_empty()) {
            v.clone_into(version);
        }
    };
    match event {
        WatchEvent::Added(object) | WatchEvent::Modified(object) => {
            seen(&object);
            Step::Change(Change::Apply(record(&object)))
        }
        WatchEvent::Deleted(object) => {
            seen(&object);
            Step::Change(Change::Delete(key(&object)))
        }
        WatchEvent::Bookmark(bookmark) => {
            if !bookmark.metadata.resource_version.is_empty() {
                *version = bookmark.metadata.resource_version;
            }
            Step::Skip
        }
        WatchEvent::Error(status) if status.code == 410 => Step::End(End::Expired),
        WatchEvent::Error(status) => Step::End(End::Failed(WatchError::Event(status))),
    }
}

struct Watch<K, R, Key, E> {
    spec: WatchSpec<K, R, Key, E>,
    tx: UnboundedSender<E>,
    status: Arc<ControlStatus>,
    resource: String,
    backoff: Backoff,
}

impl<K, R, Key, E> Watch<K, R, Key, E>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    async fn run(&mut self) {
        // The version to watch from; none: list first.
        let mut resume: Option<String> = None;
        loop {
            let resumed = resume.is_some();
            let version = match resume.take() {
                Some(version) => version,
                None => match self.list().await {
                    Ok((objects, version)) => {
                        tracing::debug!(resource = %self.resource, objects = objects.len(), "listed");
                        let records = objects.iter().map(self.spec.record).collect();
                        if self.tx.send((self.spec.event)(Change::Reset(records))).is_err() {
                            return;
                        }
                        version
                    }
                    Err(error) => {
                        self.failed(error).await;
                        continue;
                    }
                },
            };
            let params = WatchParams {
                field_selector: self.spec.field_selector.clone(),
                timeout: Some(WATCH_TIMEOUT_SECS),
                bookmarks: true,
                ..WatchParams::default()
            };
            let started = tokio::time::timeout(REQUEST_TIMEOUT, self.spec.api.watch(&params, &version)).await;
            let stream = match started {
                Err(_elapsed) => {
                    resume = Some(version);
                    self.failed(WatchError::Unanswered(REQUEST_TIMEOUT)).await;
                    continue;
                }
                Ok(Ok(stream)) => stream,
                // Too old to resume from: list again (a version just listed is not, so that is a failure).
                Ok(Err(kube::Error::Api(status))) if status.code == 410 && resumed => {
                    tracing::debug!(resource = %self.resource, "watch version expired; listing again");
                    continue;
                }
                Ok(Err(error)) => {
                    resume = Some(version);
                    self.failed(WatchError::Start(error)).await;
                    continue;
                }
            };
            self.streaming();
            let opened = Instant::now();
            let (end, version) = self.relay(stream, version).await;
            self.backoff.streamed(opened.elapsed());
            match end {
                End::Closed => resume = Some(version),
                End::Expired => {
                    tracing::debug!(resource = %self.resource, "watch version expired; listing again");
                }
                End::Failed(error) => {
                    resume = Some(version);
                    self.failed(error).await;
                    continue;
                }
                End::Stopped => return,
            }
            if opened.elapsed() < SHORTEST_WATCH {
                tokio::time::sleep(self.backoff.next_delay(None)).await;
            }
        }
    }

    /// Every page of the kind's list, and the version to watch from.
    async fn list(&self) -> Result<(Vec<K>, String), WatchError> {
        let mut params = ListParams {
            field_selector: self.spec.field_selector.clone(),
            limit: Some(PAGE_SIZE),
            ..ListParams::default()
        };
        let mut objects = Vec::new();
        loop {
            let page = tokio::time::timeout(REQUEST_TIMEOUT, self.spec.api.list(&params))
                .await
                .map_err(|_elapsed| WatchError::Unanswered(REQUEST_TIMEOUT))?
                .map_err(WatchError::List)?;
            objects.extend(page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params.continue_token = Some(token),
                None => {
                    let version = page.metadata.resource_version.filter(|v| !v.is_empty());
                    return version
                        .map(|version| (objects, version))
                        .ok_or(WatchError::NoResourceVersion);
                }
            }
        }
    }

    /// Sends the stream's changes to the index until it ends; returns how, and the last version seen.
    async fn relay(
        &self,
        stream: impl Stream<Item = kube::Result<WatchEvent<K>>>,
        mut version: String,
    ) -> (End, String) {
        let mut stream = pin!(stream);
        loop {
            let event = match tokio::time::timeout(IDLE_TIMEOUT, stream.next()).await {
                Err(_elapsed) => return (End::Failed(WatchError::Idle(IDLE_TIMEOUT)), version),
                Ok(None) => return (End::Closed, version),
                Ok(Some(Err(error))) => return (End::Failed(WatchError::Stream(error)), version),
                Ok(Some(Ok(event))) => event,
            };
            match step(event, &mut version, self.spec.record, self.spec.key) {
                Step::Change(change) => {
                    if self.tx.send((self.spec.event)(change)).is_err() {
                        return (End::Stopped, version);
                    }
                }
                Step::Skip => {}
                Step::End(end) => return (end, version),
            }
        }
    }

    /// The watch request was accepted: logged when that heals a failure.
    fn streaming(&self) {
        let resource = self.resource.as_str();
        match self.status.watch_streaming(resource) {
            Transition::Healed { down_for } => tracing::info!(
                resource = %resource,
                ?down_for,
                "watch healed: streaming again, the snapshot catches up"
            ),
            Transition::Started { after_failures: true } => {
                tracing::info!(resource = %resource, "watch started after failed attempts")
            }
            Transition::Started {
                after_failures: false,
            } => tracing::debug!(resource = %resource, "watching"),
            // Watching again after the server ended a watch (its timeout): nothing to tell.
            _ => {}
        }
    }

    /// A failure: counted, logged when it breaks a streaming watch, then the backoff's wait.
    async fn failed(&mut self, error: WatchError) {
        let delay = self.backoff.next_delay(error.retry_after());
        let resource = self.resource.as_str();
        match self.status.watch_failed(resource) {
            Transition::Broke => tracing::error!(
                resource = %resource,
                %error,
                retry_in = ?delay,
                "watch broken: changes of this kind are not seen until it streams again; filtering with the \
                 last snapshot"
            ),
            Transition::FailedToStart => tracing::warn!(
                resource = %resource,
                %error,
                retry_in = ?delay,
                "watch cannot start; retrying with backoff"
            ),
            _ => tracing::debug!(resource = %resource, %error, retry_in = ?delay, "watch still failing"),
        }
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;
    use kube::core::TypeMeta;
    use kube::core::watch::{Bookmark, BookmarkMeta};

    use super::*;

    fn map(name: &str, version: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                resource_version: Some(version.into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    fn name(object: &ConfigMap) -> String {
        object.metadata.name.clone().unwrap_or_default()
    }

    fn step_of(event: WatchEvent<ConfigMap>, version: &mut String) -> Step<String, String> {
        step(event, version, name, |m| format!("key:{}", name(m)))
    }

    /// A Status as the API server sends it.
    fn status(code: u16, retry_after_seconds: u32) -> Box<Status> {
        let json = serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": "TooManyRequests", "message": "storage is (re)initializing",
            "details": {"retryAfterSeconds": retry_after_seconds},
        });
        Box::new(serde_json::from_value(json).unwrap())
    }

    #[test]
    fn events_become_changes_and_move_the_version() {
        let mut version = "10".to_string();
        assert!(matches!(
            step_of(WatchEvent::Added(map("a", "11")), &mut version),
            Step::Change(Change::Apply(n)) if n == "a"
        ));
        assert!(matches!(
            step_of(WatchEvent::Modified(map("a", "12")), &mut version),
            Step::Change(Change::Apply(_))
        ));
        assert!(matches!(
            step_of(WatchEvent::Deleted(map("a", "13")), &mut version),
            Step::Change(Change::Delete(k)) if k == "key:a"
        ));
        assert_eq!(version, "13");
        let bookmark = Bookmark {
            types: TypeMeta::default(),
            metadata: BookmarkMeta {
                resource_version: "20".into(),
                annotations: Default::default(),
            },
        };
        assert!(matches!(
            step_of(WatchEvent::Bookmark(bookmark), &mut version),
            Step::Skip
        ));
        assert_eq!(version, "20");
        // An object without a version leaves the last one.
        assert!(matches!(
            step_of(WatchEvent::Added(map("b", "")), &mut version),
            Step::Change(_)
        ));
        assert_eq!(version, "20");
    }

    #[test]
    fn error_events_end_the_stream() {
        let mut version = "10".to_string();
        assert!(matches!(
            step_of(WatchEvent::Error(status(410, 0)), &mut version),
            Step::End(End::Expired)
        ));
        let Step::End(End::Failed(error)) = step_of(WatchEvent::Error(status(500, 0)), &mut version) else {
            panic!("a 500 ERROR event fails the watch");
        };
        assert_eq!(
            error.to_string(),
            "the watch sent an error: 500 TooManyRequests: storage is (re)initializing"
        );
        assert_eq!(version, "10");
    }

    #[test]
    fn the_servers_retry_after_is_read_from_api_errors() {
        let busy = WatchError::Start(kube::Error::Api(status(429, 1)));
        assert_eq!(busy.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(
            busy.to_string(),
            "starting the watch: 429 TooManyRequests: storage is (re)initializing"
        );
        assert_eq!(
            WatchError::List(kube::Error::Api(status(503, 0))).retry_after(),
            None
        );
        assert_eq!(
            WatchError::Event(status(429, 2)).retry_after(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(WatchError::Idle(IDLE_TIMEOUT).retry_after(), None);
    }
}
