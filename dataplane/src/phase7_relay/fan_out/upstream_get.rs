//! One namespace's request of a fan-out: a GET on a pooled connection (sent once more on a fresh connection
//! when a pooled one turns out closed before any response byte: a GET is idempotent), its response head, and
//! for a list page its whole body, bounded.

use std::time::Instant;

use crate::codec::{BodyFraming, Method, Parsed, parse_response_head};
use crate::context::RequestContext;
use crate::metrics::{ConnectErrorKind, Direction};
use crate::phase6_response::rewrite::{ReadBodyError, read_body};
use crate::upstream::{ConnectError, UpstreamConn};

/// Why a namespace's request got no usable answer.
#[derive(Debug, thiserror::Error)]
pub(super) enum FetchError {
    /// No connection to the API server.
    #[error("capsule-proxy cannot reach the API server: {0}")]
    Connect(#[from] ConnectError),
    /// The connection failed or closed before a whole response head.
    #[error("the API server closed the connection without a response")]
    Closed,
    /// No response head in time.
    #[error("timed out waiting for the API server's response")]
    Timeout,
    /// The response is not valid HTTP.
    #[error("the API server sent an invalid response")]
    Invalid,
    /// The body could not be read whole.
    #[error("reading a namespace's list from the API server: {0}")]
    Body(#[from] ReadBodyError),
}

impl FetchError {
    /// The status the client is answered with, when nothing was sent to it yet.
    pub(super) fn status(&self) -> u16 {
        match self {
            Self::Connect(e) => e.status(),
            Self::Timeout => 504,
            Self::Closed | Self::Invalid | Self::Body(_) => 502,
        }
    }
}

/// A response whose head was read: the connection (its buffer starts with the body), status and framing.
#[derive(Debug)]
pub(super) struct Opened {
    /// The connection the body comes on.
    pub(super) upstream: UpstreamConn,
    /// The status code.
    pub(super) status: u16,
    /// How the body is framed.
    pub(super) framing: BodyFraming,
    /// The API server closes the connection after this response.
    pub(super) close: bool,
}

/// Appends the request line `GET <prefix><target> HTTP/1.1` and the fan-out's header `fields` to `out`.
pub(super) fn write_request(out: &mut Vec<u8>, prefix: &str, target: &str, fields: &[u8]) {
    out.clear();
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    out.extend_from_slice(fields);
}

/// Sends `request` (a whole GET) and reads its final response head.
pub(super) async fn open(cx: &RequestContext<'_>, request: &mut Vec<u8>) -> Result<Opened, FetchError> {
    let mut fresh = false;
    loop {
        let checkout = cx.pool.checkout_or_connect(fresh).await;
        let mut upstream = checkout.inspect_err(|e| cx.metrics.connect_error(ConnectErrorKind::of(e)))?;
        let retry = upstream.reused && !fresh;
        let sent = request.len();
        if upstream.stream.write_vec(request).await.is_err() {
            if retry {
                fresh = true;
                continue;
            }
            return Err(FetchError::Closed);
        }
        cx.metrics.relayed(Direction::ClientToUpstream, sent);
        match read_head(cx, &mut upstream).await {
            Ok((status, framing, close)) => {
                return Ok(Opened {
                    upstream,
                    status,
                    framing,
                    close,
                });
            }
            Err(HeadWait::NothingYet) if retry => fresh = true,
            Err(HeadWait::NothingYet) => return Err(FetchError::Closed),
            Err(HeadWait::Failed(e)) => return Err(e),
        }
    }
}

/// Why no response head was read.
enum HeadWait {
    /// The connection ended before a single byte.
    NothingYet,
    /// Anything else.
    Failed(FetchError),
}

/// Reads until a final response head is buffered; consumes it (interim `1xx` heads are skipped).
async fn read_head(
    cx: &RequestContext<'_>,
    upstream: &mut UpstreamConn,
) -> Result<(u16, BodyFraming, bool), HeadWait> {
    let deadline = Instant::now() + cx.settings.response_header_timeout;
    let mut received = false;
    loop {
        if !upstream.buf.is_empty() {
            match parse_response_head(upstream.buf.filled(), &cx.settings.limits, &Method::Get) {
                Ok(Parsed::Complete { head, len }) => {
                    let interim = head.is_interim();
                    let found = (head.status, head.framing, head.connection_close);
                    upstream.buf.consume(len);
                    if interim {
                        continue;
                    }
                    if found.1 == BodyFraming::Tunnel {
                        return Err(HeadWait::Failed(FetchError::Invalid));
                    }
                    return Ok(found);
                }
                Ok(Parsed::Partial) if upstream.buf.is_full() => {
                    return Err(HeadWait::Failed(FetchError::Invalid));
                }
                Ok(Parsed::Partial) => {}
                Err(_) => return Err(HeadWait::Failed(FetchError::Invalid)),
            }
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match monoio::time::timeout(wait, upstream.stream.read(&mut upstream.buf)).await {
            Err(_) => return Err(HeadWait::Failed(FetchError::Timeout)),
            Ok(Ok(0) | Err(_)) if !received => return Err(HeadWait::NothingYet),
            Ok(Ok(0) | Err(_)) => return Err(HeadWait::Failed(FetchError::Closed)),
            Ok(Ok(_)) => received = true,
        }
    }
}

/// Reads the whole body of `opened` (at most `limit` bytes on the wire), returning the connection to the pool
/// when it can carry another exchange.
pub(super) async fn read_whole(
    cx: &RequestContext<'_>,
    opened: Opened,
    limit: usize,
) -> Result<(u16, Vec<u8>), FetchError> {
    let Opened {
        mut upstream,
        status,
        framing,
        close,
    } = opened;
    let body = read_body(
        framing,
        &cx.settings.limits,
        &mut upstream.stream,
        &mut upstream.buf,
        limit,
    )
    .await?;
    if !close && framing != BodyFraming::UntilClose {
        cx.pool.checkin(upstream);
    }
    Ok((status, body))
}

/// Sends `request` and reads its answer whole.
pub(super) async fn get_whole(
    cx: &RequestContext<'_>,
    mut request: Vec<u8>,
    limit: usize,
) -> Result<(u16, Vec<u8>), FetchError> {
    let opened = open(cx, &mut request).await?;
    read_whole(cx, opened, limit).await
}
