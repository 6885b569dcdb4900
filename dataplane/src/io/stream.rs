//! A connection that is either plain TCP or TLS, with the few operations the relay needs.

use std::io;

use monoio::io::{AsyncWriteRent, CancelHandle, Splitable};
use monoio::net::TcpStream;
use monoio::net::tcp::{TcpOwnedReadHalf, TcpOwnedWriteHalf};

use super::buffer::{IoBuffer, write_vec};
use super::tls::{TlsConn, TlsReadHalf, TlsWriteHalf};

/// A client or upstream connection.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS (server or client side).
    Tls(Box<TlsConn>),
    /// Nothing: the connection was split off and not (yet) joined again; every operation fails.
    Detached,
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection detached")
}

impl Stream {
    /// Reads into `buf`'s free space; `Ok(0)` at end of stream.
    pub async fn read(&mut self, buf: &mut IoBuffer) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => buf.read_from(tcp).await,
            Self::Tls(tls) => tls.read(buf).await,
            Self::Detached => Err(detached()),
        }
    }

    /// Plaintext already received and buffered below `buf` (TLS), taken without touching the socket; `Ok(0)`
    /// when there is none.
    pub fn take_buffered(&mut self, buf: &mut IoBuffer) -> io::Result<usize> {
        match self {
            Self::Plain(_) => Ok(0),
            Self::Tls(tls) => tls.take_buffered(buf),
            Self::Detached => Err(detached()),
        }
    }

    /// Reads with at most one socket read: what it brought and whether it drained the socket.
    pub async fn read_once(&mut self, buf: &mut IoBuffer) -> io::Result<ReadOnce> {
        match self {
            Self::Plain(tcp) => {
                let room = buf.spare_mut().len();
                let n = buf.read_from(tcp).await?;
                Ok(ReadOnce {
                    bytes: Some(n),
                    drained: n < room,
                })
            }
            Self::Tls(tls) => {
                let bytes = tls.read_once(buf).await?;
                Ok(ReadOnce {
                    bytes,
                    drained: tls.is_drained(),
                })
            }
            Self::Detached => Err(detached()),
        }
    }

    /// Waits until the socket has something to read (or is closed), holding no buffer.
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.readable(false).await,
            Self::Tls(tls) => tls.readable().await,
            Self::Detached => Err(detached()),
        }
    }

    /// The socket's descriptor, to look at it without reading (`None` once detached).
    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        match self {
            Self::Plain(tcp) => Some(tcp.as_raw_fd()),
            Self::Tls(tls) => Some(tls.raw_fd()),
            Self::Detached => None,
        }
    }

    /// Gives the connection's own buffers back while nothing is buffered in them (a quiet connection).
    pub fn release_buffers(&mut self) {
        if let Self::Tls(tls) = self {
            tls.release_buffers();
        }
    }

    /// Writes the first `n` bytes buffered in `buf` and consumes them.
    pub async fn write_buffered(&mut self, buf: &mut IoBuffer, n: usize) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => buf.write_to(tcp, n).await,
            Self::Tls(tls) => {
                let n = n.min(buf.len());
                tls.write_all(&buf.filled()[..n]).await?;
                buf.consume(n);
                Ok(())
            }
            Self::Detached => Err(detached()),
        }
    }

    /// Writes all of `bytes` (lent to the kernel and given back on plain TCP).
    pub async fn write_vec(&mut self, bytes: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => write_vec(tcp, bytes).await,
            Self::Tls(tls) => tls.write_all(bytes).await,
            Self::Detached => Err(detached()),
        }
    }

    /// Closes the write side (TLS: after `close_notify`).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.shutdown().await,
            Self::Tls(tls) => tls.shutdown().await,
            Self::Detached => Ok(()),
        }
    }

    /// Whether nothing is pending in the connection's own layers (TLS: no ciphertext or plaintext buffered, no
    /// end of stream or failed write seen). The socket itself is the caller's to look at.
    pub fn is_quiet(&mut self) -> bool {
        match self {
            Self::Plain(_) => true,
            Self::Tls(tls) => tls.is_quiet(),
            Self::Detached => false,
        }
    }

    /// Splits into halves that can be driven concurrently (upgraded connections).
    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Self::Plain(tcp) => {
                let (read, write) = tcp.into_split();
                (ReadHalf::Plain(read), WriteHalf::Plain(write))
            }
            Self::Tls(tls) => {
                let (read, write) = tls.into_split();
                (ReadHalf::Tls(read), WriteHalf::Tls(write))
            }
            Self::Detached => (ReadHalf::Detached, WriteHalf::Detached),
        }
    }

    /// Joins the halves made by [`Self::into_split`] again.
    pub fn reunite(read: ReadHalf, write: WriteHalf) -> io::Result<Self> {
        match (read, write) {
            (ReadHalf::Plain(read), WriteHalf::Plain(write)) => read
                .reunite(write)
                .map(Self::Plain)
                .map_err(|_| io::Error::other("halves of different connections")),
            (ReadHalf::Tls(read), WriteHalf::Tls(write)) => {
                TlsConn::reunite(read, write).map(|t| Self::Tls(Box::new(t)))
            }
            (ReadHalf::Detached, WriteHalf::Detached) => Ok(Self::Detached),
            _ => Err(io::Error::other("halves of different connections")),
        }
    }
}

/// What one [`Stream::read_once`] brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOnce {
    /// Plaintext bytes added to the buffer (`Some(0)`: end of stream), or `None` when the bytes read held no
    /// data yet (TLS: a partial record, a handshake message).
    pub bytes: Option<usize>,
    /// The socket read took everything the socket had then: the next read would likely wait.
    pub drained: bool,
}

/// The reading half of a split [`Stream`].
#[derive(Debug)]
pub enum ReadHalf {
    /// Plain TCP.
    Plain(TcpOwnedReadHalf),
    /// TLS.
    Tls(TlsReadHalf),
    /// Split off a detached stream.
    Detached,
}

impl ReadHalf {
    /// Reads into `buf`'s free space; `Ok(0)` at end of stream.
    pub async fn read(&mut self, buf: &mut IoBuffer) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => buf.read_from(tcp).await,
            Self::Tls(tls) => tls.read(buf).await,
            Self::Detached => Err(detached()),
        }
    }

    /// Like [`Self::read`], but cancellable through `cancel` without losing bytes.
    pub async fn read_cancelable(&mut self, buf: &mut IoBuffer, cancel: CancelHandle) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => buf.read_from_cancelable(tcp, cancel).await,
            Self::Tls(tls) => tls.read_cancelable(buf, cancel).await,
            Self::Detached => Err(detached()),
        }
    }
}

/// The writing half of a split [`Stream`].
#[derive(Debug)]
pub enum WriteHalf {
    /// Plain TCP.
    Plain(TcpOwnedWriteHalf),
    /// TLS.
    Tls(TlsWriteHalf),
    /// Split off a detached stream.
    Detached,
}

impl WriteHalf {
    /// Writes all of `bytes` (which stay in place).
    pub async fn write_vec(&mut self, bytes: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => write_vec(tcp, bytes).await,
            Self::Tls(tls) => tls.write_all(bytes).await,
            Self::Detached => Err(detached()),
        }
    }

    /// Writes the first `n` bytes buffered in `buf` and consumes them.
    pub async fn write_buffered(&mut self, buf: &mut IoBuffer, n: usize) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => buf.write_to(tcp, n).await,
            Self::Tls(tls) => {
                let n = n.min(buf.len());
                tls.write_all(&buf.filled()[..n]).await?;
                buf.consume(n);
                Ok(())
            }
            Self::Detached => Err(detached()),
        }
    }

    /// Closes the write side (TLS: after `close_notify`).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.shutdown().await,
            Self::Tls(tls) => tls.shutdown().await,
            Self::Detached => Ok(()),
        }
    }
}
