//! The all-namespaces fan-out (`kubectl get <resource> -A` by a Capsule user, gate `ProxyAllNamespaced`): what
//! the data plane needs to ask each namespace as the caller and merge the answers, without I/O.
//!
//! ```text
//!  GET /api/v1/pods?limit=500 (alice)                 one request per allowed namespace, as alice
//!    ──▶ namespaces (decide) ──▶ SubjectAccessReviews ──▶ /api/v1/namespaces/<ns>/pods?limit=… ──▶ pages
//!    ◀── one PodList / Table / PartialObjectMetadataList, our continue token ◀── MergedList ◀── Pager
//! ```
//!
//! - [`form`]: the list form the caller accepts (JSON, Table, PartialObjectMetadataList) and what to ask upstream;
//! - [`target`]: each namespace's request target and the review asked for it;
//! - [`token`]: the continue token of a merged list (which namespace, its own continue token);
//! - [`page`] and [`merged`]: one namespace's page read, the merged list written as pages arrive;
//! - [`pager`]: where a limited list cuts, so no answer holds more than `limit` entries;
//! - [`watch`]: merged watch events, bookmarks only as far as every namespace has come.

pub mod form;
pub mod merged;
pub mod page;
pub mod pager;
pub mod target;
pub mod token;
pub mod watch;

#[cfg(test)]
mod proptests;

pub use form::{ListForm, MetaVersion};
pub use merged::MergedList;
pub use page::{NamespacePage, PageError};
pub use pager::{PageStep, Pager};
pub use target::{FanOutResource, TargetError, access_question, namespace_target};
pub use token::{ContinueToken, TokenError};
pub use watch::{EventAction, WatchMerge};
