//! The all-namespaces fan-out (gate `ProxyAllNamespaced`): a Capsule user's `GET /api/v1/pods` (list or watch)
//! answered from one request per namespace it may read, each with the caller's own credential, so the API
//! server's RBAC decides per namespace, merged into one answer.
//!
//! ```text
//!  phase 4: namespaces + reviews ─▶ FanOutPlan ─▶ list:  pages, `--all-namespaces-concurrency` at a time,
//!                                                        merged in namespace order (policy::fan_out)
//!                                                 watch: one watch per namespace, events merged as they come
//! ```
//!
//! Nothing is held beyond one page of each namespace in flight; the answer streams once it outgrows one write.
//! A failure before the answer's head is a `Status` (the API server's own when it answered one); after it, the
//! connection is closed without the body's end, so no client takes a partial list for a whole one.

mod list;
mod upstream_get;
mod watch;

use capsule_proxy_policy::fan_out::{ContinueToken, FanOutResource, ListForm};

use crate::client::{ClientConn, Next, RequestFacts};
use crate::context::{RequestContext, StreamTicket};
use crate::phase4_decide::FanOutRequest;

/// A fan-out ready to run: the header fields of each namespace's request (written from the caller's head) and
/// what phase 4 decided.
#[derive(Debug)]
pub struct FanOutPlan {
    fields: Vec<u8>,
    chunked: bool,
    resource: FanOutResource,
    namespaces: Vec<String>,
    form: ListForm,
    query: String,
    limit: Option<usize>,
    resume: Option<ContinueToken>,
    watch: Option<(StreamTicket, Option<String>)>,
}

impl FanOutPlan {
    /// The plan of `request`, each namespace's request carrying `fields`; `chunked` when the client reads
    /// chunked bodies (HTTP/1.1).
    pub fn new(request: FanOutRequest<'_>, fields: Vec<u8>, chunked: bool) -> Self {
        Self {
            fields,
            chunked,
            resource: request.resource,
            namespaces: request.namespaces,
            form: request.form,
            query: request.query,
            limit: request.limit,
            resume: request.resume,
            watch: request.watch,
        }
    }
}

/// Answers an all-namespaces list or watch from the namespaces of `plan`.
pub async fn serve(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    facts: &RequestFacts,
    mut plan: FanOutPlan,
) -> Next {
    match plan.watch.take() {
        Some((ticket, resource_version)) => {
            watch::serve(cx, conn, facts, &plan, ticket, resource_version).await
        }
        None => list::serve(cx, conn, facts, &plan).await,
    }
}

/// The answer's body on its way to the client: chunks (HTTP/1.1) or raw bytes ended by closing (HTTP/1.0).
struct ClientBody {
    chunked: bool,
    head_sent: bool,
}

impl ClientBody {
    /// Appends the framing of `data` to `out`.
    fn frame(&self, data: &[u8], out: &mut Vec<u8>) {
        if data.is_empty() {
            return;
        }
        if self.chunked {
            crate::phase6_response::rewrite::write_chunk(out, data);
        } else {
            out.extend_from_slice(data);
        }
    }
}
