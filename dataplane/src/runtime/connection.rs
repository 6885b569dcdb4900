//! A client connection on a core, its requests taken through the phases in order:
//!
//! ```text
//!  1 accept + TLS ─▶ 2 read head ─▶ 3 authenticate ─▶ 4 decide ─▶ 5 forward head ─▶ 6 response head
//!                  ─▶ 7 relay ─▶ 8 finish          (then the next request on the connection, or a tunnel)
//! ```
//!
//! Each phase is a module of its own that uses only the phases before it and the ground floor; this file is
//! the one place that calls them all.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use monoio::net::{TcpListener, TcpStream};

use super::core::Core;
use crate::client::{ClientConn, Next, RequestFacts, respond, respond_closing, write_answer};
use crate::codec::{BodyFraming, Method, RequestHead, Version};
use crate::context::RequestContext;
use crate::io::IoBuffer;
use crate::metrics::{RouteLabel, StreamKind};
use crate::phase1_accept::{self, ClientFacts};
use crate::phase2_read_head::{self, HeadRead};
use crate::phase3_authenticate::{self, Admission};
use crate::phase4_decide::FanOutRequest;
use crate::phase4_decide::{self, ForwardRequest, Verdict};
use crate::phase5_forward_head::{self, write_fan_out_fields, write_forward_head};
use crate::phase6_response::{self, Response};
use crate::phase7_relay::fan_out::{self, FanOutPlan};
use crate::phase7_relay::{self, Relayed};
use crate::phase8_finish;
use crate::status::{write_plain, write_redirect, write_status};

/// Initial read buffer of a client connection; grown up to the head size limit for a large head.
const CLIENT_BUF: usize = 16 * 1024;

/// Accepts connections on `listener` for as long as the core runs, one task per connection.
pub async fn accept_loop(core: Rc<Core>, listener: TcpListener) {
    let serve = |tcp, peer| serve_connection(Rc::clone(&core), tcp, peer);
    phase1_accept::accept_loop(core.id, &core.accept_stop, listener, serve).await;
}

async fn serve_connection(core: Rc<Core>, tcp: TcpStream, peer: SocketAddr) {
    let cx = core.context();
    let _open = cx.metrics.connection_opened();
    let accepted = Instant::now();
    let server_tls = core.server_tls.borrow().clone();
    let Some(established) = phase1_accept::establish(&cx, server_tls, tcp, peer).await else {
        return;
    };
    let mut conn = ClientConn {
        stream: established.stream,
        buf: IoBuffer::new(CLIENT_BUF),
        out: Vec::with_capacity(4096),
        resp: Vec::with_capacity(4096),
        scratch: String::with_capacity(256),
        gate_path: String::new(),
        peer,
        trusted: established.trusted,
        cert_identity: established.cert_identity,
        status: 0,
        route: RouteLabel::Root,
    };
    let mut first = true;
    loop {
        let reading = Instant::now();
        match phase2_read_head::read_head(cx.settings, &mut conn, first, accepted).await {
            HeadRead::Ready => {}
            HeadRead::Closed => return,
            HeadRead::Reject(code, message) => return reject_head(&cx, conn, code, message, reading).await,
        }
        first = false;
        match handle(&cx, &mut conn).await {
            // A shutting-down core keeps no connection once its request is answered.
            Next::KeepAlive if cx.is_draining() => break,
            Next::KeepAlive => {}
            Next::Close => break,
            Next::Upgrade(upstream) => {
                let _stream = cx.metrics.stream_opened(StreamKind::Upgrade);
                phase7_relay::tunnel(conn.stream, conn.buf, upstream.stream, upstream.buf, cx.metrics).await;
                return;
            }
        }
    }
    let _ = conn.stream.shutdown().await;
}

/// Answers a head that could not be read (`408`, `431`) and closes; counted under the root template, as no
/// path was read.
async fn reject_head(
    cx: &RequestContext<'_>,
    mut conn: ClientConn,
    code: u16,
    message: &str,
    reading: Instant,
) {
    cx.metrics
        .record_request(RouteLabel::Root, code, reading.elapsed());
    conn.resp.clear();
    write_status(&mut conn.resp, code, message, true, false);
    let _ = conn.stream.write_vec(&mut conn.resp).await;
    let _ = conn.stream.shutdown().await;
}

/// Handles the request whose head starts the buffer and counts it (in flight meanwhile; then under its route
/// template, with the status written to the client, unless none was).
async fn handle(cx: &RequestContext<'_>, conn: &mut ClientConn) -> Next {
    let started = Instant::now();
    let in_flight = cx.metrics.request_started();
    conn.status = 0;
    conn.route = RouteLabel::Root;
    let next = handle_request(cx, conn).await;
    phase8_finish::count_request(cx, conn, started);
    drop(in_flight);
    next
}

/// What phases 2 to 5 leave for the rest of a request.
enum Headed {
    /// Forward the head written to `conn.out`.
    Forward(phase4_decide::ResponsePlan),
    /// Fan an all-namespaces list or watch out to the caller's namespaces.
    FanOut(Box<FanOutPlan>),
    /// Answered without the API server.
    Answer(Answer),
}

/// An answer the proxy gives itself.
enum Answer {
    Healthz,
    Redirect(String),
    Status(u16, std::borrow::Cow<'static, str>),
}

async fn handle_request(cx: &RequestContext<'_>, conn: &mut ClientConn) -> Next {
    let (facts, headed) = {
        let (head, len) = match phase2_read_head::parse(conn.buf.filled(), cx.settings) {
            Ok(parsed) => parsed,
            Err((code, message)) => return respond_closing(conn, code, message).await,
        };
        let facts = RequestFacts::of(&head);
        let client = ClientFacts {
            peer: conn.peer,
            trusted: conn.trusted,
            cert_identity: conn.cert_identity.as_ref(),
        };
        let headed = match phase3_authenticate::admit(&head, &client, &cx.settings.auth) {
            Admission::Healthz => Headed::Answer(Answer::Healthz),
            Admission::Refused(code, message) => Headed::Answer(Answer::Status(code, message)),
            Admission::Caller(caller) => {
                let verdict =
                    phase4_decide::decide(cx, &head, &caller, &mut conn.gate_path, &mut conn.route).await;
                match verdict {
                    Verdict::Forward(forward) => {
                        write_head(cx, conn.peer, &head, forward, &mut conn.out, &mut conn.scratch)
                    }
                    Verdict::FanOut(request) => {
                        fan_out_plan(cx, conn.peer, &head, request, &mut conn.scratch)
                    }
                    Verdict::Redirect(location) => Headed::Answer(Answer::Redirect(location)),
                    Verdict::Respond(code, message) => Headed::Answer(Answer::Status(code, message)),
                }
            }
        };
        conn.buf.consume(len);
        (facts, headed)
    };
    match headed {
        Headed::Forward(plan) => exchange(cx, conn, &facts, plan).await,
        Headed::FanOut(plan) => fan_out::serve(cx, conn, &facts, *plan).await,
        Headed::Answer(answer) => answer_directly(conn, &facts, answer).await,
    }
}

/// Phase 5's head writing: the plan goes on when the head is written, an answer otherwise.
fn write_head(
    cx: &RequestContext<'_>,
    peer: SocketAddr,
    head: &RequestHead<'_>,
    forward: ForwardRequest<'_>,
    out: &mut Vec<u8>,
    scratch: &mut String,
) -> Headed {
    match write_forward_head(cx, peer.ip(), head, &forward, out, scratch) {
        Ok(()) => Headed::Forward(forward.plan),
        Err((code, message)) => Headed::Answer(Answer::Status(code, message.into())),
    }
}

/// Phase 5's head writing for a fan-out: the header fields every namespace's request carries. A list has no
/// body: one that comes with a body is refused (the body would otherwise be read as the next request).
fn fan_out_plan(
    cx: &RequestContext<'_>,
    peer: SocketAddr,
    head: &RequestHead<'_>,
    request: Box<FanOutRequest<'_>>,
    scratch: &mut String,
) -> Headed {
    if !matches!(head.framing, BodyFraming::None | BodyFraming::ContentLength(0)) {
        let message = "an all-namespaces list or watch takes no request body";
        return Headed::Answer(Answer::Status(400, message.into()));
    }
    let mut fields = Vec::with_capacity(512);
    let accept = request.form.upstream_accept();
    match write_fan_out_fields(
        cx,
        peer.ip(),
        head,
        &request.credential,
        accept,
        &mut fields,
        scratch,
    ) {
        Ok(()) => Headed::FanOut(Box::new(FanOutPlan::new(
            *request,
            fields,
            head.version == Version::Http11,
        ))),
        Err((code, message)) => Headed::Answer(Answer::Status(code, message.into())),
    }
}

/// Phases 5 to 8 for a request whose head is in `conn.out`.
async fn exchange(
    cx: &RequestContext<'_>,
    conn: &mut ClientConn,
    facts: &RequestFacts,
    plan: phase4_decide::ResponsePlan,
) -> Next {
    let sent = match phase5_forward_head::send(cx, conn, facts).await {
        Ok(sent) => sent,
        Err(next) => return next,
    };
    match phase6_response::response_head(cx, conn, sent, facts, plan).await {
        Response::Answered(next) => next,
        Response::Rewritten(exchange) => phase8_finish::finish_rewritten(cx, conn, exchange).await,
        Response::Upgrade(upstream) => phase7_relay::upgrade(cx, conn, upstream).await,
        Response::Relay(mut exchange, plan) => {
            match phase7_relay::relay_body(cx, conn, &mut exchange, facts, plan).await {
                Relayed::Complete => phase8_finish::finish_relayed(cx, exchange),
                Relayed::Ended(next) => next,
            }
        }
    }
}

/// Writes an answer the proxy gives without the API server; the connection is kept if the request allows it.
async fn answer_directly(conn: &mut ClientConn, facts: &RequestFacts, answer: Answer) -> Next {
    let close = facts.answer_closes();
    match answer {
        Answer::Status(code, message) => respond(conn, code, &message, facts).await,
        Answer::Redirect(location) => {
            conn.resp.clear();
            conn.status = 301;
            write_redirect(&mut conn.resp, &location, close);
            write_answer(conn, close).await
        }
        Answer::Healthz => {
            conn.route = RouteLabel::Healthz;
            conn.status = 200;
            conn.resp.clear();
            write_plain(&mut conn.resp, 200, "ok", close, facts.method == Method::Head);
            write_answer(conn, close).await
        }
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
