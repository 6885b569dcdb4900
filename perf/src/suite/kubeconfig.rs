//! The few fields the suite needs from the kubeconfigs kube-sim writes: the server, a user's token, and a user's
//! client certificate and key (written out as PEM files for the load generator).

use anyhow::{Context, Result};
use base64::Engine as _;
use std::path::{Path, PathBuf};

/// The value of the first `key: value` line of a kubeconfig (leading spaces and a `- ` ignored).
pub(crate) fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim_start().trim_start_matches("- ");
        let value = line.strip_prefix(key)?.strip_prefix(':')?.trim();
        (!value.is_empty()).then(|| value.trim_matches('"').to_owned())
    })
}

/// Reads a kubeconfig of kube-sim's state directory.
pub(crate) fn read(state_dir: &Path, identity: &str) -> Result<String> {
    let path = state_dir.join(format!("{identity}.kubeconfig"));
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// The bearer token of `identity`'s kubeconfig.
pub(crate) fn token(state_dir: &Path, identity: &str) -> Result<String> {
    field(&read(state_dir, identity)?, "token").with_context(|| format!("{identity}.kubeconfig has no token"))
}

/// Writes the client certificate and key of `identity`'s kubeconfig to `dir` and returns their paths.
pub(crate) fn client_cert(state_dir: &Path, identity: &str, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let text = read(state_dir, identity)?;
    let decode = |key: &str| -> Result<Vec<u8>> {
        let data = field(&text, key).with_context(|| format!("{identity}.kubeconfig has no {key}"))?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .with_context(|| format!("{identity}.kubeconfig: {key} is not base64"))
    };
    let cert = dir.join(format!("{identity}.crt"));
    let key = dir.join(format!("{identity}.key"));
    std::fs::write(&cert, decode("client-certificate-data")?)?;
    std::fs::write(&key, decode("client-key-data")?)?;
    Ok((cert, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QUJD\n    \
        server: https://127.0.0.1:6443\n  name: kube-sim\nusers:\n- name: alice\n  user:\n    token: alice-token\n";

    #[test]
    fn fields() {
        assert_eq!(field(KUBECONFIG, "token").as_deref(), Some("alice-token"));
        assert_eq!(
            field(KUBECONFIG, "server").as_deref(),
            Some("https://127.0.0.1:6443")
        );
        assert_eq!(field(KUBECONFIG, "name").as_deref(), Some("kube-sim"));
        assert_eq!(field(KUBECONFIG, "client-key-data"), None);
    }
}
