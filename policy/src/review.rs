//! Questions the data plane asks the control plane (who owns a token, may a caller do something, what labels
//! an object has) and the one-shot answers it polls for.
//!
//! The data plane knows only the [`Reviewer`] trait; the control plane implements it with cached TokenReviews,
//! SubjectAccessReviews and metadata reads. An answer arrives on a channel the asker polls
//! ([`Pending::try_take`]) or blocks on ([`Pending::wait`]), so no runtime's waker crosses threads.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    /// `status.user.username`.
    pub user: String,
    /// `status.user.groups`.
    pub groups: Vec<String>,
    /// `status.user.uid`.
    pub uid: Option<String>,
    /// `status.user.extra`.
    pub extra: Vec<(String, Vec<String>)>,
}

/// Why a look-up has no positive answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The API server says the token is not valid.
    #[error("the token is not valid: {0}")]
    Unauthenticated(String),
    /// The review could not be made (API server unreachable, proxy not allowed, …).
    #[error("the review could not be made: {0}")]
    Unavailable(String),
    /// The control plane is gone (process shutting down).
    #[error("the identity service is not running")]
    Closed,
}

/// A SubjectAccessReview question: may `user` (with `groups`) do `verb` on the resource?
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessQuestion {
    /// The user.
    pub user: String,
    /// Its groups.
    pub groups: Vec<String>,
    /// The verb (`impersonate`, `list`, …).
    pub verb: String,
    /// API group (`""` for core).
    pub group: String,
    /// API version (may be empty).
    pub version: String,
    /// Resource (plural).
    pub resource: String,
    /// Subresource (empty for none).
    pub subresource: String,
    /// Namespace (empty for cluster scope).
    pub namespace: String,
    /// Object name (empty for all).
    pub name: String,
}

/// What a metadata read of one object found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectLookup {
    /// The object exists and carries these labels.
    Found(BTreeMap<String, String>),
    /// The API server answered 404.
    NotFound,
}

/// An answer on its way.
#[derive(Debug)]
pub struct Pending<V> {
    rx: Receiver<Result<V, LookupError>>,
}

/// The sending side of a [`Pending`].
pub type Reply<V> = Sender<Result<V, LookupError>>;

/// A question's reply channel and the [`Pending`] that receives it.
pub fn pending<V>() -> (Reply<V>, Pending<V>) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    (tx, Pending { rx })
}

impl<V> Pending<V> {
    /// An answer that is already known.
    pub fn ready(answer: Result<V, LookupError>) -> Self {
        let (tx, pending) = pending();
        let _ = tx.send(answer);
        pending
    }

    /// The answer if it has arrived (an abandoned question answers [`LookupError::Closed`]); `Err(self)` while
    /// it has not.
    pub fn try_take(self) -> Result<Result<V, LookupError>, Self> {
        match self.rx.try_recv() {
            Ok(answer) => Ok(answer),
            Err(TryRecvError::Empty) => Err(self),
            Err(TryRecvError::Disconnected) => Ok(Err(LookupError::Closed)),
        }
    }

    /// Blocks the calling thread until the answer arrives or `timeout` passes (not for data-plane cores).
    pub fn wait(self, timeout: Duration) -> Option<Result<V, LookupError>> {
        match self.rx.recv_timeout(timeout) {
            Ok(answer) => Some(answer),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Some(Err(LookupError::Closed)),
        }
    }
}

/// The look-ups the data plane may ask of the control plane. Implementations cache and deduplicate; every
/// method returns at once.
pub trait Reviewer: Send + Sync + std::fmt::Debug {
    /// Who `token` belongs to (a cached TokenReview).
    fn review_token(&self, token: &str) -> Pending<Arc<TokenIdentity>>;
    /// Whether the access in `question` is allowed (a cached SubjectAccessReview).
    fn review_access(&self, question: AccessQuestion) -> Pending<bool>;
    /// The labels of the object at the API path `path` (`/apis/g/v/res/name`), read live as the proxy.
    fn object_labels(&self, path: &str) -> Pending<ObjectLookup>;
}
