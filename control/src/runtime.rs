//! Starting the control thread: a tokio runtime of its own, the kube client, the watches, API discovery, the
//! index task that publishes snapshots, and the identity service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use capsule_proxy_policy::ApiCredential;
use capsule_proxy_policy::cluster_objects::ObjectKind;
use capsule_proxy_policy::index::Index;
use capsule_proxy_policy::review::Reviewer;
use capsule_proxy_policy::snapshot::Snapshot;
use kube::config::{
    AuthInfo, Cluster, Context, ExecConfig, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use kube::{Api, Client, Config, ResourceExt};
use tokio::sync::mpsc;

use crate::crds::{CapsuleConfiguration, GlobalProxySettings, ProxySetting, Tenant};
use crate::exec_credential::{self, ExecToken};
use crate::identity::{self, IdentityCacheConfig, IdentityClient, IdentityStats};
use crate::index_events::{GATES, Gates, IndexEvent, ROLE_BINDINGS, apply};
use crate::status::ControlStatus;
use crate::watches::{self, WatchSpec};
use crate::{discovery, objects, probes, setting_status, translate};
use k8s_openapi::api::rbac::v1::RoleBinding;

/// How the control plane reaches kube-apiserver (the proxy's own identity).
#[derive(Clone)]
pub struct ClusterConnection {
    /// The API server URL (`https://host:port[/prefix]`).
    pub server_url: String,
    /// PEM CA bundle of the API server.
    pub ca_pem: Option<Vec<u8>>,
    /// Skip certificate verification.
    pub insecure_skip_verify: bool,
    /// Name to verify the server certificate against, instead of the URL's host.
    pub tls_server_name: Option<String>,
    /// The proxy's credential.
    pub credential: ApiCredential,
    /// An exec credential plugin to authenticate with instead of `credential`; kube-rs runs it and refreshes the
    /// token before it expires.
    pub exec: Option<ExecConfig>,
}

impl std::fmt::Debug for ClusterConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConnection")
            .field("server_url", &self.server_url)
            .finish_non_exhaustive()
    }
}

/// What the control plane watches and how it caches.
#[derive(Debug, Clone)]
pub struct ControlOptions {
    /// Where `/healthz` and `/readyz` are served (`--health-probe-addr`); `None` serves no probes.
    pub probe_addr: Option<SocketAddr>,
    /// The CapsuleConfiguration to read (`--capsule-configuration-name`).
    pub capsule_configuration_name: String,
    /// Identity cache lifetimes and size.
    pub identity: IdentityCacheConfig,
    /// The RoleBinding reflector (`--enable-reflector`): RoleBindings are watched, and a namespace where the
    /// caller is one of their subjects is in the caller's namespace list.
    pub reflector: bool,
}

/// Why the control plane did not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The kube client could not be configured.
    #[error("configuring the Kubernetes client: {0}")]
    Client(String),
    /// The control thread could not be started.
    #[error("starting the control thread: {0}")]
    Thread(String),
    /// The probe listener could not be bound.
    #[error("listening for health probes on {addr}: {source}")]
    Probes {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// The running control plane.
#[derive(Debug)]
pub struct Control {
    status: Arc<ControlStatus>,
    identity: IdentityClient,
    identity_stats: Arc<std::sync::Mutex<IdentityStats>>,
    probe_addr: Option<SocketAddr>,
    /// The control thread's runtime, for tasks started after it (the exec credential refresher).
    runtime: tokio::runtime::Handle,
    _thread: JoinHandle<()>,
}

impl Control {
    /// Starts the control thread; `publish` receives every new snapshot (the first once all watches have
    /// listed, then one per change). Returns once the kube client is configured.
    pub fn start(
        connection: ClusterConnection,
        options: ControlOptions,
        publish: impl Fn(Arc<Snapshot>) + Send + 'static,
    ) -> Result<Self, ControlError> {
        let status = Arc::new(ControlStatus::default());
        // Bound here so a taken port fails the start with a clear error.
        let probes = match options.probe_addr {
            Some(addr) => {
                let listener = std::net::TcpListener::bind(addr)
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                    .map_err(|source| ControlError::Probes { addr, source })?;
                Some(listener)
            }
            None => None,
        };
        let probe_addr = probes.as_ref().and_then(|l| l.local_addr().ok());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread_status = Arc::clone(&status);
        let thread = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(ControlError::Thread(e.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let client = match client(&connection).await {
                        Ok(client) => client,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    if let Some(listener) = probes {
                        match tokio::net::TcpListener::from_std(listener) {
                            Ok(listener) => {
                                tokio::spawn(probes::serve(listener, Arc::clone(&thread_status)));
                            }
                            Err(e) => {
                                let _ = ready_tx.send(Err(ControlError::Thread(e.to_string())));
                                return;
                            }
                        }
                    }
                    let (identity, stats) = identity::spawn(client.clone(), options.identity);
                    let _ = ready_tx.send(Ok((identity, stats, tokio::runtime::Handle::current())));
                    run(client, options, thread_status, publish).await;
                });
            })
            .map_err(|e| ControlError::Thread(e.to_string()))?;
        let (identity, identity_stats, runtime) = ready_rx
            .recv()
            .map_err(|_| ControlError::Thread("the control thread exited during start".into()))??;
        Ok(Self {
            status,
            identity,
            identity_stats,
            probe_addr,
            runtime,
            _thread: thread,
        })
    }

    /// Runs the exec credential plugin `exec` again before each token expires, starting from the `first`
    /// token the binary got at start, and hands every new token to `push` (the cores, as a rotated token file
    /// does).
    pub fn refresh_exec_credential(
        &self,
        exec: ExecConfig,
        first: ExecToken,
        push: impl Fn(Arc<str>) + Send + 'static,
    ) {
        self.runtime.spawn(exec_credential::refresh(exec, first, push));
    }

    /// Where the health probes are served (with the actual port when port 0 was asked for).
    pub fn probe_addr(&self) -> Option<SocketAddr> {
        self.probe_addr
    }

    /// Synced flag, generation, each watch's health, the snapshot's staleness, watch restarts, readiness.
    pub fn status(&self) -> &Arc<ControlStatus> {
        &self.status
    }

    /// The identity service's client.
    pub fn identity(&self) -> &IdentityClient {
        &self.identity
    }

    /// The identity service as the data plane's [`Reviewer`] (token and access reviews, object labels).
    pub fn reviewer(&self) -> Arc<dyn Reviewer> {
        Arc::new(self.identity.clone())
    }

    /// The identity service's counters.
    pub fn identity_stats(&self) -> IdentityStats {
        self.identity_stats.lock().map(|s| *s).unwrap_or_default()
    }
}

async fn client(connection: &ClusterConnection) -> Result<Client, ControlError> {
    let mut auth = AuthInfo {
        exec: connection.exec.clone(),
        ..AuthInfo::default()
    };
    match &connection.credential {
        ApiCredential::None => {}
        ApiCredential::Token(token) => auth.token = Some(token.clone().into()),
        ApiCredential::TokenFile(path) => auth.token_file = Some(path.display().to_string()),
        ApiCredential::ClientCert { cert_pem, key_pem } => {
            auth.client_certificate_data = Some(STANDARD.encode(cert_pem));
            auth.client_key_data = Some(STANDARD.encode(key_pem).into());
        }
    }
    let kubeconfig = Kubeconfig {
        clusters: vec![NamedCluster {
            name: "upstream".into(),
            cluster: Some(Cluster {
                server: Some(connection.server_url.clone()),
                certificate_authority_data: connection.ca_pem.as_ref().map(|pem| STANDARD.encode(pem)),
                insecure_skip_tls_verify: Some(connection.insecure_skip_verify),
                tls_server_name: connection.tls_server_name.clone(),
                ..Default::default()
            }),
            other: Default::default(),
        }],
        auth_infos: vec![NamedAuthInfo {
            name: "capsule-proxy".into(),
            auth_info: Some(auth),
            other: Default::default(),
        }],
        contexts: vec![NamedContext {
            name: "capsule-proxy".into(),
            context: Some(Context {
                cluster: "upstream".into(),
                user: Some("capsule-proxy".into()),
                ..Default::default()
            }),
            other: Default::default(),
        }],
        current_context: Some("capsule-proxy".into()),
        ..Default::default()
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| ControlError::Client(e.to_string()))?;
    // No retry inside the client: its default (15 attempts, up to 1000 s apart, honouring Retry-After) would
    // hide a watch answered 429 or 503 for minutes, with nothing counted or logged. Every caller retries on its
    // own terms: the watches with their backoff (`watches`), discovery with its own, reviews once (`reviews`).
    config.default_retry = false;
    Client::try_from(config).map_err(|e| ControlError::Client(e.to_string()))
}

/// After a change, wait this long for more before building (a relist arrives as many events).
const DEBOUNCE: Duration = Duration::from_millis(50);

async fn run(
    client: Client,
    options: ControlOptions,
    status: Arc<ControlStatus>,
    publish: impl Fn(Arc<Snapshot>),
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_watch(
        WatchSpec {
            api: Api::<Tenant>::all(client.clone()),
            field_selector: None,
            record: translate::tenant,
            key: |t: &Tenant| t.name_any(),
            event: |change| IndexEvent::Tenants(Box::new(change)),
        },
        &tx,
        &status,
    );
    spawn_watch(
        WatchSpec {
            api: Api::<ProxySetting>::all(client.clone()),
            field_selector: None,
            record: translate::proxy_setting,
            key: |p: &ProxySetting| (p.namespace().unwrap_or_default(), p.name_any()),
            event: IndexEvent::ProxySettings,
        },
        &tx,
        &status,
    );
    spawn_watch(
        WatchSpec {
            api: Api::<GlobalProxySettings>::all(client.clone()),
            field_selector: None,
            record: translate::global_proxy_settings,
            key: |g: &GlobalProxySettings| g.name_any(),
            event: IndexEvent::Globals,
        },
        &tx,
        &status,
    );
    spawn_watch(
        WatchSpec {
            api: Api::<CapsuleConfiguration>::all(client.clone()),
            field_selector: Some(format!("metadata.name={}", options.capsule_configuration_name)),
            record: translate::capsule_configuration,
            key: |c: &CapsuleConfiguration| c.name_any(),
            event: IndexEvent::Configuration,
        },
        &tx,
        &status,
    );
    if options.reflector {
        spawn_watch(
            WatchSpec {
                api: Api::<RoleBinding>::all(client.clone()),
                field_selector: None,
                record: translate::role_binding,
                key: |b: &RoleBinding| (b.namespace().unwrap_or_default(), b.name_any()),
                event: IndexEvent::RoleBindings,
            },
            &tx,
            &status,
        );
    }
    objects::spawn_all(&client, &tx, &status);
    tokio::spawn(discovery::run(
        client.clone(),
        IndexEvent::ApiResources,
        tx.clone(),
        Arc::clone(&status),
    ));
    drop(tx);

    // ProxySetting and GlobalProxySettings status, written from what the watches report.
    let (reports, report_rx) = mpsc::unbounded_channel();
    tokio::spawn(setting_status::run(client.clone(), report_rx));

    let mut index = Index::default();
    let mut synced: Gates = [false; GATES];
    // Without the reflector there are no RoleBindings to wait for.
    synced[ROLE_BINDINGS] = !options.reflector;
    let mut generation = 0;
    while let Some(first) = rx.recv().await {
        apply(
            &mut index,
            &mut synced,
            first,
            &options.capsule_configuration_name,
            &reports,
        );
        // Take everything that arrives together before building once.
        loop {
            match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                Ok(Some(event)) => apply(
                    &mut index,
                    &mut synced,
                    event,
                    &options.capsule_configuration_name,
                    &reports,
                ),
                Ok(None) => return,
                Err(_) => break,
            }
        }
        if !synced.iter().all(|s| *s) {
            continue;
        }
        // The first snapshot goes out whatever it holds; later ones only when something changed.
        if !index.take_changed() && generation > 0 {
            continue;
        }
        generation += 1;
        let snapshot = Arc::new(index.snapshot(generation));
        publish(Arc::clone(&snapshot));
        status.published(generation);
        let counts = index.counts();
        tracing::info!(
            generation,
            tenants = counts.tenants,
            proxy_settings = counts.proxy_settings,
            global_proxy_settings = counts.global_proxy_settings,
            namespaces = snapshot
                .cluster_objects()
                .of_kind(ObjectKind::Namespaces)
                .map_or(0, |n| n.len()),
            api_resources = snapshot.api_resources().iter().len(),
            "ownership snapshot published"
        );
    }
}

fn spawn_watch<K, R, Key>(
    spec: WatchSpec<K, R, Key, IndexEvent>,
    tx: &mpsc::UnboundedSender<IndexEvent>,
    status: &Arc<ControlStatus>,
) where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default,
    R: Send + 'static,
    Key: Send + 'static,
{
    tokio::spawn(watches::run(spec, tx.clone(), Arc::clone(status)));
}
