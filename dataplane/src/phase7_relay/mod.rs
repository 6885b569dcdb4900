//! Phase 7 of a request: the body. The response head goes out with the body bytes already read, then the rest
//! as it arrives through reused buffers: a sized body straight through, an open-ended one (watches,
//! `logs -f`) while watching the client ([`watched`]) and the stream's stop signal (a filtered watch whose
//! ownership changed, a shutdown); an upgraded connection both ways ([`tunnel()`]).

pub mod fan_out;
pub mod tunnel;
pub mod watched;

pub use tunnel::tunnel;
pub use watched::{WatchedRelay, relay_watching_client};

use crate::client::{ClientConn, Next, RequestFacts, respond, write_answer};
use crate::codec::BodyFraming;
use crate::context::RequestContext;
use crate::io::BodyRelay;
use crate::metrics::{Counted, Direction, StreamKind};
use crate::phase4_decide::ResponsePlan;
use crate::phase6_response::Exchange;
use crate::phase6_response::rewrite::{LAST_CHUNK, RELIST_EVENT, write_chunk};
use crate::upstream::UpstreamConn;

/// How relaying a body ended.
#[derive(Debug)]
pub enum Relayed {
    /// The whole body reached the client.
    Complete,
    /// It ended otherwise (client gone, stream stopped, a failure); the connection is left ready for this.
    Ended(Next),
}

/// Writes the `101` head in `conn.resp`; the connection then becomes a tunnel on `upstream`.
pub async fn upgrade(cx: &RequestContext<'_>, conn: &mut ClientConn, upstream: UpstreamConn) -> Next {
    let head = conn.resp.len();
    if conn.stream.write_vec(&mut conn.resp).await.is_err() {
        return Next::Close;
    }
    cx.metrics.relayed(Direction::UpstreamToClient, head);
    Next::Upgrade(upstream)
}

/// Writes the head in `conn.resp` with the body bytes already read, then relays the rest of the body.
pub async fn relay_body(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    exchange: &mut Exchange,
    facts: &RequestFacts,
    plan: ResponsePlan,
) -> Relayed {
    let upstream = &mut exchange.upstream;
    let mut body = BodyRelay::new(exchange.framing, &cx.settings.limits);
    if body.take_buffered(&mut upstream.buf, &mut conn.resp).is_err() {
        let message = "the API server sent an invalid chunked body";
        return Relayed::Ended(respond(conn, 502, message, facts).await);
    }
    let first = conn.resp.len();
    if conn.stream.write_vec(&mut conn.resp).await.is_err() {
        return Relayed::Ended(Next::Close);
    }
    cx.metrics.relayed(Direction::UpstreamToClient, first);
    let relayed = if body.is_done() {
        Ok(())
    } else if matches!(body, BodyRelay::Length(_)) {
        let mut sink = Counted::new(&mut conn.stream, cx.metrics, Direction::UpstreamToClient);
        body.run(&mut upstream.stream, &mut upstream.buf, &mut sink, None)
            .await
    } else {
        match relay_open_ended(cx, conn, exchange, &mut body, plan).await {
            Ok(relayed) => relayed,
            Err(next) => return Relayed::Ended(next),
        }
    };
    if let Err(e) = relayed {
        tracing::debug!(core = cx.core_id, error = %e, "response relay ended early");
        // The client sees the stream end without its final chunk / length: an error, not a short body.
        return Relayed::Ended(Next::Close);
    }
    Relayed::Complete
}

/// Relays an open-ended body (watch and log streams): stops as soon as the client goes away, or when the
/// stream's stop signal is set. Every stream is registered, so a shutdown can end it between two events (a
/// filtered watch already is, with what it was started with).
async fn relay_open_ended(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    exchange: &mut Exchange,
    body: &mut BodyRelay,
    plan: ResponsePlan,
) -> Result<Result<(), crate::io::RelayError>, Next> {
    let _stream = cx.metrics.stream_opened(StreamKind::Response);
    let ticket = match plan {
        ResponsePlan::Watch(ticket) => ticket,
        _ => cx.streams.register(None),
    };
    // The head went out: the request and response head buffers are not needed while the stream lasts.
    conn.out = Vec::new();
    conn.resp = Vec::new();
    let upstream = &mut exchange.upstream;
    let outcome = relay_watching_client(
        body,
        &mut upstream.stream,
        &mut upstream.buf,
        &mut conn.stream,
        &mut conn.buf,
        ticket.signal(),
        cx.metrics,
    )
    .await;
    match outcome {
        WatchedRelay::Relayed(result) => Ok(result),
        WatchedRelay::ClientGone => {
            tracing::debug!(core = cx.core_id, "client closed during a streamed response");
            Err(Next::Close)
        }
        WatchedRelay::Stopped if cx.is_draining() => {
            // Shutting down: the stream just ends; the client watches again through another replica.
            tracing::debug!(core = cx.core_id, "streamed response ended: shutting down");
            Err(end_stopped_stream(conn, exchange.framing, None, true).await)
        }
        WatchedRelay::Stopped => {
            tracing::debug!(
                core = cx.core_id,
                "filtered watch ended: the caller's ownership changed"
            );
            let event = exchange.json.then_some(RELIST_EVENT);
            Err(end_stopped_stream(conn, exchange.framing, event, exchange.client_close).await)
        }
    }
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
    write_answer(conn, close).await
}
