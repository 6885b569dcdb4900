//! Sends the variants to the proxy: each worker draws batches from its own random stream and sends them over
//! raw keep-alive TLS connections, one shared by bearer callers (different callers one after the other, and
//! pipelined) and one per certificate caller; pages are followed by their `continue` token and watches read to
//! their end. A batch that breaks its connection (a panic in the raw client, a deadline) counts as a failure
//! of each of its variants.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::super::Env;
use super::super::proxy::Proxy;
use super::super::raw::{Conn, Response, client_config, within};
use super::model::Cluster;
use super::rng::Rng;
use super::spelling::{self, Escaping};
use super::tally::Tally;
use super::variants::{Auth, Catalog, Family, Variant};
use super::verdict::{Answer, check_expectation, read_answer};

/// Longest a batch may take (a watch lasts a second; each read has its own shorter deadline too).
const BATCH_DEADLINE: Duration = Duration::from_secs(60);
/// Most pages followed for one paged list.
const MAX_PAGES: usize = 64;

/// What every worker shares: the model, the proxy's address and the callers' TLS configurations.
pub struct Setup {
    pub cluster: Cluster,
    pub addr: SocketAddr,
    /// TLS without a client certificate, trusting the proxy.
    pub anonymous_tls: Arc<rustls::ClientConfig>,
    /// TLS with the caller's client certificate, by caller index (`None` without one).
    pub certificate_tls: Vec<Option<Arc<rustls::ClientConfig>>>,
    /// `X-Forwarded-Client-Cert` values naming each caller, by caller index.
    pub xfcc: Vec<String>,
}

impl Setup {
    /// Issues the callers' client certificates from kube-sim's CA (the proxy trusts it).
    pub fn new(cluster: Cluster, env: &Env, proxy: &Proxy) -> Self {
        let pki = env.sim.pki().expect("kube-sim serves HTTPS");
        let mut certificate_tls = Vec::new();
        let mut xfcc = Vec::new();
        for caller in &cluster.callers {
            let (cert, key) = pki
                .issue_client_cert(&caller.username, &caller.groups)
                .expect("a client certificate");
            xfcc.push(format!("Cert=\"{}\"", spelling::escape(&cert, Escaping::Full)));
            certificate_tls.push(
                caller
                    .certificate
                    .then(|| client_config(&[&proxy.ca_pem], Some((&cert, &key)))),
            );
        }
        Self {
            cluster,
            addr: proxy.addr,
            anonymous_tls: client_config(&[&proxy.ca_pem], None),
            certificate_tls,
            xfcc,
        }
    }
}

/// Where a batch is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Channel {
    /// The connection bearer callers share.
    Shared,
    /// The connection of a certificate caller.
    Certificate(usize),
}

/// Sends `quota` variants from stream `index` of the cluster's seed; returns their counts.
pub async fn worker(setup: Arc<Setup>, index: usize, quota: usize) -> Tally {
    let mut rng = Rng::stream(setup.cluster.seed, index as u64);
    let mut tally = Tally::default();
    let mut connections: HashMap<Channel, Conn> = HashMap::new();
    let cert_callers: Vec<usize> = (0..setup.cluster.callers.len())
        .filter(|&i| setup.certificate_tls[i].is_some())
        .collect();
    let catalog = Catalog {
        cluster: &setup.cluster,
        xfcc: &setup.xfcc,
    };
    let mut sent = 0;
    while sent < quota {
        let channel = if !cert_callers.is_empty() && rng.percent(25) {
            Channel::Certificate(*rng.pick(&cert_callers))
        } else {
            Channel::Shared
        };
        let size = if rng.percent(35) { rng.between(2, 3) } else { 1 };
        let size = size.min(quota - sent);
        let one_caller = rng.below(setup.cluster.callers.len());
        let mut batch: Vec<Variant> = Vec::new();
        for _ in 0..size {
            let label = format!("{index}/{}", sent + batch.len());
            let variant = match channel {
                Channel::Certificate(caller) => {
                    Variant::generate(&mut rng, &catalog, label, caller, Auth::Certificate)
                }
                Channel::Shared => {
                    let caller = if rng.percent(50) {
                        one_caller
                    } else {
                        rng.below(setup.cluster.callers.len())
                    };
                    let auth = match rng.below(100) {
                        0..4 => Auth::InvalidToken,
                        4..6 => Auth::None,
                        _ => Auth::Token,
                    };
                    Variant::generate(&mut rng, &catalog, label, caller, auth)
                }
            };
            let last = variant.ends_batch();
            batch.push(variant);
            if last {
                break;
            }
        }
        if batch.len() > 1 {
            let first = batch[0].caller;
            let mixed = batch.iter().any(|v| v.caller != first);
            for variant in &mut batch {
                variant.tag(Family::Pipelined);
                if mixed {
                    variant.tag(Family::SharedConnection);
                }
            }
        }
        sent += batch.len();
        let conn = match connections.remove(&channel) {
            Some(conn) => conn,
            None => open(&setup, channel).await,
        };
        let batch_for_task = batch.clone();
        let run = tokio::spawn(async move {
            within(
                BATCH_DEADLINE,
                "a batch of variants",
                run_batch(conn, batch_for_task),
            )
            .await
        })
        .await;
        match run {
            Ok((conn, results)) => {
                if let Some(conn) = conn {
                    connections.insert(channel, conn);
                }
                for (variant, (answers, result)) in batch.iter().zip(results) {
                    let caller = &setup.cluster.callers[variant.caller].identity;
                    tally.record(variant, caller, &answers, result);
                }
            }
            Err(error) => {
                let why = panic_message(error);
                for variant in &batch {
                    let caller = &setup.cluster.callers[variant.caller].identity;
                    tally.record(variant, caller, &[], Err(format!("the connection broke: {why}")));
                }
            }
        }
    }
    tally
}

async fn open(setup: &Setup, channel: Channel) -> Conn {
    let config = match channel {
        Channel::Shared => Arc::clone(&setup.anonymous_tls),
        Channel::Certificate(caller) => Arc::clone(
            setup.certificate_tls[caller]
                .as_ref()
                .expect("a certificate caller has a TLS configuration"),
        ),
    };
    Conn::tls(setup.addr, config).await
}

/// The answers of one variant and whether they kept the rules.
type VariantResult = (Vec<Answer>, Result<(), String>);

/// Sends the batch pipelined, reads every answer in order, follows pages; returns the connection when it may
/// be used again.
async fn run_batch(mut conn: Conn, batch: Vec<Variant>) -> (Option<Conn>, Vec<VariantResult>) {
    let bytes: String = batch.iter().map(|v| v.render(None)).collect();
    conn.send(bytes.as_bytes()).await;
    let mut results = Vec::new();
    let mut open = true;
    let mut closed_by = String::new();
    for (i, variant) in batch.iter().enumerate() {
        if !open {
            let detail = format!("no answer: the connection closed after the answer to {closed_by}");
            results.push((Vec::new(), Err(detail)));
            continue;
        }
        let mut answers = Vec::new();
        let mut result = Ok(());
        let response = conn.read_response(false).await;
        open = !ends_connection(&response) && !variant.closes();
        if !open {
            closed_by = format!("{:?}: {}", variant.render(None), describe(&response));
        }
        match read_answer(variant, &response) {
            Ok(answer) => answers.push(answer),
            Err(why) => result = Err(format!("{why}; answer: {}", describe(&response))),
        }
        let last = i + 1 == batch.len();
        while result.is_ok() && open && last && variant.is_paged() && answers.len() < MAX_PAGES {
            let Some(token) = answers.last().and_then(|a| a.continue_token.clone()) else {
                break;
            };
            conn.send(variant.render(Some(&token)).as_bytes()).await;
            let response = conn.read_response(false).await;
            open = !ends_connection(&response);
            match read_answer(variant, &response) {
                Ok(answer) => answers.push(answer),
                Err(why) => {
                    result = Err(format!(
                        "page {}: {why}; answer: {}",
                        answers.len() + 1,
                        describe(&response)
                    ))
                }
            }
        }
        if result.is_ok() {
            result = check_expectation(variant, &answers);
        }
        results.push((answers, result));
    }
    (open.then_some(conn), results)
}

/// Whether the connection is over after `response`: it says so, or its body ran to the end of the stream.
fn ends_connection(response: &Response) -> bool {
    let framed = response.header("content-length").is_some()
        || response.header("transfer-encoding").is_some()
        || matches!(response.status, 100..=199 | 204 | 304);
    response.closes() || !framed
}

/// A response, shortened for a report.
fn describe(response: &Response) -> String {
    let text = response.text();
    let body: String = text.chars().take(600).collect();
    format!("{} {:?} {body:?}", response.status, response.headers)
}

fn panic_message(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".to_string()),
        Err(error) => error.to_string(),
    }
}
