//! A connection that is either plain TCP or TLS, with the few operations the relay needs.

use std::io;
use std::net::SocketAddr;

use monoio::io::{AsyncWriteRent, Splitable};
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
}

impl Stream {
    /// Reads into `buf`'s free space; `Ok(0)` at end of stream.
    pub async fn read(&mut self, buf: &mut IoBuffer) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => buf.read_from(tcp).await,
            Self::Tls(tls) => tls.read(buf).await,
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
        }
    }

    /// Writes all of `bytes` (lent to the kernel and given back on plain TCP).
    pub async fn write_vec(&mut self, bytes: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => write_vec(tcp, bytes).await,
            Self::Tls(tls) => tls.write_all(bytes).await,
        }
    }

    /// Closes the write side (TLS: after `close_notify`).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.shutdown().await,
            Self::Tls(tls) => tls.shutdown().await,
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Plain(tcp) => tcp.peer_addr(),
            Self::Tls(tls) => tls.peer_addr(),
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
        }
    }
}

/// The reading half of a split [`Stream`].
#[derive(Debug)]
pub enum ReadHalf {
    /// Plain TCP.
    Plain(TcpOwnedReadHalf),
    /// TLS.
    Tls(TlsReadHalf),
}

impl ReadHalf {
    /// Reads into `buf`'s free space; `Ok(0)` at end of stream.
    pub async fn read(&mut self, buf: &mut IoBuffer) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => buf.read_from(tcp).await,
            Self::Tls(tls) => tls.read(buf).await,
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
}

impl WriteHalf {
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
        }
    }

    /// Closes the write side (TLS: after `close_notify`).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.shutdown().await,
            Self::Tls(tls) => tls.shutdown().await,
        }
    }
}
