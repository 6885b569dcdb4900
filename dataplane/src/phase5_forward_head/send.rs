//! Sending one request to the API server over a pooled connection and waiting for its final response head.

use std::time::Instant;

use crate::client::{ClientConn, Next, RequestFacts, respond, respond_closing};
use crate::codec::{CodecError, HopByHop, Parsed, parse_response_head, write_response_head};
use crate::context::RequestContext;
use crate::io::{BodyRelay, RelayError};
use crate::metrics::{ConnectErrorKind, Counted, Direction};
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
#[derive(Debug)]
pub struct Sent {
    /// The connection the response comes on; its buffer starts with the final response head.
    pub upstream: UpstreamConn,
    /// The whole request reached the API server; otherwise the server answered early and stopped reading, and
    /// neither connection can carry another exchange.
    pub complete: bool,
}

/// Sends the head in `conn.out` (and the request body) upstream and waits for the final response head; when
/// none comes, the client is answered here and `Err` says what the connection is left ready for.
///
/// A request that failed on a reused pooled connection before any response byte is sent once more on a fresh
/// connection when that is safe: the whole request is still in hand, and the method is idempotent or the
/// write itself failed (the server cannot have read the request whole). Go's Transport follows the same rule.
pub async fn send(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    facts: &RequestFacts,
) -> Result<Sent, Next> {
    // The head and the body bytes already read leave in one write.
    let mut body = BodyRelay::new(facts.framing, &cx.settings.limits);
    if let Err(e) = body.take_buffered(&mut conn.buf, &mut conn.out) {
        return Err(respond(conn, 400, &format!("invalid request body: {e}"), facts).await);
    }
    // Only a request held whole in `out` can be sent again.
    let replayable = body.is_done();
    let continue_sent = facts.expect_continue && !replayable;
    if continue_sent {
        conn.resp.clear();
        conn.resp.extend_from_slice(CONTINUE);
        if conn.stream.write_vec(&mut conn.resp).await.is_err() {
            return Err(Next::Close);
        }
    }
    let mut fresh = false;
    loop {
        let upstream = match cx.pool.checkout_or_connect(fresh).await {
            Ok(upstream) => upstream,
            Err(e) => {
                cx.metrics.connect_error(ConnectErrorKind::of(&e));
                tracing::warn!(core = cx.core_id, error = %e, "API server unreachable");
                let message = format!("capsule-proxy cannot reach the API server: {e}");
                return Err(respond(conn, e.status(), &message, facts).await);
            }
        };
        let retry_allowed = upstream.reused && !fresh && replayable;
        match send_request(cx, conn, upstream, facts, &mut body, continue_sent).await {
            Ok(sent) => return Ok(sent),
            Err(SendError::Stale { write_failed }) if retry_allowed && (facts.idempotent || write_failed) => {
                tracing::debug!(
                    core = cx.core_id,
                    "a pooled API server connection was closed: retrying"
                );
                fresh = true;
            }
            Err(e) => return Err(answer_send_error(conn, facts, e).await),
        }
    }
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
    cx: &RequestContext<'_>,
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
            cx.metrics.relayed(Direction::ClientToUpstream, sent);
            None
        }
        Err(e) if reused => {
            // Kept for an answer the server may have sent before it closed.
            if upstream_answered(cx, conn, &mut upstream, facts, continue_sent).await {
                return Ok(Sent {
                    upstream,
                    complete: false,
                });
            }
            tracing::debug!(core = cx.core_id, error = %e, "writing to a pooled API server connection failed");
            return Err(SendError::Stale { write_failed: true });
        }
        Err(e) => Some(e),
    };
    if write_error.is_none() && !body.is_done() {
        let idle = cx.settings.timeouts.request_body_idle;
        let mut sink = Counted::new(&mut upstream.stream, cx.metrics, Direction::ClientToUpstream);
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
        if upstream_answered(cx, conn, &mut upstream, facts, continue_sent).await {
            return Ok(Sent {
                upstream,
                complete: false,
            });
        }
        return Err(SendError::Lost(e));
    }
    match read_response_head(cx, conn, &mut upstream, facts, continue_sent).await {
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
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    upstream: &mut UpstreamConn,
    facts: &RequestFacts,
    continue_sent: bool,
) -> bool {
    read_response_head(cx, conn, upstream, facts, continue_sent)
        .await
        .is_ok()
}

/// Reads until `upstream.buf` starts with a final (non-1xx, or 101) response head, passing interim
/// responses on to the client (except a `100 Continue` the proxy already sent itself).
async fn read_response_head(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    upstream: &mut UpstreamConn,
    facts: &RequestFacts,
    continue_sent: bool,
) -> Result<(), HeadError> {
    let limits = &cx.settings.limits;
    let deadline = Instant::now() + cx.settings.response_header_timeout;
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
