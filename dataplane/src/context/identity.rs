//! Who a request is decided for, and the token and access-review answers a core keeps: the vocabulary the
//! authentication phase fills in and the decision, the stream registry and the snapshot hand-over read.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Instant;

use capsule_proxy_policy::review::{AccessQuestion, TokenIdentity};

/// Most answers of one kind a core keeps.
const MAX_ANSWERS: usize = 4096;

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
pub type TokenCache = AnswerCache<[u8; 32], TokenAnswer>;

/// A core's recent SubjectAccessReview answers (the all-namespaces fan-out asks one per namespace, and a
/// dashboard asks again every few seconds).
pub type AccessCache = AnswerCache<AccessQuestion, bool>;

/// A core's recent answers from the control plane, each until it expires.
#[derive(Debug)]
pub struct AnswerCache<K, V> {
    entries: RefCell<HashMap<K, (V, Instant)>>,
}

impl<K, V> Default for AnswerCache<K, V> {
    fn default() -> Self {
        Self {
            entries: RefCell::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, V: Clone> AnswerCache<K, V> {
    /// The answer kept for `key`, unless it expired by `now`.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        let entries = self.entries.borrow();
        let (answer, expires) = entries.get(key)?;
        (*expires > now).then(|| answer.clone())
    }

    /// Keeps `answer` for `key` until `expires` (a full cache drops expired answers first, then everything).
    pub fn insert(&self, key: K, answer: V, expires: Instant) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= MAX_ANSWERS {
            let now = Instant::now();
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ANSWERS {
                entries.clear();
            }
        }
        entries.insert(key, (answer, expires));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn answers_are_kept_until_they_expire_and_a_full_cache_makes_room() {
        let cache = AccessCache::default();
        let now = Instant::now();
        let question = |namespace: &str| AccessQuestion {
            user: "alice".into(),
            groups: vec![],
            verb: "list".into(),
            group: String::new(),
            version: "v1".into(),
            resource: "pods".into(),
            subresource: String::new(),
            namespace: namespace.into(),
            name: String::new(),
        };
        cache.insert(question("oil-dev"), true, now + Duration::from_secs(10));
        cache.insert(question("gas-dev"), false, now);
        assert_eq!(cache.get(&question("oil-dev"), now), Some(true));
        assert_eq!(cache.get(&question("gas-dev"), now), None, "expired");
        assert_eq!(
            cache.get(&question("oil-dev"), now + Duration::from_secs(10)),
            None
        );
        for i in 0..MAX_ANSWERS + 1 {
            cache.insert(question(&format!("ns-{i}")), true, now + Duration::from_secs(10));
        }
        assert!(cache.entries.borrow().len() <= MAX_ANSWERS);
    }
}
