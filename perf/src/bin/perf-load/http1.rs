//! A minimal HTTP/1.1 client side: request bytes, the response head (with `httparse`), body framing
//! (Content-Length, chunked, until close) and a streaming chunked decoder that never buffers a body.
//!
//! [`ResponseReader`] reads one whole response at a time off a keep-alive connection, discarding the body
//! (`get`, `churn`); `watch` uses [`parse_head`] and [`ChunkedDecoder`] directly to scan an endless body.

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncRead, AsyncReadExt as _};

use crate::conn::Target;

/// The largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// Serialises a request: `Host`, the target's `Authorization`, `extra` header lines (each `Name: value`),
/// `Content-Length` when there is a body.
pub(crate) fn request(target: &Target, method: &str, path: &str, extra: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", target.authority).as_bytes());
    out.extend_from_slice(b"User-Agent: perf-load\r\nAccept: application/json\r\n");
    if let Some(auth) = &target.authorization {
        out.extend_from_slice(format!("Authorization: {auth}\r\n").as_bytes());
    }
    for line in extra {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || method == "POST" || method == "PUT" || method == "PATCH" {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// No body (1xx, 204, 304).
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// Status code.
    pub(crate) status: u16,
    /// Body framing.
    pub(crate) body: BodyKind,
    /// Whether the connection may carry another request afterwards.
    pub(crate) keep_alive: bool,
    /// Length of the head in bytes, blank line included.
    pub(crate) len: usize,
}

/// Parses a response head from the start of `buf`; `None` while it is incomplete.
pub(crate) fn parse_head(buf: &[u8]) -> Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf).context("malformed response head")? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial if buf.len() > MAX_HEAD => bail!("response head over {MAX_HEAD} bytes"),
        httparse::Status::Partial => return Ok(None),
    };
    let status = response.code.unwrap_or(0);
    let mut keep_alive = response.version == Some(1);
    let mut chunked = false;
    let mut length = None;
    for h in response.headers.iter() {
        let value = std::str::from_utf8(h.value).unwrap_or("").trim();
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<u64>()
                    .with_context(|| format!("bad Content-Length {value:?}"))?,
            );
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    let body = if (100..200).contains(&status) || status == 204 || status == 304 {
        BodyKind::None
    } else if chunked {
        BodyKind::Chunked
    } else if let Some(n) = length {
        BodyKind::Length(n)
    } else {
        keep_alive = false;
        BodyKind::UntilClose
    };
    Ok(Some(Head {
        status,
        body,
        keep_alive,
        len,
    }))
}

/// Where a [`ChunkedDecoder`] is in the chunked framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the hex size.
    Size,
    /// After the size: extensions or whitespace up to the line end.
    SizeExt,
    /// Saw `\r` after the size line.
    SizeLf,
    /// In chunk data.
    Data,
    /// Expecting the `\r\n` after chunk data.
    DataCr,
    /// Saw `\r` after chunk data.
    DataLf,
    /// At the start of a trailer line (after the last chunk).
    Trailer,
    /// Inside a trailer field line.
    TrailerLine,
    /// Saw `\r` at the start of a trailer line: the final `\n` comes next.
    TrailerEnd,
    /// The body is complete.
    Done,
}

/// A streaming decoder of a chunked body: a few bytes of state, data handed out as it arrives.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: State,
    remaining: u64,
    digits: u8,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub(crate) fn new() -> Self {
        Self {
            state: State::Size,
            remaining: 0,
            digits: 0,
        }
    }

    /// Whether the terminating chunk and trailers were seen.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, calling `on_data` with each run of body bytes; returns how many input bytes
    /// were consumed (all of them, unless the body ends inside `input`).
    pub(crate) fn feed(&mut self, input: &[u8], mut on_data: impl FnMut(&[u8])) -> Result<usize> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Done => return Ok(i),
                State::Data => {
                    let take = (input.len() - i).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                    on_data(&input[i..i + take]);
                    i += take;
                    self.remaining -= take as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    continue;
                }
                _ => {}
            }
            let b = input[i];
            i += 1;
            self.state = match (self.state, b) {
                (State::Size, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
                    if self.digits == 15 {
                        bail!("chunk size too long");
                    }
                    let digit = (b as char).to_digit(16).unwrap_or(0);
                    self.remaining = self.remaining * 16 + u64::from(digit);
                    self.digits += 1;
                    State::Size
                }
                (State::Size, b';' | b' ' | b'\t') if self.digits > 0 => State::SizeExt,
                (State::Size | State::SizeExt, b'\r') => State::SizeLf,
                (State::Size | State::SizeExt | State::SizeLf, b'\n') => self.size_line_end()?,
                (State::SizeExt, _) => State::SizeExt,
                (State::DataCr, b'\r') => State::DataLf,
                (State::DataCr | State::DataLf, b'\n') => State::Size,
                (State::Trailer, b'\r') => State::TrailerEnd,
                (State::Trailer | State::TrailerEnd, b'\n') => State::Done,
                (State::TrailerLine, b'\n') => State::Trailer,
                (State::Trailer | State::TrailerLine, _) => State::TrailerLine,
                (state, b) => bail!("malformed chunked body: byte {b:#04x} in state {state:?}"),
            };
        }
        Ok(i)
    }

    /// The end of a size line: the next chunk's data, or the trailers after the last chunk.
    fn size_line_end(&mut self) -> Result<State> {
        if self.digits == 0 {
            bail!("malformed chunked body: empty chunk size");
        }
        self.digits = 0;
        Ok(if self.remaining == 0 {
            State::Trailer
        } else {
            State::Data
        })
    }
}

/// What one response was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    /// Bytes read for it, head included.
    pub(crate) bytes: u64,
    /// Whether the connection may carry another request.
    pub(crate) keep_alive: bool,
}

/// Reads whole responses off one connection, keeping bytes read past a response for the next one.
pub(crate) struct ResponseReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ResponseReader {
    /// A reader with a `capacity`-byte buffer (a head may grow it up to 64 KiB).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            buf: vec![0; capacity.max(1024)],
            start: 0,
            end: 0,
        }
    }

    /// Reads more bytes after the buffered ones; `false` at end of stream.
    async fn fill<R: AsyncRead + Unpin>(&mut self, io: &mut R) -> Result<bool> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let grown = (self.buf.len() * 2).min(MAX_HEAD + 1024);
                if grown == self.buf.len() {
                    bail!("response head over {MAX_HEAD} bytes");
                }
                self.buf.resize(grown, 0);
            }
        }
        let n = io
            .read(&mut self.buf[self.end..])
            .await
            .context("reading response")?;
        self.end += n;
        Ok(n > 0)
    }

    /// Reads one complete response, discarding its body.
    pub(crate) async fn read<R: AsyncRead + Unpin>(&mut self, io: &mut R) -> Result<Response> {
        let head = loop {
            if let Some(head) = parse_head(&self.buf[self.start..self.end])? {
                break head;
            }
            if !self.fill(io).await? {
                if self.start == self.end {
                    bail!("connection closed before a response");
                }
                bail!("connection closed inside a response head");
            }
        };
        self.start += head.len;
        let mut bytes = head.len as u64;
        match head.body {
            BodyKind::None => {}
            BodyKind::Length(mut left) => loop {
                let take = ((self.end - self.start) as u64).min(left);
                self.start += take as usize;
                bytes += take;
                left -= take;
                if left == 0 {
                    break;
                }
                if !self.fill(io).await? {
                    bail!("connection closed inside a response body");
                }
            },
            BodyKind::Chunked => {
                let mut decoder = ChunkedDecoder::new();
                loop {
                    let used = decoder.feed(&self.buf[self.start..self.end], |_| {})?;
                    self.start += used;
                    bytes += used as u64;
                    if decoder.is_done() {
                        break;
                    }
                    if !self.fill(io).await? {
                        bail!("connection closed inside a chunked body");
                    }
                }
            }
            BodyKind::UntilClose => loop {
                bytes += (self.end - self.start) as u64;
                self.start = self.end;
                if !self.fill(io).await? {
                    break;
                }
            },
        }
        Ok(Response {
            status: head.status,
            bytes,
            keep_alive: head.keep_alive,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(body: &[u8], piece: usize) -> (Vec<u8>, usize, bool) {
        let mut decoder = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut consumed = 0;
        for part in body.chunks(piece) {
            let used = decoder.feed(part, |d| out.extend_from_slice(d)).unwrap();
            consumed += used;
            if used < part.len() {
                break;
            }
        }
        (out, consumed, decoder.is_done())
    }

    #[test]
    fn chunked_body_in_every_split() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\nA \r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\nNEXT";
        let whole = body.len() - 4;
        for piece in 1..=body.len() {
            let (out, consumed, done) = decode_in_pieces(body, piece);
            assert_eq!(out, b"hello, world0123456789", "piece {piece}");
            assert!(done);
            assert_eq!(consumed, whole, "piece {piece}");
        }
    }

    #[test]
    fn chunked_without_trailers_and_bare_lf() {
        let (out, consumed, done) = decode_in_pieces(b"3\r\nabc\r\n0\r\n\r\n", 4);
        assert_eq!((out.as_slice(), consumed, done), (&b"abc"[..], 13, true));
        let (out, _, done) = decode_in_pieces(b"3\nabc\n0\n\n", 1);
        assert_eq!((out.as_slice(), done), (&b"abc"[..], true));
    }

    #[test]
    fn chunked_errors() {
        for bad in [&b"\r\n"[..], b"zz\r\n", b"3\r\nabcX", b"ffffffffffffffff1\r\n"] {
            let mut decoder = ChunkedDecoder::new();
            assert!(
                decoder.feed(bad, |_| {}).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn endless_chunked_stream_counts_lines() {
        let mut decoder = ChunkedDecoder::new();
        let mut lines = 0;
        let stream = b"10\r\n{\"type\":\"A\"}\n..\r\n4\r\n{}\n\n\r\n";
        decoder
            .feed(stream, |d| lines += d.iter().filter(|&&b| b == b'\n').count())
            .unwrap();
        assert_eq!(lines, 3);
        assert!(!decoder.is_done());
    }

    #[test]
    fn heads() {
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nbody")
            .unwrap()
            .unwrap();
        assert_eq!(
            h,
            Head {
                status: 200,
                body: BodyKind::Length(12),
                keep_alive: true,
                len: 39
            }
        );
        let h = parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            .unwrap();
        assert_eq!(
            h.map(|h| (h.body, h.keep_alive)),
            Some((BodyKind::Chunked, false))
        );
        let h = parse_head(b"HTTP/1.0 404 Not Found\r\n\r\n").unwrap().unwrap();
        assert_eq!(
            (h.status, h.body, h.keep_alive),
            (404, BodyKind::UntilClose, false)
        );
        let h = parse_head(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().unwrap();
        assert_eq!((h.body, h.keep_alive), (BodyKind::None, true));
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn reader_handles_keep_alive_sequences() {
        let wire: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc\
HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\
HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
        for capacity in [1024, 4096] {
            let mut io = wire;
            let mut reader = ResponseReader::new(capacity);
            let a = reader.read(&mut io).await.unwrap();
            assert_eq!((a.status, a.bytes, a.keep_alive), (200, 41, true));
            let b = reader.read(&mut io).await.unwrap();
            assert_eq!((b.status, b.keep_alive), (500, true));
            let c = reader.read(&mut io).await.unwrap();
            assert_eq!((c.status, c.keep_alive), (200, false));
            assert_eq!(a.bytes + b.bytes + c.bytes, wire.len() as u64);
            assert!(reader.read(&mut io).await.is_err());
        }
    }
}
