//! The listener: accepts TCP connections, terminates TLS (client certificates optional, verified against the
//! kube-sim CA) or speaks plain HTTP, and serves HTTP/1.1 with upgrades. Stopping it closes every connection at
//! once — open watches and log streams end the way they do when a real API server dies.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::cluster::Cluster;
use crate::connection::ConnectionInfo;
use crate::handler;

/// How long a client may take to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running listener; dropping it (or [`Server::stop`]) closes every connection.
pub struct Server {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Serves `cluster` on `listener`, with TLS when `tls` is given.
    pub fn start(listener: TcpListener, tls: Option<TlsAcceptor>, cluster: Arc<Cluster>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, tls, cluster, stopped));
        Self {
            stop,
            task: Some(task),
        }
    }

    /// Stops accepting and closes every open connection and stream; returns once every connection is closed
    /// (a client that writes afterwards finds its connection gone, never an answer).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    cluster: Arc<Cluster>,
    stopped: watch::Receiver<bool>,
) {
    // Connection tasks live in this set: on stop every one is aborted and awaited, so their sockets are closed
    // before `stop` returns (when the accept loop is aborted instead, dropping the set aborts them too).
    let mut connections = JoinSet::new();
    let mut stop = stopped.clone();
    loop {
        tokio::select! {
            stopping = stop.wait_for(|stopped| *stopped) => {
                drop(stopping);
                break;
            }
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                connections.spawn(serve_connection(stream, tls.clone(), Arc::clone(&cluster), stopped.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    tls: Option<TlsAcceptor>,
    cluster: Arc<Cluster>,
    stopped: watch::Receiver<bool>,
) {
    match tls {
        Some(acceptor) => {
            let Ok(Ok(tls_stream)) =
                tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            let client_cert = tls_stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| crate::pki::identity_from_cert(leaf.as_ref()).ok());
            let info = Arc::new(ConnectionInfo { client_cert, stopped });
            serve_http(TokioIo::new(tls_stream), cluster, info).await;
        }
        None => {
            let info = Arc::new(ConnectionInfo {
                client_cert: None,
                stopped,
            });
            serve_http(TokioIo::new(stream), cluster, info).await;
        }
    }
}

async fn serve_http<I>(io: I, cluster: Arc<Cluster>, info: Arc<ConnectionInfo>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    // hyper's header timeout also runs while a keep-alive connection waits for its next request: it is the
    // idle timeout too.
    let cluster_idle = cluster.options.idle_timeout;
    let service = service_fn(move |req| handler::handle(Arc::clone(&cluster), Arc::clone(&info), req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(cluster_idle)
        .serve_connection(io, service)
        .with_upgrades();
    // Connection errors (client went away, bad request line) end this connection only.
    let _ = conn.await;
}
