//! Phase 1 of a request: the connection. Accept on the core's listener, decide whether the peer is a trusted
//! proxy, run the TLS handshake (rustls's sans-I/O API, bounded by the handshake timeout) and keep the verified
//! client certificate's identity for the authentication phase.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use capsule_proxy_policy::{CallerIdentity, identity_from_cert_der};
use monoio::net::{TcpListener, TcpStream};
use rustls::{ServerConfig, ServerConnection};

use crate::context::RequestContext;
use crate::io::{StopSignal, Stream, TlsConn};
use crate::metrics::HandshakeOutcome;

/// How long the accept loop pauses after a failed accept (out of file descriptors and similar).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What is known about the client connection once it is accepted, borrowed for one request.
#[derive(Debug)]
pub struct ClientFacts<'c> {
    /// The peer.
    pub peer: SocketAddr,
    /// Whether the peer is a trusted proxy (or none are configured).
    pub trusted: bool,
    /// The verified client certificate's identity.
    pub cert_identity: Option<&'c CallerIdentity>,
}

/// An accepted connection, ready for its first request head.
#[derive(Debug)]
pub struct Accepted {
    /// The connection (TLS established, when the listener serves TLS).
    pub stream: Stream,
    /// Whether the peer is a trusted proxy (or none are configured).
    pub trusted: bool,
    /// The verified client certificate's identity, when certificates authenticate callers.
    pub cert_identity: Option<CallerIdentity>,
}

/// Accepts connections on `listener` until `stop` is set, handing each to `serve` on a task of its own.
pub async fn accept_loop<F, Fut>(core_id: usize, stop: &StopSignal, listener: TcpListener, mut serve: F)
where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    loop {
        let accepted = {
            let accept = std::pin::pin!(listener.accept());
            monoio::select! {
                accepted = accept => accepted,
                () = stop.stopped() => {
                    tracing::debug!(core = core_id, "listener closed");
                    return;
                }
            }
        };
        match accepted {
            Ok((tcp, peer)) => {
                monoio::spawn(serve(tcp, peer));
            }
            Err(e) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(core = core_id, error = %e, "accept failed");
                monoio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Sets up an accepted connection: the trusted-proxy check and, with `server_tls`, the TLS handshake.
/// `None` when the handshake failed or timed out (counted and logged; the connection is dropped).
pub async fn establish(
    cx: &RequestContext<'_>,
    server_tls: Option<Arc<ServerConfig>>,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<Accepted> {
    let settings = cx.settings;
    let _ = tcp.set_nodelay(true);
    let trusted = {
        let proxies = &settings.auth.trusted_proxies;
        proxies.is_empty() || proxies.contains(peer.ip())
    };
    let Some(config) = server_tls else {
        return Some(Accepted {
            stream: Stream::Plain(tcp),
            trusted,
            cert_identity: None,
        });
    };
    let session = match ServerConnection::new(config) {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(error = %e, "cannot start a TLS session");
            cx.metrics.tls_handshake(HandshakeOutcome::Failed);
            return None;
        }
    };
    let mut tls = TlsConn::new(tcp, session.into());
    let handshake = monoio::time::timeout(settings.timeouts.tls_handshake, tls.handshake()).await;
    let outcome = match &handshake {
        Ok(Ok(())) => HandshakeOutcome::Ok,
        Ok(Err(_)) => HandshakeOutcome::Failed,
        Err(_) => HandshakeOutcome::Timeout,
    };
    cx.metrics.tls_handshake(outcome);
    match handshake {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return None;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return None;
        }
    }
    let cert_identity = if settings.cert_auth {
        cert_identity_of(&tls, peer)
    } else {
        None
    };
    Some(Accepted {
        stream: Stream::Tls(Box::new(tls)),
        trusted,
        cert_identity,
    })
}

fn cert_identity_of(tls: &TlsConn, peer: SocketAddr) -> Option<CallerIdentity> {
    let leaf = tls.peer_certificates()?.first()?;
    match identity_from_cert_der(leaf) {
        Ok(identity) => Some(identity),
        Err(e) => {
            tracing::debug!(%peer, error = %e, "client certificate carries no usable identity");
            None
        }
    }
}
