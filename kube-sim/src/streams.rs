//! Long-running responses: watch streams (chunked JSON events as objects, Tables or PartialObjectMetadata,
//! bookmarks, timeouts, 410 as an ERROR event, an end when the resource's watches are broken),
//! followed pod logs, and the WebSocket exec upgrade. Each runs in its own task and ends when the client goes
//! away, the server stops, or (logs) the pod is deleted.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::cluster::Cluster;
use crate::connection::ConnectionInfo;
use crate::faults::WatchFaults;
use crate::params::Params;
use crate::request::ResourceRequest;
use crate::response::{self, Body, Format};
use crate::status::ApiError;
use crate::store::{Event, EventType};
use crate::watch::WatchFilter;
use crate::{exec, metadata, table};

fn event_line(kind: &str, object: &Value) -> Bytes {
    crate::encoded::event_line(kind, &serde_json::to_vec(object).unwrap_or_default())
}

struct Encoder {
    kind: &'static crate::kinds::Kind,
    format: Format,
    include: table::IncludeObject,
    first: bool,
}

impl Encoder {
    /// A stored event as this watcher sees it: JSON lines are shared by every watcher of the event.
    fn encode_event(&mut self, kind: EventType, event: &Event) -> Bytes {
        match self.format {
            // A watch asked for the list form gets its objects untransformed, as JSON.
            Format::Json | Format::PartialObjectMetadataList(_) => event.json_line(kind),
            Format::Table(_) | Format::PartialObjectMetadata(_) => self.encode(kind, &event.object),
        }
    }

    fn encode(&mut self, kind: EventType, object: &Value) -> Bytes {
        match self.format {
            Format::Json => event_line(kind.as_str(), object),
            Format::Table(version) => {
                let mut t =
                    table::to_table(self.kind, &[object], self.first, self.include, SystemTime::now());
                t["apiVersion"] = json!(format!("meta.k8s.io/{version}"));
                self.first = false;
                event_line(kind.as_str(), &t)
            }
            Format::PartialObjectMetadata(version) => {
                event_line(kind.as_str(), &metadata::partial(object, version))
            }
            // kube-apiserver cannot turn one object into a list; it logs that and sends the object as it is.
            Format::PartialObjectMetadataList(_) => event_line(kind.as_str(), object),
        }
    }

    /// A BOOKMARK at `rv`: an object of the watched kind (or its PartialObjectMetadata) with only the version.
    fn bookmark(&self, rv: u64) -> Bytes {
        let object = json!({"kind": self.kind.kind, "apiVersion": self.kind.api_version(),
            "metadata": {"resourceVersion": rv.to_string()}});
        match self.format {
            Format::PartialObjectMetadata(version) => {
                event_line("BOOKMARK", &metadata::partial(&object, version))
            }
            Format::Json | Format::Table(_) | Format::PartialObjectMetadataList(_) => {
                event_line("BOOKMARK", &object)
            }
        }
    }
}

/// Starts a watch: 200 with a chunked stream of events.
pub fn watch(
    cluster: &Arc<Cluster>,
    conn: &Arc<ConnectionInfo>,
    rr: &ResourceRequest,
    params: &Params,
    format: Format,
) -> Result<Response<Body>, ApiError> {
    let kind = rr.kind;
    // Subscribed before the check, so a fault switched on from now on ends this watch.
    let mut faults = cluster.watch_faults.subscribe();
    let namespace = rr.namespace.as_deref();
    if let Some(fault) =
        WatchFaults::fault_in(&faults.borrow_and_update(), kind.group, kind.resource, namespace)
    {
        return Err(fault.error());
    }
    let (labels, fields) = params.selectors(kind)?;
    let filter = WatchFilter {
        group: kind.group,
        resource: kind.resource,
        namespace: rr.namespace.clone(),
        labels,
        fields,
    };
    let timeout = match params.get("timeoutSeconds") {
        Some(t) => std::time::Duration::from_secs(
            t.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?,
        ),
        None => cluster.options.default_watch_timeout,
    };
    let bookmarks = params.flag("allowWatchBookmarks");
    let from = match params
        .get("resourceVersion")
        .filter(|rv| !rv.is_empty() && *rv != "0")
    {
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion: {rv:?}")))?,
        ),
        None => None,
    };
    // With no resourceVersion (or "0") the watch starts with the current state as ADDED events.
    let mut initial = Vec::new();
    let subscription = match from {
        None => {
            let (listing, sub) = cluster.store.list_and_subscribe(kind, rr.namespace.as_deref());
            initial = listing.items.into_iter().filter(|o| filter.selects(o)).collect();
            Ok(sub)
        }
        Some(rv) => cluster.store.subscribe(Some(rv)),
    };
    let mut encoder = Encoder {
        kind,
        format,
        include: table::IncludeObject::parse(params.get("includeObject").unwrap_or("")).unwrap_or_default(),
        first: true,
    };
    let (resp, tx) = response::streaming("application/json");
    let mut stopped = conn.stopped.clone();
    let bookmark_interval = cluster.options.bookmark_interval;
    tokio::spawn(async move {
        let mut sub = match subscription {
            Ok(sub) => sub,
            Err(gone) => {
                let _ = tx.send(event_line("ERROR", &gone.to_status())).await;
                return;
            }
        };
        let mut last_rv = sub.resource_version;
        for object in &initial {
            if tx.send(encoder.encode(EventType::Added, object)).await.is_err() {
                return;
            }
        }
        for event in std::mem::take(&mut sub.backlog) {
            last_rv = event.resource_version;
            if !send_event(&tx, &filter, &mut encoder, &event).await {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(bookmark_interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                received = sub.live.recv() => match received {
                    Ok(event) => {
                        if event.resource_version <= last_rv {
                            continue;
                        }
                        last_rv = event.resource_version;
                        if !send_event(&tx, &filter, &mut encoder, &event).await {
                            return;
                        }
                    }
                    // Fell too far behind (or the store is gone): end the watch, the client re-lists.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(encoder.bookmark(last_rv)).await.is_err() {
                        return;
                    }
                }
                () = &mut deadline => return,
                () = tx.closed() => return,
                _ = stopped.changed() => return,
                // The watch cache lost its storage: its watchers end, and clients watch again.
                Ok(()) = faults.changed() => {
                    let view = faults.borrow_and_update();
                    if WatchFaults::fault_in(&view, filter.group, filter.resource, filter.namespace.as_deref()).is_some() {
                        return;
                    }
                }
            }
        }
    });
    Ok(resp)
}

async fn send_event(
    tx: &mpsc::Sender<Bytes>,
    filter: &WatchFilter,
    encoder: &mut Encoder,
    event: &Event,
) -> bool {
    match filter.translate(event) {
        Some(kind) => tx.send(encoder.encode_event(kind, event)).await.is_ok(),
        None => true,
    }
}

/// The pod a log/exec request is about: (namespace, name, object), or 404.
fn pod_of(cluster: &Cluster, rr: &ResourceRequest) -> Result<(String, String, Arc<Value>), ApiError> {
    let namespace = rr.namespace.clone().unwrap_or_default();
    let name = rr.name.clone().unwrap_or_default();
    let pod = cluster
        .store
        .get(rr.kind, &namespace, &name)
        .ok_or_else(|| ApiError::not_found("", "pods", &name))?;
    Ok((namespace, name, pod))
}

/// Resolves the container a log/exec request means, as kube-apiserver does.
fn container_of(pod: &Value, requested: Option<&str>) -> Result<String, ApiError> {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let containers: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    match requested.filter(|c| !c.is_empty()) {
        Some(c) if containers.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if containers.len() <= 1 => {
            Ok(containers.first().map_or_else(String::new, |c| (*c).to_string()))
        }
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            containers.join(" ")
        ))),
    }
}

/// `GET .../pods/<name>/log`: the container's lines; with `follow=true` a stream that ends when the pod goes.
pub fn logs(
    cluster: &Arc<Cluster>,
    conn: &Arc<ConnectionInfo>,
    rr: &ResourceRequest,
    params: &Params,
) -> Result<Response<Body>, ApiError> {
    let (namespace, name, pod) = pod_of(cluster, rr)?;
    let container = container_of(&pod, params.get("container"))?;
    let tail = match params.get("tailLines") {
        Some(t) => Some(
            t.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("invalid tailLines: {t:?}")))?,
        ),
        None => None,
    };
    let timestamps = params.flag("timestamps");
    let format = move |line: &crate::logs::LogLine| {
        Bytes::from(if timestamps {
            format!("{} {}\n", line.timestamp, line.text)
        } else {
            format!("{}\n", line.text)
        })
    };
    // Logs are stored under "" for the pod's default container.
    let key = if container_count(&pod) <= 1 {
        String::new()
    } else {
        container
    };
    let mut log = cluster.logs.tail(&namespace, &name, &key, tail);
    if !params.flag("follow") {
        let body: Vec<u8> = log.lines.iter().flat_map(|l| format(l).to_vec()).collect();
        return Ok(response::bytes(StatusCode::OK, "text/plain", body));
    }
    let (resp, tx) = response::streaming("text/plain");
    // Subscribe before checking again so a deletion in between is not missed.
    let mut changes = cluster
        .store
        .subscribe(None)
        .map_err(|e| ApiError::internal(e.message))?;
    let still_there = cluster.store.get(rr.kind, &namespace, &name).is_some();
    let mut stopped = conn.stopped.clone();
    tokio::spawn(async move {
        for line in std::mem::take(&mut log.lines) {
            if tx.send(format(&line)).await.is_err() {
                return;
            }
        }
        if !still_there {
            return;
        }
        loop {
            tokio::select! {
                line = log.feed.recv() => match line {
                    Ok(line) => if tx.send(format(&line)).await.is_err() { return },
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                event = changes.live.recv() => match event {
                    Ok(e) if e.kind == EventType::Deleted && e.key.resource == "pods"
                        && e.key.namespace == namespace && e.key.name == name => return,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = tx.closed() => return,
                _ = stopped.changed() => return,
            }
        }
    });
    Ok(resp)
}

fn container_count(pod: &Value) -> usize {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// `.../pods/<name>/exec` over WebSocket: 101, then a simulated command session.
pub fn exec(
    cluster: &Arc<Cluster>,
    conn: &Arc<ConnectionInfo>,
    rr: &ResourceRequest,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let (_, name, pod) = pod_of(cluster, rr)?;
    if pod.pointer("/status/phase").and_then(Value::as_str) != Some("Running") {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned or is not running"
        )));
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let mut request = exec::parse_query(&query)?;
    let container = container_of(&pod, request.container.as_deref())?;
    request.container = Some(container);
    request.pod = name;
    if !req.headers().contains_key(header::UPGRADE) {
        return Err(ApiError::bad_request(
            "exec needs a WebSocket upgrade (v5.channel.k8s.io); SPDY is not supported by kube-sim",
        ));
    }
    let handshake = exec::negotiate(req.headers())?;
    let upgrade = hyper::upgrade::on(&mut req);
    let mut stopped = conn.stopped.clone();
    let protocol = handshake.protocol;
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        tokio::select! {
            () = exec::run(TokioIo::new(upgraded), protocol, request) => {}
            _ = stopped.changed() => {}
        }
    });
    let mut resp = Response::new(http_body_util::BodyExt::boxed(http_body_util::Empty::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *resp.headers_mut() = handshake.response_headers();
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_resolution() {
        let one = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app"}]}});
        assert_eq!(container_of(&one, None).unwrap(), "app");
        assert_eq!(container_of(&one, Some("app")).unwrap(), "app");
        assert_eq!(container_of(&one, Some("x")).unwrap_err().code, 400);
        let two = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let err = container_of(&two, None).unwrap_err();
        assert_eq!(
            err.message,
            "a container name must be specified for pod p, choose one of: [a b]"
        );
    }
}
