//! Phase 8 of a request: the end of the exchange. The upstream connection goes back to the pool only when both
//! messages ended exactly at their boundaries (the whole request sent, the whole response read, nothing more
//! buffered, neither side asking to close); the client connection is kept or closed; the request is counted
//! under its route template with the status written to the client.

use std::time::Instant;

use crate::client::{ClientConn, Next, write_answer};
use crate::context::RequestContext;
use crate::metrics::Direction;
use crate::phase6_response::Exchange;

/// After a body relayed whole: the upstream connection back to the pool if it can carry another exchange.
pub fn finish_relayed(cx: &RequestContext<'_>, exchange: Exchange) -> Next {
    let client_close = exchange.client_close;
    if exchange.upstream_reusable() {
        cx.pool.checkin(exchange.upstream);
    }
    if client_close {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

/// After a rewritten response: the upstream connection back to the pool if it can carry another exchange,
/// then the answer in `conn.resp` written.
pub async fn finish_rewritten(cx: &RequestContext<'_>, conn: &mut ClientConn, exchange: Exchange) -> Next {
    let client_close = exchange.client_close;
    if exchange.upstream_reusable() {
        cx.pool.checkin(exchange.upstream);
    }
    cx.metrics.relayed(Direction::UpstreamToClient, conn.resp.len());
    write_answer(conn, client_close).await
}

/// Counts the request under its route template with the status written to the client (none: not counted).
pub fn count_request(cx: &RequestContext<'_>, conn: &ClientConn, started: Instant) {
    if conn.status != 0 {
        cx.metrics
            .record_request(conn.route, conn.status, started.elapsed());
    }
}
