//! A merged all-namespaces list: the namespaces' pages asked `--all-namespaces-concurrency` at a time (each
//! with the caller's `limit`, or `--all-namespaces-page-size` without one), written in namespace order, and cut
//! where [`Pager`] says, with a continue token of the fan-out's.

use capsule_proxy_policy::fan_out::{
    ContinueToken, MergedList, NamespacePage, PageStep, Pager, TargetError, namespace_target,
};
use futures_util::StreamExt;
use futures_util::stream;

use super::upstream_get::{FetchError, get_whole, write_request};
use super::{ClientBody, FanOutPlan};
use crate::client::{ClientConn, Next, RequestFacts, respond, write_answer};
use crate::context::RequestContext;
use crate::metrics::Direction;
use crate::phase6_response::rewrite::LAST_CHUNK;
use crate::status::{write_json, write_streamed_json_head};

/// Body bytes gathered before they are written to the client (the first write also sends the head).
const FLUSH_BYTES: usize = 64 * 1024;

/// Answers the list of `plan` within `--all-namespaces-timeout`.
pub(super) async fn serve(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    facts: &RequestFacts,
    plan: &FanOutPlan,
) -> Next {
    let mut body = ClientBody {
        chunked: plan.chunked,
        head_sent: false,
    };
    let timeout = cx.settings.filter.fan_out.timeout;
    let outcome = monoio::time::timeout(timeout, merge(cx, conn, facts, plan, &mut body)).await;
    match outcome {
        Ok(Ok(next)) => next,
        Ok(Err(failure)) if !body.head_sent => answer_failure(conn, facts, failure).await,
        Err(_) if !body.head_sent => {
            let message = format!(
                "capsule-proxy did not finish the all-namespaces list in --all-namespaces-timeout={timeout:?}"
            );
            respond(conn, 504, &message, facts).await
        }
        // Mid-body: the client sees the body end early, an error rather than a short list.
        Ok(Err(failure)) => {
            tracing::debug!(
                core = cx.core_id,
                ?failure,
                "all-namespaces list failed mid-answer"
            );
            Next::Close
        }
        Err(_) => Next::Close,
    }
}

/// Why a list could not be answered.
#[derive(Debug)]
enum Failure {
    /// A namespace's request failed.
    Fetch(FetchError),
    /// The API server refused a namespace's list with this status and body (a `Status`), passed on.
    Refused(u16, Vec<u8>),
    /// A namespace's answer is not a list.
    NotAList(String),
    /// A namespace's request target cannot be written.
    Target(TargetError),
    /// The client went away.
    ClientGone,
}

async fn answer_failure(conn: &mut ClientConn, facts: &RequestFacts, failure: Failure) -> Next {
    match failure {
        Failure::Fetch(e) => respond(conn, e.status(), &e.to_string(), facts).await,
        Failure::NotAList(message) => respond(conn, 502, &message, facts).await,
        // The caller's query (refused earlier, in practice), or a namespace name that is not one (the snapshot's).
        Failure::Target(e @ TargetError::Namespace(_)) => respond(conn, 500, &e.to_string(), facts).await,
        Failure::Target(e) => respond(conn, 400, &e.to_string(), facts).await,
        Failure::Refused(status, body) => {
            let close = facts.answer_closes();
            conn.resp.clear();
            conn.status = status;
            write_json(&mut conn.resp, status, &body, close);
            write_answer(conn, close).await
        }
        Failure::ClientGone => Next::Close,
    }
}

/// Writes the merged list; the error of the first namespace that could not be read.
async fn merge(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    facts: &RequestFacts,
    plan: &FanOutPlan,
    body: &mut ClientBody,
) -> Result<Next, Failure> {
    let limits = cx.settings.filter.fan_out;
    let max_page = cx.settings.filter.max_rewrite_bytes;
    let names = &plan.namespaces;
    let resume = plan.resume.as_ref();
    let start = resume.map_or(0, |t| names.partition_point(|n| *n < t.namespace));
    // The namespace's own token, when the answer before ended inside the namespace it resumes at.
    let resume_inside = resume
        .filter(|t| names.get(start) == Some(&t.namespace))
        .and_then(|t| t.upstream.as_deref());
    let mut pager = Pager::new(plan.limit, limits.page_size);
    let first_limit = pager.first_page_limit();
    let request_for = |index: usize, limit: usize, upstream_continue: Option<&str>| {
        let mut target = String::new();
        namespace_target(
            &plan.resource,
            &names[index],
            &plan.query,
            Some(limit),
            upstream_continue,
            &mut target,
        )
        .map(|()| {
            let mut request = Vec::new();
            write_request(&mut request, &cx.settings.path_prefix, &target, &plan.fields);
            request
        })
    };
    let mut pages = stream::iter(start..names.len())
        .map(|index| {
            let request = request_for(
                index,
                first_limit,
                if index == start { resume_inside } else { None },
            );
            async move {
                let request = request.map_err(Failure::Target)?;
                let page = get_whole(cx, request, max_page).await.map_err(Failure::Fetch)?;
                Ok::<_, Failure>((index, page))
            }
        })
        .buffered(limits.concurrency);
    let (kind, api_version) = plan
        .form
        .list_type(&plan.resource.kind, &plan.resource.api_version());
    let mut data = Vec::with_capacity(FLUSH_BYTES);
    let mut merged = MergedList::begin(plan.form, &kind, &api_version, &mut data);
    let mut token: Option<ContinueToken> = None;
    let resume_at = |namespace: &str, upstream: Option<&str>| ContinueToken {
        resource: plan.resource.qualified_name(),
        namespace: namespace.to_owned(),
        upstream: upstream.map(str::to_owned),
    };
    'namespaces: while let Some(answer) = pages.next().await {
        let (index, mut answer) = answer?;
        loop {
            let (status, page_body) = answer;
            match status {
                200 => {}
                // The namespace went away, or the caller's access to it, since it was reviewed.
                403 | 404 => continue 'namespaces,
                _ => return Err(Failure::Refused(status, page_body)),
            }
            let page = NamespacePage::parse(&page_body).map_err(|e| Failure::NotAList(e.to_string()))?;
            let more = page.more().map(str::to_owned);
            let step = pager.on_page(page.entries(plan.form).len(), more.is_some());
            if step == PageStep::StopBefore {
                token = Some(resume_at(&names[index], None));
                break 'namespaces;
            }
            merged.push(&page, &mut data);
            drop(page);
            if data.len() >= FLUSH_BYTES {
                flush(cx, conn, facts, body, &mut data).await?;
            }
            match step {
                PageStep::TakeThenMore { limit } => {
                    let request = request_for(index, limit, more.as_deref()).map_err(Failure::Target)?;
                    answer = get_whole(cx, request, max_page).await.map_err(Failure::Fetch)?;
                }
                PageStep::TakeThenNext => continue 'namespaces,
                PageStep::TakeThenStopHere => {
                    token = Some(resume_at(&names[index], more.as_deref()));
                    break 'namespaces;
                }
                PageStep::TakeThenStopAtNext => {
                    token = names.get(index + 1).map(|next| resume_at(next, None));
                    break 'namespaces;
                }
                PageStep::StopBefore => unreachable!("handled before the page was written"),
            }
        }
    }
    // Pages asked ahead and not needed are dropped with their connections.
    drop(pages);
    merged.finish(token.map(|t| t.encode()).as_deref(), &mut data);
    Ok(finish(cx, conn, facts, body, &data).await)
}

/// Writes `data` (and the head, the first time) to the client.
async fn flush(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    facts: &RequestFacts,
    body: &mut ClientBody,
    data: &mut Vec<u8>,
) -> Result<(), Failure> {
    conn.resp.clear();
    if !body.head_sent {
        conn.status = 200;
        write_streamed_json_head(&mut conn.resp, body.chunked, facts.close);
        body.head_sent = true;
    }
    body.frame(data, &mut conn.resp);
    data.clear();
    let n = conn.resp.len();
    conn.stream
        .write_vec(&mut conn.resp)
        .await
        .map_err(|_| Failure::ClientGone)?;
    cx.metrics.relayed(Direction::UpstreamToClient, n);
    Ok(())
}

/// Writes the end of the answer: the whole of it with its length when it fit in one write, else the last
/// chunk (or the close that ends an HTTP/1.0 body).
async fn finish(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    facts: &RequestFacts,
    body: &mut ClientBody,
    data: &[u8],
) -> Next {
    let close = facts.close;
    conn.resp.clear();
    if body.head_sent {
        body.frame(data, &mut conn.resp);
        if body.chunked {
            conn.resp.extend_from_slice(LAST_CHUNK);
        }
    } else {
        conn.status = 200;
        write_json(&mut conn.resp, 200, data, close);
    }
    let n = conn.resp.len();
    let next = write_answer(conn, close || !body.chunked).await;
    cx.metrics.relayed(Direction::UpstreamToClient, n);
    next
}
