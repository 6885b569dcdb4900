//! Errors raised by the codec.

/// Why a head or a chunked body was rejected. Every error is fatal for the connection: framing can no longer
/// be trusted, so the caller answers (see [`CodecError::status`]) and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The head exceeds [`super::Limits::max_head_bytes`].
    #[error("message head too large")]
    HeadTooLarge,
    /// The head has more fields than [`super::Limits::max_headers`].
    #[error("too many header fields")]
    TooManyHeaders,
    /// Malformed method token.
    #[error("invalid method")]
    InvalidMethod,
    /// Malformed status line.
    #[error("invalid status line")]
    InvalidStatus,
    /// HTTP version other than 1.0 or 1.1.
    #[error("unsupported HTTP version")]
    UnsupportedVersion,
    /// Line not terminated by CRLF (bare LF, stray CR).
    #[error("invalid line ending")]
    InvalidLineEnding,
    /// Field name is not a token, has whitespace before the colon, or is an obs-fold continuation.
    #[error("invalid header name")]
    InvalidHeaderName,
    /// Field value contains forbidden bytes.
    #[error("invalid header value")]
    InvalidHeaderValue,
    /// Request target is not origin-form (or `*` for OPTIONS).
    #[error("invalid request target")]
    InvalidTarget,
    /// HTTP/1.1 request without a `Host` field.
    #[error("missing Host header")]
    MissingHost,
    /// More than one `Host` field.
    #[error("duplicate Host header")]
    DuplicateHost,
    /// `Content-Length` is not a plain decimal number fitting in u64.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// More than one `Content-Length` field (rejected even when identical).
    #[error("duplicate Content-Length")]
    DuplicateContentLength,
    /// Both `Transfer-Encoding` and `Content-Length` are present.
    #[error("Transfer-Encoding together with Content-Length")]
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` whose final coding is not `chunked`, applies `chunked` twice, or is empty.
    #[error("invalid Transfer-Encoding")]
    InvalidTransferEncoding,
    /// `Transfer-Encoding` with codings other than `chunked` before it (we relay only plain `chunked`).
    #[error("unsupported Transfer-Encoding")]
    UnsupportedTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 message.
    #[error("Transfer-Encoding in an HTTP/1.0 message")]
    TransferEncodingInHttp10,
    /// Chunk size is not hexadecimal.
    #[error("invalid chunk size")]
    InvalidChunkSize,
    /// Chunk size does not fit in u64.
    #[error("chunk size overflow")]
    ChunkSizeOverflow,
    /// Chunk extension is malformed or longer than [`super::Limits::max_chunk_ext_bytes`].
    #[error("invalid chunk extension")]
    InvalidChunkExtension,
    /// Chunk data not followed by CRLF, or chunk line not ending in CRLF.
    #[error("missing CRLF in chunked body")]
    InvalidChunkFraming,
    /// Malformed trailer field line.
    #[error("invalid trailer field")]
    InvalidTrailer,
    /// Trailer section longer than [`super::Limits::max_trailer_bytes`].
    #[error("trailer section too large")]
    TrailersTooLarge,
    /// A header value handed to the head writer contains bytes that would break framing.
    #[error("header not writable")]
    Unwritable,
}

impl CodecError {
    /// Status code a server should answer with when a *request* fails with this error.
    /// (On the upstream side every error maps to 502.)
    pub fn status(&self) -> u16 {
        match self {
            Self::HeadTooLarge | Self::TooManyHeaders => 431,
            Self::UnsupportedTransferEncoding => 501,
            Self::UnsupportedVersion => 505,
            Self::Unwritable => 500,
            _ => 400,
        }
    }
}

impl From<httparse::Error> for CodecError {
    fn from(e: httparse::Error) -> Self {
        match e {
            httparse::Error::HeaderName => Self::InvalidHeaderName,
            httparse::Error::HeaderValue => Self::InvalidHeaderValue,
            httparse::Error::NewLine => Self::InvalidLineEnding,
            httparse::Error::Status => Self::InvalidStatus,
            httparse::Error::Token => Self::InvalidMethod,
            httparse::Error::TooManyHeaders => Self::TooManyHeaders,
            httparse::Error::Version => Self::UnsupportedVersion,
        }
    }
}
