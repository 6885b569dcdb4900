//! The one serving certificate every proxy presents: self-signed EC P-256 (so ECDHE + AES-GCM), valid for
//! 127.0.0.1 and localhost.

use super::process::output;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate and its key, PEM files.
#[derive(Debug, Clone)]
pub(crate) struct ServingCert {
    /// The certificate, also the CA clients trust.
    pub(crate) cert: PathBuf,
    /// Its private key.
    pub(crate) key: PathBuf,
}

/// Generates the certificate in `dir` with openssl.
pub(crate) fn generate(dir: &Path) -> Result<ServingCert> {
    let cert = dir.join("tls.crt");
    let key = dir.join("tls.key");
    let mut command = Command::new("openssl");
    command
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=capsule-proxy-perf"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert);
    output(command)?;
    // nginx and HAProxy read it before dropping privileges, but may run as another user; the directory is 0700.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644))?;
    Ok(ServingCert { cert, key })
}
