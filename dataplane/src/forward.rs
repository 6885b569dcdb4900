//! Forwarding one request to the apiserver and relaying its response.

use std::time::Instant;

use crate::codec::{
    BodyFraming, CodecError, HopByHop, Limits, Parsed, ResponseHead, parse_response_head, write_response_head,
};
use crate::core::Core;
use capsule_proxy_policy::model::ClusterResourceRule;
use capsule_proxy_policy::self_review::{ReviewContext, rewrite_access_review, rewrite_rules_review};

use crate::metrics::{ConnectErrorKind, Counted, Direction, StreamKind};
use crate::namespace_gate;
use crate::plan::{ResponsePlan, SelfReviewPlan};
use crate::relay::{BodyRelay, RelayError, WatchedRelay, relay_watching_client};
use crate::rewrite::{LAST_CHUNK, RELIST_EVENT, finish_head, read_body, write_chunk};
use crate::serve::{ClientConn, Next, RequestFacts, respond, respond_closing};
use crate::upstream::UpstreamConn;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Why no response head came back.
enum HeadError {
    /// The connection ended (or failed) before a single response byte.
    ClosedEarly,
    /// The connection failed mid-head.
    Failed,
    /// The head is not valid HTTP.
    Invalid(CodecError),
    /// No head within the response header timeout.
    Timeout,
}

/// What became of the request on its way upstream.
struct Sent {
    /// The connection the response comes on.
    upstream: UpstreamConn,
    /// The whole request reached the API server; otherwise the server answered early and stopped reading, and
    /// neither connection can carry another exchange.
    complete: bool,
}

/// Sends the head in `conn.out` (and the request body) upstream, then relays the response to the client.
///
/// A request that failed on a reused pooled connection before any response byte is sent once more on a fresh
/// connection when that is safe: the whole request is still in hand, and the method is idempotent or the
/// write itself failed (the server cannot have read the request whole). Go's Transport follows the same rule.
pub async fn forward(core: &Core, conn: &mut ClientConn, facts: &RequestFacts, plan: ResponsePlan) -> Next {
    // The head and the body bytes already read leave in one write.
    let mut body = BodyRelay::new(facts.framing, &core.settings.limits);
    if let Err(e) = body.take_buffered(&mut conn.buf, &mut conn.out) {
        return respond(conn, 400, &format!("invalid request body: {e}"), facts).await;
    }
    // Only a request held whole in `out` can be sent again.
    let replayable = body.is_done();
    let continue_sent = facts.expect_continue && !replayable;
    if continue_sent {
        conn.resp.clear();
        conn.resp.extend_from_slice(CONTINUE);
        if conn.stream.write_vec(&mut conn.resp).await.is_err() {
            return Next::Close;
        }
    }
    let mut fresh = false;
    let sent = loop {
        let checkout = if fresh {
            core.pool.connect().await
        } else {
            core.pool.checkout().await
        };
        let upstream = match checkout {
            Ok(upstream) => upstream,
            Err(e) => {
                core.metrics.connect_error(ConnectErrorKind::of(&e));
                tracing::warn!(core = core.id, error = %e, "API server unreachable");
                let message = format!("capsule-proxy cannot reach the API server: {e}");
                return respond(conn, e.status(), &message, facts).await;
            }
        };
        let retry_allowed = upstream.reused && !fresh && replayable;
        match send_request(core, conn, upstream, facts, &mut body, continue_sent).await {
            Ok(sent) => break sent,
            Err(SendError::Stale { write_failed }) if retry_allowed && (facts.idempotent || write_failed) => {
                tracing::debug!(
                    core = core.id,
                    "a pooled API server connection was closed: retrying"
                );
                fresh = true;
            }
            Err(e) => return answer_send_error(conn, facts, e).await,
        }
    };
    relay_response(core, conn, sent, facts, plan).await
}

/// Why a request got no response head.
enum SendError {
    /// The connection failed before any response byte; `write_failed` if writing the request failed.
    Stale {
        /// Writing the request failed (rather than the wait for its response).
        write_failed: bool,
    },
    /// Writing the request failed and no response came.
    Lost(std::io::Error),
    /// The response head failed.
    Head(HeadError),
    /// The caller's body is malformed (400).
    Body(CodecError),
    /// The caller stopped sending its body (408).
    BodyIdle,
    /// The caller went away mid-body.
    ClientGone,
}

/// The answer to a request that got no response head (the connection closes when a body was left unread).
async fn answer_send_error(conn: &mut ClientConn, facts: &RequestFacts, error: SendError) -> Next {
    let message = match error {
        SendError::ClientGone => return Next::Close,
        SendError::Body(e) => {
            let message = format!("invalid request body: {e}");
            return respond_closing(conn, 400, &message).await;
        }
        SendError::BodyIdle => {
            return respond_closing(conn, 408, "timed out reading the request body").await;
        }
        SendError::Lost(e) => format!("capsule-proxy lost the API server connection: {e}"),
        SendError::Stale { .. } | SendError::Head(HeadError::ClosedEarly | HeadError::Failed) => {
            "the API server closed the connection without a response".to_string()
        }
        SendError::Head(HeadError::Invalid(e)) => format!("the API server sent an invalid response: {e}"),
        SendError::Head(HeadError::Timeout) => {
            return respond(
                conn,
                504,
                "timed out waiting for the API server's response",
                facts,
            )
            .await;
        }
    };
    respond(conn, 502, &message, facts).await
}

/// Writes `conn.out` and the rest of the body to `upstream` and reads until a final response head is buffered.
///
/// When writing fails the API server may still have answered first (a `413` or `401` before reading a large
/// body): that answer is read and relayed rather than replaced by a 502.
async fn send_request(
    core: &Core,
    conn: &mut ClientConn,
    mut upstream: UpstreamConn,
    facts: &RequestFacts,
    body: &mut BodyRelay,
    continue_sent: bool,
) -> Result<Sent, SendError> {
    let reused = upstream.reused;
    let sent = conn.out.len();
    let mut write_error = match upstream.stream.write_vec(&mut conn.out).await {
        Ok(()) => {
            core.metrics.relayed(Direction::ClientToUpstream, sent);
            None
        }
        Err(e) if reused => {
            // Kept for an answer the server may have sent before it closed.
            if upstream_answered(core, conn, &mut upstream, facts, continue_sent).await {
                return Ok(Sent {
                    upstream,
                    complete: false,
                });
            }
            tracing::debug!(core = core.id, error = %e, "writing to a pooled API server connection failed");
            return Err(SendError::Stale { write_failed: true });
        }
        Err(e) => Some(e),
    };
    if write_error.is_none() && !body.is_done() {
        let idle = core.settings.timeouts.request_body_idle;
        let mut sink = Counted::new(&mut upstream.stream, &core.metrics, Direction::ClientToUpstream);
        match body
            .run(&mut conn.stream, &mut conn.buf, &mut sink, Some(idle))
            .await
        {
            Ok(()) => {}
            Err(RelayError::Framing(e)) => return Err(SendError::Body(e)),
            Err(RelayError::Idle(_)) => return Err(SendError::BodyIdle),
            Err(RelayError::Read(_) | RelayError::Truncated) => return Err(SendError::ClientGone),
            Err(RelayError::Write(e)) => write_error = Some(e),
        }
    }
    if let Some(e) = write_error {
        if upstream_answered(core, conn, &mut upstream, facts, continue_sent).await {
            return Ok(Sent {
                upstream,
                complete: false,
            });
        }
        return Err(SendError::Lost(e));
    }
    match read_response_head(core, conn, &mut upstream, facts, continue_sent).await {
        Ok(()) => Ok(Sent {
            upstream,
            complete: true,
        }),
        Err(HeadError::ClosedEarly) if reused => Err(SendError::Stale { write_failed: false }),
        Err(e) => Err(SendError::Head(e)),
    }
}

/// After a failed write: whether the API server's final response head is (already) readable.
async fn upstream_answered(
    core: &Core,
    conn: &mut ClientConn,
    upstream: &mut UpstreamConn,
    facts: &RequestFacts,
    continue_sent: bool,
) -> bool {
    read_response_head(core, conn, upstream, facts, continue_sent)
        .await
        .is_ok()
}

/// Reads until `upstream.buf` starts with a final (non-1xx, or 101) response head, passing interim
/// responses on to the client (except a `100 Continue` the proxy already sent itself).
async fn read_response_head(
    core: &Core,
    conn: &mut ClientConn,
    upstream: &mut UpstreamConn,
    facts: &RequestFacts,
    continue_sent: bool,
) -> Result<(), HeadError> {
    let limits = &core.settings.limits;
    let deadline = Instant::now() + core.settings.response_header_timeout;
    let mut received_any = !upstream.buf.is_empty();
    loop {
        if !upstream.buf.is_empty() {
            let interim = match parse_response_head(upstream.buf.filled(), limits, &facts.method) {
                Ok(Parsed::Complete { head, len }) if head.is_interim() => {
                    let forward = !(head.status == 100 && continue_sent);
                    if forward {
                        conn.resp.clear();
                        write_response_head(
                            &mut conn.resp,
                            head.status,
                            head.reason,
                            HopByHop::for_response(&head).forwarded(),
                            [],
                        )
                        .map_err(HeadError::Invalid)?;
                    }
                    Some((len, forward))
                }
                Ok(Parsed::Complete { .. }) => return Ok(()),
                Ok(Parsed::Partial) => None,
                Err(e) => return Err(HeadError::Invalid(e)),
            };
            if let Some((len, forward)) = interim {
                upstream.buf.consume(len);
                if forward && conn.stream.write_vec(&mut conn.resp).await.is_err() {
                    return Err(HeadError::Failed);
                }
                continue;
            }
            if upstream.buf.is_full() {
                return Err(HeadError::Invalid(CodecError::HeadTooLarge));
            }
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match monoio::time::timeout(wait, upstream.stream.read(&mut upstream.buf)).await {
            Err(_) => return Err(HeadError::Timeout),
            Ok(Ok(0) | Err(_)) if !received_any => return Err(HeadError::ClosedEarly),
            Ok(Ok(0) | Err(_)) => return Err(HeadError::Failed),
            Ok(Ok(_)) => received_any = true,
        }
    }
}

/// Writes the final response head (and the body bytes already read) to the client, then relays the rest of
/// the body, or the upgraded stream; or, as `plan` says, answers differently.
///
/// The upstream connection goes back to the pool only when both messages ended exactly at their boundaries:
/// the whole request was sent, the whole response read, nothing more buffered, and neither side asked to close.
async fn relay_response(
    core: &Core,
    conn: &mut ClientConn,
    sent: Sent,
    facts: &RequestFacts,
    plan: ResponsePlan,
) -> Next {
    let Sent {
        mut upstream,
        complete,
    } = sent;
    let limits: &Limits = &core.settings.limits;
    let (status, framing, upstream_close, client_close, json) = {
        let Ok(Parsed::Complete { head, len }) =
            parse_response_head(upstream.buf.filled(), limits, &facts.method)
        else {
            return respond(conn, 502, "the API server sent an invalid response", facts).await;
        };
        // An early answer leaves the rest of the request body unread on the client connection: it closes.
        let client_close =
            !complete || facts.close || head.framing == BodyFraming::UntilClose || core.is_draining();
        let json = head
            .headers
            .get("content-type")
            .is_some_and(|v| v.starts_with(b"application/json"));
        conn.resp.clear();
        if let Err(e) = write_client_head(&mut conn.resp, &head, &plan, client_close) {
            let message = format!("the API server sent a response that cannot be relayed: {e}");
            return respond(conn, 502, &message, facts).await;
        }
        let result = (
            head.status,
            head.framing,
            !complete || head.connection_close,
            client_close,
            json,
        );
        upstream.buf.consume(len);
        result
    };
    conn.status = status;
    let plan = match plan {
        ResponsePlan::NamespaceGate if status == 403 => {
            match namespace_gate::masked(core, &conn.gate_path).await {
                // The upstream body is not read: the connection is dropped instead of reused.
                Some(message) => return respond(conn, 404, &message, facts).await,
                None => ResponsePlan::Relay,
            }
        }
        ResponsePlan::SelfReview(review) => {
            let limit = core.settings.filter.max_rewrite_bytes;
            let body = match read_body(framing, limits, &mut upstream.stream, &mut upstream.buf, limit).await
            {
                Ok(body) => body,
                Err(e) => {
                    let message = format!("capsule-proxy cannot rewrite the review response: {e}");
                    return respond(conn, 502, &message, facts).await;
                }
            };
            let rewritten = self_review_body(&review, status, &body);
            if finish_head(&mut conn.resp, &rewritten).is_err() {
                return respond(
                    conn,
                    502,
                    "capsule-proxy cannot rewrite the review response",
                    facts,
                )
                .await;
            }
            if !upstream_close && framing != BodyFraming::UntilClose {
                core.pool.checkin(upstream);
            }
            core.metrics.relayed(Direction::UpstreamToClient, conn.resp.len());
            return finish_write(conn, client_close).await;
        }
        other => other,
    };
    if framing == BodyFraming::Tunnel {
        if !complete || !facts.upgrade {
            // Switching protocols unasked, or in the middle of a request body: the connection must not become
            // a tunnel.
            return respond(conn, 502, "the API server switched protocols unasked", facts).await;
        }
        let head = conn.resp.len();
        if conn.stream.write_vec(&mut conn.resp).await.is_err() {
            return Next::Close;
        }
        core.metrics.relayed(Direction::UpstreamToClient, head);
        return Next::Upgrade(upstream);
    }
    let mut body = BodyRelay::new(framing, limits);
    if body.take_buffered(&mut upstream.buf, &mut conn.resp).is_err() {
        return respond(conn, 502, "the API server sent an invalid chunked body", facts).await;
    }
    let first = conn.resp.len();
    if conn.stream.write_vec(&mut conn.resp).await.is_err() {
        return Next::Close;
    }
    core.metrics.relayed(Direction::UpstreamToClient, first);
    let relayed = if body.is_done() {
        Ok(())
    } else if matches!(body, BodyRelay::Length(_)) {
        let mut sink = Counted::new(&mut conn.stream, &core.metrics, Direction::UpstreamToClient);
        body.run(&mut upstream.stream, &mut upstream.buf, &mut sink, None)
            .await
    } else {
        let _stream = core.metrics.stream_opened(StreamKind::Response);
        // Open-ended bodies (watch and log streams): stop as soon as the client goes away, or when a filtered
        // watch's ownership changes.
        // Every stream is registered so a shutdown can end it between two events (a filtered watch already is).
        let ticket = match plan {
            ResponsePlan::Watch(ticket) => ticket,
            _ => core.streams.register(None),
        };
        match relay_watching_client(
            &mut body,
            &mut upstream.stream,
            &mut upstream.buf,
            &mut conn.stream,
            &mut conn.buf,
            ticket.signal(),
            &core.metrics,
        )
        .await
        {
            WatchedRelay::Relayed(result) => result,
            WatchedRelay::ClientGone => {
                tracing::debug!(core = core.id, "client closed during a streamed response");
                return Next::Close;
            }
            WatchedRelay::Stopped if core.is_draining() => {
                // Shutting down: the stream just ends; the client watches again through another replica.
                tracing::debug!(core = core.id, "streamed response ended: shutting down");
                return end_stopped_stream(conn, framing, None, true).await;
            }
            WatchedRelay::Stopped => {
                tracing::debug!(
                    core = core.id,
                    "filtered watch ended: the caller's ownership changed"
                );
                let event = json.then_some(RELIST_EVENT);
                return end_stopped_stream(conn, framing, event, client_close).await;
            }
        }
    };
    if let Err(e) = relayed {
        tracing::debug!(core = core.id, error = %e, "response relay ended early");
        // The client sees the stream end without its final chunk / length: an error, not a short body.
        return Next::Close;
    }
    if !upstream_close && framing != BodyFraming::UntilClose {
        core.pool.checkin(upstream);
    }
    if client_close {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

/// Writes the response head relayed to the client into `out`. Framing comes from the parsed head
/// ([`ResponseHead::framing_fields`]), never from the fields the API server sent; a self review's length is
/// written once its body is rewritten (see `rewrite::finish_head`).
fn write_client_head(
    out: &mut Vec<u8>,
    head: &ResponseHead<'_>,
    plan: &ResponsePlan,
    client_close: bool,
) -> Result<(), CodecError> {
    let close =
        (client_close && head.framing != BodyFraming::Tunnel).then_some(("Connection", &b"close"[..]));
    if let ResponsePlan::SelfReview(_) = plan {
        let fields = HopByHop::for_response(head).forwarded().filter(|(name, _)| {
            !name.eq_ignore_ascii_case("content-type") && !name.eq_ignore_ascii_case("content-encoding")
        });
        let extra = [("Content-Type", &b"application/json"[..])]
            .into_iter()
            .chain(close);
        return write_response_head(out, head.status, head.reason, fields, extra);
    }
    let framing = head.framing_fields();
    let fields = HopByHop::for_response(head).forwarded();
    write_response_head(
        out,
        head.status,
        head.reason,
        fields,
        framing.field().into_iter().chain(close),
    )
}

/// Ends a stopped stream cleanly: a chunked body gets `event` (if any) as a last chunk of data and then its last
/// chunk; any other body can only end by closing.
async fn end_stopped_stream(
    conn: &mut ClientConn,
    framing: BodyFraming,
    event: Option<&[u8]>,
    close: bool,
) -> Next {
    if framing != BodyFraming::Chunked {
        return Next::Close;
    }
    conn.resp.clear();
    if let Some(event) = event {
        write_chunk(&mut conn.resp, event);
    }
    conn.resp.extend_from_slice(LAST_CHUNK);
    // The upstream connection is mid-body and is dropped; the client's stays unless it is to close.
    finish_write(conn, close).await
}

async fn finish_write(conn: &mut ClientConn, close: bool) -> Next {
    match conn.stream.write_vec(&mut conn.resp).await {
        Ok(()) if !close => Next::KeepAlive,
        _ => Next::Close,
    }
}

/// The rewritten review, or the API server's own body when it is not a successful review.
fn self_review_body(review: &SelfReviewPlan, status: u16, body: &[u8]) -> Vec<u8> {
    if !(200..300).contains(&status) {
        return body.to_vec();
    }
    let rules: Vec<&ClusterResourceRule> = review.rules.iter().collect();
    let context = ReviewContext {
        has_tenants: review.has_tenants,
        cluster_scoped_gate: review.cluster_scoped_gate,
        rules: &rules,
        resources: review.snapshot.api_resources(),
    };
    let rewritten = if review.rules_review {
        rewrite_rules_review(body, &context)
    } else {
        rewrite_access_review(body, &context)
    };
    match rewritten {
        Ok(rewritten) => rewritten,
        Err(e) => {
            tracing::warn!(error = %e, "cannot rewrite a self review response; relaying it unchanged");
            body.to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use capsule_proxy_policy::snapshot::Snapshot;

    use super::*;
    use crate::codec::Method;

    fn client_head(raw: &[u8], method: Method<'_>, plan: &ResponsePlan, close: bool) -> String {
        let Ok(Parsed::Complete { head, .. }) = parse_response_head(raw, &Limits::default(), &method) else {
            panic!("not a head: {raw:?}");
        };
        let mut out = Vec::new();
        write_client_head(&mut out, &head, plan, close).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn relayed_heads_carry_the_proxys_framing() {
        let hidden =
            b"HTTP/1.1 200 OK\r\nConnection: Content-Length, X-Junk\r\nX-Junk: 1\r\nContent-Length: 4\r\n\
                       Content-Type: application/json\r\n\r\n";
        assert_eq!(
            client_head(hidden, Method::Get, &ResponsePlan::Relay, false),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n"
        );
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n";
        assert_eq!(
            client_head(chunked, Method::Get, &ResponsePlan::Relay, true),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        let until_close = b"HTTP/1.1 200 OK\r\nKeep-Alive: 5\r\n\r\n";
        assert_eq!(
            client_head(until_close, Method::Get, &ResponsePlan::Relay, true),
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
        );
        let head_answer = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
        assert_eq!(
            client_head(head_answer, Method::Head, &ResponsePlan::Relay, false),
            "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
        );
    }

    #[test]
    fn upgrades_keep_their_pair_and_never_say_close() {
        let switching = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                          Sec-WebSocket-Accept: x\r\n\r\n";
        assert_eq!(
            client_head(switching, Method::Get, &ResponsePlan::Relay, true),
            "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\n"
        );
    }

    #[test]
    fn a_self_review_head_waits_for_its_rewritten_length() {
        let plan = ResponsePlan::SelfReview(SelfReviewPlan {
            rules_review: false,
            has_tenants: true,
            rules: Vec::new(),
            snapshot: Arc::new(Snapshot::default()),
            cluster_scoped_gate: false,
        });
        let review = b"HTTP/1.1 201 Created\r\nContent-Type: application/vnd.kubernetes.protobuf\r\n\
                       Content-Encoding: gzip\r\nContent-Length: 30\r\nAudit-Id: a\r\n\r\n";
        assert_eq!(
            client_head(review, Method::Post, &plan, false),
            "HTTP/1.1 201 Created\r\nAudit-Id: a\r\nContent-Type: application/json\r\n\r\n"
        );
    }

    #[test]
    fn only_successful_reviews_are_rewritten() {
        let plan = SelfReviewPlan {
            rules_review: false,
            has_tenants: true,
            rules: Vec::new(),
            snapshot: Arc::new(Snapshot::default()),
            cluster_scoped_gate: false,
        };
        let refused = br#"{"kind":"Status","code":403}"#;
        assert_eq!(self_review_body(&plan, 403, refused), refused);
        let review = br#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","spec":{"resourceAttributes":{"verb":"list","resource":"namespaces"}},"status":{"allowed":false}}"#;
        let granted = String::from_utf8(self_review_body(&plan, 201, review)).unwrap();
        assert!(granted.contains(r#""allowed":true"#), "{granted}");
    }
}
