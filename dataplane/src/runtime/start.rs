//! Starting the data plane: listeners, one thread and monoio runtime per core, and the watcher thread.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use monoio::net::TcpListener;

use capsule_proxy_policy::ApiCredential;

use super::broadcast::{CoreBroadcast, Reloader};
use super::connection::accept_loop;
use super::core::{Core, CoreUpdate, apply_updates};
use super::error::StartError;
use super::sockets::{bind_listeners, resolve};
use super::watcher::{self, WatchedFiles};
use crate::config::{DataplaneConfig, Driver, DriverChoice};
use crate::context::Settings;
use crate::metrics::{CoreMetrics, CoreMetricsSnapshot};
use crate::tls_config;
use crate::upstream::{Pool, UpstreamTls};

/// io_uring submission queue entries per core.
const URING_ENTRIES: u32 = 1024;

/// The running data plane.
#[derive(Debug)]
pub struct Dataplane {
    local_addr: SocketAddr,
    driver: Driver,
    driver_fallback: bool,
    threads: Vec<JoinHandle<()>>,
    updates: CoreBroadcast,
    reload: Sender<()>,
}

impl Dataplane {
    /// Starts the cores and the watcher; returns once every core is accepting.
    pub fn start(config: DataplaneConfig) -> Result<Self, StartError> {
        // The watcher compares the files with exactly what the cores start with.
        let serving = match &config.tls {
            Some(tls) => Some((tls.clone(), tls_config::read_serving(tls)?)),
            None => None,
        };
        let server_tls = serving
            .as_ref()
            .map(|(tls, (cert, key))| tls_config::server_config_from_pem(tls, cert, key))
            .transpose()?;
        let upstream = &config.upstream;
        let upstream_tls = if upstream.https {
            Some(UpstreamTls {
                config: tls_config::client_config(upstream)?,
                server_name: tls_config::upstream_server_name(upstream)?,
            })
        } else {
            None
        };
        let token = proxy_token(&upstream.credential)?;
        let impersonation_needs_token = !matches!(upstream.credential, ApiCredential::ClientCert { .. });
        let addrs = resolve(&upstream.host, upstream.port)?;
        let listeners = bind_listeners(config.listen, config.cores.max(1), config.timeouts.stall)?;
        let local_addr = listeners[0].local_addr().map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;

        let (driver, driver_fallback) = choose_driver(config.driver)?;

        let (ready_tx, ready_rx) = mpsc::channel::<Result<Driver, String>>();
        let mut senders = Vec::with_capacity(listeners.len());
        let mut threads = Vec::with_capacity(listeners.len());
        for (id, listener) in listeners.into_iter().enumerate() {
            let (tx, rx) = crossbeam_channel::unbounded();
            senders.push(tx);
            let settings = Settings::new(
                config.limits,
                config.timeouts,
                config.auth.clone(),
                upstream.path_prefix.clone(),
                upstream.response_header_timeout,
                impersonation_needs_token,
                config.filter.clone(),
            );
            let parts = CoreParts {
                id,
                settings,
                server_tls: server_tls.clone(),
                token: token.clone(),
                addrs: addrs.clone(),
                upstream_tls: upstream_tls.clone(),
                pool_size: upstream.pool_size,
                idle_timeout: upstream.idle_timeout,
                connect_timeout: upstream.connect_timeout,
                handshake_timeout: upstream.tls_handshake_timeout,
            };
            let ready = ready_tx.clone();
            let allow_fallback = config.driver == DriverChoice::Auto;
            let thread = std::thread::Builder::new()
                .name(format!("core-{id}"))
                .spawn(move || run_core(driver, allow_fallback, parts, listener, rx, ready))
                .map_err(|e| StartError::Core {
                    core: id,
                    reason: e.to_string(),
                })?;
            threads.push(thread);
        }
        drop(ready_tx);
        let (driver, driver_fallback) = wait_ready(&ready_rx, threads.len(), driver, driver_fallback)?;

        let updates = CoreBroadcast::new(senders.clone());
        let (reload, reload_requests) = crossbeam_channel::unbounded();
        watcher::spawn(
            WatchedFiles {
                serving,
                token_file: match (&upstream.credential, &token) {
                    (ApiCredential::TokenFile(path), Some(token)) => Some((path.clone(), Arc::clone(token))),
                    _ => None,
                },
                upstream_host: (upstream.host.clone(), upstream.port),
            },
            senders,
            reload_requests,
        );
        Ok(Self {
            local_addr,
            driver,
            driver_fallback,
            threads,
            updates,
            reload,
        })
    }

    /// A handle that makes the watcher re-read the serving certificate and token files now (SIGHUP), instead of
    /// at its next poll.
    pub fn reloader(&self) -> Reloader {
        Reloader(self.reload.clone())
    }

    /// A handle that sends updates (new snapshots) to every core.
    pub fn broadcast(&self) -> CoreBroadcast {
        self.updates.clone()
    }

    /// The address the cores listen on (with the actual port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The driver the cores run.
    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// Whether io_uring was wanted but the cores fell back to epoll.
    pub fn driver_fallback(&self) -> bool {
        self.driver_fallback
    }

    /// Every core's metrics, summed; a core that does not answer within `timeout` counts with its last answer.
    pub fn scrape(&self, timeout: std::time::Duration) -> CoreMetricsSnapshot {
        self.updates.scrape(timeout)
    }

    /// Number of cores.
    pub fn cores(&self) -> usize {
        self.threads.len()
    }

    /// Blocks until every core thread has ended.
    pub fn wait(self) {
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

/// The proxy's bearer token at start: given, or read from its file.
fn proxy_token(credential: &ApiCredential) -> Result<Option<Arc<str>>, StartError> {
    Ok(match credential {
        ApiCredential::Token(token) => Some(Arc::from(token.as_str())),
        ApiCredential::TokenFile(path) => {
            Some(watcher::read_token(path).map_err(|reason| StartError::Token {
                path: path.display().to_string(),
                reason,
            })?)
        }
        ApiCredential::None | ApiCredential::ClientCert { .. } => None,
    })
}

/// The driver the cores start with, and whether it is a fallback from io_uring.
fn choose_driver(choice: DriverChoice) -> Result<(Driver, bool), StartError> {
    let uring = monoio::utils::detect_uring();
    match (choice, uring) {
        (DriverChoice::Legacy, _) => Ok((Driver::Legacy, false)),
        (DriverChoice::IoUring, false) => Err(StartError::IoUringUnavailable),
        (_, true) => Ok((Driver::IoUring, false)),
        (DriverChoice::Auto, false) => Ok((Driver::Legacy, true)),
    }
}

/// Waits until each of `cores` started (or one failed); the driver they run, and whether it is a fallback.
fn wait_ready(
    ready: &mpsc::Receiver<Result<Driver, String>>,
    cores: usize,
    mut driver: Driver,
    mut fallback: bool,
) -> Result<(Driver, bool), StartError> {
    for core in 0..cores {
        match ready.recv() {
            Ok(Ok(used)) => {
                if used != driver {
                    driver = used;
                    fallback = true;
                }
            }
            Ok(Err(reason)) => return Err(StartError::Core { core, reason }),
            Err(_) => {
                return Err(StartError::Core {
                    core,
                    reason: "exited during start".into(),
                });
            }
        }
    }
    Ok((driver, fallback))
}

/// What a core thread is started with (all `Send`).
struct CoreParts {
    id: usize,
    settings: Settings,
    server_tls: Option<Arc<rustls::ServerConfig>>,
    token: Option<Arc<str>>,
    addrs: Vec<SocketAddr>,
    upstream_tls: Option<UpstreamTls>,
    pool_size: usize,
    idle_timeout: std::time::Duration,
    connect_timeout: std::time::Duration,
    handshake_timeout: std::time::Duration,
}

fn run_core(
    driver: Driver,
    allow_fallback: bool,
    parts: CoreParts,
    listener: StdListener,
    updates: Receiver<CoreUpdate>,
    ready: mpsc::Sender<Result<Driver, String>>,
) {
    if driver == Driver::IoUring {
        // One thread submits to and reaps from each ring: the kernel may then run completion work at our next
        // io_uring_enter instead of interrupting the thread for it.
        let mut ring = io_uring::IoUring::builder();
        ring.setup_coop_taskrun().setup_single_issuer();
        match monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
            .enable_timer()
            .with_entries(URING_ENTRIES)
            .uring_builder(ring)
            .build()
        {
            Ok(mut runtime) => {
                runtime.block_on(core_main(Driver::IoUring, parts, listener, updates, ready));
                return;
            }
            Err(e) if !allow_fallback => {
                let _ = ready.send(Err(format!("starting io_uring: {e}")));
                return;
            }
            Err(e) => {
                tracing::warn!(core = parts.id, error = %e, "io_uring runtime failed to start; using epoll")
            }
        }
    }
    match monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .build()
    {
        Ok(mut runtime) => runtime.block_on(core_main(Driver::Legacy, parts, listener, updates, ready)),
        Err(e) => {
            let _ = ready.send(Err(format!("starting the epoll runtime: {e}")));
        }
    }
}

async fn core_main(
    driver: Driver,
    parts: CoreParts,
    listener: StdListener,
    updates: Receiver<CoreUpdate>,
    ready: mpsc::Sender<Result<Driver, String>>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            let _ = ready.send(Err(format!("registering the listener: {e}")));
            return;
        }
    };
    let core = Rc::new(Core {
        id: parts.id,
        settings: parts.settings,
        server_tls: std::cell::RefCell::new(parts.server_tls),
        token: std::cell::RefCell::new(parts.token),
        pool: Pool::new(
            parts.addrs,
            parts.upstream_tls,
            parts.pool_size,
            parts.idle_timeout,
            parts.connect_timeout,
            parts.handshake_timeout,
        ),
        snapshot: std::cell::RefCell::new(None),
        reviewer: std::cell::RefCell::new(None),
        tokens: Default::default(),
        reviews: Default::default(),
        metrics: CoreMetrics::new(driver),
        streams: Default::default(),
        draining: std::cell::Cell::new(None),
        accept_stop: Default::default(),
        burst_trim: Default::default(),
    });
    monoio::spawn(apply_updates(Rc::clone(&core), updates));
    tracing::debug!(core = core.id, driver = %driver, "core accepting");
    let _ = ready.send(Ok(driver));
    accept_loop(Rc::clone(&core), listener).await;
    drain(&core).await;
}

/// How often a shutting-down core looks whether its requests are done.
const DRAIN_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// After the accept loop ended (shutdown): waits until nothing is in flight and no stream is open, or the
/// deadline. Returning ends the core's runtime, which closes idle keep-alive connections and whatever is left.
async fn drain(core: &Core) {
    let Some(deadline) = core.draining.get() else {
        return;
    };
    loop {
        let busy = core.metrics.in_flight() + core.metrics.streams_open();
        if busy == 0 {
            tracing::info!(core = core.id, "drained");
            return;
        }
        if std::time::Instant::now() >= deadline {
            tracing::warn!(
                core = core.id,
                open = busy,
                "shutdown grace period over: closing what is left"
            );
            return;
        }
        monoio::time::sleep(DRAIN_POLL).await;
    }
}
