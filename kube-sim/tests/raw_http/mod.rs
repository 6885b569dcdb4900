//! A plain-HTTP/1.1 client that keeps the bytes as they came: the head, and a chunked body's chunks one by one.
#![allow(clippy::unwrap_used, dead_code)] // test code unwraps what it built itself; not every test uses all of it

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

/// An answer as read off the wire.
pub(crate) struct RawResponse {
    /// The status code.
    pub(crate) status: u16,
    /// Header lines, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// Data bytes of each chunk of a chunked body (empty for a Content-Length body).
    pub(crate) chunks: Vec<usize>,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `GET path` with a bearer token and `extra` header lines, and reads the whole answer.
pub(crate) async fn get(addr: SocketAddr, token: &str, path: &str, extra: &[&str]) -> RawResponse {
    let (mut reader, _conn) = open(addr, token, path, extra).await;
    read_response(&mut reader).await
}

/// Sends `GET path` and returns the reader positioned at the answer, and the write half kept open.
pub(crate) async fn open(
    addr: SocketAddr,
    token: &str,
    path: &str,
    extra: &[&str],
) -> (BufReader<OwnedReadHalf>, tokio::net::tcp::OwnedWriteHalf) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n");
    for line in extra {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    write.write_all(request.as_bytes()).await.unwrap();
    (BufReader::new(read), write)
}

/// Reads the status line and headers.
pub(crate) async fn read_head(reader: &mut BufReader<OwnedReadHalf>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.unwrap();
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            return (status, headers);
        }
        let (name, value) = trimmed.split_once(':').unwrap();
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

/// Reads one chunk of a chunked body: its data, or `None` at the last (empty) chunk.
pub(crate) async fn read_chunk(reader: &mut BufReader<OwnedReadHalf>) -> Option<Vec<u8>> {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    let size = usize::from_str_radix(line.trim_end().split(';').next().unwrap(), 16).unwrap();
    let mut data = vec![0; size + 2];
    reader.read_exact(&mut data).await.unwrap();
    assert_eq!(&data[size..], b"\r\n", "a chunk ends with CRLF");
    data.truncate(size);
    if size == 0 {
        // The trailer section ends with an empty line; the CRLF just read was it.
        None
    } else {
        Some(data)
    }
}

/// Reads a whole answer: head, then a Content-Length body or every chunk of a chunked one.
pub(crate) async fn read_response(reader: &mut BufReader<OwnedReadHalf>) -> RawResponse {
    let (status, headers) = read_head(reader).await;
    let mut response = RawResponse {
        status,
        headers,
        chunks: Vec::new(),
        body: Vec::new(),
    };
    if response.header("transfer-encoding") == Some("chunked") {
        while let Some(chunk) = read_chunk(reader).await {
            response.chunks.push(chunk.len());
            response.body.extend_from_slice(&chunk);
        }
    } else {
        let length: usize = response.header("content-length").unwrap().parse().unwrap();
        response.body = vec![0; length];
        reader.read_exact(&mut response.body).await.unwrap();
    }
    response
}

/// Runs `future` under a deadline, failing the test when it passes.
pub(crate) async fn within<T>(deadline: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(deadline, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within {deadline:?}"))
}
