//! A merged all-namespaces watch: one watch per namespace (opened `--all-namespaces-concurrency` at a time),
//! their events written to the client as they arrive, bookmarks merged ([`WatchMerge`]).
//!
//! The merged stream ends cleanly when every namespace's stream has ended (the caller's `timeoutSeconds` ends
//! them together) and the client watches again from its last version. When one ends and the others go on
//! (kube-apiserver gives each watch its own random timeout), resuming from the client's last version could skip
//! events of a namespace that had not reached it: after [`SPLIT_GRACE`] the stream ends with a `410 Expired`
//! event instead, so the client lists again. It also ends with `410 Expired` when the caller's namespaces
//! change (as a filtered watch does), at once when a namespace's stream fails, and when the client goes away.

use std::pin::pin;
use std::time::{Duration, Instant};

use capsule_proxy_policy::fan_out::{EventAction, TargetError, WatchMerge, namespace_target};
use futures_util::stream::{self, StreamExt};
use monoio::io::Canceller;

use super::upstream_get::{FetchError, Opened, open, read_whole, write_request};
use super::{ClientBody, FanOutPlan};
use crate::client::{ClientConn, Next, RequestFacts, respond, write_answer};
use crate::codec::{BodyFraming, ChunkedScanner, CodecError};
use crate::context::{RequestContext, StreamTicket};
use crate::io::{Stream, WriteHalf};
use crate::metrics::{Direction, StreamKind};
use crate::phase6_response::rewrite::{RELIST_EVENT, WATCH_SPLIT_EVENT};
use crate::status::{write_json, write_streamed_json_head};
use crate::upstream::UpstreamConn;

/// How long the other namespaces' streams may go on after one ended, before the merged stream ends with
/// `410 Expired` rather than cleanly.
const SPLIT_GRACE: Duration = Duration::from_secs(2);

/// Answers the watch of `plan`.
pub(super) async fn serve(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    facts: &RequestFacts,
    plan: &FanOutPlan,
    ticket: StreamTicket,
    resource_version: Option<String>,
) -> Next {
    let timeout = cx.settings.filter.fan_out.timeout;
    let watches = match monoio::time::timeout(timeout, open_all(cx, plan)).await {
        Ok(Ok(watches)) => watches,
        Ok(Err(Refusal::Fetch(e))) => return respond(conn, e.status(), &e.to_string(), facts).await,
        Ok(Err(Refusal::Answered(status, body))) => {
            let close = facts.answer_closes();
            conn.resp.clear();
            conn.status = status;
            write_json(&mut conn.resp, status, &body, close);
            return write_answer(conn, close).await;
        }
        Err(_) => {
            let message = format!(
                "capsule-proxy could not open the all-namespaces watch in --all-namespaces-timeout={timeout:?}"
            );
            return respond(conn, 504, &message, facts).await;
        }
    };
    let _stream = cx.metrics.stream_opened(StreamKind::Response);
    let merge = WatchMerge::new(watches.len(), resource_version.as_deref());
    let body = ClientBody {
        chunked: plan.chunked,
        head_sent: true,
    };
    conn.status = 200;
    conn.resp.clear();
    write_streamed_json_head(&mut conn.resp, body.chunked, facts.close);
    let (read, mut write) = std::mem::replace(&mut conn.stream, Stream::Detached).into_split();
    let mut read = read;
    let canceller = Canceller::new();
    let end = {
        let client_closed =
            super::super::watched::watch_for_close(&mut read, &mut conn.buf, canceller.handle());
        let mut client_closed = pin!(client_closed);
        let relay = relay(cx, &mut write, &mut conn.resp, &body, watches, merge, &ticket);
        let mut relay = pin!(relay);
        let first = monoio::select! {
            end = relay.as_mut() => Some(end),
            closed = client_closed.as_mut() => closed.then_some(End::ClientGone),
        };
        match first {
            Some(End::ClientGone) => End::ClientGone,
            // The relay ended first: cancel the client read and let it complete, so no byte is lost.
            Some(end) => {
                let _cancelled = canceller.cancel();
                let _ = client_closed.await;
                end
            }
            // The client sent bytes (kept for its next request): stop watching it, finish the relay.
            None => relay.await,
        }
    };
    match Stream::reunite(read, write) {
        Ok(stream) => conn.stream = stream,
        Err(e) => {
            tracing::warn!(error = %e, "cannot rejoin a client connection");
            return Next::Close;
        }
    }
    let (last_event, close) = match end {
        End::Ended => (None, facts.close),
        // Shutting down: the stream just ends; the client watches again through another replica.
        End::Stopped if cx.is_draining() => (None, true),
        End::Stopped => {
            tracing::debug!(
                core = cx.core_id,
                "all-namespaces watch ended: the caller's namespaces changed"
            );
            (Some(RELIST_EVENT), facts.close)
        }
        End::Split => {
            tracing::debug!(
                core = cx.core_id,
                "all-namespaces watch ended: one namespace's watch ended alone"
            );
            (Some(WATCH_SPLIT_EVENT), facts.close)
        }
        End::ClientGone | End::Failed => return Next::Close,
    };
    // An HTTP/1.0 body can only end by closing.
    let framing = if body.chunked {
        BodyFraming::Chunked
    } else {
        BodyFraming::UntilClose
    };
    super::super::end_stopped_stream(conn, framing, last_event, close).await
}

/// Why the merged watch could not start.
enum Refusal {
    /// A namespace's watch could not be opened.
    Fetch(FetchError),
    /// The API server answered a namespace's watch with this status and body, passed on.
    Answered(u16, Vec<u8>),
}

/// Opens every namespace's watch; namespaces the caller lost since the review (403, 404) are left out.
async fn open_all(cx: &RequestContext<'_>, plan: &FanOutPlan) -> Result<Vec<NamespaceWatch>, Refusal> {
    let concurrency = cx.settings.filter.fan_out.concurrency;
    let max_page = cx.settings.filter.max_rewrite_bytes;
    let mut opening = stream::iter(plan.namespaces.iter().enumerate())
        .map(|(index, namespace)| async move {
            let mut target = String::new();
            namespace_target(&plan.resource, namespace, &plan.query, None, None, &mut target).map_err(
                |e| {
                    // The caller's query (refused earlier, in practice), or a namespace name that is not one.
                    let code = if matches!(e, TargetError::Namespace(_)) {
                        500
                    } else {
                        400
                    };
                    Refusal::Answered(code, status_body(code, &e.to_string()))
                },
            )?;
            let mut request = Vec::new();
            write_request(&mut request, &cx.settings.path_prefix, &target, &plan.fields);
            let opened = open(cx, &mut request).await.map_err(Refusal::Fetch)?;
            Ok::<_, Refusal>((index, opened))
        })
        .buffer_unordered(concurrency);
    let mut watches = Vec::with_capacity(plan.namespaces.len());
    while let Some(opened) = opening.next().await {
        let (index, opened) = opened?;
        match opened.status {
            200 => watches.push(NamespaceWatch::new(index, opened, &cx.settings.limits, max_page)),
            403 | 404 => {}
            status => {
                let body = match read_whole(cx, opened, max_page).await {
                    Ok((_, body)) => body,
                    Err(e) => return Err(Refusal::Fetch(e)),
                };
                return Err(Refusal::Answered(status, body));
            }
        }
    }
    // Merged in namespace order, whatever order they opened in.
    watches.sort_by_key(|w| w.index);
    for (position, watch) in watches.iter_mut().enumerate() {
        watch.index = position;
    }
    Ok(watches)
}

/// A `Status` body of the proxy's own.
fn status_body(code: u16, message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    crate::status::write_status(&mut out, code, message, false, false);
    // Only the body: after the head's blank line.
    match memchr::memmem::find(&out, b"\r\n\r\n") {
        Some(end) => out.split_off(end + 4),
        None => out,
    }
}

/// How the merged relay ended.
#[derive(Debug)]
enum End {
    /// Every namespace's stream ended, or an `ERROR` event was passed on: the body ends cleanly.
    Ended,
    /// A namespace's stream ended and the others did not follow within [`SPLIT_GRACE`].
    Split,
    /// The stop signal: the caller's namespaces changed, or the proxy shuts down.
    Stopped,
    /// The client closed its connection.
    ClientGone,
    /// Reading a namespace's stream or writing to the client failed.
    Failed,
}

/// Writes events from every namespace's watch to the client until one of them ends.
async fn relay(
    cx: &RequestContext<'_>,
    client: &mut WriteHalf,
    out: &mut Vec<u8>,
    body: &ClientBody,
    watches: Vec<NamespaceWatch>,
    mut merge: WatchMerge,
    ticket: &StreamTicket,
) -> End {
    // The head alone first, so the client knows the watch started before any event.
    if client.write_vec(out).await.is_err() {
        return End::ClientGone;
    }
    let stop = ticket.signal();
    if watches.is_empty() {
        // No namespace to watch (yet): the stream stays open, quiet, until the caller's namespaces change, the
        // proxy shuts down or the client leaves, as an apiserver watch with nothing to report does.
        stop.stopped().await;
        return End::Stopped;
    }
    let mut events = stream::select_all(watches.into_iter().map(|watch| {
        Box::pin(stream::unfold(Some(watch), |watch| async move {
            let mut watch = watch?;
            let event = watch.next_event().await;
            let index = watch.index;
            let keep = matches!(event, Ok(Some(_)));
            Some(((index, event), keep.then_some(watch)))
        }))
    }));
    let mut open = events.len();
    let mut split_since: Option<Instant> = None;
    loop {
        if stop.is_stopped() {
            return End::Stopped;
        }
        let next = {
            let next = pin!(events.next());
            let split = pin!(async {
                match split_since {
                    Some(since) => {
                        monoio::time::sleep((since + SPLIT_GRACE).saturating_duration_since(Instant::now()))
                            .await
                    }
                    None => std::future::pending::<()>().await,
                }
            });
            monoio::select! {
                next = next => next,
                () = stop.stopped() => return End::Stopped,
                () = split => return End::Split,
            }
        };
        let Some((index, event)) = next else {
            return End::Ended;
        };
        let line = match event {
            Ok(Some(line)) => line,
            Ok(None) => {
                open -= 1;
                if open == 0 {
                    return End::Ended;
                }
                split_since.get_or_insert_with(Instant::now);
                continue;
            }
            Err(e) => {
                tracing::debug!(core = cx.core_id, error = %e, "a namespace's watch failed");
                return End::Failed;
            }
        };
        let trimmed = line.strip_suffix(b"\n").unwrap_or(&line);
        let action = merge.on_event(index, trimmed);
        out.clear();
        let end = match &action {
            EventAction::Forward => {
                body.frame(&line, out);
                false
            }
            EventAction::ForwardThenEnd => {
                body.frame(&line, out);
                true
            }
            EventAction::Bookmark(bookmark) => {
                body.frame(bookmark, out);
                false
            }
            EventAction::Drop => false,
        };
        if !out.is_empty() {
            let n = out.len();
            if client.write_vec(out).await.is_err() {
                return End::ClientGone;
            }
            cx.metrics.relayed(Direction::UpstreamToClient, n);
        }
        if end {
            return End::Ended;
        }
    }
}

/// Why a namespace's watch stream failed.
#[derive(Debug, thiserror::Error)]
enum StreamError {
    #[error("reading the API server's watch: {0}")]
    Read(std::io::Error),
    #[error("the API server's watch ended mid-event")]
    Truncated,
    #[error("the API server's watch has invalid chunked framing: {0}")]
    Framing(CodecError),
    #[error("an event of the API server's watch is larger than {0} bytes")]
    TooLarge(usize),
}

/// How a namespace's watch body is framed (kube-apiserver's are chunked).
#[derive(Debug)]
enum Framing {
    Chunked(ChunkedScanner),
    Length(u64),
    UntilClose,
    Done,
}

/// One namespace's open watch: its connection and the decoded bytes not yet split into events.
#[derive(Debug)]
struct NamespaceWatch {
    index: usize,
    upstream: UpstreamConn,
    framing: Framing,
    data: Vec<u8>,
    max_event: usize,
}

impl NamespaceWatch {
    fn new(index: usize, opened: Opened, limits: &crate::codec::Limits, max_event: usize) -> Self {
        let framing = match opened.framing {
            BodyFraming::Chunked => Framing::Chunked(ChunkedScanner::new(limits)),
            BodyFraming::ContentLength(0) | BodyFraming::None | BodyFraming::Tunnel => Framing::Done,
            BodyFraming::ContentLength(n) => Framing::Length(n),
            BodyFraming::UntilClose => Framing::UntilClose,
        };
        Self {
            index,
            upstream: opened.upstream,
            framing,
            data: Vec::new(),
            max_event,
        }
    }

    /// The next event (a JSON line, newline included), or `None` when the stream ended.
    async fn next_event(&mut self) -> Result<Option<Vec<u8>>, StreamError> {
        loop {
            if let Some(end) = memchr::memchr(b'\n', &self.data) {
                let rest = self.data.split_off(end + 1);
                return Ok(Some(std::mem::replace(&mut self.data, rest)));
            }
            if self.data.len() > self.max_event {
                return Err(StreamError::TooLarge(self.max_event));
            }
            if !self.upstream.buf.is_empty() {
                self.decode()?;
                continue;
            }
            if matches!(self.framing, Framing::Done) {
                if self.data.is_empty() {
                    return Ok(None);
                }
                // A last event without its newline.
                let mut last = std::mem::take(&mut self.data);
                last.push(b'\n');
                return Ok(Some(last));
            }
            match self.upstream.stream.read(&mut self.upstream.buf).await {
                Ok(0) if matches!(self.framing, Framing::UntilClose) => self.framing = Framing::Done,
                Ok(0) => return Err(StreamError::Truncated),
                Ok(_) => {}
                Err(e) => return Err(StreamError::Read(e)),
            }
        }
    }

    /// Moves the buffered body bytes into `data`, without their framing.
    fn decode(&mut self) -> Result<(), StreamError> {
        let buffered = self.upstream.buf.filled();
        let consumed = match &mut self.framing {
            Framing::Chunked(scanner) => {
                let scan = scanner
                    .feed_data(buffered, &mut self.data)
                    .map_err(StreamError::Framing)?;
                if scan.done {
                    self.framing = Framing::Done;
                }
                scan.consumed
            }
            Framing::Length(remaining) => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(buffered.len());
                self.data.extend_from_slice(&buffered[..n]);
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.framing = Framing::Done;
                }
                n
            }
            Framing::UntilClose => {
                self.data.extend_from_slice(buffered);
                buffered.len()
            }
            // Bytes after the end of the body: nothing more of this stream.
            Framing::Done => buffered.len(),
        };
        self.upstream.buf.consume(consumed);
        Ok(())
    }
}
