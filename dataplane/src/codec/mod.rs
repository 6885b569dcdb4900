//! Strict, I/O-free HTTP/1.1 codec.
//!
//! The codec parses message heads out of a caller-owned byte buffer and decides how the body that follows is
//! framed; it never reads, writes or buffers a body. Bodies are relayed by the caller: a fixed number of bytes
//! for [`BodyFraming::ContentLength`], byte-for-byte through a [`ChunkedScanner`] for
//! [`BodyFraming::Chunked`], or as an opaque stream for [`BodyFraming::UntilClose`] / [`BodyFraming::Tunnel`].
//!
//! Everything ambiguous that could desynchronise us from a peer (request smuggling) is rejected with a
//! [`CodecError`] rather than guessed at.

mod chunked;
mod error;
mod head;
mod headers;
mod hop;
mod response;
mod types;
mod write;

pub use chunked::{ChunkedScanner, Scan};
pub use error::CodecError;
pub use head::{RequestHead, parse_request_head};
pub use headers::{HeaderIter, Headers};
pub use hop::{ForwardedHeaders, FramingFields, HopByHop, is_nominable};
pub use response::{ResponseHead, parse_response_head};
pub use types::{BodyFraming, Method, Version};
pub use write::{write_request_head, write_response_head};

/// Hard cap on [`Limits::max_headers`]: the parser keeps its header table on the stack.
pub const MAX_HEADERS_CAP: usize = 256;

/// Size limits applied while parsing; all are per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted head (start line + fields + final CRLF), in bytes; beyond it → [`CodecError::HeadTooLarge`].
    pub max_head_bytes: usize,
    /// Most header fields accepted in one head (clamped to [`MAX_HEADERS_CAP`]).
    pub max_headers: usize,
    /// Largest accepted chunk extension (bytes after the chunk size, per chunk line).
    pub max_chunk_ext_bytes: usize,
    /// Largest accepted trailer section of a chunked body, in bytes.
    pub max_trailer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: 64 * 1024,
            max_headers: 128,
            max_chunk_ext_bytes: 4096,
            max_trailer_bytes: 16 * 1024,
        }
    }
}

/// Outcome of a head parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// A whole head was parsed; it occupies the first `len` bytes of the buffer, the body (if any) follows.
    Complete {
        /// The parsed head, borrowing from the buffer.
        head: T,
        /// Length of the head in bytes, including the terminating empty line.
        len: usize,
    },
    /// The buffer holds only the beginning of a head: read more and parse again from the start.
    Partial,
}
