//! Who a request is decided for, and the token answers a core keeps: the vocabulary the authentication
//! phase fills in and the decision, the stream registry and the snapshot hand-over read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use capsule_proxy_policy::review::TokenIdentity;

/// Most token answers a core keeps.
const MAX_TOKENS: usize = 4096;

/// The identity a request is decided for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name.
    pub user: String,
    /// The groups.
    pub groups: Vec<String>,
    /// `Impersonate-Uid`, when reviewed and allowed.
    pub uid: Option<String>,
    /// `Impersonate-Extra-*`, when reviewed and allowed.
    pub extra: Vec<(String, Vec<String>)>,
    /// Whether it comes from the caller's `Impersonate-*` headers (reviewed), rather than the credential.
    pub impersonated: bool,
}

/// A token answer: the identity, or why the token is not valid.
pub type TokenAnswer = Result<Arc<TokenIdentity>, String>;

/// A core's recent token answers, keyed by the token's SHA-256.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: RefCell<HashMap<[u8; 32], (TokenAnswer, Instant)>>,
}

impl TokenCache {
    /// The answer kept for the token hashed to `key`, unless it expired by `now`.
    pub fn get(&self, key: &[u8; 32], now: Instant) -> Option<TokenAnswer> {
        let entries = self.entries.borrow();
        let (answer, expires) = entries.get(key)?;
        (*expires > now).then(|| answer.clone())
    }

    /// Keeps `answer` for the token hashed to `key` until `expires` (a full cache drops expired answers first,
    /// then everything).
    pub fn insert(&self, key: [u8; 32], answer: TokenAnswer, expires: Instant) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= MAX_TOKENS {
            let now = Instant::now();
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_TOKENS {
                entries.clear();
            }
        }
        entries.insert(key, (answer, expires));
    }
}
