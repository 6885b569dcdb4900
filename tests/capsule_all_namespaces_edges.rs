//! Edges of the all-namespaces fan-out that `capsule_all_namespaces.rs` leaves out, mostly over raw HTTP through
//! the proxy's TLS listener: a list sent with a body, HTTP/1.0 callers and answers that outgrow one write
//! (64 KiB: streamed, chunked or ended by the close), keep-alive after a streamed answer, protobuf and gzip
//! `Accept`s, the `--all-namespaces-*` flags (concurrency, page size, max watches, timeout), merged bookmarks,
//! the upstream watches a closed merged watch lets go of, and a client-certificate caller's impersonated
//! requests.
//!
//! Every test seeds its configmaps as a controller would, straight into kube-sim (`KubeSim::apply`), and waits
//! with deadlines only: no fixed sleeps.
#![allow(clippy::unwrap_used)] // test code unwraps what it built itself; a panic is the failure report

mod fault_support;
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fault_support::watch_stream::{StreamEnd, WatchStream};
use kube_sim::cluster::Options;
use serde_json::{Value, json};
use support::capsule::{
    LogOnFailure, NAMESPACED_NAMES, item_keys, proxied_lines, query_escape, start_synced,
};
use support::metrics::{metrics_addr, scrape, scrape_until};
use support::raw::{Conn, Response, client_config, get, poll_until, request, within};
use support::sockets::{TcpState, connections_to, settled};
use support::{Env, lines};

/// The proxy's service account, as kube-sim authenticates it.
const PROXY_SA: &str = "system:serviceaccount:capsule-system:capsule-proxy";
/// alice's namespaces (tenant oil).
const ALICE_NAMESPACES: [&str; 2] = ["oil-dev", "oil-prod"];
/// The all-namespaces list of configmaps.
const CONFIGMAPS: &str = "/api/v1/configmaps";
/// The all-namespaces watch of configmaps.
const WATCH_CONFIGMAPS: &str = "/api/v1/configmaps?watch=1";
/// The size at which the proxy stops holding a merged list and streams it.
const ONE_WRITE: usize = 64 * 1024;
/// Configmaps per namespace of alice's that make her merged list outgrow one write several times over.
const BIG_PER_NAMESPACE: usize = 120;
/// Bytes of data in each of those configmaps.
const PAYLOAD_BYTES: usize = 1024;
/// Deadline for a watch to open, an event to arrive, or a merged answer to come back.
const DEADLINE: Duration = Duration::from_secs(15);

// --- setup ---------------------------------------------------------------------------------------------------

/// A ConfigMap `key` (`namespace/name`) with `payload` bytes of data.
fn configmap(key: &str, payload: usize) -> Value {
    let (namespace, name) = key.split_once('/').unwrap();
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"payload": "x".repeat(payload), "secret-of": namespace},
    })
}

/// Creates configmaps `keys` (each with `payload` bytes of data) in kube-sim, as a controller would; returns the
/// stored objects.
fn create_configmaps(env: &Env, keys: &[String], payload: usize) -> Vec<Value> {
    keys.iter()
        .map(|key| {
            let stored = env
                .sim
                .apply(configmap(key, payload))
                .unwrap_or_else(|e| panic!("creating {key}: {e:?}"));
            (*stored).clone()
        })
        .collect()
}

/// `namespace/<prefix>-NNN` for `n` configmaps of each of `namespaces`, sorted.
fn keys(namespaces: &[&str], prefix: &str, n: usize) -> Vec<String> {
    let mut keys: Vec<String> = namespaces
        .iter()
        .flat_map(|ns| (0..n).map(move |i| format!("{ns}/{prefix}-{i:03}")))
        .collect();
    keys.sort();
    keys
}

/// Seeds [`BIG_PER_NAMESPACE`] configmaps of [`PAYLOAD_BYTES`] in each of alice's namespaces, and a few as big
/// in gas-dev and default that she must never see; returns hers, sorted.
fn seed_big(env: &Env) -> Vec<String> {
    let hers = keys(&ALICE_NAMESPACES, "big", BIG_PER_NAMESPACE);
    create_configmaps(env, &hers, PAYLOAD_BYTES);
    create_configmaps(env, &keys(&["gas-dev", "default"], "big", 3), PAYLOAD_BYTES);
    hers
}

/// Seeds one configmap in each of alice's namespaces, in gas-dev and in default; returns hers, sorted.
fn seed_small(env: &Env) -> Vec<String> {
    create_configmaps(
        env,
        &keys(&["oil-dev", "oil-prod", "gas-dev", "default"], "small", 1),
        16,
    );
    keys(&ALICE_NAMESPACES, "small", 1)
}

// --- requests and answers ------------------------------------------------------------------------------------

/// `GET path` as HTTP/1.0 with alice's token (no keep-alive: the connection ends with the answer).
fn http10_get(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.0\r\nHost: kubernetes\r\nAccept: application/json\r\nAuthorization: Bearer alice-token\r\n\r\n"
    )
}

/// `GET path` with alice's bearer token and exactly one `Accept` header, `accept`.
fn get_accepting(path: &str, accept: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: kubernetes\r\nAccept: {accept}\r\nAuthorization: Bearer alice-token\r\n\r\n"
    )
}

/// Asserts `seen` holds every key of `expected` (sorted) exactly once and nothing else.
fn assert_each_once(seen: &[String], expected: &[String], what: &str) {
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        distinct.len(),
        seen.len(),
        "{what}: an object listed twice among {} items",
        seen.len()
    );
    let mut sorted = seen.to_vec();
    sorted.sort();
    if sorted != expected {
        let missing: Vec<_> = expected.iter().filter(|k| !distinct.contains(k)).collect();
        let extra: Vec<_> = sorted.iter().filter(|k| !expected.contains(k)).collect();
        panic!("{what}: missing {missing:?}, unexpected {extra:?}");
    }
}

/// Asserts `response` is a whole `ConfigMapList` (every configmap carrying all of its data) of exactly
/// `expected`; returns the list.
fn assert_configmap_list(response: &Response, expected: &[String], payload: usize, what: &str) -> Value {
    assert_eq!(response.status, 200, "{what}: {}", response.text());
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: a JSON answer: {:?}",
        response.headers
    );
    let list: Value = serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "{what}: the body ({} bytes) is not whole JSON ({e}); it ends with {:?}",
            response.body.len(),
            String::from_utf8_lossy(&response.body[response.body.len().saturating_sub(200)..])
        )
    });
    assert_eq!(list["kind"], "ConfigMapList", "{what}");
    assert_eq!(list["apiVersion"], "v1", "{what}");
    assert_each_once(&item_keys(&list), expected, what);
    for item in list["items"].as_array().unwrap() {
        let data = &item["data"];
        assert_eq!(
            data["payload"].as_str().map(str::len),
            Some(payload),
            "{what}: {}",
            item["metadata"]
        );
        assert_eq!(data["secret-of"], item["metadata"]["namespace"], "{what}");
    }
    list
}

/// kube-sim's audit entries from `from` on of alice's configmap requests with `verb`, as `(namespace or "",
/// query)`.
fn alice_configmap_requests(env: &Env, from: usize, verb: &str) -> Vec<(String, String)> {
    env.sim.audit()[from..]
        .iter()
        .filter(|e| e.user == "alice" && e.resource == "configmaps" && e.verb == verb)
        .map(|e| {
            let namespace = e
                .path
                .strip_prefix("/api/v1/namespaces/")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or_default();
            (namespace.to_string(), e.query.clone())
        })
        .collect()
}

/// A JSON event's `namespace/name`.
fn event_key(event: &Value) -> String {
    let meta = &event["object"]["metadata"];
    format!(
        "{}/{}",
        meta["namespace"].as_str().unwrap_or_default(),
        meta["name"].as_str().unwrap_or_default()
    )
}

// --- framing -------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_sent_with_a_body_is_refused_400_and_the_body_is_never_read_as_a_request() {
    let env = Env::start().await;
    let hers = seed_small(&env);
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let before = env.sim.audit().len();

    // `Content-Length: 5` and "hello".
    let mut conn = Conn::open(&proxy).await;
    let with_body = request("GET", CONFIGMAPS, Some("alice-token"), &[], "hello");
    assert!(with_body.contains("Content-Length: 5\r\n"), "{with_body}");
    let refused = conn.exchange(&with_body).await;
    let status = refused.expect_status(400);
    assert_eq!(status["reason"], "BadRequest", "{status}");
    assert!(refused.closes(), "the answer announces the close: {refused:?}");
    conn.expect_closed().await;

    // A body that is itself a whole request: it is not answered (nor sent anywhere), the connection just ends.
    let smuggled = get("/api/v1/namespaces/oil-dev/configmaps", Some("alice-token"));
    let mut conn = Conn::open(&proxy).await;
    conn.exchange(&request("GET", CONFIGMAPS, Some("alice-token"), &[], &smuggled))
        .await
        .expect_status(400);
    conn.expect_closed().await;

    // A chunked body likewise.
    let mut conn = Conn::open(&proxy).await;
    let chunked = "GET /api/v1/configmaps HTTP/1.1\r\nHost: kubernetes\r\nAccept: application/json\r\n\
                   Authorization: Bearer alice-token\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let refused = conn.exchange(chunked).await;
    refused.expect_status(400);
    assert!(refused.closes(), "{refused:?}");
    conn.expect_closed().await;

    // None of these reached a namespace of hers.
    let sent = alice_configmap_requests(&env, before, "list");
    assert!(
        sent.is_empty(),
        "no list went upstream for a refused request: {sent:?}"
    );
    let namespaced_get = env.sim.audit()[before..]
        .iter()
        .filter(|e| e.path == "/api/v1/namespaces/oil-dev/configmaps")
        .count();
    assert_eq!(namespaced_get, 0, "the smuggled request was never sent");

    // An empty body (`Content-Length: 0`) is no body: answered, and the connection is kept.
    let mut conn = Conn::open(&proxy).await;
    let empty = "GET /api/v1/configmaps HTTP/1.1\r\nHost: kubernetes\r\nAccept: application/json\r\n\
                 Authorization: Bearer alice-token\r\nContent-Length: 0\r\n\r\n";
    let answered = conn.exchange(empty).await;
    assert_configmap_list(&answered, &hers, 16, "Content-Length: 0");
    assert!(!answered.closes(), "{answered:?}");
    let again = conn.exchange(&get(CONFIGMAPS, Some("alice-token"))).await;
    assert_configmap_list(&again, &hers, 16, "the next request on the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_1_0_caller_gets_her_whole_list_and_a_big_one_ends_with_the_close() {
    let env = Env::start().await;
    let small = seed_small(&env);
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);

    // Small: the whole answer with its length, then the close HTTP/1.0 asks for.
    let mut conn = Conn::open(&proxy).await;
    let response = conn.exchange(&http10_get(CONFIGMAPS)).await;
    assert_configmap_list(&response, &small, 16, "HTTP/1.0, small");
    assert!(
        response.header("content-length").is_some(),
        "{:?}",
        response.headers
    );
    assert!(
        response.header("transfer-encoding").is_none(),
        "{:?}",
        response.headers
    );
    conn.expect_closed().await;

    // Big: streamed without chunks (HTTP/1.0 has none), ended by closing the connection.
    let mut hers = seed_big(&env);
    hers.extend(small);
    hers.sort();
    let mut conn = Conn::open(&proxy).await;
    let response = conn.exchange(&http10_get(CONFIGMAPS)).await;
    assert!(
        response.body.len() > ONE_WRITE,
        "the premise: the answer outgrows one write ({} bytes)",
        response.body.len()
    );
    assert!(
        response.header("content-length").is_none() && response.header("transfer-encoding").is_none(),
        "an HTTP/1.0 body of unknown length has neither framing: {:?}",
        response.headers
    );
    assert!(response.closes(), "{:?}", response.headers);
    // `read_response` read to the close: the body must be the whole list, not a cut one.
    let list: Value = serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "the body read to the close is whole JSON ({e}): {} bytes ending {:?}",
            response.body.len(),
            String::from_utf8_lossy(&response.body[response.body.len() - 200..])
        )
    });
    assert_eq!(list["kind"], "ConfigMapList", "{}", list["metadata"]);
    assert_each_once(&item_keys(&list), &hers, "HTTP/1.0, big");
    conn.expect_closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_over_64_kib_is_chunked_with_every_item_once_and_the_connection_serves_the_next_request() {
    let env = Env::start().await;
    let hers = seed_big(&env);
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    for round in ["first", "second, on the same connection"] {
        let response = conn.exchange(&get(CONFIGMAPS, Some("alice-token"))).await;
        assert_eq!(
            response.header("transfer-encoding"),
            Some("chunked"),
            "{round}: {:?}",
            response.headers
        );
        assert!(
            response.header("content-length").is_none(),
            "{round}: {:?}",
            response.headers
        );
        assert!(!response.closes(), "{round}: keep-alive: {:?}", response.headers);
        assert!(
            response.body.len() > ONE_WRITE,
            "{round}: {} bytes",
            response.body.len()
        );
        let list = assert_configmap_list(&response, &hers, PAYLOAD_BYTES, round);
        assert!(
            list["metadata"]["continue"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{round}: a whole list has no continue token"
        );
    }
    // A small answer after the streamed ones, on the same connection.
    let namespaces = conn
        .exchange(&get("/api/v1/namespaces", Some("alice-token")))
        .await
        .expect_ok_json(200);
    assert_eq!(namespaces["kind"], "NamespaceList", "{namespaces}");
}

// --- content negotiation -------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_accepting_protobuf_is_answered_json() {
    let env = Env::start().await;
    let hers = seed_small(&env);
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    for accept in [
        "application/vnd.kubernetes.protobuf",
        "application/vnd.kubernetes.protobuf, application/json",
    ] {
        let response = conn.exchange(&get_accepting(CONFIGMAPS, accept)).await;
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{accept}: {response:?}"
        );
        assert_configmap_list(&response, &hers, 16, accept);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_accepting_gzip_gets_plain_json() {
    let env = Env::start().await;
    let mut hers = seed_big(&env);
    hers.extend(seed_small(&env));
    hers.sort();
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    for accept_encoding in ["Accept-Encoding: gzip", "Accept-Encoding: gzip, deflate, br"] {
        let before = env.sim.audit().len();
        let response = conn
            .exchange(&request(
                "GET",
                CONFIGMAPS,
                Some("alice-token"),
                &[accept_encoding],
                "",
            ))
            .await;
        assert!(
            response.header("content-encoding").is_none(),
            "{accept_encoding}: {:?}",
            response.headers
        );
        let list: Value = serde_json::from_slice(&response.body)
            .unwrap_or_else(|e| panic!("{accept_encoding}: not plain JSON ({e})"));
        assert_eq!(list["kind"], "ConfigMapList", "{accept_encoding}");
        assert_each_once(&item_keys(&list), &hers, accept_encoding);
        // kube-sim never compresses, so the answer alone cannot show it: what each namespace was asked with can.
        // The proxy reads these answers, so it asks for them plain (kube-apiserver gzips large ones otherwise).
        let asked: Vec<_> = env.sim.audit()[before..]
            .iter()
            .filter(|e| e.user == "alice" && e.resource == "configmaps" && e.verb == "list")
            .map(|e| (e.path.clone(), e.accept.clone(), e.accept_encoding.clone()))
            .collect();
        assert_eq!(asked.len(), ALICE_NAMESPACES.len(), "{asked:?}");
        for (path, accept, encoding) in asked {
            assert_eq!(
                encoding, None,
                "{accept_encoding}: {path} was asked with Accept-Encoding"
            );
            assert_eq!(accept.as_deref(), Some("application/json"), "{path}");
        }
    }
}

// --- the fan-out's flags -------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_namespace_page_of_one_at_a_time_still_lists_every_object_once_whole_and_in_pages_of_two() {
    let env = Env::start().await;
    // Odd counts, so pages of two end inside a namespace as well as at its end.
    let mut hers = keys(&["oil-dev"], "cm", 5);
    hers.extend(keys(&["oil-prod"], "cm", 4));
    hers.sort();
    create_configmaps(&env, &hers, 16);
    create_configmaps(&env, &keys(&["gas-dev", "default"], "cm", 2), 16);
    let proxy = start_synced(
        &env,
        &["--all-namespaces-concurrency=1", "--all-namespaces-page-size=1"],
    )
    .await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;

    // The whole list, read one object a request.
    let before = env.sim.audit().len();
    let whole = conn.exchange(&get(CONFIGMAPS, Some("alice-token"))).await;
    let list = assert_configmap_list(&whole, &hers, 16, "the whole list");
    assert!(
        list["metadata"]["continue"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{}",
        list["metadata"]
    );
    let sent = alice_configmap_requests(&env, before, "list");
    assert!(
        sent.len() >= hers.len(),
        "one request per object with --all-namespaces-page-size=1: {sent:?}"
    );
    for (namespace, query) in &sent {
        assert!(ALICE_NAMESPACES.contains(&namespace.as_str()), "{sent:?}");
        assert!(
            query.split('&').any(|p| p == "limit=1"),
            "each page asked with limit=1: {sent:?}"
        );
    }

    // Pages of two, following the proxy's continue tokens.
    let mut seen: Vec<String> = Vec::new();
    let mut path = format!("{CONFIGMAPS}?limit=2");
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 4 * hers.len(), "the pages never ended: {seen:?}");
        let page = conn
            .exchange(&get(&path, Some("alice-token")))
            .await
            .expect_ok_json(200);
        assert_eq!(page["kind"], "ConfigMapList", "{page}");
        let items = item_keys(&page);
        assert!(
            items.len() <= 2,
            "a page of limit=2 holds two objects at most: {items:?}"
        );
        seen.extend(items);
        match page["metadata"]["continue"].as_str() {
            Some(token) if !token.is_empty() => {
                path = format!("{CONFIGMAPS}?limit=2&continue={}", query_escape(token));
            }
            _ => break,
        }
    }
    assert_each_once(&seen, &hers, "pages of two");
    assert!(pages >= hers.len().div_ceil(2), "{pages} pages for {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_of_more_namespaces_than_max_watches_is_429_and_a_smaller_one_streams() {
    let env = Env::start().await;
    let hers = seed_small(&env);
    let proxy = start_synced(&env, &["--all-namespaces-max-watches=1"]).await;
    let _log = LogOnFailure(&proxy);
    let before = env.sim.audit().len();

    // alice has two namespaces.
    let mut conn = Conn::open(&proxy).await;
    let refused = conn.exchange(&get(WATCH_CONFIGMAPS, Some("alice-token"))).await;
    let status = refused.expect_status(429);
    assert_eq!(status["reason"], "TooManyRequests", "{status}");
    let message = status["message"].as_str().unwrap();
    assert!(message.contains("--all-namespaces-max-watches=1"), "{message}");
    let watches = alice_configmap_requests(&env, before, "watch");
    assert!(watches.is_empty(), "no namespace's watch was opened: {watches:?}");
    // The flag bounds watches only: her list, on the same connection, is answered.
    assert!(!refused.closes(), "{refused:?}");
    let list = conn.exchange(&get(CONFIGMAPS, Some("alice-token"))).await;
    assert_configmap_list(&list, &hers, 16, "alice's list");

    // bob has one: his watch streams, with his configmaps only.
    let mut watch = WatchStream::open(&proxy, WATCH_CONFIGMAPS, "bob-token", DEADLINE).await;
    assert_eq!(watch.status, 200);
    let first = watch.next_event(DEADLINE).await.expect("an event");
    assert_eq!(first["type"], "ADDED", "{first}");
    assert_eq!(event_key(&first), "gas-dev/small-000", "{first}");
    create_configmaps(&env, &["oil-dev/not-bobs".to_string()], 16);
    create_configmaps(&env, &["gas-dev/bobs-new".to_string()], 16);
    let next = watch.next_event(DEADLINE).await.expect("an event");
    assert_eq!(next["type"], "ADDED", "{next}");
    assert_eq!(event_key(&next), "gas-dev/bobs-new", "{next}");
}

// --- merged watches ------------------------------------------------------------------------------------------

/// A `BOOKMARK` event's resource version; panics unless it is a ConfigMap bookmark with a numeric one.
fn bookmark_version(event: &Value) -> u64 {
    assert_eq!(event["type"], "BOOKMARK", "{event}");
    let object = &event["object"];
    assert_eq!(object["kind"], "ConfigMap", "{event}");
    assert_eq!(object["apiVersion"], "v1", "{event}");
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_else(|| panic!("a numeric resourceVersion: {event}"))
}

/// A stored object's numeric resource version.
fn resource_version(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_else(|| panic!("a numeric resourceVersion: {object}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_bookmarks_are_configmap_bookmarks_that_never_go_back_and_follow_both_namespaces() {
    let env = Env::start_with(Options {
        bookmark_interval: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let path = format!("{WATCH_CONFIGMAPS}&allowWatchBookmarks=true");
    let mut watch = WatchStream::open(&proxy, &path, "alice-token", DEADLINE).await;
    assert_eq!(watch.status, 200);

    let mut last_bookmark: Option<u64> = None;
    let mut check_bookmark = |event: &Value| -> u64 {
        let version = bookmark_version(event);
        if let Some(last) = last_bookmark {
            assert!(version >= last, "a bookmark went back from {last}: {event}");
        }
        last_bookmark = Some(version);
        version
    };
    // Both namespaces have no configmap: the first events are bookmarks.
    let first = watch.next_event(DEADLINE).await.expect("a first bookmark");
    check_bookmark(&first);

    let created = create_configmaps(
        &env,
        &["oil-dev/late-dev".to_string(), "oil-prod/late-prod".to_string()],
        16,
    );
    let floor = created.iter().map(resource_version).min().unwrap();
    let mut added = BTreeSet::new();
    let mut events = Vec::new();
    let bookmark_after_both = within(DEADLINE, "a bookmark after both new configmaps", async {
        loop {
            let event = watch
                .next_event(DEADLINE)
                .await
                .unwrap_or_else(|| panic!("the watch ended after {events:?}"));
            events.push(event.clone());
            match event["type"].as_str() {
                Some("BOOKMARK") => {
                    let version = check_bookmark(&event);
                    if added.len() == 2 {
                        break version;
                    }
                }
                Some("ADDED") => {
                    let key = event_key(&event);
                    assert!(
                        key == "oil-dev/late-dev" || key == "oil-prod/late-prod",
                        "{event}"
                    );
                    added.insert(key);
                }
                _ => panic!("an unexpected event: {event}"),
            }
        }
    })
    .await;
    assert!(
        bookmark_after_both >= floor,
        "a bookmark after both ADDED events claims at least {floor}: got {bookmark_after_both}; events {events:?}"
    );
    // A few more: still never backwards.
    for _ in 0..3 {
        create_configmaps(&env, &[format!("oil-dev/more-{}", events.len())], 16);
        let event = watch.next_event(DEADLINE).await.expect("an event");
        if event["type"] == "BOOKMARK" {
            check_bookmark(&event);
        }
        events.push(event);
    }
}

/// The proxy's open streamed responses, from one scrape.
async fn open_streams(metrics: std::net::SocketAddr) -> f64 {
    scrape(metrics)
        .await
        .get("capsule_proxy_open_streams{kind=\"response\"}")
}

// A client closing a merged watch releases it at once: its upstream watches, its stream and its request (a
// regression test: the first version awaited the client-close future again after it had completed, and hung).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_merged_watch_closes_its_upstream_watches() {
    // kube-sim closes idle connections at once: what stays established to it are streams (the control plane's
    // watches, and the merged watch's), not the proxy's pooled connections.
    let env = Env::start_with(Options {
        idle_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let hers = seed_small(&env);
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let metrics = metrics_addr(&proxy).await;
    let port = env.sim.addr().port();
    let established = || connections_to(port, TcpState::Established);
    let baseline = settled(DEADLINE, established).await;

    let mut watch = WatchStream::open(&proxy, WATCH_CONFIGMAPS, "alice-token", DEADLINE).await;
    assert_eq!(watch.status, 200);
    let mut initial = Vec::new();
    for _ in 0..hers.len() {
        initial.push(event_key(&watch.next_event(DEADLINE).await.expect("an event")));
    }
    assert_each_once(&initial, &hers, "the watch's initial events");
    scrape_until(metrics, "the merged watch open", |s| {
        s.get("capsule_proxy_open_streams{kind=\"response\"}") == 1.0
    })
    .await;
    let open = poll_until(DEADLINE, || async {
        let now = established();
        (now >= baseline + ALICE_NAMESPACES.len()).then_some(now)
    })
    .await;
    assert!(
        open.is_some(),
        "one upstream connection per namespace while the watch is open: {} established, {baseline} before",
        established()
    );

    drop(watch);
    let released = poll_until(DEADLINE, || async {
        (established() <= baseline && open_streams(metrics).await == 0.0).then_some(())
    })
    .await;
    assert!(
        released.is_some(),
        "{DEADLINE:?} after the client closed its merged watch, the proxy still holds it: {} connections to \
         kube-sim established ({baseline} before the watch), open_streams{{kind=\"response\"}} = {}",
        established(),
        open_streams(metrics).await
    );
    // And the proxy serves on.
    let mut conn = Conn::open(&proxy).await;
    let list = conn.exchange(&get(CONFIGMAPS, Some("alice-token"))).await;
    assert_configmap_list(&list, &hers, 16, "a list after the watch");
}

/// Deadline for a one-second watch to end and the request after it to be answered.
const WATCH_END_DEADLINE: Duration = Duration::from_secs(8);

// A request pipelined behind a merged watch is answered once the watch ends (a regression test, as above: the
// client's bytes complete the client-close future, which must not be awaited again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_during_a_merged_watch_is_answered_once_the_watch_ends() {
    let env = Env::start().await;
    let hers = seed_small(&env);
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let metrics = metrics_addr(&proxy).await;
    for (path, what) in [
        (
            "/api/v1/namespaces/oil-dev/configmaps?watch=1&timeoutSeconds=1",
            "a pass-through watch",
        ),
        ("/api/v1/configmaps?watch=1&timeoutSeconds=1", "a merged watch"),
    ] {
        let mut conn = Conn::open(&proxy).await;
        conn.send(get(path, Some("alice-token")).as_bytes()).await;
        // Once the core has the stream open it relays, watching the client; then the next request comes.
        scrape_until(metrics, "the watch open", |s| {
            s.get("capsule_proxy_open_streams{kind=\"response\"}") == 1.0
        })
        .await;
        conn.send(get(CONFIGMAPS, Some("alice-token")).as_bytes()).await;
        // Shorter than one read's deadline (10 s), so a hang is reported here.
        let (watched, next) = tokio::time::timeout(WATCH_END_DEADLINE, async {
            let watched = conn.read_response(false).await;
            let next = conn.read_response(false).await;
            (watched, next)
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{what}: {WATCH_END_DEADLINE:?} after kube-sim's one-second watches, neither the watch's end nor the next \
                 answer came"
            )
        });
        assert_eq!(watched.status, 200, "{what}: {watched:?}");
        for line in watched.text().lines() {
            let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {line}"));
            assert_eq!(event["type"], "ADDED", "{what}: {line}");
        }
        assert_configmap_list(&next, &hers, 16, &format!("the request after {what}"));
        scrape_until(metrics, "the watch closed", |s| {
            s.get("capsule_proxy_open_streams{kind=\"response\"}") == 0.0
        })
        .await;
    }
}

// --- timeouts ------------------------------------------------------------------------------------------------

/// kube-sim's delay once the test slows it down: longer than `--all-namespaces-timeout` (1s) by enough that an
/// answer that waited for the API server cannot come within [`FAST_ENOUGH`].
const SLOW_UPSTREAM: Duration = Duration::from_secs(5);
/// How soon the proxy gives up on the slow API server.
const FAST_ENOUGH: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_or_watch_slower_than_the_all_namespaces_timeout_is_504_naming_the_flag() {
    let env = Env::start().await;
    let hers = seed_small(&env);
    let proxy = start_synced(&env, &["--all-namespaces-timeout=1s"]).await;
    let _log = LogOnFailure(&proxy);
    let mut conn = Conn::open(&proxy).await;
    // While kube-sim is fast: her token and her namespaces' access reviews (list and watch) are cached.
    let list = conn.exchange(&get(CONFIGMAPS, Some("alice-token"))).await;
    assert_configmap_list(&list, &hers, 16, "before the slowdown");
    let ended = conn
        .exchange(&get(
            &format!("{WATCH_CONFIGMAPS}&timeoutSeconds=1"),
            Some("alice-token"),
        ))
        .await;
    assert_eq!(ended.status, 200, "{ended:?}");

    env.sim.set_latency(SLOW_UPSTREAM);
    for (path, what) in [(CONFIGMAPS, "list"), (WATCH_CONFIGMAPS, "watch")] {
        let started = Instant::now();
        let late = within(
            FAST_ENOUGH,
            &format!("the {what}'s 504"),
            conn.exchange(&get(path, Some("alice-token"))),
        )
        .await;
        let status = late.expect_status(504);
        assert_eq!(status["reason"], "Timeout", "{what}: {status}");
        let message = status["message"].as_str().unwrap();
        assert!(
            message.contains("--all-namespaces-timeout=1s"),
            "{what}: {message}"
        );
        assert!(!late.closes(), "{what}: the connection is kept: {late:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{what}: answered after the timeout, not before: {:?}",
            started.elapsed()
        );
    }

    // Fast again: the next list on the same connection is whole, not a late answer of the slow one.
    env.sim.set_latency(Duration::ZERO);
    let list = conn.exchange(&get(CONFIGMAPS, Some("alice-token"))).await;
    assert_configmap_list(&list, &hers, 16, "after the slowdown");
}

// --- certificate callers -------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_caller_fans_out_impersonated_by_the_proxy() {
    let env = Env::start().await;
    let hers = seed_small(&env);
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    let before = env.sim.audit().len();
    let (cert, key) = env
        .sim
        .pki()
        .unwrap()
        .issue_client_cert("alice", &["projectcapsule.dev".to_string()])
        .unwrap();
    let mut conn = Conn::tls(proxy.addr, client_config(&[&proxy.ca_pem], Some((&cert, &key)))).await;
    let list = conn.exchange(&get(CONFIGMAPS, None)).await;
    assert_configmap_list(&list, &hers, 16, "alice by certificate");
    // A watch too (kube-sim ends it after a second).
    let watch = conn
        .exchange(&get(&format!("{WATCH_CONFIGMAPS}&timeoutSeconds=1"), None))
        .await;
    assert_eq!(watch.status, 200, "{watch:?}");
    let mut watched: Vec<String> = watch
        .text()
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert_eq!(event["type"], "ADDED", "{line}");
            event_key(&event)
        })
        .collect();
    watched.sort();
    assert_eq!(watched, hers);
    // The kubeconfig kubectl reads, through the proxy.
    let names = proxied_lines(
        &proxy,
        &env,
        "alice-cert",
        &["get", "configmaps", "-A", "-o", NAMESPACED_NAMES],
    )
    .await;
    assert_eq!(names, lines(&hers.join("\n")));

    // Every configmap request kube-sim served for her came from the proxy, impersonating her, one namespace of
    // hers at a time.
    let audit = env.sim.audit();
    let hers_upstream: Vec<_> = audit[before..]
        .iter()
        .filter(|e| e.resource == "configmaps" && e.user == "alice")
        .collect();
    for entry in &hers_upstream {
        assert_eq!(entry.impersonator.as_deref(), Some(PROXY_SA), "{entry:?}");
        assert!(
            entry.groups.iter().any(|g| g == "projectcapsule.dev"),
            "{entry:?}"
        );
        assert_eq!(entry.code, 200, "{entry:?}");
        let namespace = entry
            .path
            .strip_prefix("/api/v1/namespaces/")
            .and_then(|rest| rest.strip_suffix("/configmaps"))
            .unwrap_or_else(|| panic!("a namespace's configmaps, not {:?}", entry.path));
        assert!(ALICE_NAMESPACES.contains(&namespace), "{entry:?}");
    }
    for namespace in ALICE_NAMESPACES {
        let path = format!("/api/v1/namespaces/{namespace}/configmaps");
        for verb in ["list", "watch"] {
            assert!(
                hers_upstream.iter().any(|e| e.path == path && e.verb == verb),
                "a {verb} of {namespace} as alice impersonated: {hers_upstream:#?}"
            );
        }
    }
    let proxy_wide = audit[before..]
        .iter()
        .filter(|e| e.resource == "configmaps" && e.path == CONFIGMAPS)
        .count();
    assert_eq!(proxy_wide, 0, "no list across all namespaces reached kube-sim");
}

// --- one namespace's watch ending alone ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_watch_whose_namespace_stream_ends_alone_ends_expired_and_one_ending_with_all_ends_clean() {
    use kube_sim::faults::WatchFault;
    let env = Env::start().await;
    let proxy = start_synced(&env, &[]).await;
    let _log = LogOnFailure(&proxy);
    // oil-dev's watch ends (kube-apiserver's own timeout, say) while oil-prod's goes on: resuming from the
    // client's last version could skip oil-dev events it had not reached, so the client must list again.
    let mut watch = WatchStream::open(&proxy, WATCH_CONFIGMAPS, "alice-token", DEADLINE).await;
    assert_eq!(watch.status, 200);
    create_configmaps(&env, &["oil-prod/before-split".to_owned()], 16);
    let added = watch.next_event(DEADLINE).await.expect("the oil-prod event");
    assert_eq!(added["object"]["metadata"]["name"], "before-split");
    env.sim
        .break_watches(&["configmaps/oil-dev"], WatchFault::Unavailable);
    let (end, events) = watch.until_end(DEADLINE).await;
    assert_eq!(end, StreamEnd::Clean, "{events:?}");
    let last = events.last().unwrap_or_else(|| panic!("no event before the end"));
    assert_eq!(last["type"], "ERROR", "{events:?}");
    assert_eq!(last["object"]["code"], 410, "{last}");
    assert_eq!(last["object"]["reason"], "Expired", "{last}");
    env.sim.heal_watches();
    // Every namespace's watch ending together (the caller's timeoutSeconds, or the resource's watches broken
    // at once) ends the merged stream cleanly: the client resumes from its last version.
    let mut watch = WatchStream::open(&proxy, WATCH_CONFIGMAPS, "alice-token", DEADLINE).await;
    assert_eq!(watch.status, 200);
    create_configmaps(&env, &["oil-dev/after-heal".to_owned()], 16);
    // The watch starts with what exists (`before-split`), then the new object.
    loop {
        let added = watch.next_event(DEADLINE).await.expect("the oil-dev event");
        assert_eq!(added["type"], "ADDED", "{added}");
        if added["object"]["metadata"]["name"] == "after-heal" {
            break;
        }
    }
    env.sim.break_watches(&["configmaps"], WatchFault::Unavailable);
    let (end, events) = watch.until_end(DEADLINE).await;
    assert_eq!(end, StreamEnd::Clean, "{events:?}");
    assert!(events.iter().all(|e| e["type"] != "ERROR"), "{events:?}");
}
