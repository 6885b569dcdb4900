//! An independent, deliberately naive reading of HTTP/1.1 messages (RFC 9112), for tests that check what the
//! proxy writes on the wire. It shares no code with the proxy's codec: heads are split by hand, framing is
//! decided by the RFC's rules in their plainest form, chunked bodies are decoded (extensions and trailers
//! dropped), and anything ambiguous is an error rather than a guess.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// One message as a peer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The start line (`GET /x HTTP/1.1` or `HTTP/1.1 200 OK`).
    pub start: String,
    /// Header fields in order, names as sent.
    pub fields: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// How the body was framed on the wire.
    pub framing: Framing,
}

/// How a body was delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// `Content-Length`.
    Length,
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closed (responses only).
    Close,
}

impl Message {
    /// Values of every field named `name` (case-insensitive).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of `name`, if present.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }

    /// The method and target of a request.
    pub fn request_line(&self) -> (&str, &str) {
        let mut parts = self.start.split(' ');
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }

    /// The status of a response.
    pub fn status(&self) -> u16 {
        self.start
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the sender announced it closes after this message.
    pub fn closes(&self) -> bool {
        self.all("connection")
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("close"))
    }
}

/// Reads messages off a byte stream, keeping what follows a message for the next one.
pub struct WireReader<R> {
    src: R,
    buf: Vec<u8>,
    eof: bool,
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

impl<R: AsyncRead + Unpin> WireReader<R> {
    /// A reader over `src`.
    pub fn new(src: R) -> Self {
        Self {
            src,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Bytes read but not yet part of a message.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }

    async fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let mut chunk = [0u8; 8192];
        let n = self.src.read(&mut chunk).await?;
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(true)
    }

    async fn take_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return String::from_utf8(line).map_err(|_| invalid("a line that is not UTF-8"));
            }
            if !self.fill().await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of stream mid-line",
                ));
            }
        }
    }

    async fn take_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of stream mid-body",
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn head(&mut self) -> io::Result<(String, Vec<(String, String)>)> {
        let start = self.take_line().await?;
        let mut fields = Vec::new();
        loop {
            let line = self.take_line().await?;
            if line.is_empty() {
                return Ok((start, fields));
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("field line without a colon: {line:?}")))?;
            if name.is_empty() || name.contains([' ', '\t']) {
                return Err(invalid(format!("bad field name {name:?}")));
            }
            fields.push((name.to_string(), value.trim_matches([' ', '\t']).to_string()));
        }
    }

    async fn body(&mut self, framing: Framing) -> io::Result<Vec<u8>> {
        match framing {
            Framing::None => Ok(Vec::new()),
            Framing::Length => Err(invalid("a length body is read by `complete`")),
            Framing::Chunked => self.chunked().await,
            Framing::Close => {
                while self.fill().await? {}
                Ok(std::mem::take(&mut self.buf))
            }
        }
    }

    async fn chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.take_line().await?;
            let size_text = line.split(';').next().unwrap_or("").trim_end_matches([' ', '\t']);
            let size =
                usize::from_str_radix(size_text, 16).map_err(|_| invalid(format!("chunk size {line:?}")))?;
            if size == 0 {
                // Trailer fields up to the empty line.
                while !self.take_line().await?.is_empty() {}
                return Ok(body);
            }
            body.extend(self.take_exact(size).await?);
            if self.take_exact(2).await? != b"\r\n" {
                return Err(invalid("chunk data not followed by CRLF"));
            }
        }
    }
}

/// Decides framing from the fields (RFC 9112 §6.3): chunked, a single valid length, nothing (requests) or until
/// close (responses). Anything ambiguous is an error.
fn body_framing(fields: &[(String, String)], response: bool) -> io::Result<Framing> {
    let te: Vec<&str> = fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
        .map(|(_, v)| v.as_str())
        .collect();
    let cl: Vec<&str> = fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.as_str())
        .collect();
    match (te.as_slice(), cl.as_slice()) {
        ([], []) if response => Ok(Framing::Close),
        ([], []) => Ok(Framing::None),
        ([te], []) if te.eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
        ([], [cl]) if !cl.is_empty() && cl.bytes().all(|b| b.is_ascii_digit()) => Ok(Framing::Length),
        _ => Err(invalid(format!("ambiguous framing: TE {te:?}, CL {cl:?}"))),
    }
}

impl<R: AsyncRead + Unpin> WireReader<R> {
    /// The next request, with a `Content-Length` body read whole.
    pub async fn next_request(&mut self) -> io::Result<Option<Message>> {
        let Some(mut message) = self.request_head_only().await? else {
            return Ok(None);
        };
        self.complete(&mut message).await?;
        Ok(Some(message))
    }

    /// The next final response to `method`, with a `Content-Length` body read whole.
    pub async fn next_response(&mut self, method: &str) -> io::Result<Message> {
        let mut message = self.response_head_only(method).await?;
        self.complete(&mut message).await?;
        Ok(message)
    }

    async fn request_head_only(&mut self) -> io::Result<Option<Message>> {
        if self.buf.is_empty() && !self.fill().await? {
            return Ok(None);
        }
        let (start, fields) = self.head().await?;
        let framing = body_framing(&fields, false)?;
        Ok(Some(Message {
            start,
            fields,
            body: Vec::new(),
            framing,
        }))
    }

    async fn response_head_only(&mut self, method: &str) -> io::Result<Message> {
        loop {
            let (start, fields) = self.head().await?;
            let status: u16 = start
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| invalid(format!("status line {start:?}")))?;
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let framing = if method == "HEAD" || status == 204 || status == 304 || status == 101 {
                Framing::None
            } else {
                body_framing(&fields, true)?
            };
            return Ok(Message {
                start,
                fields,
                body: Vec::new(),
                framing,
            });
        }
    }

    async fn complete(&mut self, message: &mut Message) -> io::Result<()> {
        message.body = match message.framing {
            Framing::Length => {
                let n = message
                    .one("content-length")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| invalid("content length"))?;
                self.take_exact(n).await?
            }
            other => self.body(other).await?,
        };
        Ok(())
    }
}
