//! rustls configurations: the listener's (serving certificate, optional client certificates) and the
//! upstream client's (apiserver CA, optional client certificate). The ring provider is passed explicitly
//! everywhere so no process-wide default is needed.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use capsule_proxy_policy::ApiCredential;

use crate::config::{ServingTls, UpstreamConfig};

/// ALPN protocols offered and accepted: HTTP/1.1 only (upgrades need it end to end).
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// A PEM file or blob could not be read or parsed.
    #[error("{what}: {reason}")]
    Pem {
        /// What was being read (a path or a description).
        what: String,
        /// What went wrong.
        reason: String,
    },
    /// rustls refused the material.
    #[error("{what}: {source}")]
    Rustls {
        /// What was being configured.
        what: &'static str,
        /// rustls' error.
        source: rustls::Error,
    },
    /// The client verifier could not be built.
    #[error("client CA: {0}")]
    ClientVerifier(String),
    /// The upstream name is not a valid TLS server name.
    #[error("upstream TLS server name {0:?} is not a valid DNS name or IP address")]
    ServerName(String),
    /// No CA to verify the apiserver with.
    #[error(
        "the kubeconfig gives no certificate-authority for an https server (set one, or insecure-skip-tls-verify)"
    )]
    NoUpstreamCa,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn pem_error(what: impl Into<String>, reason: impl ToString) -> TlsConfigError {
    TlsConfigError::Pem {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// A PEM parser error in words (the parser's own text prints marker lines as byte arrays).
fn pem_reason(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => {
            let kind = String::from_utf8_lossy(end_marker);
            format!("not valid PEM: the \"-----END {kind}-----\" line is missing")
        }
        Error::IllegalSectionStart { line } => {
            format!(
                "not valid PEM: bad section start {:?}",
                String::from_utf8_lossy(line)
            )
        }
        Error::NoItemsFound => "no PEM block of the expected kind".to_string(),
        other => format!("not valid PEM: {other}"),
    }
}

/// Names a serving certificate for logs: its file and the start of its SHA-256 fingerprint, so a log line can
/// be matched with the certificate a client was presented.
pub fn describe_serving(tls: &ServingTls, cert_pem: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let fingerprint = CertificateDer::pem_slice_iter(cert_pem)
        .next()
        .and_then(Result::ok)
        .map(|leaf| {
            Sha256::digest(leaf.as_ref())
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .unwrap_or_default();
    format!("{} (sha256 {fingerprint}…)", tls.cert_path.display())
}

/// Parses every certificate of a PEM bundle; an empty bundle is an error.
pub fn certs_from_pem(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(what, pem_reason(&e)))?;
    if certs.is_empty() {
        return Err(pem_error(what, "no CERTIFICATE block"));
    }
    Ok(certs)
}

fn key_from_pem(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| pem_error(what, pem_reason(&e)))
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|e| pem_error(path.display().to_string(), e))
}

fn roots_from_pem(pem: &[u8], what: &str) -> Result<RootCertStore, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certs_from_pem(pem, what)? {
        roots.add(cert).map_err(|source| TlsConfigError::Rustls {
            what: "CA certificate",
            source,
        })?;
    }
    Ok(roots)
}

/// The listener's config: serving certificate from `tls.cert_path`/`key_path` (read now), TLS 1.2+, ALPN
/// `http/1.1`, and client certificates requested but optional, verified against `tls.client_ca_pem`.
pub fn server_config(tls: &ServingTls) -> Result<Arc<ServerConfig>, TlsConfigError> {
    server_config_from_pem(tls, &read_file(&tls.cert_path)?, &read_file(&tls.key_path)?)
}

/// Reads the serving certificate and key files.
pub fn read_serving(tls: &ServingTls) -> Result<(Vec<u8>, Vec<u8>), TlsConfigError> {
    Ok((read_file(&tls.cert_path)?, read_file(&tls.key_path)?))
}

/// [`server_config`] from the already-read contents of `tls.cert_path` and `tls.key_path`.
pub fn server_config_from_pem(
    tls: &ServingTls,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let cert_what = tls.cert_path.display().to_string();
    let key_what = tls.key_path.display().to_string();
    let chain = certs_from_pem(cert_pem, &cert_what)?;
    let key = key_from_pem(key_pem, &key_what)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsConfigError::Rustls {
            what: "TLS versions",
            source,
        })?;
    let builder = match &tls.client_ca_pem {
        Some(ca) => {
            let roots = roots_from_pem(ca, "client CA")?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsConfigError::ClientVerifier(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|source| TlsConfigError::Rustls {
            what: "the serving certificate and key cannot be used",
            source,
        })?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// The upstream client's config: the apiserver CA (or no verification when the kubeconfig says so), the
/// proxy's client certificate when that is its credential, ALPN `http/1.1`.
pub fn client_config(upstream: &UpstreamConfig) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsConfigError::Rustls {
            what: "TLS versions",
            source,
        })?;
    let builder = if upstream.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(
                provider().signature_verification_algorithms,
            )))
    } else {
        let ca = upstream.ca_pem.as_deref().ok_or(TlsConfigError::NoUpstreamCa)?;
        builder.with_root_certificates(roots_from_pem(ca, "apiserver CA")?)
    };
    let mut config = match &upstream.credential {
        ApiCredential::ClientCert { cert_pem, key_pem } => builder
            .with_client_auth_cert(
                certs_from_pem(cert_pem, "proxy client certificate")?,
                key_from_pem(key_pem, "proxy client key")?,
            )
            .map_err(|source| TlsConfigError::Rustls {
                what: "proxy client certificate",
                source,
            })?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// The name the apiserver's certificate is verified against.
pub fn upstream_server_name(upstream: &UpstreamConfig) -> Result<ServerName<'static>, TlsConfigError> {
    let name = upstream.server_name.as_deref().unwrap_or(&upstream.host);
    ServerName::try_from(name.to_string()).map_err(|_| TlsConfigError::ServerName(name.to_string()))
}

/// Accepts any apiserver certificate (kubeconfig `insecure-skip-tls-verify: true`), still checking that
/// handshake signatures are valid.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving(dir: &Path) -> ServingTls {
        ServingTls {
            cert_path: dir.join("tls.crt"),
            key_path: dir.join("tls.key"),
            client_ca_pem: None,
        }
    }

    fn pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
    }

    #[test]
    fn bad_serving_files_are_refused_in_words() {
        let tls = serving(Path::new("/etc/capsule-proxy"));
        let (cert, key) = pair();
        let (other_cert, _) = pair();
        let truncated = &cert.as_bytes()[..cert.len() / 2];
        let cases: [(&[u8], &[u8], &str); 4] = [
            (
                b"garbage",
                key.as_bytes(),
                "/etc/capsule-proxy/tls.crt: no CERTIFICATE block",
            ),
            (
                truncated,
                key.as_bytes(),
                "not valid PEM: the \"-----END CERTIFICATE-----\" line is missing",
            ),
            (cert.as_bytes(), b"", "/etc/capsule-proxy/tls.key"),
            (
                other_cert.as_bytes(),
                key.as_bytes(),
                "the serving certificate and key cannot be used",
            ),
        ];
        for (cert_pem, key_pem, want) in cases {
            let Err(e) = server_config_from_pem(&tls, cert_pem, key_pem) else {
                panic!("accepted: {want}");
            };
            let text = e.to_string();
            assert!(text.contains(want), "{text:?} lacks {want:?}");
            assert!(!text.contains("[45, 45"), "no byte arrays: {text}");
        }
        assert!(server_config_from_pem(&tls, cert.as_bytes(), key.as_bytes()).is_ok());
    }

    #[test]
    fn a_serving_certificate_is_described_by_file_and_fingerprint() {
        let tls = serving(Path::new("/etc/capsule-proxy"));
        let (cert, _) = pair();
        let (other, _) = pair();
        let described = describe_serving(&tls, cert.as_bytes());
        assert!(
            described.starts_with("/etc/capsule-proxy/tls.crt (sha256 "),
            "{described}"
        );
        assert_eq!(
            described.len(),
            "/etc/capsule-proxy/tls.crt (sha256 ".len() + 16 + "…)".len()
        );
        assert_ne!(described, describe_serving(&tls, other.as_bytes()));
    }
}
