//! Responses the proxy changes instead of relaying: reading a whole (bounded) body, removing its chunked
//! framing, and the bytes that end a filtered watch.

use std::io;

use crate::codec::{BodyFraming, CodecError, Limits};
use crate::io::{BodyRelay, BodySink, IoBuffer, RelayError, Stream};

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadBodyError {
    /// The body is larger than the limit.
    #[error("the response body is larger than {0} bytes")]
    TooLarge(usize),
    /// Relaying failed.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// The chunked framing is invalid.
    #[error("invalid chunked body")]
    Framing,
}

/// Collects body bytes in memory, up to a limit.
struct Collector {
    data: Vec<u8>,
    limit: usize,
}

impl BodySink for Collector {
    async fn write_buffered(&mut self, buf: &mut IoBuffer, n: usize) -> io::Result<()> {
        if self.data.len() + n > self.limit {
            return Err(io::Error::other("body too large"));
        }
        self.data.extend_from_slice(&buf.filled()[..n]);
        buf.consume(n);
        Ok(())
    }
}

/// Reads the rest of a body framed as `framing` (its first bytes already in `buf`), without its chunked
/// framing, refusing more than `limit` bytes on the wire.
pub async fn read_body(
    framing: BodyFraming,
    limits: &Limits,
    src: &mut Stream,
    buf: &mut IoBuffer,
    limit: usize,
) -> Result<Vec<u8>, ReadBodyError> {
    let mut collector = Collector {
        data: Vec::new(),
        limit,
    };
    let mut body = BodyRelay::new(framing, limits);
    match body.run(src, buf, &mut collector, None).await {
        Ok(()) => {}
        Err(RelayError::Write(_)) => return Err(ReadBodyError::TooLarge(limit)),
        Err(e) => return Err(e.into()),
    }
    if framing == BodyFraming::Chunked {
        dechunk(&collector.data).ok_or(ReadBodyError::Framing)
    } else {
        Ok(collector.data)
    }
}

/// The data of a complete chunked body (already validated by the chunked scanner); trailers are dropped.
pub fn dechunk(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        let line_end = memchr::memchr(b'\n', rest)?;
        let line = rest.get(..line_end)?;
        let size_text = line.split(|&b| b == b';').next()?;
        let size_text = std::str::from_utf8(size_text).ok()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        rest = rest.get(line_end + 1..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size..)?;
        // The CRLF (or LF) after the data.
        rest = rest.strip_prefix(b"\r\n").or_else(|| rest.strip_prefix(b"\n"))?;
    }
}

/// Appends one chunk holding `data` to `out`.
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    use std::io::Write;
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The watch event that tells a client its watch is over and it must list again: kube-apiserver's answer to
/// a too-old resource version (client-go reflectors re-list on it).
pub const RELIST_EVENT: &[u8] = br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the caller's tenant ownership changed: list again","reason":"Expired","code":410}}
"#;

/// The last event of an all-namespaces watch one of whose namespaces' watches ended while the others went on:
/// the client lists again, rather than resuming from a version some namespace may not have reached.
pub const WATCH_SPLIT_EVENT: &[u8] = br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"a namespace's watch of this all-namespaces watch ended before the others: list again","reason":"Expired","code":410}}
"#;

/// Appends `Content-Length: <n>`, the end of the head and `body` to a head written without its final CRLF
/// pair's second half (see [`finish_head`]).
pub fn finish_head(out: &mut Vec<u8>, body: &[u8]) -> Result<(), CodecError> {
    use std::io::Write;
    // `out` ends with the blank line of a complete head: reopen it.
    if !out.ends_with(b"\r\n\r\n") {
        return Err(CodecError::Unwritable);
    }
    out.truncate(out.len() - 2);
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(body);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunk_joins_chunks_and_drops_extensions_and_trailers() {
        assert_eq!(
            dechunk(b"3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n").as_deref(),
            Some(&b"abcde"[..])
        );
        assert_eq!(dechunk(b"0\r\n\r\n").as_deref(), Some(&b""[..]));
        assert_eq!(dechunk(b"5\r\nab"), None);
    }

    #[test]
    fn chunks_and_heads_are_written() {
        let mut out = Vec::new();
        write_chunk(&mut out, b"hello");
        out.extend_from_slice(LAST_CHUNK);
        assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
        let mut head = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n".to_vec();
        finish_head(&mut head, b"{}").unwrap();
        assert_eq!(
            head,
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
        assert!(finish_head(&mut b"partial".to_vec(), b"").is_err());
    }

    #[test]
    fn the_relist_events_are_one_json_line() {
        for event in [RELIST_EVENT, WATCH_SPLIT_EVENT] {
            let text = std::str::from_utf8(event).unwrap();
            assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(value["type"], "ERROR");
            assert_eq!(value["object"]["code"], 410);
        }
    }
}
