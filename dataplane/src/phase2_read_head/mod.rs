//! Phase 2 of a request: its head. Read until the buffer holds a whole head, within the head size limit
//! (`431`) and the header timeout (`408`), then parse it strictly (`400`, `501`, `505`); an idle keep-alive
//! connection, or one that never sent a byte, is closed quietly.

use std::time::Instant;

use crate::client::ClientConn;
use crate::codec::{Parsed, RequestHead, parse_request_head};
use crate::context::Settings;

/// How reading a head ended.
#[derive(Debug)]
pub enum HeadRead {
    /// The buffer starts with a whole head.
    Ready,
    /// The connection ended, or stayed idle: closed without an answer.
    Closed,
    /// Refused with this status and message; the connection closes.
    Reject(u16, &'static str),
}

/// Reads until the buffer starts with a complete request head.
///
/// The first head must be complete `read_header` after accept; later ones `read_header` after their first
/// byte, and the wait for that byte is bounded by the idle timeout.
pub async fn read_head(
    settings: &Settings,
    conn: &mut ClientConn,
    first: bool,
    accepted: Instant,
) -> HeadRead {
    let limits = &settings.limits;
    let timeouts = settings.timeouts;
    let mut deadline = first.then(|| accepted + timeouts.read_header);
    loop {
        if !conn.buf.is_empty() {
            // A cheap scan for the end of the head; `parse` parses it once, strictly (a bare-LF end is found
            // too, so that it is refused at once rather than timed out).
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

/// Parses the head that starts `buf` (found whole by [`read_head`]): the head and its length, or the status
/// and message it is refused with.
pub fn parse<'b>(
    buf: &'b [u8],
    settings: &Settings,
) -> Result<(RequestHead<'b>, usize), (u16, &'static str)> {
    match parse_request_head(buf, &settings.limits) {
        Ok(Parsed::Complete { head, len }) => Ok((head, len)),
        Ok(Parsed::Partial) => Err((400, codec_message(400))),
        Err(e) => Err((e.status(), codec_message(e.status()))),
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
