//! The sockets a data plane starts with: the API server's addresses, and one `SO_REUSEPORT` listener per core.

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

use super::error::StartError;

/// Listen backlog of each core's listener.
const BACKLOG: i32 = 1024;

/// Resolves the apiserver host (an IP needs no lookup).
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, StartError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| StartError::Resolve {
            host: host.to_string(),
            reason: e.to_string(),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(StartError::Resolve {
            host: host.to_string(),
            reason: "no addresses".into(),
        });
    }
    Ok(addrs)
}

/// Binds one `SO_REUSEPORT` listener per core on `addr`, after checking that no other process holds the port
/// (with `SO_REUSEPORT`, a second proxy on the same port would silently share its traffic).
///
/// `stall` becomes the listeners' `TCP_USER_TIMEOUT`, which accepted connections inherit: data written to a
/// caller that stays unacknowledged that long — a caller that stopped reading, its window closed — ends the
/// connection in the kernel, and the write waiting on it fails. No timer per request.
pub fn bind_listeners(
    addr: SocketAddr,
    cores: usize,
    stall: Option<std::time::Duration>,
) -> Result<Vec<StdListener>, StartError> {
    let listen_err = |source| StartError::Listen { addr, source };
    if addr.port() != 0 {
        let probe = new_socket(addr).map_err(listen_err)?;
        match probe.bind(&addr.into()) {
            Ok(()) => drop(probe),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(StartError::PortInUse(addr)),
            Err(source) => return Err(listen_err(source)),
        }
    }
    let mut bound = addr;
    let mut listeners = Vec::with_capacity(cores);
    for _ in 0..cores {
        let socket = new_socket(addr).map_err(listen_err)?;
        socket.set_reuse_port(true).map_err(listen_err)?;
        socket.set_tcp_user_timeout(stall).map_err(listen_err)?;
        socket.bind(&bound.into()).map_err(listen_err)?;
        socket.listen(BACKLOG).map_err(listen_err)?;
        socket.set_nonblocking(true).map_err(listen_err)?;
        let listener: StdListener = socket.into();
        // Port 0: every other core binds the port the first one got.
        bound = listener.local_addr().map_err(listen_err)?;
        listeners.push(listener);
    }
    Ok(listeners)
}

fn new_socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    Ok(socket)
}
