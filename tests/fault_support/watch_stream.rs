//! A watch through the proxy read straight off the wire: the response head, then chunked events one by one, and
//! how the stream ended — a terminal chunk (a clean end) or the connection closing mid-body (a cut).

use std::io;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::proxy::Proxy;
use crate::support::raw::{Io, client_config, get, within};

/// How a watch stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The terminal `0` chunk arrived.
    Clean,
    /// The connection closed (or was reset) before the terminal chunk.
    Cut,
}

/// An open watch.
pub struct WatchStream {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    events: Vec<u8>,
    ended: Option<StreamEnd>,
    /// The response's status code.
    pub status: u16,
}

impl WatchStream {
    /// Sends `GET path` with `token` to `proxy` on a new connection (TLS trusting its certificate) and reads the
    /// response head, within `deadline`.
    pub async fn open(proxy: &Proxy, path: &str, token: &str, deadline: Duration) -> Self {
        within(deadline, "opening a watch", async {
            let tcp = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let tls = tokio_rustls::TlsConnector::from(client_config(&[&proxy.ca_pem], None))
                .connect(name, tcp)
                .await
                .unwrap();
            let mut stream = Self {
                io: Box::new(tls),
                buf: Vec::new(),
                events: Vec::new(),
                ended: None,
                status: 0,
            };
            stream
                .io
                .write_all(get(path, Some(token)).as_bytes())
                .await
                .unwrap();
            stream.io.flush().await.unwrap();
            stream.read_head().await;
            stream
        })
        .await
    }

    async fn read_head(&mut self) {
        let end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            assert!(
                self.fill().await > 0,
                "the connection closed inside the response head"
            );
        };
        let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        self.status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("status line of {head:?}"));
        assert!(
            head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
            "a watch answer is chunked: {head}\n{}",
            String::from_utf8_lossy(&self.buf)
        );
    }

    /// Reads more bytes; `0` at the end of the connection (a reset counts as the end).
    async fn fill(&mut self) -> usize {
        let mut chunk = [0_u8; 16 * 1024];
        match self.io.read(&mut chunk).await {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) if is_end(&e) => 0,
            Err(e) => panic!("reading the watch: {e}"),
        }
    }

    /// Moves every complete chunk from the wire buffer to the event buffer; notes a terminal chunk.
    fn decode(&mut self) {
        while self.ended.is_none() {
            let Some(line_end) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(line.split(';').next().unwrap_or_default().trim(), 16)
                .unwrap_or_else(|_| panic!("chunk size line {line:?}"));
            if size == 0 {
                if self.buf.len() >= line_end + 4 {
                    assert_eq!(
                        &self.buf[line_end + 2..line_end + 4],
                        b"\r\n",
                        "no trailers after the last chunk"
                    );
                    self.ended = Some(StreamEnd::Clean);
                }
                return;
            }
            let data = line_end + 2;
            if self.buf.len() < data + size + 2 {
                return;
            }
            assert_eq!(
                &self.buf[data + size..data + size + 2],
                b"\r\n",
                "chunk data ends with CRLF"
            );
            self.events.extend_from_slice(&self.buf[data..data + size]);
            self.buf.drain(..data + size + 2);
        }
    }

    /// The next event, or `None` once the stream has ended; within `deadline`.
    pub async fn next_event(&mut self, deadline: Duration) -> Option<Value> {
        within(deadline, "the next watch event", async {
            loop {
                if let Some(pos) = self.events.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.events.drain(..=pos).collect();
                    return Some(serde_json::from_slice(&line).unwrap());
                }
                self.decode();
                // An event and the terminal chunk can come in one read: the event first.
                if self.events.contains(&b'\n') {
                    continue;
                }
                if self.ended.is_some() {
                    return None;
                }
                if self.fill().await == 0 {
                    self.ended = Some(StreamEnd::Cut);
                    return None;
                }
            }
        })
        .await
    }

    /// Reads events until the stream ends, within `deadline`; returns how it ended and the events read.
    pub async fn until_end(&mut self, deadline: Duration) -> (StreamEnd, Vec<Value>) {
        let mut events = Vec::new();
        within(deadline, "the end of the watch", async {
            while let Some(event) = self.next_event(deadline).await {
                events.push(event);
            }
        })
        .await;
        (self.ended.expect("the stream ended"), events)
    }
}

fn is_end(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}
