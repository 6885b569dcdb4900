//! Why the data plane did not start.

use std::io;
use std::net::SocketAddr;

use crate::tls_config::TlsConfigError;

/// Why the data plane did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] TlsConfigError),
    /// Another process listens on the port.
    #[error("{0} is already in use")]
    PortInUse(SocketAddr),
    /// The listener could not be set up.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: io::Error,
    },
    /// The apiserver's host name did not resolve.
    #[error("resolving the API server {host}: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// The proxy's token file could not be read.
    #[error("reading the token file {path}: {reason}")]
    Token {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// io_uring was required but is not available.
    #[error(
        "io_uring is not available (kernel, seccomp profile or io_uring_disabled); use --io-driver=auto or legacy"
    )]
    IoUringUnavailable,
    /// A core failed to start.
    #[error("core {core}: {reason}")]
    Core {
        /// The core index.
        core: usize,
        /// What went wrong.
        reason: String,
    },
}
