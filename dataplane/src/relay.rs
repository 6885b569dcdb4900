//! Moving message bodies and upgraded streams between a client and the apiserver, as they arrive.

use std::io;

use crate::codec::{BodyFraming, ChunkedScanner, CodecError, Limits};
use crate::io::{IoBuffer, ReadHalf, Stream, WriteHalf};

/// Why a relay stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading from the source failed.
    #[error("read: {0}")]
    Read(io::Error),
    /// The source ended before the body was complete.
    #[error("the body ended early")]
    Truncated,
    /// The body's chunked framing is invalid.
    #[error("invalid chunked body: {0}")]
    Framing(CodecError),
    /// Writing to the destination failed.
    #[error("write: {0}")]
    Write(io::Error),
}

/// Progress through one message body, whatever its framing.
#[derive(Debug, Clone)]
pub enum BodyRelay {
    /// This many bytes remain.
    Length(u64),
    /// A chunked body, relayed byte for byte (extensions and trailers included).
    Chunked(ChunkedScanner),
    /// Everything until the source closes.
    UntilClose,
    /// Nothing (left) to relay.
    Done,
}

impl BodyRelay {
    /// The relay for a body framed as `framing` (a tunnel has no body: it is relayed by [`tunnel`]).
    pub fn new(framing: BodyFraming, limits: &Limits) -> Self {
        match framing {
            BodyFraming::ContentLength(0) | BodyFraming::None | BodyFraming::Tunnel => Self::Done,
            BodyFraming::ContentLength(n) => Self::Length(n),
            BodyFraming::Chunked => Self::Chunked(ChunkedScanner::new(limits)),
            BodyFraming::UntilClose => Self::UntilClose,
        }
    }

    /// Whether the whole body has been relayed.
    pub fn is_done(&self) -> bool {
        matches!(self, Self::Done)
    }

    /// How many leading bytes of `available` belong to the body; advances past them.
    fn claim(&mut self, available: &[u8]) -> Result<usize, CodecError> {
        match self {
            Self::Length(remaining) => {
                let n = (*remaining).min(available.len() as u64);
                *remaining -= n;
                if *remaining == 0 {
                    *self = Self::Done;
                }
                // `n` is at most `available.len()`.
                Ok(usize::try_from(n).unwrap_or(available.len()))
            }
            Self::Chunked(scanner) => {
                let scan = scanner.feed(available)?;
                if scan.done {
                    *self = Self::Done;
                }
                Ok(scan.consumed)
            }
            Self::UntilClose => Ok(available.len()),
            Self::Done => Ok(0),
        }
    }

    /// Moves the body bytes already in `buf` to the end of `out` (so they leave with the head in one write).
    pub fn take_buffered(&mut self, buf: &mut IoBuffer, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let n = self.claim(buf.filled())?;
        out.extend_from_slice(&buf.filled()[..n]);
        buf.consume(n);
        Ok(())
    }

    /// Relays the rest of the body from `src` (whose already-read bytes are in `buf`) to `dst`, writing each
    /// piece as soon as it is read: watch events reach the client one by one.
    pub async fn run(
        &mut self,
        src: &mut Stream,
        buf: &mut IoBuffer,
        dst: &mut Stream,
    ) -> Result<(), RelayError> {
        loop {
            if !buf.is_empty() {
                let n = self.claim(buf.filled()).map_err(RelayError::Framing)?;
                dst.write_buffered(buf, n).await.map_err(RelayError::Write)?;
            }
            if self.is_done() {
                return Ok(());
            }
            match src.read(buf).await {
                Ok(0) if matches!(self, Self::UntilClose) => {
                    *self = Self::Done;
                    return Ok(());
                }
                Ok(0) => return Err(RelayError::Truncated),
                Ok(_) => {}
                Err(e) => return Err(RelayError::Read(e)),
            }
        }
    }
}

/// Relays an upgraded connection (`101 Switching Protocols`) in both directions until both sides are done.
///
/// Bytes already buffered on either side go first. Each direction half-closes its destination when its
/// source ends, so the peer sees the end of the stream and closes its side in turn.
pub async fn tunnel(client: Stream, mut client_buf: IoBuffer, upstream: Stream, mut upstream_buf: IoBuffer) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    monoio::join!(
        pump(&mut client_read, &mut client_buf, &mut upstream_write),
        pump(&mut upstream_read, &mut upstream_buf, &mut client_write),
    );
}

async fn pump(src: &mut ReadHalf, buf: &mut IoBuffer, dst: &mut WriteHalf) {
    loop {
        if !buf.is_empty() && dst.write_buffered(buf, buf.len()).await.is_err() {
            return;
        }
        match src.read(buf).await {
            Ok(0) | Err(_) => {
                let _ = dst.shutdown().await;
                return;
            }
            Ok(_) => {}
        }
    }
}
