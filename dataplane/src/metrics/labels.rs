//! The small, fixed label sets of the data plane's own metrics. Each enum indexes the arrays of
//! [`super::CoreMetricsSnapshot`] (`kind as usize`) and names its label value.

use std::io;

use crate::config::Driver;
use crate::upstream::ConnectError;

/// An open-ended relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// A response body of open-ended length: a watch, `logs -f`, a chunked list.
    Response = 0,
    /// An upgraded connection (`101 Switching Protocols`: exec, attach, port-forward).
    Upgrade = 1,
}

impl StreamKind {
    /// Every kind, in index order.
    pub const ALL: [Self; 2] = [Self::Response, Self::Upgrade];

    /// The `kind` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Upgrade => "upgrade",
        }
    }
}

/// Why a new upstream connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectErrorKind {
    /// The API server refused the TCP connection.
    Refused = 0,
    /// TCP connect or the TLS handshake took too long.
    Timeout = 1,
    /// The TLS handshake failed.
    Tls = 2,
    /// Anything else (no address, unreachable network, …).
    Other = 3,
}

impl ConnectErrorKind {
    /// Every kind, in index order.
    pub const ALL: [Self; 4] = [Self::Refused, Self::Timeout, Self::Tls, Self::Other];

    /// The kind of `error`.
    pub fn of(error: &ConnectError) -> Self {
        match error {
            ConnectError::Connect { source, .. } if source.kind() == io::ErrorKind::ConnectionRefused => {
                Self::Refused
            }
            ConnectError::ConnectTimeout(_) | ConnectError::HandshakeTimeout => Self::Timeout,
            ConnectError::Handshake(_) | ConnectError::Session(_) => Self::Tls,
            ConnectError::Connect { .. } | ConnectError::NoAddress => Self::Other,
        }
    }

    /// The `kind` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Other => "other",
        }
    }
}

/// How a client's TLS handshake ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandshakeOutcome {
    /// Completed.
    Ok = 0,
    /// Failed (bad certificate, protocol error, the client went away).
    Failed = 1,
    /// Did not complete within `--tls-handshake-timeout`.
    Timeout = 2,
}

impl HandshakeOutcome {
    /// Every outcome, in index order.
    pub const ALL: [Self; 3] = [Self::Ok, Self::Failed, Self::Timeout];

    /// The `outcome` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
        }
    }
}

/// Which way relayed bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Request heads and bodies (and a tunnel's client bytes), written to the API server.
    ClientToUpstream = 0,
    /// Response heads and bodies (and a tunnel's server bytes), written to the client.
    UpstreamToClient = 1,
}

impl Direction {
    /// Both directions, in index order.
    pub const ALL: [Self; 2] = [Self::ClientToUpstream, Self::UpstreamToClient];

    /// The `direction` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::ClientToUpstream => "client_to_upstream",
            Self::UpstreamToClient => "upstream_to_client",
        }
    }
}

/// The drivers, in index order of [`super::CoreMetricsSnapshot::drivers`].
pub const DRIVERS: [Driver; 2] = [Driver::IoUring, Driver::Legacy];

/// The index of `driver` in [`DRIVERS`].
pub fn driver_index(driver: Driver) -> usize {
    match driver {
        Driver::IoUring => 0,
        Driver::Legacy => 1,
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    #[test]
    fn indexes_follow_all() {
        for (i, kind) in StreamKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i);
        }
        for (i, kind) in ConnectErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i);
        }
        for (i, outcome) in HandshakeOutcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome as usize, i);
        }
        for (i, direction) in Direction::ALL.into_iter().enumerate() {
            assert_eq!(direction as usize, i);
        }
        for (i, driver) in DRIVERS.into_iter().enumerate() {
            assert_eq!(driver_index(driver), i);
        }
    }

    #[test]
    fn connect_errors_are_sorted_by_kind() {
        let addr: SocketAddr = "127.0.0.1:6443".parse().unwrap();
        let connect = |kind| ConnectError::Connect {
            addr,
            source: io::Error::from(kind),
        };
        assert_eq!(
            ConnectErrorKind::of(&connect(io::ErrorKind::ConnectionRefused)),
            ConnectErrorKind::Refused
        );
        assert_eq!(
            ConnectErrorKind::of(&connect(io::ErrorKind::NetworkUnreachable)),
            ConnectErrorKind::Other
        );
        assert_eq!(
            ConnectErrorKind::of(&ConnectError::ConnectTimeout(addr)),
            ConnectErrorKind::Timeout
        );
        assert_eq!(
            ConnectErrorKind::of(&ConnectError::HandshakeTimeout),
            ConnectErrorKind::Timeout
        );
        assert_eq!(
            ConnectErrorKind::of(&ConnectError::Handshake(io::Error::other("bad certificate"))),
            ConnectErrorKind::Tls
        );
        assert_eq!(
            ConnectErrorKind::of(&ConnectError::NoAddress),
            ConnectErrorKind::Other
        );
    }
}
