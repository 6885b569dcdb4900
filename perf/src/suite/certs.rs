//! The one serving certificate every proxy presents: EC P-256 (so ECDHE + AES-GCM), valid for 127.0.0.1 and
//! localhost, issued by a throw-away CA that the clients trust (a self-signed CA certificate served as the
//! end entity is refused by strict clients such as rustls).

use super::process::output;
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate, its key and the CA that issued it, PEM files.
#[derive(Debug, Clone)]
pub(crate) struct ServingCert {
    /// The serving certificate.
    pub(crate) cert: PathBuf,
    /// Its private key.
    pub(crate) key: PathBuf,
    /// The CA clients trust.
    pub(crate) ca: PathBuf,
}

/// The extensions of the serving certificate.
pub(crate) const EXTENSIONS: &str = "subjectAltName = IP:127.0.0.1, DNS:localhost\n\
    basicConstraints = critical, CA:FALSE\n\
    keyUsage = critical, digitalSignature\n\
    extendedKeyUsage = serverAuth\n";

fn p256_key_request(command: &mut Command) -> &mut Command {
    command.args([
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ])
}

/// Generates the CA and the serving certificate in `dir` with openssl.
pub(crate) fn generate(dir: &Path) -> Result<ServingCert> {
    let ca = dir.join("ca.crt");
    let ca_key = dir.join("ca.key");
    let cert = dir.join("tls.crt");
    let key = dir.join("tls.key");
    let csr = dir.join("tls.csr");
    let ext = dir.join("tls.ext");
    std::fs::write(&ext, EXTENSIONS)?;

    let mut command = Command::new("openssl");
    command.args(["req", "-x509"]);
    p256_key_request(&mut command)
        .args(["-days", "2", "-subj", "/CN=capsule-proxy-perf-ca", "-keyout"])
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca);
    output(command)?;

    let mut command = Command::new("openssl");
    command.arg("req");
    p256_key_request(&mut command)
        .args(["-subj", "/CN=capsule-proxy-perf", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&csr);
    output(command)?;

    let mut command = Command::new("openssl");
    command
        .args(["x509", "-req", "-days", "2", "-set_serial", "2", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert);
    output(command)?;
    // nginx and HAProxy read it before dropping privileges, but may run as another user; the directory is 0700.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644))?;
    Ok(ServingCert { cert, key, ca })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leaf_is_no_ca() {
        assert!(EXTENSIONS.contains("CA:FALSE"));
        assert!(EXTENSIONS.contains("IP:127.0.0.1"));
        assert!(EXTENSIONS.contains("serverAuth"));
    }
}
