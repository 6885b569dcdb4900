//! The rustls client configuration every subcommand connects with: the CA to trust (`--ca`), an optional
//! client certificate (`--cert`/`--key`), TLS 1.2 and 1.3 on the ring provider, ALPN `http/1.1`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

/// Builds the client configuration: trust exactly the certificates in `ca`, present `cert`/`key` if given.
pub(crate) fn client_config(ca: &Path, cert: Option<&Path>, key: Option<&Path>) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let cas =
        CertificateDer::pem_file_iter(ca).with_context(|| format!("reading CA file {}", ca.display()))?;
    for der in cas {
        let der = der.with_context(|| format!("parsing CA file {}", ca.display()))?;
        roots
            .add(der)
            .with_context(|| format!("CA certificate in {}", ca.display()))?;
    }
    if roots.is_empty() {
        bail!("no certificate in CA file {}", ca.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots);
    let mut config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .with_context(|| format!("reading client certificate {}", cert.display()))?
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("parsing client certificate {}", cert.display()))?;
            if chain.is_empty() {
                bail!("no certificate in {}", cert.display());
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("reading client key {}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .context("client certificate and key")?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => bail!("--cert and --key go together"),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
