//! Connection I/O: a reusable buffer for completion-based reads, TLS driven through rustls's sans-I/O API,
//! and a `Stream` that is either.

pub mod buffer;
pub mod stream;
pub mod tls;

pub use buffer::IoBuffer;
pub use stream::{ReadHalf, Stream, WriteHalf};
pub use tls::TlsConn;
