//! TLS over a monoio `TcpStream`, driven through rustls's sans-I/O API.
//!
//! We drive rustls ourselves instead of using monoio-rustls: the data plane needs the verified peer
//! certificate (`TLSCertificate` authentication) and a split into read and write halves for upgraded
//! connections, and monoio-rustls 0.4 exposes neither without dropping its buffered ciphertext or relying on
//! an `unsafe impl Split`. Here the rustls session sits in an `Rc<RefCell<_>>` that is never borrowed
//! across an `.await`, so both halves of one connection can run at once on the core's thread.

use std::cell::RefCell;
use std::io::{self, BufRead};
use std::rc::Rc;

use monoio::io::{AsyncWriteRent, CancelHandle, Splitable};
use monoio::net::TcpStream;
use monoio::net::tcp::{TcpOwnedReadHalf, TcpOwnedWriteHalf};
use rustls::Connection;
use rustls::pki_types::CertificateDer;

use super::buffer::{IoBuffer, write_vec};

/// Ciphertext read buffer size: one maximal TLS record plus headroom.
const TLS_IN_CAPACITY: usize = 18 * 1024;

/// A TLS connection: the socket, the rustls session, and ciphertext buffers for each direction.
#[derive(Debug)]
pub struct TlsConn {
    tcp: TcpStream,
    session: Connection,
    tls_in: IoBuffer,
    tls_out: Vec<u8>,
    eof: bool,
    /// A write to the socket failed: nothing more is sent, but what the peer sent can still be read.
    write_failed: bool,
    /// The last socket read left room in the buffer: the socket had nothing more at that moment.
    drained: bool,
}

impl TlsConn {
    /// Wraps `tcp` with a fresh rustls session (client or server); call [`Self::handshake`] next.
    pub fn new(tcp: TcpStream, session: Connection) -> Self {
        Self {
            tcp,
            session,
            tls_in: IoBuffer::new(TLS_IN_CAPACITY),
            tls_out: Vec::with_capacity(TLS_IN_CAPACITY),
            eof: false,
            write_failed: false,
            drained: true,
        }
    }

    /// Runs the handshake to completion (callers bound it with a timeout).
    pub async fn handshake(&mut self) -> io::Result<()> {
        loop {
            self.flush_tls().await?;
            if !self.session.is_handshaking() {
                return Ok(());
            }
            if !self.pull().await? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the TLS handshake",
                ));
            }
        }
    }

    /// Whether nothing is pending: no ciphertext or plaintext buffered, no end of stream or failed write seen.
    pub fn is_quiet(&mut self) -> bool {
        if !self.tls_in.is_empty() || self.eof || self.write_failed || self.session.wants_write() {
            return false;
        }
        matches!(
            self.session.reader().fill_buf(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        )
    }

    /// The peer's certificate chain (end entity first), once the handshake is done.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.session.peer_certificates()
    }

    /// Reads plaintext into `buf`'s free space; `Ok(0)` at end of stream (clean or not: HTTP framing tells a
    /// truncated message apart).
    pub async fn read(&mut self, buf: &mut IoBuffer) -> io::Result<usize> {
        loop {
            if let Some(n) = take_plaintext(&mut self.session, buf)? {
                return Ok(n);
            }
            // Records the session owes the peer (key updates, alerts). When the peer stopped reading, what it
            // sent before that can still be read: a failed flush does not fail the read.
            if !self.write_failed {
                // A failure is remembered by `flush_tls`.
                let _ = self.flush_tls().await;
            }
            if !self.pull().await? {
                // Let rustls report what it holds; it sees EOF through `read_tls` returning 0.
                if let Some(n) = take_plaintext(&mut self.session, buf)? {
                    return Ok(n);
                }
                return Ok(0);
            }
        }
    }

    /// Plaintext already received, decrypted from what is buffered without touching the socket: `Ok(0)` when
    /// there is none (or at end of stream; [`Self::read_once`] tells those apart).
    pub fn take_buffered(&mut self, buf: &mut IoBuffer) -> io::Result<usize> {
        if let Some(n) = take_plaintext(&mut self.session, buf)? {
            return Ok(n);
        }
        if self.tls_in.is_empty() {
            return Ok(0);
        }
        feed(&mut self.session, &mut self.tls_in)?;
        Ok(take_plaintext(&mut self.session, buf)?.unwrap_or(0))
    }

    /// Reads plaintext with at most one socket read: `Some(n)` bytes (`Some(0)` at end of stream), or `None`
    /// when what arrived holds no application data yet (a partial record, a handshake message).
    pub async fn read_once(&mut self, buf: &mut IoBuffer) -> io::Result<Option<usize>> {
        if let Some(n) = take_plaintext(&mut self.session, buf)? {
            return Ok(Some(n));
        }
        if !self.write_failed {
            // A failure is remembered by `flush_tls`.
            let _ = self.flush_tls().await;
        }
        if !self.pull().await? {
            return Ok(Some(take_plaintext(&mut self.session, buf)?.unwrap_or(0)));
        }
        take_plaintext(&mut self.session, buf)
    }

    /// Whether the last socket read took everything the socket had then (the next read would likely wait).
    pub fn is_drained(&self) -> bool {
        self.drained
    }

    /// The socket's descriptor.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.tcp)
    }

    /// Waits until the socket has something to read (or is closed), holding no buffer.
    pub async fn readable(&self) -> io::Result<()> {
        self.tcp.readable(false).await
    }

    /// Gives the ciphertext buffers back while nothing is buffered in them (a quiet connection).
    pub fn release_buffers(&mut self) {
        self.tls_in.release();
        if !self.session.wants_write() {
            self.tls_out = Vec::new();
        }
    }

    /// Encrypts and writes all of `bytes`.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = io::Write::write(&mut self.session.writer(), rest)?;
            rest = &rest[n..];
            self.flush_tls().await?;
        }
        Ok(())
    }

    /// Sends `close_notify` and shuts the socket's write side.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.session.send_close_notify();
        self.flush_tls().await?;
        self.tcp.shutdown().await
    }

    /// Splits into halves that can be driven concurrently on this thread (upgraded connections).
    pub fn into_split(self) -> (TlsReadHalf, TlsWriteHalf) {
        let (read, write) = self.tcp.into_split();
        let session = Rc::new(RefCell::new(self.session));
        (
            TlsReadHalf {
                tcp: read,
                session: Rc::clone(&session),
                tls_in: self.tls_in,
                eof: self.eof,
            },
            TlsWriteHalf {
                tcp: write,
                session,
                tls_out: self.tls_out,
            },
        )
    }

    /// Joins the halves made by [`Self::into_split`] again.
    pub fn reunite(read: TlsReadHalf, write: TlsWriteHalf) -> io::Result<Self> {
        let TlsWriteHalf {
            tcp: write_tcp,
            session: write_session,
            tls_out,
        } = write;
        drop(write_session);
        let tcp = read
            .tcp
            .reunite(write_tcp)
            .map_err(|_| io::Error::other("TLS halves of different connections"))?;
        let session = Rc::try_unwrap(read.session)
            .map_err(|_| io::Error::other("TLS session still shared"))?
            .into_inner();
        Ok(Self {
            tcp,
            session,
            tls_in: read.tls_in,
            tls_out,
            eof: read.eof,
            write_failed: false,
            drained: true,
        })
    }

    async fn flush_tls(&mut self) -> io::Result<()> {
        while self.session.wants_write() {
            self.tls_out.clear();
            self.session.write_tls(&mut self.tls_out)?;
            if let Err(e) = write_vec(&mut self.tcp, &mut self.tls_out).await {
                self.write_failed = true;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Feeds buffered or newly read ciphertext to rustls; `false` once the socket reached end of stream.
    async fn pull(&mut self) -> io::Result<bool> {
        if self.tls_in.is_empty() {
            if self.eof {
                return Ok(false);
            }
            let room = self.tls_in.spare_mut().len();
            let n = self.tls_in.read_from(&mut self.tcp).await?;
            self.drained = n < room;
            if n == 0 {
                self.eof = true;
                // Tell rustls about the EOF so it can tell a clean close from a truncation.
                self.session.read_tls(&mut io::empty())?;
                return Ok(false);
            }
        }
        feed(&mut self.session, &mut self.tls_in)?;
        Ok(true)
    }
}

/// Moves ciphertext from `tls_in` into the session and processes it; stops early while plaintext waits.
fn feed(session: &mut Connection, tls_in: &mut IoBuffer) -> io::Result<()> {
    while !tls_in.is_empty() {
        let mut filled = tls_in.filled();
        let n = match session.read_tls(&mut filled) {
            Ok(n) => n,
            // Plaintext is waiting to be read; the rest of the ciphertext stays buffered.
            Err(e) if e.kind() == io::ErrorKind::Other => return Ok(()),
            Err(e) => return Err(e),
        };
        tls_in.consume(n);
        let state = session
            .process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if n == 0 || state.plaintext_bytes_to_read() > 0 {
            return Ok(());
        }
    }
    Ok(())
}

/// Copies available plaintext into `buf`; `None` when rustls needs more ciphertext first.
fn take_plaintext(session: &mut Connection, buf: &mut IoBuffer) -> io::Result<Option<usize>> {
    if buf.spare_mut().is_empty() {
        // Same contract as a plain read: callers drain the buffer first; `Ok(0)` would read as end of stream.
        return Err(io::Error::other("read buffer full"));
    }
    let mut reader = session.reader();
    match reader.fill_buf() {
        Ok(chunk) => {
            let n = buf.extend_from(chunk);
            reader.consume(n);
            Ok(Some(n))
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Some(0)),
        Err(e) => Err(e),
    }
}

/// The reading half of a split [`TlsConn`].
#[derive(Debug)]
pub struct TlsReadHalf {
    tcp: TcpOwnedReadHalf,
    session: Rc<RefCell<Connection>>,
    tls_in: IoBuffer,
    eof: bool,
}

impl TlsReadHalf {
    /// Reads plaintext into `buf`; `Ok(0)` at end of stream.
    pub async fn read(&mut self, buf: &mut IoBuffer) -> io::Result<usize> {
        self.read_inner(buf, None).await
    }

    /// Like [`Self::read`], but cancellable through `cancel` without losing bytes.
    pub async fn read_cancelable(&mut self, buf: &mut IoBuffer, cancel: CancelHandle) -> io::Result<usize> {
        self.read_inner(buf, Some(cancel)).await
    }

    async fn read_inner(&mut self, buf: &mut IoBuffer, cancel: Option<CancelHandle>) -> io::Result<usize> {
        loop {
            {
                let mut session = self.session.borrow_mut();
                if let Some(n) = take_plaintext(&mut session, buf)? {
                    return Ok(n);
                }
                if !self.tls_in.is_empty() {
                    feed(&mut session, &mut self.tls_in)?;
                    continue;
                }
                if self.eof {
                    return Ok(0);
                }
            }
            // Records the session wants to send in reply (key updates, alerts) go out with the write half's
            // next flush.
            let n = match &cancel {
                Some(cancel) => {
                    self.tls_in
                        .read_from_cancelable(&mut self.tcp, cancel.clone())
                        .await?
                }
                None => self.tls_in.read_from(&mut self.tcp).await?,
            };
            if n == 0 {
                self.eof = true;
                self.session.borrow_mut().read_tls(&mut io::empty())?;
            }
        }
    }
}

/// The writing half of a split [`TlsConn`].
#[derive(Debug)]
pub struct TlsWriteHalf {
    tcp: TcpOwnedWriteHalf,
    session: Rc<RefCell<Connection>>,
    tls_out: Vec<u8>,
}

impl TlsWriteHalf {
    /// Encrypts and writes all of `bytes`.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        loop {
            {
                let mut session = self.session.borrow_mut();
                if !rest.is_empty() {
                    let n = io::Write::write(&mut session.writer(), rest)?;
                    rest = &rest[n..];
                }
                self.tls_out.clear();
                while session.wants_write() {
                    session.write_tls(&mut self.tls_out)?;
                }
            }
            if !self.tls_out.is_empty() {
                write_vec(&mut self.tcp, &mut self.tls_out).await?;
            }
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    /// Sends `close_notify` and shuts the socket's write side.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.session.borrow_mut().send_close_notify();
        self.write_all(&[]).await?;
        self.tcp.shutdown().await
    }
}
