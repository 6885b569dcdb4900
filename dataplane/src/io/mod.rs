//! Connection I/O: a reusable buffer for completion-based reads, TLS driven through rustls's sans-I/O API, a
//! `Stream` that is either, message bodies moved as they arrive, and the stop flag a relay waits on.

pub mod body;
pub mod buffer;
pub mod buffer_pool;
pub mod stop;
pub mod stream;
pub mod tls;

pub use body::{BodyRelay, BodySink, RelayError};
pub use buffer::IoBuffer;
pub use stop::StopSignal;
pub use stream::{ReadHalf, ReadOnce, Stream, WriteHalf};
pub use tls::TlsConn;
