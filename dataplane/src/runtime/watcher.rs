//! The watcher thread: notices rotated serving certificates and proxy tokens, and re-resolves the apiserver,
//! then pushes the change to every core. A failed reload keeps what the cores already have.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::broadcast::broadcast;
use super::core::CoreUpdate;
use super::sockets::resolve;
use crate::config::ServingTls;
use crate::tls_config;

/// How often watched files are checked.
const FILE_POLL: Duration = Duration::from_secs(1);
/// How often the apiserver's host name is resolved again.
const RESOLVE_EVERY: Duration = Duration::from_secs(30);

/// What the watcher looks after, with the contents the cores were started with (so a change between start and
/// the watcher's first look is still a change).
#[derive(Debug, Clone)]
pub struct WatchedFiles {
    /// The serving certificate and key, and the contents loaded at start.
    pub serving: Option<(ServingTls, ServingContents)>,
    /// The proxy's token file, and the token loaded at start.
    pub token_file: Option<(PathBuf, Arc<str>)>,
    /// The apiserver's host and port.
    pub upstream_host: (String, u16),
}

/// Reads a bearer token file: trimmed, non-empty.
pub fn read_token(path: &Path) -> Result<Arc<str>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() {
        return Err("the file is empty".into());
    }
    Ok(Arc::from(token))
}

/// Starts the watcher thread; it runs until the process ends.
pub fn spawn(files: WatchedFiles, senders: Vec<Sender<CoreUpdate>>, reload: Receiver<()>) {
    let spawned = std::thread::Builder::new()
        .name("watcher".into())
        .spawn(move || run(files, senders, reload));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the watcher thread: certificates and tokens will not be reloaded");
    }
}

fn run(files: WatchedFiles, senders: Vec<Sender<CoreUpdate>>, reload: Receiver<()>) {
    let mut serving_seen = files.serving.as_ref().map(|(_, loaded)| loaded.clone());
    let mut token_seen = files.token_file.as_ref().map(|(_, loaded)| Arc::clone(loaded));
    let (host, port) = &files.upstream_host;
    let resolves = host.parse::<std::net::IpAddr>().is_err();
    let mut addrs_seen: Option<Vec<SocketAddr>> = None;
    let mut last_resolve = Instant::now();
    loop {
        // A reload request (SIGHUP) checks at once; otherwise every FILE_POLL.
        match reload.recv_timeout(FILE_POLL) {
            Ok(()) => tracing::info!("reload requested: re-reading the serving certificate and token files"),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            // Nobody can ask any more: keep polling.
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => std::thread::sleep(FILE_POLL),
        }
        if let Some((tls, _)) = &files.serving {
            let contents = serving_contents(tls);
            if Some(&contents) != serving_seen.as_ref() {
                let loaded = tls_config::server_config_from_pem(tls, &contents.0, &contents.1);
                let description: Arc<str> = tls_config::describe_serving(tls, &contents.0).into();
                serving_seen = Some(contents);
                match loaded {
                    Ok(config) => {
                        // Each core logs "serving certificate reloaded" once it serves it.
                        tracing::debug!(cert = %description, "new serving certificate handed to the cores");
                        broadcast(&senders, &CoreUpdate::ServerTls { config, description });
                    }
                    Err(e) => tracing::error!(
                        cert = %tls.cert_path.display(),
                        key = %tls.key_path.display(),
                        error = %e,
                        "the serving certificate files changed but cannot be loaded; the previous certificate is still served"
                    ),
                }
            }
        }
        if let Some((path, _)) = &files.token_file {
            match read_token(path) {
                Ok(token) if Some(&token) != token_seen.as_ref() => {
                    token_seen = Some(Arc::clone(&token));
                    broadcast(&senders, &CoreUpdate::UpstreamToken(token));
                    tracing::info!(file = %path.display(), "proxy token reloaded");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "cannot read the proxy token; keeping the previous one")
                }
            }
        }
        if resolves && last_resolve.elapsed() >= RESOLVE_EVERY {
            last_resolve = Instant::now();
            match resolve(host, *port) {
                Ok(addrs) if Some(&addrs) != addrs_seen.as_ref() => {
                    addrs_seen = Some(addrs.clone());
                    broadcast(&senders, &CoreUpdate::UpstreamAddrs(addrs));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "keeping the previous API server addresses"),
            }
        }
    }
}

/// The bytes of the serving certificate and of its key.
pub type ServingContents = (Vec<u8>, Vec<u8>);

/// The bytes of the serving certificate and key (small files; comparing contents catches every rotation,
/// whatever the file system's timestamp granularity or symlink dance).
pub fn serving_contents(tls: &ServingTls) -> ServingContents {
    (
        std::fs::read(&tls.cert_path).unwrap_or_default(),
        std::fs::read(&tls.key_path).unwrap_or_default(),
    )
}
