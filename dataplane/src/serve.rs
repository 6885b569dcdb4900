//! The client side of a core: accept, TLS, read request heads, decide, and hand over to [`crate::forward`].

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use capsule_proxy_policy::{CallerIdentity, identity_from_cert_der};

use monoio::net::{TcpListener, TcpStream};
use rustls::ServerConnection;

use crate::codec::{BodyFraming, Method, Parsed, RequestHead, parse_request_head};
use crate::core::Core;
use crate::decide::{Buffers, ClientFacts, Verdict, decide_request};
use crate::forward::forward;
use crate::io::{IoBuffer, Stream, TlsConn};
use crate::metrics::{HandshakeOutcome, RouteLabel, StreamKind};
use crate::relay;
use crate::status::{write_plain, write_redirect, write_status};
use crate::upstream::UpstreamConn;

/// Initial read buffer of a client connection; grown up to the head size limit for a large head.
const CLIENT_BUF: usize = 16 * 1024;

/// Accepts connections on `listener` for as long as the core runs, one task per connection.
pub async fn accept_loop(core: Rc<Core>, listener: TcpListener) {
    loop {
        let accepted = {
            let accept = std::pin::pin!(listener.accept());
            monoio::select! {
                accepted = accept => accepted,
                () = core.accept_stop.stopped() => {
                    tracing::debug!(core = core.id, "listener closed");
                    return;
                }
            }
        };
        match accepted {
            Ok((tcp, peer)) => {
                monoio::spawn(serve_connection(Rc::clone(&core), tcp, peer));
            }
            Err(e) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(core = core.id, error = %e, "accept failed");
                monoio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A client connection and the buffers reused by every request on it.
#[derive(Debug)]
pub struct ClientConn {
    /// The connection.
    pub stream: Stream,
    /// Bytes read from the client and not yet handled.
    pub buf: IoBuffer,
    /// The head being forwarded upstream.
    pub out: Vec<u8>,
    /// Bytes being written back to the client.
    pub resp: Vec<u8>,
    scratch: String,
    /// The path of a GET the namespace gate may answer.
    pub gate_path: String,
    peer: SocketAddr,
    trusted: bool,
    cert_identity: Option<CallerIdentity>,
    /// The status of the response head last written to the client for the current request (0: none yet).
    pub status: u16,
    route: RouteLabel,
}

/// What a request leaves the connection ready for.
#[derive(Debug)]
pub enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close the connection.
    Close,
    /// The apiserver switched protocols: relay both ways on this upstream connection.
    Upgrade(UpstreamConn),
}

/// The facts about a request the forwarding needs once its head is no longer borrowed.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts {
    /// The method (`Other` methods lose their name: only HEAD and CONNECT matter for responses).
    pub method: Method<'static>,
    /// Safe to send twice (GET, HEAD, OPTIONS, TRACE).
    pub idempotent: bool,
    /// How the request body is framed.
    pub framing: BodyFraming,
    /// The client asked to close after this exchange.
    pub close: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
    /// The request asked to switch protocols (`Connection: upgrade` and `Upgrade`).
    pub upgrade: bool,
}

impl RequestFacts {
    fn of(head: &RequestHead<'_>) -> Self {
        let method = match head.method {
            Method::Get => Method::Get,
            Method::Head => Method::Head,
            Method::Post => Method::Post,
            Method::Put => Method::Put,
            Method::Patch => Method::Patch,
            Method::Delete => Method::Delete,
            Method::Options => Method::Options,
            Method::Connect => Method::Connect,
            Method::Trace => Method::Trace,
            Method::Other(_) => Method::Other("OTHER"),
        };
        Self {
            method,
            idempotent: matches!(
                method,
                Method::Get | Method::Head | Method::Options | Method::Trace
            ),
            framing: head.framing,
            close: head.connection_close,
            expect_continue: head.expect_continue,
            upgrade: head.upgrade,
        }
    }
}

async fn serve_connection(core: Rc<Core>, tcp: TcpStream, peer: SocketAddr) {
    let _open = core.metrics.connection_opened();
    let _ = tcp.set_nodelay(true);
    let accepted = Instant::now();
    let trusted = {
        let proxies = &core.settings.auth.trusted_proxies;
        proxies.is_empty() || proxies.contains(peer.ip())
    };
    let server_tls = core.server_tls.borrow().clone();
    let (stream, cert_identity) = match server_tls {
        None => (Stream::Plain(tcp), None),
        Some(config) => {
            let session = match ServerConnection::new(config) {
                Ok(session) => session,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot start a TLS session");
                    core.metrics.tls_handshake(HandshakeOutcome::Failed);
                    return;
                }
            };
            let mut tls = TlsConn::new(tcp, session.into());
            let handshake =
                monoio::time::timeout(core.settings.timeouts.tls_handshake, tls.handshake()).await;
            let outcome = match &handshake {
                Ok(Ok(())) => HandshakeOutcome::Ok,
                Ok(Err(_)) => HandshakeOutcome::Failed,
                Err(_) => HandshakeOutcome::Timeout,
            };
            core.metrics.tls_handshake(outcome);
            match handshake {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            }
            let identity = if core.settings.cert_auth {
                cert_identity_of(&tls, peer)
            } else {
                None
            };
            (Stream::Tls(Box::new(tls)), identity)
        }
    };
    let mut conn = ClientConn {
        stream,
        buf: IoBuffer::new(CLIENT_BUF),
        out: Vec::with_capacity(4096),
        resp: Vec::with_capacity(4096),
        scratch: String::with_capacity(256),
        gate_path: String::new(),
        peer,
        trusted,
        cert_identity,
        status: 0,
        route: RouteLabel::Root,
    };
    let mut first = true;
    loop {
        let reading = Instant::now();
        match read_head(&core, &mut conn, first, accepted).await {
            HeadRead::Ready => {}
            HeadRead::Closed => return,
            HeadRead::Reject(code, message) => {
                // Counted like every answer, under the root template: no path was read.
                core.metrics
                    .record_request(RouteLabel::Root, code, reading.elapsed());
                conn.resp.clear();
                write_status(&mut conn.resp, code, message, true, false);
                let _ = conn.stream.write_vec(&mut conn.resp).await;
                let _ = conn.stream.shutdown().await;
                return;
            }
        }
        first = false;
        match handle(&core, &mut conn).await {
            // A shutting-down core keeps no connection once its request is answered.
            Next::KeepAlive if core.is_draining() => {
                let _ = conn.stream.shutdown().await;
                return;
            }
            Next::KeepAlive => {}
            Next::Close => {
                let _ = conn.stream.shutdown().await;
                return;
            }
            Next::Upgrade(upstream) => {
                let _stream = core.metrics.stream_opened(StreamKind::Upgrade);
                relay::tunnel(
                    conn.stream,
                    conn.buf,
                    upstream.stream,
                    upstream.buf,
                    &core.metrics,
                )
                .await;
                return;
            }
        }
    }
}

fn cert_identity_of(tls: &TlsConn, peer: SocketAddr) -> Option<CallerIdentity> {
    let leaf = tls.peer_certificates()?.first()?;
    match identity_from_cert_der(leaf) {
        Ok(identity) => Some(identity),
        Err(e) => {
            tracing::debug!(%peer, error = %e, "client certificate carries no usable identity");
            None
        }
    }
}

enum HeadRead {
    Ready,
    Closed,
    Reject(u16, &'static str),
}

/// Reads until the buffer starts with a complete request head.
///
/// The first head must be complete `read_header` after accept; later ones `read_header` after their first
/// byte, and the wait for that byte is bounded by the idle timeout.
async fn read_head(core: &Core, conn: &mut ClientConn, first: bool, accepted: Instant) -> HeadRead {
    let limits = &core.settings.limits;
    let timeouts = core.settings.timeouts;
    let mut deadline = first.then(|| accepted + timeouts.read_header);
    loop {
        if !conn.buf.is_empty() {
            // A cheap scan for the end of the head; `handle` parses it once, strictly (a bare-LF end is
            // found too, so that it is refused at once rather than timed out).
            let filled = conn.buf.filled();
            if memchr::memmem::find(filled, b"\r\n\r\n").is_some()
                || memchr::memmem::find(filled, b"\n\n").is_some()
            {
                return HeadRead::Ready;
            }
            deadline.get_or_insert_with(|| Instant::now() + timeouts.read_header);
            if conn.buf.is_full() {
                if conn.buf.capacity() >= limits.max_head_bytes {
                    return HeadRead::Reject(431, codec_message(431));
                }
                conn.buf.grow(limits.max_head_bytes);
            }
        }
        let wait = match deadline {
            Some(deadline) => Some(deadline.saturating_duration_since(Instant::now())),
            None => timeouts.idle,
        };
        let read = conn.stream.read(&mut conn.buf);
        let result = match wait {
            None => read.await,
            Some(wait) => match monoio::time::timeout(wait, read).await {
                Ok(result) => result,
                // Idle keep-alive connections, and connections that never sent a byte (load-balancer probes),
                // are closed quietly; a started head gets its 408.
                Err(_) if deadline.is_none() || conn.buf.is_empty() => return HeadRead::Closed,
                Err(_) => return HeadRead::Reject(408, "timed out reading the request head"),
            },
        };
        match result {
            Ok(0) | Err(_) => return HeadRead::Closed,
            Ok(_) => {}
        }
    }
}

fn codec_message(status: u16) -> &'static str {
    match status {
        431 => "request head too large",
        501 => "request framing not implemented",
        505 => "HTTP version not supported",
        _ => "malformed request",
    }
}

/// Handles the request whose head starts the buffer and counts it (in flight meanwhile; then under its route
/// template, with the status written to the client, unless none was).
async fn handle(core: &Core, conn: &mut ClientConn) -> Next {
    let started = Instant::now();
    let in_flight = core.metrics.request_started();
    conn.status = 0;
    conn.route = RouteLabel::Root;
    let next = handle_request(core, conn).await;
    if conn.status != 0 {
        core.metrics
            .record_request(conn.route, conn.status, started.elapsed());
    }
    drop(in_flight);
    next
}

async fn handle_request(core: &Core, conn: &mut ClientConn) -> Next {
    let settings = &core.settings;
    let (facts, verdict) = {
        let (head, len) = match parse_request_head(conn.buf.filled(), &settings.limits) {
            Ok(Parsed::Complete { head, len }) => (head, len),
            Ok(Parsed::Partial) => return respond_closing(conn, 400, codec_message(400)).await,
            Err(e) => return respond_closing(conn, e.status(), codec_message(e.status())).await,
        };
        let facts = RequestFacts::of(&head);
        let client = ClientFacts {
            peer: conn.peer,
            trusted: conn.trusted,
            cert_identity: conn.cert_identity.as_ref(),
        };
        let buffers = Buffers {
            out: &mut conn.out,
            scratch: &mut conn.scratch,
            gate_path: &mut conn.gate_path,
            route: &mut conn.route,
        };
        let verdict = decide_request(core, &client, &head, buffers).await;
        conn.buf.consume(len);
        (facts, verdict)
    };
    match verdict {
        Verdict::Forward(plan) => forward(core, conn, &facts, plan).await,
        Verdict::Redirect(location) => {
            let close = facts.close || facts.framing != BodyFraming::None;
            conn.resp.clear();
            conn.status = 301;
            write_redirect(&mut conn.resp, &location, close);
            finish(conn, close).await
        }
        Verdict::Healthz => {
            let close = facts.close || facts.framing != BodyFraming::None;
            conn.route = RouteLabel::Healthz;
            conn.status = 200;
            conn.resp.clear();
            write_plain(&mut conn.resp, 200, "ok", close, facts.method == Method::Head);
            finish(conn, close).await
        }
        Verdict::Respond(code, message) => respond(conn, code, &message, &facts).await,
    }
}

/// Answers with a `Status` and keeps the connection if the request allows it.
pub async fn respond(conn: &mut ClientConn, code: u16, message: &str, facts: &RequestFacts) -> Next {
    // An unread request body makes the connection unusable for a next request.
    let close = facts.close || facts.framing != BodyFraming::None;
    conn.resp.clear();
    conn.status = code;
    write_status(&mut conn.resp, code, message, close, facts.method == Method::Head);
    finish(conn, close).await
}

pub(crate) async fn respond_closing(conn: &mut ClientConn, code: u16, message: &str) -> Next {
    conn.resp.clear();
    conn.status = code;
    write_status(&mut conn.resp, code, message, true, false);
    finish(conn, true).await
}

async fn finish(conn: &mut ClientConn, close: bool) -> Next {
    match conn.stream.write_vec(&mut conn.resp).await {
        Ok(()) if !close => Next::KeepAlive,
        _ => Next::Close,
    }
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
