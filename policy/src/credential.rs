//! The proxy's own credential towards kube-apiserver, as the kubeconfig or the pod's service account gives it;
//! the data plane (impersonated requests) and the control plane (watches, reviews) both use it.

use std::fmt;
use std::path::PathBuf;

/// How the proxy authenticates to kube-apiserver.
#[derive(Clone, PartialEq, Eq)]
pub enum ApiCredential {
    /// No credential.
    None,
    /// A static bearer token.
    Token(String),
    /// A bearer token read from this file, re-read as it rotates (projected service-account tokens).
    TokenFile(PathBuf),
    /// A TLS client certificate.
    ClientCert {
        /// PEM certificate (chain).
        cert_pem: Vec<u8>,
        /// PEM private key.
        key_pem: Vec<u8>,
    },
}

impl fmt::Debug for ApiCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets.
        match self {
            Self::None => f.write_str("None"),
            Self::Token(_) => f.write_str("Token(<redacted>)"),
            Self::TokenFile(path) => f.debug_tuple("TokenFile").field(path).finish(),
            Self::ClientCert { .. } => f.write_str("ClientCert { <redacted> }"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let token = format!("{:?}", ApiCredential::Token("s3cret".into()));
        let cert = format!(
            "{:?}",
            ApiCredential::ClientCert {
                cert_pem: b"CERT".to_vec(),
                key_pem: b"s3cret".to_vec()
            }
        );
        assert!(
            !token.contains("s3cret") && !cert.contains("s3cret"),
            "{token} {cert}"
        );
    }
}
