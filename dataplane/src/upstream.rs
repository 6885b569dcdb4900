//! The per-core connection pool to kube-apiserver: connect (TCP, then TLS) with deadlines, keep idle
//! keep-alive connections for reuse, forget the stale ones.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::io::{IoBuffer, Stream, TlsConn};

/// Read buffer size of an upstream connection.
const UPSTREAM_BUF: usize = 16 * 1024;

/// Why no upstream connection could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No address is known for the apiserver.
    #[error("no address is known for the API server")]
    NoAddress,
    /// TCP connect failed.
    #[error("connecting to the API server at {addr}: {source}")]
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// The error.
        source: io::Error,
    },
    /// TCP connect did not finish in time.
    #[error("connecting to the API server at {0} timed out")]
    ConnectTimeout(SocketAddr),
    /// The TLS handshake failed.
    #[error("TLS handshake with the API server: {0}")]
    Handshake(io::Error),
    /// The TLS handshake did not finish in time.
    #[error("TLS handshake with the API server timed out")]
    HandshakeTimeout,
    /// A rustls session could not be created.
    #[error("TLS session for the API server: {0}")]
    Session(rustls::Error),
}

impl ConnectError {
    /// The status code the client is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::ConnectTimeout(_) | Self::HandshakeTimeout => 504,
            Self::NoAddress | Self::Session(_) => 503,
            Self::Connect { .. } | Self::Handshake(_) => 502,
        }
    }
}

/// One connection to the apiserver with its read buffer.
#[derive(Debug)]
pub struct UpstreamConn {
    /// The connection.
    pub stream: Stream,
    /// Bytes read from it and not yet relayed.
    pub buf: IoBuffer,
    /// Taken from the idle pool (and so possibly closed by the server meanwhile).
    pub reused: bool,
    idle_since: Instant,
}

/// TLS settings for new upstream connections.
#[derive(Debug, Clone)]
pub struct UpstreamTls {
    /// The client config (apiserver CA, optional client certificate).
    pub config: Arc<ClientConfig>,
    /// The name verified in the apiserver's certificate.
    pub server_name: ServerName<'static>,
}

/// The per-core pool.
#[derive(Debug)]
pub struct Pool {
    addrs: RefCell<Vec<SocketAddr>>,
    tls: Option<UpstreamTls>,
    idle: RefCell<Vec<UpstreamConn>>,
    max_idle: usize,
    idle_timeout: Duration,
    connect_timeout: Duration,
    handshake_timeout: Duration,
}

impl Pool {
    /// An empty pool for `addrs`, TLS when `tls` is set.
    pub fn new(
        addrs: Vec<SocketAddr>,
        tls: Option<UpstreamTls>,
        max_idle: usize,
        idle_timeout: Duration,
        connect_timeout: Duration,
        handshake_timeout: Duration,
    ) -> Self {
        Self {
            addrs: RefCell::new(addrs),
            tls,
            idle: RefCell::new(Vec::with_capacity(max_idle.min(1024))),
            max_idle,
            idle_timeout,
            connect_timeout,
            handshake_timeout,
        }
    }

    /// Replaces the apiserver addresses (re-resolved); idle connections stay until they fail or age out.
    pub fn set_addrs(&self, addrs: Vec<SocketAddr>) {
        *self.addrs.borrow_mut() = addrs;
    }

    /// The most recently used idle connection that is young enough, or a new one.
    pub async fn checkout(&self) -> Result<UpstreamConn, ConnectError> {
        if let Some(conn) = self.take_idle() {
            return Ok(conn);
        }
        self.connect().await
    }

    /// A new connection, bypassing the idle pool (the retry after a stale pooled connection).
    pub async fn connect(&self) -> Result<UpstreamConn, ConnectError> {
        let tcp = self.connect_tcp().await?;
        let _ = tcp.set_nodelay(true);
        let stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some(tls) => {
                let session = ClientConnection::new(Arc::clone(&tls.config), tls.server_name.clone())
                    .map_err(ConnectError::Session)?;
                let mut conn = TlsConn::new(tcp, session.into());
                match monoio::time::timeout(self.handshake_timeout, conn.handshake()).await {
                    Ok(Ok(())) => Stream::Tls(Box::new(conn)),
                    Ok(Err(e)) => return Err(ConnectError::Handshake(e)),
                    Err(_) => return Err(ConnectError::HandshakeTimeout),
                }
            }
        };
        Ok(UpstreamConn {
            stream,
            buf: IoBuffer::new(UPSTREAM_BUF),
            reused: false,
            idle_since: Instant::now(),
        })
    }

    /// Returns a connection whose exchange ended cleanly (nothing buffered) to the idle pool.
    pub fn checkin(&self, mut conn: UpstreamConn) {
        if !conn.buf.is_empty() {
            return;
        }
        let mut idle = self.idle.borrow_mut();
        if idle.len() < self.max_idle {
            conn.reused = true;
            conn.idle_since = Instant::now();
            idle.push(conn);
        }
    }

    /// Idle connections kept (some may have aged out and wait to be dropped at the next checkout).
    pub fn idle_count(&self) -> usize {
        self.idle.borrow().len()
    }

    fn take_idle(&self) -> Option<UpstreamConn> {
        let mut idle = self.idle.borrow_mut();
        while let Some(conn) = idle.pop() {
            if conn.idle_since.elapsed() < self.idle_timeout {
                return Some(conn);
            }
        }
        None
    }

    async fn connect_tcp(&self) -> Result<TcpStream, ConnectError> {
        let addrs = self.addrs.borrow().clone();
        let mut last = ConnectError::NoAddress;
        for addr in addrs {
            match monoio::time::timeout(self.connect_timeout, TcpStream::connect_addr(addr)).await {
                Ok(Ok(tcp)) => return Ok(tcp),
                Ok(Err(source)) => last = ConnectError::Connect { addr, source },
                Err(_) => last = ConnectError::ConnectTimeout(addr),
            }
        }
        Err(last)
    }
}
