//! One kube-rs watch per kind, turned into index changes: the initial (and every re-)list arrives as one
//! `Reset`, then `Apply` / `Delete` per event. Watches retry with backoff forever; while one is down the index
//! keeps what it had, so the last good snapshot stays published.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::Arc;

use futures_util::StreamExt;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::UnboundedSender;

use crate::status::ControlStatus;

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
    /// Name of the kind, for logs.
    pub kind: &'static str,
    /// The API to watch.
    pub api: Api<K>,
    /// Selectors of the watch.
    pub config: watcher::Config,
    /// Object → record.
    pub record: fn(&K) -> R,
    /// Object → key (for deletes).
    pub key: fn(&K) -> Key,
    /// Change → index event.
    pub event: fn(Change<R, Key>) -> E,
}

/// Runs a full-object watch until the receiving side is gone.
pub async fn run<K, R, Key, E>(
    spec: WatchSpec<K, R, Key, E>,
    tx: UnboundedSender<E>,
    status: Arc<ControlStatus>,
) where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let stream = watcher::watcher(spec.api, spec.config).default_backoff();
    relay(spec.kind, stream, spec.record, spec.key, spec.event, tx, status).await;
}

async fn relay<O, R, Key, E>(
    kind: &'static str,
    stream: impl futures_util::Stream<Item = Result<Event<O>, watcher::Error>>,
    record: fn(&O) -> R,
    key: fn(&O) -> Key,
    event: fn(Change<R, Key>) -> E,
    tx: UnboundedSender<E>,
    status: Arc<ControlStatus>,
) {
    let mut stream = pin!(stream);
    let mut listed = Vec::new();
    while let Some(next) = stream.next().await {
        let change = match next {
            Ok(Event::Init) => {
                listed.clear();
                continue;
            }
            Ok(Event::InitApply(object)) => {
                listed.push(record(&object));
                continue;
            }
            Ok(Event::InitDone) => {
                tracing::debug!(kind, objects = listed.len(), "listed");
                Change::Reset(std::mem::take(&mut listed))
            }
            Ok(Event::Apply(object)) => Change::Apply(record(&object)),
            Ok(Event::Delete(object)) => Change::Delete(key(&object)),
            Err(error) => {
                status.count_watch_restart();
                tracing::warn!(kind, %error, "watch failed; retrying with backoff, keeping the last snapshot");
                continue;
            }
        };
        if tx.send(event(change)).is_err() {
            return;
        }
    }
}
