//! The per-core connection pool to kube-apiserver: connect (TCP, then TLS) with deadlines, keep idle
//! keep-alive connections for reuse, forget the stale ones.
//!
//! A pooled connection the server (or a load balancer in front of it) has closed is never handed out: its
//! socket is looked at without reading — a non-blocking `MSG_PEEK` — when it is taken from the pool, and idle
//! connections are looked at once a second, so closed ones are let go at once instead of waiting in
//! `CLOSE-WAIT` for the next request. The peek goes to the connection's own socket: no duplicate descriptor,
//! so a connection (a watch, say) costs one file descriptor on each side.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::net::TcpStream;
use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, sockopt};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use socket2::{Domain, Protocol, Socket, Type};

use crate::io::{IoBuffer, Stream, TlsConn};

/// Read buffer size of an upstream connection.
const UPSTREAM_BUF: usize = 16 * 1024;
/// How often idle connections are looked at for a close by the server.
const REAP_INTERVAL: Duration = Duration::from_secs(1);

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

impl UpstreamConn {
    /// Whether nothing is buffered at any layer of the connection.
    fn is_quiet(&mut self) -> bool {
        self.buf.is_empty() && self.stream.is_quiet()
    }

    /// Whether the connection can carry another exchange: it is quiet, and the server has neither closed it nor
    /// sent anything unasked (a peek that would block).
    fn is_reusable(&mut self) -> bool {
        if !self.is_quiet() {
            return false;
        }
        let Some(fd) = self.stream.raw_fd() else {
            return false;
        };
        let mut byte = [0u8; 1];
        let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
        match nix::sys::socket::recv(fd, &mut byte, flags) {
            Err(e) => e == Errno::EAGAIN,
            // End of stream (the server closed), or bytes nobody asked for.
            Ok(_) => false,
        }
    }
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
    last_reap: Cell<Instant>,
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
            last_reap: Cell::new(Instant::now()),
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

    /// A new connection when `fresh` (the retry after a stale pooled connection), else [`Pool::checkout`].
    pub async fn checkout_or_connect(&self, fresh: bool) -> Result<UpstreamConn, ConnectError> {
        if fresh {
            self.connect().await
        } else {
            self.checkout().await
        }
    }

    /// A new connection, bypassing the idle pool (the retry after a stale pooled connection).
    pub async fn connect(&self) -> Result<UpstreamConn, ConnectError> {
        let tcp = self.connect_tcp().await?;
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

    /// Returns a connection whose exchange ended exactly at the end of both messages to the idle pool (callers
    /// check the messages; anything left buffered, or a connection the server already closed, is dropped).
    pub fn checkin(&self, mut conn: UpstreamConn) {
        // The socket is looked at when the connection is taken again; here only what was already read counts.
        if !conn.is_quiet() {
            return;
        }
        let mut idle = self.idle.borrow_mut();
        if idle.len() < self.max_idle {
            conn.reused = true;
            conn.idle_since = Instant::now();
            idle.push(conn);
        }
    }

    /// Idle connections kept: live ones, as of the last look (at most `REAP_INTERVAL` (1 s) ago).
    pub fn idle_count(&self) -> usize {
        self.idle.borrow().len()
    }

    /// Lets go of idle connections that aged out or that the server closed; at most once per
    /// `REAP_INTERVAL` (callers may ask more often).
    pub fn reap(&self) {
        let now = Instant::now();
        if now.duration_since(self.last_reap.get()) < REAP_INTERVAL {
            return;
        }
        self.last_reap.set(now);
        let timeout = self.idle_timeout;
        self.idle
            .borrow_mut()
            .retain_mut(|conn| now.duration_since(conn.idle_since) < timeout && conn.is_reusable());
    }

    fn take_idle(&self) -> Option<UpstreamConn> {
        let mut idle = self.idle.borrow_mut();
        while let Some(mut conn) = idle.pop() {
            if conn.idle_since.elapsed() < self.idle_timeout && conn.is_reusable() {
                return Some(conn);
            }
        }
        None
    }

    async fn connect_tcp(&self) -> Result<TcpStream, ConnectError> {
        let addrs = self.addrs.borrow().clone();
        let mut last = ConnectError::NoAddress;
        for addr in addrs {
            match monoio::time::timeout(self.connect_timeout, connect_socket(addr)).await {
                Ok(Ok(connected)) => return Ok(connected),
                Ok(Err(source)) => last = ConnectError::Connect { addr, source },
                Err(_) => last = ConnectError::ConnectTimeout(addr),
            }
        }
        Err(last)
    }
}

/// Connects to `addr` (non-blocking connect, then a wait until the socket is writable) and returns the
/// runtime's stream.
async fn connect_socket(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.set_nodelay(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let std: std::net::TcpStream = socket.into();
    let tcp = TcpStream::from_std(std)?;
    tcp.writable(false).await?;
    match nix::sys::socket::getsockopt(tcp.as_raw_fd(), sockopt::SocketError) {
        Ok(0) => Ok(tcp),
        Ok(code) => Err(io::Error::from_raw_os_error(code)),
        Err(errno) => Err(io::Error::from(errno)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// A plain-TCP pool of at most `max_idle` connections to `addr`.
    fn pool(addr: SocketAddr, max_idle: usize, idle_timeout: Duration) -> Pool {
        let second = Duration::from_secs(1);
        Pool::new(vec![addr], None, max_idle, idle_timeout, second, second)
    }

    /// A loopback server; `accept` hands out its side of each connection.
    fn server() -> (TcpListener, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    }

    /// What a non-blocking peek at `fd` sees: `Some(bytes)`, or `None` when it would block.
    fn peek(fd: std::os::fd::RawFd) -> Option<usize> {
        let mut byte = [0u8; 1];
        nix::sys::socket::recv(fd, &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT).ok()
    }

    /// The local port of a pooled connection's socket.
    fn local_port(conn: &UpstreamConn) -> u16 {
        let fd = conn.stream.raw_fd().unwrap();
        let addr: nix::sys::socket::SockaddrIn = nix::sys::socket::getsockname(fd).unwrap();
        addr.port()
    }

    /// Polls `done` on the runtime's timer until it holds (the server's close reaches the socket shortly).
    async fn eventually(mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            monoio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("condition never held");
    }

    #[monoio::test(enable_timer = true)]
    async fn a_connection_the_server_closed_is_never_handed_out() {
        let (listener, addr) = server();
        let pool = pool(addr, 4, Duration::from_secs(60));
        let conn = pool.checkout().await.unwrap();
        assert!(!conn.reused);
        let (server_side, _) = listener.accept().unwrap();
        pool.checkin(conn);
        assert_eq!(pool.idle_count(), 1);
        // The server (or a load balancer) closes the idle connection.
        drop(server_side);
        let fd = pool.idle.borrow()[0].stream.raw_fd().unwrap();
        eventually(|| peek(fd) == Some(0)).await;
        let fresh = pool.checkout().await.unwrap();
        assert!(!fresh.reused, "the closed connection was handed out");
        assert_eq!(pool.idle_count(), 0);
    }

    #[monoio::test(enable_timer = true)]
    async fn a_connection_with_unasked_bytes_is_never_handed_out() {
        let (listener, addr) = server();
        let pool = pool(addr, 4, Duration::from_secs(60));
        let conn = pool.checkout().await.unwrap();
        let (mut server_side, _) = listener.accept().unwrap();
        pool.checkin(conn);
        // Bytes nobody asked for: the start of a response that belongs to no request.
        server_side.write_all(b"HTTP/1.1 200 OK\r\n").unwrap();
        let fd = pool.idle.borrow()[0].stream.raw_fd().unwrap();
        eventually(|| peek(fd) == Some(1)).await;
        assert!(!pool.checkout().await.unwrap().reused);
    }

    #[monoio::test(enable_timer = true)]
    async fn a_live_idle_connection_is_reused_most_recent_first() {
        let (listener, addr) = server();
        let pool = pool(addr, 4, Duration::from_secs(60));
        let first = pool.checkout().await.unwrap();
        let second = pool.checkout().await.unwrap();
        let (_a, _) = listener.accept().unwrap();
        let (_b, _) = listener.accept().unwrap();
        let second_port = local_port(&second);
        pool.checkin(first);
        pool.checkin(second);
        let again = pool.checkout().await.unwrap();
        assert!(again.reused);
        assert_eq!(local_port(&again), second_port);
        assert_eq!(pool.idle_count(), 1);
    }

    #[monoio::test(enable_timer = true)]
    async fn checkin_refuses_connections_with_buffered_bytes_and_past_the_limit() {
        let (listener, addr) = server();
        let pool = pool(addr, 1, Duration::from_secs(60));
        let mut dirty = pool.checkout().await.unwrap();
        let clean = pool.checkout().await.unwrap();
        let extra = pool.checkout().await.unwrap();
        for _ in 0..3 {
            let _ = listener.accept().unwrap();
        }
        dirty.buf.extend_from(b"left over");
        pool.checkin(dirty);
        assert_eq!(pool.idle_count(), 0, "bytes past the end of a message");
        pool.checkin(clean);
        pool.checkin(extra);
        assert_eq!(pool.idle_count(), 1, "at most max_idle");
    }

    #[monoio::test(enable_timer = true)]
    async fn reaping_lets_go_of_closed_and_expired_connections() {
        let (listener, addr) = server();
        let pool = pool(addr, 4, Duration::from_secs(60));
        let closed = pool.checkout().await.unwrap();
        let live = pool.checkout().await.unwrap();
        let (closing_side, _) = listener.accept().unwrap();
        let (mut live_side, _) = listener.accept().unwrap();
        pool.checkin(closed);
        pool.checkin(live);
        drop(closing_side);
        // The first look is due a second after the pool was made: make it due now.
        pool.last_reap.set(Instant::now() - REAP_INTERVAL);
        eventually(|| {
            pool.reap();
            pool.last_reap.set(Instant::now() - REAP_INTERVAL);
            pool.idle_count() == 1
        })
        .await;
        // The live one is still usable: a byte written reaches the server.
        let mut conn = pool.checkout().await.unwrap();
        assert!(conn.reused);
        conn.stream.write_vec(&mut b"x".to_vec()).await.unwrap();
        let mut byte = [0u8; 1];
        live_side.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"x");
        // Aged out: an idle timeout of zero lets go of everything at the next look.
        let aging = pool_with_zero_timeout(addr);
        let conn = aging.checkout().await.unwrap();
        let _ = listener.accept().unwrap();
        aging.checkin(conn);
        aging.last_reap.set(Instant::now() - REAP_INTERVAL);
        aging.reap();
        assert_eq!(aging.idle_count(), 0);
    }

    fn pool_with_zero_timeout(addr: SocketAddr) -> Pool {
        pool(addr, 4, Duration::ZERO)
    }

    #[monoio::test(enable_timer = true)]
    async fn refused_connections_say_where() {
        let (listener, addr) = server();
        drop(listener);
        match pool(addr, 1, Duration::from_secs(1)).connect().await {
            Err(ConnectError::Connect { addr: tried, .. }) => assert_eq!(tried, addr),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Pool::new(
                Vec::new(),
                None,
                1,
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO
            )
            .connect()
            .await,
            Err(ConnectError::NoAddress)
        ));
    }
}
