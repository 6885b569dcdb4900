//! The identity service: TokenReview, SubjectAccessReview and object-label look-ups for the data plane, cached
//! and single-flight; [`IdentityClient`] is the control plane's [`Reviewer`].
//!
//! Any thread may ask ([`IdentityClient`] is `Send + Sync`); answers come back on a one-shot channel that the
//! asker polls ([`Pending::try_take`]) or blocks on ([`Pending::wait`]), so no runtime's waker crosses threads.
//! A token is cached under its SHA-256 (never in clear) for the success TTL — never past the JWT's own `exp` —
//! or the failure TTL; concurrent misses for one token share one TokenReview. An object's labels back a
//! per-request decision, so they are read live and cached for at most [`IdentityCacheConfig::object_ttl`]
//! (one second); concurrent reads of one path share one GET. Failures to reach the API server are never cached.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use capsule_proxy_policy::review::{
    AccessQuestion, LookupError, ObjectLookup, Pending, Reviewer, TokenIdentity,
};
use capsule_proxy_policy::review::{Reply, pending};
use kube::Client;
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};

use crate::reviews::{self, AccessAnswer, ObjectAnswer, TokenAnswer};

/// Cache lifetimes and size.
#[derive(Debug, Clone, Copy)]
pub struct IdentityCacheConfig {
    /// How long a valid token's identity is reused (`--token-cache-ttl`, 2m).
    pub token_ttl: Duration,
    /// How long an invalid token's refusal is reused (`--token-cache-negative-ttl`, 10s).
    pub token_negative_ttl: Duration,
    /// How long an allowed access review is reused.
    pub access_ttl: Duration,
    /// How long a denied access review is reused.
    pub access_negative_ttl: Duration,
    /// How long an object's labels (or its absence) are reused: they back per-request decisions, so briefly.
    pub object_ttl: Duration,
    /// Most cached entries per cache; the oldest go first.
    pub max_entries: usize,
    /// Longest a TokenReview, SubjectAccessReview or object read may take before it fails (`--review-timeout`):
    /// a review that never answers must not hold its single-flight entry, which every later question joins.
    pub request_timeout: Duration,
    /// Most reviews and reads in flight to the API server at once (`--review-concurrency`, 64): an owner of a
    /// thousand namespaces asking `-A` asks a thousand SubjectAccessReviews, which queue here rather than open
    /// a thousand connections. Waiting for a turn counts in `request_timeout`.
    pub max_in_flight: usize,
}

impl Default for IdentityCacheConfig {
    /// kube-apiserver's webhook cache defaults: tokens 2m / 10s, authorization 5m / 30s; object labels 1s.
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(120),
            token_negative_ttl: Duration::from_secs(10),
            access_ttl: Duration::from_secs(300),
            access_negative_ttl: Duration::from_secs(30),
            object_ttl: Duration::from_secs(1),
            max_entries: 65_536,
            request_timeout: Duration::from_secs(10),
            max_in_flight: 64,
        }
    }
}

/// `review`'s answer, or [`LookupError::Unavailable`] once `limit` has passed.
async fn bounded<T>(
    limit: Duration,
    review: impl Future<Output = Result<T, LookupError>>,
) -> Result<T, LookupError> {
    tokio::time::timeout(limit, review)
        .await
        .unwrap_or_else(|_| Err(LookupError::Unavailable(format!("no answer within {limit:?}"))))
}

/// Runs `review` once one of the in-flight turns is free.
async fn in_turn<T>(
    turns: &Semaphore,
    review: impl Future<Output = Result<T, LookupError>>,
) -> Result<T, LookupError> {
    // The semaphore is never closed.
    let _turn = turns.acquire().await.map_err(|_| LookupError::Closed)?;
    review.await
}

enum Question {
    Token {
        token: String,
        reply: Reply<Arc<TokenIdentity>>,
    },
    Access {
        question: AccessQuestion,
        reply: Reply<bool>,
    },
    TokenDone {
        key: [u8; 32],
        answer: TokenAnswer,
        expires: Instant,
    },
    AccessDone {
        question: AccessQuestion,
        answer: AccessAnswer,
    },
    Object {
        path: String,
        reply: Reply<ObjectLookup>,
    },
    ObjectDone {
        path: String,
        answer: ObjectAnswer,
    },
}

/// Asks the identity service; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct IdentityClient {
    tx: mpsc::UnboundedSender<Question>,
}

impl std::fmt::Debug for IdentityClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityClient")
    }
}

impl IdentityClient {
    /// Who `token` belongs to (a cached TokenReview).
    pub fn review_token(&self, token: &str) -> Pending<Arc<TokenIdentity>> {
        let (reply, answer) = pending();
        if let Err(mpsc::error::SendError(Question::Token { reply, .. })) = self.tx.send(Question::Token {
            token: token.to_string(),
            reply,
        }) {
            let _ = reply.send(Err(LookupError::Closed));
        }
        answer
    }

    /// Whether the access in `question` is allowed (a cached SubjectAccessReview).
    pub fn review_access(&self, question: AccessQuestion) -> Pending<bool> {
        let (reply, answer) = pending();
        if let Err(mpsc::error::SendError(Question::Access { reply, .. })) =
            self.tx.send(Question::Access { question, reply })
        {
            let _ = reply.send(Err(LookupError::Closed));
        }
        answer
    }

    /// The labels of the object at the decoded API path `path` (`/api/v1/nodes/n`, the name as it reads, not
    /// percent-encoded), read as the proxy with a metadata-only GET of exactly that name (each segment is
    /// percent-encoded for the request): `NotFound` on 404, [`LookupError::Unavailable`] when it cannot be read.
    pub fn object_labels(&self, path: &str) -> Pending<ObjectLookup> {
        let (reply, answer) = pending();
        if let Err(mpsc::error::SendError(Question::Object { reply, .. })) = self.tx.send(Question::Object {
            path: path.to_string(),
            reply,
        }) {
            let _ = reply.send(Err(LookupError::Closed));
        }
        answer
    }
}

impl Reviewer for IdentityClient {
    fn review_token(&self, token: &str) -> Pending<Arc<TokenIdentity>> {
        IdentityClient::review_token(self, token)
    }

    fn review_access(&self, question: AccessQuestion) -> Pending<bool> {
        IdentityClient::review_access(self, question)
    }

    fn object_labels(&self, path: &str) -> Pending<ObjectLookup> {
        IdentityClient::object_labels(self, path)
    }
}

/// Counters of the service, for metrics and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IdentityStats {
    /// Answers served from the cache.
    pub hits: u64,
    /// Questions that started a review.
    pub misses: u64,
    /// Questions that joined a review already in flight.
    pub joined: u64,
}

struct Cache<K, V> {
    entries: HashMap<K, (V, Instant)>,
    order: VecDeque<K>,
    max: usize,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Cache<K, V> {
    fn new(max: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    fn get(&mut self, key: &K, now: Instant) -> Option<V> {
        match self.entries.get(key) {
            Some((value, expires)) if *expires > now => Some(value.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn insert(&mut self, key: K, value: V, expires: Instant) {
        if self.entries.insert(key.clone(), (value, expires)).is_none() {
            self.order.push_back(key);
        }
        while self.entries.len() > self.max {
            match self.order.pop_front() {
                Some(old) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
        // Keep the order queue from growing with keys already expired and removed.
        if self.order.len() > self.max * 2 {
            let entries = &self.entries;
            self.order.retain(|k| entries.contains_key(k));
        }
    }
}

/// The service's state: caches and the reviews in flight.
pub(crate) struct IdentityService {
    client: Client,
    config: IdentityCacheConfig,
    tokens: Cache<[u8; 32], TokenAnswer>,
    token_waiters: HashMap<[u8; 32], Vec<Reply<Arc<TokenIdentity>>>>,
    access: Cache<AccessQuestion, AccessAnswer>,
    access_waiters: HashMap<AccessQuestion, Vec<Reply<bool>>>,
    objects: Cache<String, ObjectAnswer>,
    object_waiters: HashMap<String, Vec<Reply<ObjectLookup>>>,
    in_flight: Arc<Semaphore>,
    stats: Arc<std::sync::Mutex<IdentityStats>>,
}

/// Starts the service on the current tokio runtime; returns the client and the shared counters.
pub(crate) fn spawn(
    client: Client,
    config: IdentityCacheConfig,
) -> (IdentityClient, Arc<std::sync::Mutex<IdentityStats>>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(std::sync::Mutex::new(IdentityStats::default()));
    let service = IdentityService {
        client,
        config,
        tokens: Cache::new(config.max_entries),
        token_waiters: HashMap::new(),
        access: Cache::new(config.max_entries),
        access_waiters: HashMap::new(),
        objects: Cache::new(config.max_entries),
        object_waiters: HashMap::new(),
        in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
        stats: Arc::clone(&stats),
    };
    tokio::spawn(service.run(rx, tx.clone()));
    (IdentityClient { tx }, stats)
}

impl IdentityService {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Question>, tx: mpsc::UnboundedSender<Question>) {
        while let Some(question) = rx.recv().await {
            let now = Instant::now();
            match question {
                Question::Token { token, reply } => {
                    let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
                    if let Some(answer) = self.tokens.get(&key, now) {
                        self.count(|s| s.hits += 1);
                        let _ = reply.send(answer);
                    } else if let Some(waiters) = self.token_waiters.get_mut(&key) {
                        waiters.push(reply);
                        self.count(|s| s.joined += 1);
                    } else {
                        self.count(|s| s.misses += 1);
                        self.token_waiters.insert(key, vec![reply]);
                        let (client, config, tx) = (self.client.clone(), self.config, tx.clone());
                        let turn = Arc::clone(&self.in_flight);
                        tokio::spawn(async move {
                            let review = in_turn(&turn, reviews::token_review(client, &token));
                            let answer = bounded(config.request_timeout, review).await;
                            let expires = token_expiry(&token, &answer, &config, Instant::now());
                            let _ = tx.send(Question::TokenDone { key, answer, expires });
                        });
                    }
                }
                Question::TokenDone { key, answer, expires } => {
                    // Errors reaching the API server are not cached: the next question tries again.
                    if !matches!(answer, Err(LookupError::Unavailable(_))) {
                        self.tokens.insert(key, answer.clone(), expires);
                    }
                    for waiter in self.token_waiters.remove(&key).unwrap_or_default() {
                        let _ = waiter.send(answer.clone());
                    }
                }
                Question::Access { question, reply } => {
                    if let Some(answer) = self.access.get(&question, now) {
                        self.count(|s| s.hits += 1);
                        let _ = reply.send(answer);
                    } else if let Some(waiters) = self.access_waiters.get_mut(&question) {
                        waiters.push(reply);
                        self.count(|s| s.joined += 1);
                    } else {
                        self.count(|s| s.misses += 1);
                        self.access_waiters.insert(question.clone(), vec![reply]);
                        let (client, tx, limit) =
                            (self.client.clone(), tx.clone(), self.config.request_timeout);
                        let turn = Arc::clone(&self.in_flight);
                        tokio::spawn(async move {
                            let review = in_turn(&turn, reviews::access_review(client, &question));
                            let answer = bounded(limit, review).await;
                            let _ = tx.send(Question::AccessDone { question, answer });
                        });
                    }
                }
                Question::AccessDone { question, answer } => {
                    let ttl = match answer {
                        Ok(true) => Some(self.config.access_ttl),
                        Ok(false) => Some(self.config.access_negative_ttl),
                        Err(_) => None,
                    };
                    if let Some(ttl) = ttl {
                        self.access
                            .insert(question.clone(), answer.clone(), Instant::now() + ttl);
                    }
                    for waiter in self.access_waiters.remove(&question).unwrap_or_default() {
                        let _ = waiter.send(answer.clone());
                    }
                }
                Question::Object { path, reply } => {
                    if let Some(answer) = self.objects.get(&path, now) {
                        self.count(|s| s.hits += 1);
                        let _ = reply.send(answer);
                    } else if let Some(waiters) = self.object_waiters.get_mut(&path) {
                        waiters.push(reply);
                        self.count(|s| s.joined += 1);
                    } else {
                        self.count(|s| s.misses += 1);
                        self.object_waiters.insert(path.clone(), vec![reply]);
                        let (client, tx, limit) =
                            (self.client.clone(), tx.clone(), self.config.request_timeout);
                        let turn = Arc::clone(&self.in_flight);
                        tokio::spawn(async move {
                            let read = in_turn(&turn, reviews::object_labels(client, &path));
                            let answer = bounded(limit, read).await;
                            let _ = tx.send(Question::ObjectDone { path, answer });
                        });
                    }
                }
                Question::ObjectDone { path, answer } => {
                    if answer.is_ok() {
                        self.objects.insert(
                            path.clone(),
                            answer.clone(),
                            Instant::now() + self.config.object_ttl,
                        );
                    }
                    for waiter in self.object_waiters.remove(&path).unwrap_or_default() {
                        let _ = waiter.send(answer.clone());
                    }
                }
            }
        }
    }

    fn count(&self, f: impl FnOnce(&mut IdentityStats)) {
        if let Ok(mut stats) = self.stats.lock() {
            f(&mut stats);
        }
    }
}

/// When a token review answer stops being served from the cache: the TTL for its outcome, and never after the
/// token's own expiry (`exp` of a JWT).
fn token_expiry(token: &str, answer: &TokenAnswer, config: &IdentityCacheConfig, now: Instant) -> Instant {
    let ttl = match answer {
        Ok(_) => config.token_ttl,
        Err(_) => config.token_negative_ttl,
    };
    let mut expires = now + ttl;
    if answer.is_ok()
        && let Some(exp) = jwt_expiry(token)
    {
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let left = Duration::from_secs(exp.saturating_sub(now_unix));
        expires = expires.min(now + left);
    }
    expires
}

/// The `exp` claim of a JWT, if the token is one.
pub fn jwt_expiry(token: &str) -> Option<u64> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&json).ok()?;
    claims.get("exp")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!("eyJhbGciOiJub25lIn0.{}.sig", URL_SAFE_NO_PAD.encode(claims))
    }

    #[tokio::test]
    async fn a_review_that_never_answers_fails_in_time() {
        let limit = Duration::from_millis(20);
        let never = std::future::pending::<Result<bool, LookupError>>();
        let started = Instant::now();
        let answer = bounded(limit, never).await;
        assert!(matches!(answer, Err(LookupError::Unavailable(_))), "{answer:?}");
        assert!(started.elapsed() >= limit);
        assert_eq!(bounded(limit, async { Ok(true) }).await, Ok(true));
    }

    #[test]
    fn jwt_expiry_reads_exp() {
        assert_eq!(
            jwt_expiry(&jwt(r#"{"exp":1700000000,"sub":"x"}"#)),
            Some(1_700_000_000)
        );
        assert_eq!(jwt_expiry(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_expiry("alice-token"), None);
        assert_eq!(jwt_expiry("a.b.c.d"), None);
    }

    #[test]
    fn expired_jwts_are_not_cached() {
        let config = IdentityCacheConfig::default();
        let now = Instant::now();
        let ok: TokenAnswer = Ok(Arc::new(TokenIdentity {
            user: "alice".into(),
            groups: vec![],
            uid: None,
            extra: vec![],
        }));
        let expired = jwt(r#"{"exp":1}"#);
        assert!(token_expiry(&expired, &ok, &config, now) <= now);
        assert_eq!(token_expiry("opaque", &ok, &config, now), now + config.token_ttl);
        let refused: TokenAnswer = Err(LookupError::Unauthenticated("no".into()));
        assert_eq!(
            token_expiry("opaque", &refused, &config, now),
            now + config.token_negative_ttl
        );
    }

    #[test]
    fn pending_answers_are_taken_once_they_arrive() {
        let (tx, waiting) = pending::<bool>();
        let waiting = waiting.try_take().expect_err("nothing sent yet");
        tx.send(Ok(true)).unwrap();
        assert_eq!(waiting.try_take().ok(), Some(Ok(true)));

        let (tx, abandoned) = pending::<bool>();
        drop(tx);
        assert_eq!(
            abandoned.try_take().ok(),
            Some(Err(LookupError::Closed)),
            "a dropped question is closed"
        );
    }

    #[test]
    fn cache_evicts_oldest_and_forgets_expired() {
        let mut cache = Cache::new(2);
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        cache.insert(1, "a", later);
        cache.insert(2, "b", later);
        cache.insert(3, "c", later);
        assert_eq!(cache.get(&1, now), None);
        assert_eq!(cache.get(&3, now), Some("c"));
        cache.insert(4, "d", now);
        assert_eq!(cache.get(&4, now), None, "expired at insertion time");
    }
}
