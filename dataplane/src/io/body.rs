//! Moving one message body from a source connection to a sink as it arrives, whatever its framing: the request
//! body on its way to the API server, a response body on its way to the client, a body read whole.

use std::io;
use std::time::Duration;

use super::{IoBuffer, Stream, WriteHalf};
use crate::codec::{BodyFraming, ChunkedScanner, CodecError, Limits};

/// Where a body is written: a whole connection or the write half of a split one.
#[allow(async_fn_in_trait)] // the data plane is thread-per-core: its futures never need to be `Send`
pub trait BodySink {
    /// Writes the first `n` bytes buffered in `buf` and consumes them.
    async fn write_buffered(&mut self, buf: &mut IoBuffer, n: usize) -> io::Result<()>;
}

impl BodySink for Stream {
    async fn write_buffered(&mut self, buf: &mut IoBuffer, n: usize) -> io::Result<()> {
        Stream::write_buffered(self, buf, n).await
    }
}

impl BodySink for WriteHalf {
    async fn write_buffered(&mut self, buf: &mut IoBuffer, n: usize) -> io::Result<()> {
        WriteHalf::write_buffered(self, buf, n).await
    }
}

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
    /// The source sent nothing for longer than the idle timeout.
    #[error("no body bytes for {0:?}")]
    Idle(Duration),
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
    /// The relay for a body framed as `framing` (a tunnel has no body: it is relayed by `phase7_relay::tunnel`).
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
    pub fn claim(&mut self, available: &[u8]) -> Result<usize, CodecError> {
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
    /// piece as soon as it is read: watch events reach the client one by one. With `idle`, a source silent for
    /// that long ends the relay with [`RelayError::Idle`] (the source connection is then unusable).
    pub async fn run(
        &mut self,
        src: &mut Stream,
        buf: &mut IoBuffer,
        dst: &mut impl BodySink,
        idle: Option<Duration>,
    ) -> Result<(), RelayError> {
        self.relay(src, buf, dst, idle).await
    }
}

impl BodyRelay {
    /// Whether stopping now leaves the destination with whole chunks only.
    pub fn at_boundary(&self) -> bool {
        match self {
            Self::Chunked(scanner) => scanner.at_chunk_start(),
            Self::UntilClose | Self::Done => true,
            Self::Length(_) => false,
        }
    }

    async fn relay(
        &mut self,
        src: &mut Stream,
        buf: &mut IoBuffer,
        dst: &mut impl BodySink,
        idle: Option<Duration>,
    ) -> Result<(), RelayError> {
        loop {
            if !buf.is_empty() {
                let n = self.claim(buf.filled()).map_err(RelayError::Framing)?;
                BodySink::write_buffered(dst, buf, n)
                    .await
                    .map_err(RelayError::Write)?;
            }
            if self.is_done() {
                return Ok(());
            }
            let read = match idle {
                None => src.read(buf).await,
                Some(idle) => match monoio::time::timeout(idle, src.read(buf)).await {
                    Ok(read) => read,
                    Err(_) => return Err(RelayError::Idle(idle)),
                },
            };
            match read {
                Ok(0) if matches!(self, Self::UntilClose) => {
                    *self = Self::Done;
                    return Ok(());
                }
                Ok(0) => return Err(RelayError::Truncated),
                Ok(_) => {}
                Err(e) => return Err(RelayError::Read(e)),
            }
            // What the TLS layer already holds joins the buffer, so it leaves in one write.
            while !buf.is_full() {
                match src.take_buffered(buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => return Err(RelayError::Read(e)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(bytes: &[u8]) -> IoBuffer {
        let mut buf = IoBuffer::new(256);
        buf.extend_from(bytes);
        buf
    }

    #[test]
    fn length_body_takes_only_its_bytes() {
        let mut body = BodyRelay::new(BodyFraming::ContentLength(5), &Limits::default());
        let mut buf = buffer(b"helloGET / HTTP/1.1\r\n");
        let mut out = b"HEAD\r\n\r\n".to_vec();
        body.take_buffered(&mut buf, &mut out).unwrap();
        assert!(body.is_done());
        assert_eq!(out, b"HEAD\r\n\r\nhello");
        assert_eq!(
            buf.filled(),
            b"GET / HTTP/1.1\r\n",
            "the next request stays buffered"
        );
    }

    #[test]
    fn partial_length_body_waits_for_the_rest() {
        let mut body = BodyRelay::new(BodyFraming::ContentLength(10), &Limits::default());
        let mut buf = buffer(b"hello");
        let mut out = Vec::new();
        body.take_buffered(&mut buf, &mut out).unwrap();
        assert!(matches!(body, BodyRelay::Length(5)));
        assert!(buf.is_empty());
    }

    #[test]
    fn chunked_body_is_passed_byte_for_byte_up_to_its_end() {
        let mut body = BodyRelay::new(BodyFraming::Chunked, &Limits::default());
        let wire = b"4;ext=1\r\nwiki\r\n0\r\nTrailer: x\r\n\r\n";
        let mut buf = buffer(&[&wire[..], b"NEXT"].concat());
        let mut out = Vec::new();
        body.take_buffered(&mut buf, &mut out).unwrap();
        assert!(body.is_done());
        assert_eq!(out, wire);
        assert_eq!(buf.filled(), b"NEXT");
    }

    #[test]
    fn invalid_chunk_is_a_framing_error() {
        let mut body = BodyRelay::new(BodyFraming::Chunked, &Limits::default());
        let mut buf = buffer(b"zz\r\n");
        assert!(body.take_buffered(&mut buf, &mut Vec::new()).is_err());
    }

    #[test]
    fn bodiless_framings_are_done_at_once() {
        for framing in [
            BodyFraming::None,
            BodyFraming::ContentLength(0),
            BodyFraming::Tunnel,
        ] {
            assert!(
                BodyRelay::new(framing, &Limits::default()).is_done(),
                "{framing:?}"
            );
        }
        let mut until_close = BodyRelay::new(BodyFraming::UntilClose, &Limits::default());
        let mut buf = buffer(b"all of it");
        let mut out = Vec::new();
        until_close.take_buffered(&mut buf, &mut out).unwrap();
        assert_eq!(out, b"all of it");
        assert!(!until_close.is_done());
    }
}
