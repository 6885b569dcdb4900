//! Phase 6 of a request: the response head. The API server's final head is parsed and the client's written
//! ([`client_head`]: framing by the proxy); then, as the decision planned, a `403` may become the namespace
//! gate's `404` ([`namespace_gate`]), a self review is read whole and rewritten ([`self_review`]), a `101` is
//! checked before the connection becomes a tunnel, and everything else goes on to be relayed.

pub mod client_head;
pub mod namespace_gate;
pub mod rewrite;
pub mod self_review;

pub use client_head::write_client_head;

use crate::client::{ClientConn, Next, RequestFacts, respond};
use crate::codec::{BodyFraming, Parsed, parse_response_head};
use crate::context::RequestContext;
use crate::phase4_decide::ResponsePlan;
use crate::phase5_forward_head::Sent;
use crate::upstream::UpstreamConn;

/// A response whose head is in `conn.resp`, on its way to the client.
#[derive(Debug)]
pub struct Exchange {
    /// The connection the response comes on; its buffer holds the body bytes read with the head.
    pub upstream: UpstreamConn,
    /// How the response body is framed.
    pub framing: BodyFraming,
    /// The upstream connection cannot carry another exchange: the API server closes it, or the request was not
    /// sent whole.
    pub upstream_close: bool,
    /// The client connection closes after this response.
    pub client_close: bool,
    /// The body is JSON (a stopped watch then gets a last event).
    pub json: bool,
}

impl Exchange {
    /// Whether the upstream connection may go back to the pool once the body is relayed whole.
    pub fn upstream_reusable(&self) -> bool {
        !self.upstream_close && self.framing != BodyFraming::UntilClose
    }
}

/// What comes after the response head.
#[derive(Debug)]
pub enum Response {
    /// The proxy answered the client itself (an unusable response, the namespace gate's `404`); the upstream
    /// connection is dropped.
    Answered(Next),
    /// The whole answer (a rewritten self review) is in `conn.resp`, the upstream body read.
    Rewritten(Exchange),
    /// The API server switched protocols as asked: the `101` head is in `conn.resp`.
    Upgrade(UpstreamConn),
    /// The head is in `conn.resp`; the body is relayed as `plan` says.
    Relay(Exchange, ResponsePlan),
}

/// Writes the client's response head for `sent` into `conn.resp` and handles the response as `plan` says.
///
/// An early answer (the request was not sent whole) leaves the rest of the request body unread on the client
/// connection: it closes, as it does when the client asked to, the body ends only when the API server closes,
/// or the core is shutting down.
pub async fn response_head(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    sent: Sent,
    facts: &RequestFacts,
    plan: ResponsePlan,
) -> Response {
    let Sent {
        mut upstream,
        complete,
    } = sent;
    let exchange = {
        let Ok(Parsed::Complete { head, len }) =
            parse_response_head(upstream.buf.filled(), &cx.settings.limits, &facts.method)
        else {
            let message = "the API server sent an invalid response";
            return Response::Answered(respond(conn, 502, message, facts).await);
        };
        let client_close =
            !complete || facts.close || head.framing == BodyFraming::UntilClose || cx.is_draining();
        let json = head
            .headers
            .get("content-type")
            .is_some_and(|v| v.starts_with(b"application/json"));
        conn.resp.clear();
        if let Err(e) = write_client_head(&mut conn.resp, &head, &plan, client_close) {
            let message = format!("the API server sent a response that cannot be relayed: {e}");
            return Response::Answered(respond(conn, 502, &message, facts).await);
        }
        conn.status = head.status;
        let (framing, upstream_close) = (head.framing, !complete || head.connection_close);
        upstream.buf.consume(len);
        Exchange {
            upstream,
            framing,
            upstream_close,
            client_close,
            json,
        }
    };
    let plan = match plan {
        ResponsePlan::NamespaceGate if conn.status == 403 => {
            match namespace_gate::masked(cx, &conn.gate_path).await {
                // The upstream body is not read: the connection is dropped instead of reused.
                Some(message) => return Response::Answered(respond(conn, 404, &message, facts).await),
                None => ResponsePlan::Relay,
            }
        }
        ResponsePlan::SelfReview(review) => {
            return self_review::rewrite(cx, conn, exchange, &review, facts).await;
        }
        other => other,
    };
    if exchange.framing == BodyFraming::Tunnel {
        if !complete || !facts.upgrade {
            // Switching protocols unasked, or in the middle of a request body: the connection must not become
            // a tunnel.
            let message = "the API server switched protocols unasked";
            return Response::Answered(respond(conn, 502, message, facts).await);
        }
        return Response::Upgrade(exchange.upstream);
    }
    Response::Relay(exchange, plan)
}
