//! JSON answers written the way kube-apiserver (Go's net/http) writes them: a body that fits net/http's 2 KiB
//! pre-chunking buffer goes out whole with a `Content-Length`; a longer one goes out with
//! `Transfer-Encoding: chunked`, in chunks of at most `chunk_bytes` data bytes, each one its own body frame (as
//! the streaming list encoder writes item by item through a small buffered writer).
//!
//! The body is a sequence of parts (a list's envelope, and each item's cached encoding): parts are sliced
//! without copying when they fill a chunk, and small ones are gathered into one.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, SizeHint};

use crate::response::Body;

/// Bodies up to this many bytes get a `Content-Length`, as net/http's handler buffer holds them.
pub const PRE_CHUNKING_BYTES: usize = 2048;
/// Default largest chunk, in data bytes.
pub const DEFAULT_CHUNK_BYTES: usize = 4096;

/// A body made of `parts`: with a `Content-Length` when it is at most [`PRE_CHUNKING_BYTES`] long or
/// `chunk_bytes` is 0, else chunked in frames of at most `chunk_bytes`.
pub fn body(parts: Vec<Bytes>, chunk_bytes: usize) -> Body {
    let total: usize = parts.iter().map(Bytes::len).sum();
    if chunk_bytes == 0 || total <= PRE_CHUNKING_BYTES {
        let whole = match <[Bytes; 1]>::try_from(parts) {
            Ok([one]) => one,
            Err(parts) => {
                let mut whole = BytesMut::with_capacity(total);
                parts.iter().for_each(|p| whole.extend_from_slice(p));
                whole.freeze()
            }
        };
        return Full::new(whole).boxed();
    }
    Chunked {
        parts: parts.into_iter().filter(|p| !p.is_empty()).collect(),
        chunk_bytes,
    }
    .boxed()
}

/// A body of unknown length (so hyper sends it chunked) yielding frames of at most `chunk_bytes`.
struct Chunked {
    parts: VecDeque<Bytes>,
    chunk_bytes: usize,
}

impl Chunked {
    /// The next chunk: a slice of the front part when it fills one, else the next parts gathered.
    fn next_chunk(&mut self) -> Option<Bytes> {
        let front = self.parts.front_mut()?;
        if front.len() >= self.chunk_bytes {
            let chunk = front.split_to(self.chunk_bytes);
            if front.is_empty() {
                self.parts.pop_front();
            }
            return Some(chunk);
        }
        let mut chunk = BytesMut::with_capacity(self.chunk_bytes);
        while let Some(part) = self.parts.front_mut() {
            let take = part.len().min(self.chunk_bytes - chunk.len());
            chunk.extend_from_slice(&part.split_to(take));
            if part.is_empty() {
                self.parts.pop_front();
            }
            if chunk.len() == self.chunk_bytes {
                break;
            }
        }
        Some(chunk.freeze())
    }
}

impl hyper::body::Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().next_chunk().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown on purpose: an exact hint would make hyper send a Content-Length.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Body as _;

    async fn frames(body: Body) -> Vec<Bytes> {
        let mut body = body;
        let mut out = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            out.extend(frame.into_data().ok());
        }
        out
    }

    #[tokio::test]
    async fn small_bodies_are_whole_and_large_ones_come_in_bounded_frames() {
        let small = body(
            vec![Bytes::from_static(b"{\"a\":"), Bytes::from_static(b"1}\n")],
            4096,
        );
        assert_eq!(small.size_hint().exact(), Some(8));
        assert_eq!(frames(small).await, [Bytes::from_static(b"{\"a\":1}\n")]);

        let parts: Vec<Bytes> = (0..50u8).map(|i| Bytes::from(vec![b'a' + i % 26; 300])).collect();
        let expected: Vec<u8> = parts.iter().flat_map(|p| p.to_vec()).collect();
        let large = body(parts.clone(), 1000);
        assert_eq!(large.size_hint().exact(), None);
        let got = frames(large).await;
        assert!(got.iter().all(|f| !f.is_empty() && f.len() <= 1000));
        assert_eq!(got.len(), expected.len().div_ceil(1000));
        assert_eq!(got.concat(), expected);

        let big_part = body(vec![Bytes::from(vec![b'x'; 10_000])], 4096);
        let sizes: Vec<usize> = frames(big_part).await.iter().map(Bytes::len).collect();
        assert_eq!(sizes, [4096, 4096, 1808]);

        let unchunked = body(parts, 0);
        assert_eq!(unchunked.size_hint().exact(), Some(expected.len() as u64));
    }
}
