//! A client connection as every phase sees it: the connection and its reused buffers, what is kept of a request
//! once its head is no longer borrowed, and the answers the proxy writes itself.

use std::net::SocketAddr;

use capsule_proxy_policy::CallerIdentity;

use crate::codec::{BodyFraming, Method, RequestHead};
use crate::io::{IoBuffer, Stream};
use crate::metrics::RouteLabel;
use crate::status::write_status;
use crate::upstream::UpstreamConn;

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
    /// Header values composed while the upstream head is written.
    pub scratch: String,
    /// The path of a GET the namespace gate may answer.
    pub gate_path: String,
    /// The peer.
    pub peer: SocketAddr,
    /// Whether the peer is a trusted proxy (or none are configured).
    pub trusted: bool,
    /// The verified client certificate's identity.
    pub cert_identity: Option<CallerIdentity>,
    /// The status of the response head last written to the client for the current request (0: none yet).
    pub status: u16,
    /// The route template the current request is counted under.
    pub route: RouteLabel,
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
    /// The facts of `head`.
    pub fn of(head: &RequestHead<'_>) -> Self {
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

    /// Whether an answer the proxy writes itself must close the connection: the client asked to, or a request
    /// body is left unread (the connection is then unusable for a next request).
    pub fn answer_closes(&self) -> bool {
        self.close || self.framing != BodyFraming::None
    }
}

/// Answers with a `Status` and keeps the connection if the request allows it.
pub async fn respond(conn: &mut ClientConn, code: u16, message: &str, facts: &RequestFacts) -> Next {
    let close = facts.answer_closes();
    conn.resp.clear();
    conn.status = code;
    write_status(&mut conn.resp, code, message, close, facts.method == Method::Head);
    write_answer(conn, close).await
}

/// Answers with a `Status` and closes the connection (the request cannot be read on).
pub async fn respond_closing(conn: &mut ClientConn, code: u16, message: &str) -> Next {
    conn.resp.clear();
    conn.status = code;
    write_status(&mut conn.resp, code, message, true, false);
    write_answer(conn, true).await
}

/// Writes what `conn.resp` holds; the connection is kept unless `close` or the write failed.
pub async fn write_answer(conn: &mut ClientConn, close: bool) -> Next {
    match conn.stream.write_vec(&mut conn.resp).await {
        Ok(()) if !close => Next::KeepAlive,
        _ => Next::Close,
    }
}
