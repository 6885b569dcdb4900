//! [`KubeSim`]: a running simulated API server, started in-process by tests or by the `kube-sim serve` command,
//! with handles to change objects, append logs, inject latency, break watches, stop and restart.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::cluster::{AuditEntry, Cluster, Options};
use crate::faults::WatchFault;
use crate::fixture::Fixture;
use crate::kubeconfig;
use crate::pki::Pki;
use crate::server::Server;
use crate::status::ApiError;

/// How to start a kube-sim.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Identities and objects to start from.
    pub fixture: Fixture,
    /// Listen address; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Where `ca.crt` and the kubeconfigs are written (and the CA is reused from).
    pub state_dir: PathBuf,
    /// Serve plain HTTP instead of HTTPS.
    pub plain_http: bool,
    /// Server tunables.
    pub options: Options,
}

impl SimConfig {
    /// HTTPS on a free loopback port, state in `state_dir`.
    pub fn new(fixture: Fixture, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            fixture,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: state_dir.into(),
            plain_http: false,
            options: Options::default(),
        }
    }
}

/// Why a kube-sim could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The fixture's objects could not be created.
    #[error("fixture object rejected: {0}")]
    Fixture(#[from] ApiError),
    /// Certificates could not be made or loaded.
    #[error(transparent)]
    Pki(#[from] crate::pki::PkiError),
    /// Kubeconfigs could not be written.
    #[error(transparent)]
    Kubeconfig(#[from] kubeconfig::KubeconfigError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// A running simulated kube-apiserver.
pub struct KubeSim {
    cluster: Arc<Cluster>,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    pki: Option<Pki>,
    state_dir: PathBuf,
    server: Option<Server>,
}

impl KubeSim {
    /// Seeds the cluster, writes `ca.crt` and kubeconfigs into the state dir, and starts serving.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let cluster = Arc::new(Cluster::new(&config.fixture, config.options.clone())?);
        let listener = bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: config.addr,
            source,
        })?;
        let (pki, tls) = if config.plain_http {
            (None, None)
        } else {
            let hosts: Vec<String> = ["127.0.0.1", "::1", "localhost", "kubernetes.default.svc"]
                .into_iter()
                .map(String::from)
                .chain(
                    (!addr.ip().is_loopback() && !addr.ip().is_unspecified()).then(|| addr.ip().to_string()),
                )
                .collect();
            let pki = Pki::load_or_generate(&config.state_dir, &hosts)?;
            let acceptor = TlsAcceptor::from(pki.server_config()?);
            (Some(pki), Some(acceptor))
        };
        let scheme = if config.plain_http { "http" } else { "https" };
        let url = format!("{scheme}://{}", display_addr(addr));
        kubeconfig::write_state_dir(&config.state_dir, &url, pki.as_ref(), &config.fixture.identities)?;
        let server = Server::start(listener, tls.clone(), Arc::clone(&cluster));
        Ok(Self {
            cluster,
            addr,
            tls,
            pki,
            state_dir: config.state_dir,
            server: Some(server),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server URL: `https://127.0.0.1:PORT` (or `http://` in plain mode).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", display_addr(self.addr))
    }

    /// The CA certificate (PEM), in HTTPS mode.
    pub fn ca_pem(&self) -> Option<&str> {
        self.pki.as_ref().map(Pki::ca_pem)
    }

    /// The certificate authority, in HTTPS mode (to issue more client certificates or build client configs).
    pub fn pki(&self) -> Option<&Pki> {
        self.pki.as_ref()
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The token kubeconfig of identity `name` (`<name>-cert` for the client-certificate one).
    pub fn kubeconfig(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.kubeconfig"))
    }

    /// The cluster state.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Creates or replaces an object (status kept as given), as a controller would.
    pub fn apply(&self, object: Value) -> Result<Arc<Value>, ApiError> {
        self.cluster.apply(object)
    }

    /// Deletes an object.
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        self.cluster.remove(api_version, kind, namespace, name)
    }

    /// Appends a line to a pod's log.
    pub fn append_log(&self, namespace: &str, pod: &str, line: &str) {
        self.cluster.logs.append(namespace, pod, "", line);
    }

    /// Adds `latency` before every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.cluster.set_latency(latency);
    }

    /// Breaks the watches of `resources` (qualified: `namespaces`, `tenants.capsule.clastix.io`; or of one
    /// namespace: `configmaps/oil-dev`): open ones end and new ones are answered with `fault`, while lists and
    /// gets are still served.
    pub fn break_watches(&self, resources: &[&str], fault: WatchFault) {
        self.cluster.watch_faults.break_watches(resources, fault);
    }

    /// Serves every watch again.
    pub fn heal_watches(&self) {
        self.cluster.watch_faults.heal();
    }

    /// Forgets the watch history: resuming from any earlier resourceVersion answers 410 Gone.
    pub fn compact(&self) {
        self.cluster.store.compact();
    }

    /// Every request served so far.
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.cluster.audit()
    }

    /// Whether it is serving.
    pub fn is_running(&self) -> bool {
        self.server.is_some()
    }

    /// Stops serving: every connection and stream is closed at once. The state is kept.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }

    /// Serves again on the same address with the same state, CA and kubeconfigs.
    pub async fn restart(&mut self) -> Result<(), SimError> {
        self.stop().await;
        let listener = bind(self.addr).await?;
        self.server = Some(Server::start(
            listener,
            self.tls.clone(),
            Arc::clone(&self.cluster),
        ));
        Ok(())
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })
}

fn display_addr(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}
