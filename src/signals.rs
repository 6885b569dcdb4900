//! Process signals: SIGTERM and SIGINT shut the proxy down gracefully (a second one ends it at once), SIGHUP
//! re-reads the serving certificate and token files. A small thread of its own waits for them.

use tokio::signal::unix::{SignalKind, signal};

/// What the signals do.
pub struct SignalActions {
    /// Called once, on the first SIGTERM or SIGINT.
    pub shutdown: Box<dyn FnOnce() + Send>,
    /// Called on every SIGHUP.
    pub reload: Box<dyn Fn() + Send>,
}

/// Why signals cannot be handled.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// The signal thread or its handlers could not be set up.
    #[error("handling signals: {0}")]
    Setup(String),
}

/// Starts the signal thread.
pub fn spawn(actions: SignalActions) -> Result<(), SignalError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SignalError::Setup(e.to_string()))?;
    // Handlers are installed before the thread starts, so a signal right after start is not lost.
    let (terminate, interrupt, hangup) = runtime
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
                signal(SignalKind::hangup())?,
            ))
        })
        .map_err(|e| SignalError::Setup(e.to_string()))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || runtime.block_on(wait(terminate, interrupt, hangup, actions)))
        .map_err(|e| SignalError::Setup(e.to_string()))?;
    Ok(())
}

async fn wait(
    mut terminate: tokio::signal::unix::Signal,
    mut interrupt: tokio::signal::unix::Signal,
    mut hangup: tokio::signal::unix::Signal,
    actions: SignalActions,
) {
    let SignalActions { shutdown, reload } = actions;
    let mut shutdown = Some(shutdown);
    loop {
        let stop = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading certificates");
                reload();
                continue;
            }
        };
        match shutdown.take() {
            Some(shutdown) => {
                tracing::info!(signal = stop, "shutting down gracefully");
                shutdown();
            }
            None => {
                // The log writes to stderr unbuffered: the line is out before the exit.
                tracing::warn!(signal = stop, "second signal: exiting now");
                std::process::exit(1);
            }
        }
    }
}
