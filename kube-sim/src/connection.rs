//! What the server knows about the connection a request came on.

use tokio::sync::watch;

/// What the server knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// (CN, O…) of the verified client certificate, if one was presented.
    pub client_cert: Option<(String, Vec<String>)>,
    /// Flips to `true` when the server stops; long-running responses end then.
    pub stopped: watch::Receiver<bool>,
}
