//! kube-sim's own PKI: a CA, the serving certificate, client certificates and the rustls configurations.
//!
//! ```text
//!  ca.crt/ca.key (kube-sim-ca, 10y) ──signs──▶ server cert (CN=kube-sim, SANs = hosts, 1y, reissued at start)
//!                                    ──signs──▶ client certs (CN=user, one O per group, 1y)
//! ```
//!
//! The CA is self-signed with rcgen. Leaf certificates are assembled here with yasna and signed with the CA
//! key, because kube-apiserver's x509 authenticator reads groups from *repeated* `O` attributes, which
//! rcgen's `DistinguishedName` (one value per attribute type) cannot express. The leaf issuer is the CA
//! subject copied byte for byte, so a CA loaded from disk chains no matter how its name is encoded.
//!
//! Client certificates are optional on the TLS layer and verified against the CA when presented;
//! [`identity_from_cert`] then reads the username and groups of the verified peer certificate.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    PublicKeyData, SerialNumber, SigningKey,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use x509_parser::extensions::ParsedExtension;
use yasna::models::{GeneralizedTime, ObjectIdentifier, UTCTime};
use yasna::{DERWriter, Tag};

/// File name of the CA certificate in a state directory.
pub const CA_CERT_FILE: &str = "ca.crt";
/// File name of the CA private key in a state directory.
pub const CA_KEY_FILE: &str = "ca.key";
/// Subject common name of a generated CA.
pub const CA_COMMON_NAME: &str = "kube-sim-ca";
/// Subject common name of the serving certificate.
pub const SERVER_COMMON_NAME: &str = "kube-sim";

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const CA_VALIDITY: Duration = Duration::from_secs(3650 * 24 * 60 * 60);
const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Certificates start to be valid a little in the past, to tolerate clock skew between processes.
const BACKDATE: Duration = Duration::from_secs(5 * 60);
const ALPN_HTTP11: &[u8] = b"http/1.1";

const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
const OID_ORGANIZATION: &[u64] = &[2, 5, 4, 10];
const OID_SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];
const OID_CLIENT_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 2];

/// Why a certificate could not be made, loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen failed to generate a key or the CA certificate, or the CA key failed to sign.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// The system random number generator failed.
    #[error("cannot get random bytes for a certificate serial number")]
    Random,
    /// The system clock is unusable for certificate validity periods.
    #[error("cannot compute certificate validity: {0}")]
    Clock(String),
    /// A host for the serving certificate is neither an IP address nor an ASCII DNS name.
    #[error("invalid host {0:?} for the server certificate")]
    InvalidHost(String),
    /// A client certificate was requested with an empty common name (kube-apiserver ignores such certs).
    #[error("a client certificate needs a non-empty common name (username)")]
    EmptyCommonName,
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "write", "create directory").
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// PEM text does not contain what it should.
    #[error("invalid PEM {what}: {reason}")]
    Pem {
        /// Which PEM input ("CA certificate", "client certificate", ...).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A certificate could not be parsed as X.509, or lacks a readable subject.
    #[error("invalid certificate: {0}")]
    Certificate(String),
    /// A CA certificate or key is not usable as kube-sim's CA.
    #[error("unusable CA: {0}")]
    InvalidCa(String),
    /// `ca.crt`/`ca.key` in a state directory exist but cannot be used (they are never overwritten).
    #[error("CA files in {} cannot be reused: {source}", dir.display())]
    StoredCa {
        /// The state directory.
        dir: PathBuf,
        /// What is wrong.
        source: Box<PkiError>,
    },
    /// A client certificate has no (or an empty) subject common name.
    #[error("client certificate has no subject common name")]
    NoCommonName,
    /// rustls rejected the configuration (certificate, key or protocol versions).
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// A signature algorithm kube-sim can sign leaf certificates with: rcgen's key algorithm and the X.509
/// `AlgorithmIdentifier` it produces.
struct SignatureAlgorithm {
    key: &'static rcgen::SignatureAlgorithm,
    oid: &'static [u64],
    /// RSA identifiers carry explicit NULL parameters; ECDSA and EdDSA ones have none.
    null_parameters: bool,
}

static SIGNATURE_ALGORITHMS: [SignatureAlgorithm; 6] = [
    SignatureAlgorithm {
        key: &rcgen::PKCS_ECDSA_P256_SHA256,
        oid: &[1, 2, 840, 10045, 4, 3, 2],
        null_parameters: false,
    },
    SignatureAlgorithm {
        key: &rcgen::PKCS_ECDSA_P384_SHA384,
        oid: &[1, 2, 840, 10045, 4, 3, 3],
        null_parameters: false,
    },
    SignatureAlgorithm {
        key: &rcgen::PKCS_ED25519,
        oid: &[1, 3, 101, 112],
        null_parameters: false,
    },
    SignatureAlgorithm {
        key: &rcgen::PKCS_RSA_SHA256,
        oid: &[1, 2, 840, 113549, 1, 1, 11],
        null_parameters: true,
    },
    SignatureAlgorithm {
        key: &rcgen::PKCS_RSA_SHA384,
        oid: &[1, 2, 840, 113549, 1, 1, 12],
        null_parameters: true,
    },
    SignatureAlgorithm {
        key: &rcgen::PKCS_RSA_SHA512,
        oid: &[1, 2, 840, 113549, 1, 1, 13],
        null_parameters: true,
    },
];

impl SignatureAlgorithm {
    fn of(key: &KeyPair) -> Result<&'static Self, PkiError> {
        SIGNATURE_ALGORITHMS
            .iter()
            .find(|alg| alg.key == key.algorithm())
            .ok_or_else(|| PkiError::InvalidCa(format!("unsupported key algorithm {:?}", key.algorithm())))
    }

    fn write(&self, writer: DERWriter<'_>) {
        writer.write_sequence(|w| {
            w.next().write_oid(&ObjectIdentifier::from_slice(self.oid));
            if self.null_parameters {
                w.next().write_null();
            }
        });
    }
}

/// A subject alternative name of the serving certificate.
enum AltName {
    Dns(String),
    Ip(IpAddr),
}

impl AltName {
    fn parse(host: &str) -> Result<Self, PkiError> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        let valid = !host.is_empty()
            && host.is_ascii()
            && !host.starts_with('.')
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.*_".contains(&b));
        if valid {
            Ok(Self::Dns(host.to_owned()))
        } else {
            Err(PkiError::InvalidHost(host.to_owned()))
        }
    }
}

/// What varies between the leaf certificates kube-sim issues.
struct LeafSpec<'a> {
    common_name: &'a str,
    organizations: &'a [String],
    alt_names: &'a [AltName],
    extended_key_usage: &'static [u64],
}

/// An ASN.1 `Time`: UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
enum Asn1Time {
    Utc(UTCTime),
    Generalized(GeneralizedTime),
}

impl Asn1Time {
    /// The time `offset` after 1970-01-01T00:00:00Z, truncated to whole seconds.
    fn at(offset: Duration) -> Result<Self, PkiError> {
        let when = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(offset.as_secs());
        UTCTime::from_datetime_opt(when)
            .map(Self::Utc)
            .or_else(|| GeneralizedTime::from_datetime_opt(when).map(Self::Generalized))
            .ok_or_else(|| {
                PkiError::Clock(format!("{}s after the epoch cannot be encoded", offset.as_secs()))
            })
    }

    fn write(&self, writer: DERWriter<'_>) {
        match self {
            Self::Utc(t) => writer.write_utctime(t),
            Self::Generalized(t) => writer.write_generalized_time(t),
        }
    }
}

/// A CA certificate with its signing key.
struct Ca {
    pem: String,
    der: CertificateDer<'static>,
    key: KeyPair,
    /// The subject `Name`, DER, exactly as in the certificate.
    subject: Vec<u8>,
    /// The subject key identifier, echoed as the leafs' authority key identifier.
    key_id: Option<Vec<u8>>,
    signature_algorithm: &'static SignatureAlgorithm,
}

/// kube-sim's CA (which can sign) and its current serving certificate.
pub struct Pki {
    ca: Ca,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

impl fmt::Debug for Pki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pki")
            .field("ca_pem", &self.ca.pem)
            .field("server_chain_len", &self.server_chain.len())
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// New CA ("kube-sim-ca") and a server certificate for `hosts` (IPs become IP SANs, names DNS SANs).
    pub fn generate(hosts: &[String]) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, CA_COMMON_NAME);
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(SerialNumber::from_slice(&random_serial()?));
        let now = since_epoch()?;
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + Duration::from_secs(now.saturating_sub(BACKDATE).as_secs());
        params.not_after = epoch + Duration::from_secs((now + CA_VALIDITY).as_secs());
        let cert = params.self_signed(&key)?;
        Self::from_ca(cert.pem(), key, hosts)
    }

    /// Reuse `dir/ca.crt` + `dir/ca.key` when both exist (so kubeconfigs stay valid across restarts), else
    /// generate and write them (key file mode 0600). Server cert is (re)issued each time from the CA.
    ///
    /// Existing CA files that cannot be used are an error, never silently replaced.
    pub fn load_or_generate(dir: &Path, hosts: &[String]) -> Result<Self, PkiError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        if cert_path.exists() && key_path.exists() {
            let cert_pem = read_to_string(&cert_path)?;
            let key_pem = read_to_string(&key_path)?;
            let stored = |source: PkiError| PkiError::StoredCa {
                dir: dir.to_path_buf(),
                source: Box::new(source),
            };
            let key = KeyPair::from_pem(&key_pem).map_err(|e| stored(PkiError::Generate(e)))?;
            return Self::from_ca(cert_pem, key, hosts).map_err(stored);
        }
        let pki = Self::generate(hosts)?;
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            action: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        for (path, contents, mode) in [
            (&key_path, pki.ca.key.serialize_pem(), 0o600),
            (&cert_path, pki.ca.pem.clone(), 0o644),
        ] {
            write_file(path, contents.as_bytes(), mode).map_err(|source| PkiError::Io {
                action: "write",
                path: path.clone(),
                source,
            })?;
        }
        Ok(pki)
    }

    /// Builds the PKI from a CA certificate (PEM, exactly one) and its key, and issues a server certificate.
    fn from_ca(ca_pem: String, ca_key: KeyPair, hosts: &[String]) -> Result<Self, PkiError> {
        let ca = Ca::new(ca_pem, ca_key)?;
        let alt_names = hosts
            .iter()
            .map(|h| AltName::parse(h))
            .collect::<Result<Vec<_>, _>>()?;
        let (server_cert, server_key) = ca.issue_leaf(&LeafSpec {
            common_name: SERVER_COMMON_NAME,
            organizations: &[],
            alt_names: &alt_names,
            extended_key_usage: OID_SERVER_AUTH,
        })?;
        Ok(Self {
            ca,
            server_chain: vec![server_cert],
            server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca.pem
    }

    /// The serving certificate chain (leaf first), DER.
    pub fn server_chain(&self) -> &[CertificateDer<'static>] {
        &self.server_chain
    }

    /// Client certificate signed by the CA: CN = common_name, one O per group; returns (cert PEM, key PEM).
    pub fn issue_client_cert(
        &self,
        common_name: &str,
        groups: &[String],
    ) -> Result<(String, String), PkiError> {
        if common_name.is_empty() {
            return Err(PkiError::EmptyCommonName);
        }
        let (cert, key) = self.ca.issue_leaf(&LeafSpec {
            common_name,
            organizations: groups,
            alt_names: &[],
            extended_key_usage: OID_CLIENT_AUTH,
        })?;
        Ok((pem_encode("CERTIFICATE", &cert), key.serialize_pem()))
    }

    /// rustls server config: TLS 1.2+1.3, ALPN ["http/1.1"], the server cert; client certificates OPTIONAL
    /// but verified against the CA when presented (WebPkiClientVerifier with allow_unauthenticated).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, PkiError> {
        let provider = provider();
        let verifier = WebPkiClientVerifier::builder_with_provider(self.roots()?, Arc::clone(&provider))
            .allow_unauthenticated()
            .build()?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())?;
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(Arc::new(config))
    }

    /// rustls client config trusting only this CA, ALPN http/1.1, optional client cert `(cert PEM, key PEM)`
    /// (for tests and tools).
    pub fn client_config(&self, client_cert: Option<(&str, &str)>) -> Result<Arc<ClientConfig>, PkiError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(self.roots()?);
        let mut config = match client_cert {
            None => builder.with_no_client_auth(),
            Some((cert_pem, key_pem)) => {
                let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| PkiError::Pem {
                        what: "client certificate",
                        reason: e.to_string(),
                    })?;
                if chain.is_empty() {
                    return Err(PkiError::Pem {
                        what: "client certificate",
                        reason: "no certificate".into(),
                    });
                }
                let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| PkiError::Pem {
                    what: "client key",
                    reason: e.to_string(),
                })?;
                builder.with_client_auth_cert(chain, key)?
            }
        };
        config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
        Ok(Arc::new(config))
    }

    fn roots(&self) -> Result<Arc<RootCertStore>, PkiError> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der.clone())?;
        Ok(Arc::new(roots))
    }
}

impl Ca {
    /// Parses and checks a CA certificate (PEM, exactly one certificate) against its key.
    fn new(pem: String, key: KeyPair) -> Result<Self, PkiError> {
        let mut certs = CertificateDer::pem_slice_iter(pem.as_bytes());
        let der = match (certs.next(), certs.next()) {
            (Some(Ok(der)), None) => der,
            (Some(Err(e)), _) => {
                return Err(PkiError::Pem {
                    what: "CA certificate",
                    reason: e.to_string(),
                });
            }
            (None, _) => {
                return Err(PkiError::Pem {
                    what: "CA certificate",
                    reason: "no certificate".into(),
                });
            }
            (Some(Ok(_)), Some(_)) => {
                return Err(PkiError::Pem {
                    what: "CA certificate",
                    reason: "more than one certificate".into(),
                });
            }
        };
        let (subject, key_id) = {
            let cert = parse_certificate(&der)?;
            if !cert.is_ca() {
                return Err(PkiError::InvalidCa(
                    "the certificate is not a CA (basicConstraints cA)".into(),
                ));
            }
            if cert.public_key().raw != key.subject_public_key_info().as_slice() {
                return Err(PkiError::InvalidCa(
                    "the private key does not match the certificate".into(),
                ));
            }
            let key_id = cert
                .iter_extensions()
                .find_map(|ext| match ext.parsed_extension() {
                    ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                    _ => None,
                });
            (cert.subject().as_raw().to_vec(), key_id)
        };
        let signature_algorithm = SignatureAlgorithm::of(&key)?;
        Ok(Self {
            pem,
            der,
            key,
            subject,
            key_id,
            signature_algorithm,
        })
    }

    /// Issues a leaf certificate with a fresh key, signed by the CA.
    fn issue_leaf(&self, spec: &LeafSpec<'_>) -> Result<(CertificateDer<'static>, KeyPair), PkiError> {
        let key = KeyPair::generate()?;
        let serial = random_serial()?;
        let now = since_epoch()?;
        let not_before = Asn1Time::at(now.saturating_sub(BACKDATE))?;
        let not_after = Asn1Time::at(now + LEAF_VALIDITY)?;
        let public_key = key.subject_public_key_info();
        let key_id = CertificateParams::default().key_identifier(&key);

        let tbs = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_tagged(Tag::context(0), |w| w.write_u8(2)); // v3
                w.next().write_bigint_bytes(&serial, true);
                self.signature_algorithm.write(w.next());
                w.next().write_der(&self.subject);
                w.next().write_sequence(|w| {
                    not_before.write(w.next());
                    not_after.write(w.next());
                });
                write_subject(w.next(), spec.common_name, spec.organizations);
                w.next().write_der(&public_key);
                w.next().write_tagged(Tag::context(3), |w| {
                    w.write_sequence(|w| {
                        // cA FALSE is the DEFAULT, hence an empty sequence.
                        write_extension(w.next(), OID_BASIC_CONSTRAINTS, true, |w| {
                            w.write_sequence(|_| {})
                        });
                        // digitalSignature (bit 0) only: leaf keys are EC, TLS needs no key encipherment.
                        write_extension(w.next(), OID_KEY_USAGE, true, |w| {
                            w.write_bitvec_bytes(&[0x80], 1)
                        });
                        write_extension(w.next(), OID_EXT_KEY_USAGE, false, |w| {
                            w.write_sequence(|w| {
                                w.next()
                                    .write_oid(&ObjectIdentifier::from_slice(spec.extended_key_usage));
                            });
                        });
                        write_extension(w.next(), OID_SUBJECT_KEY_ID, false, |w| w.write_bytes(&key_id));
                        if let Some(ca_key_id) = &self.key_id {
                            write_extension(w.next(), OID_AUTHORITY_KEY_ID, false, |w| {
                                w.write_sequence(|w| {
                                    w.next()
                                        .write_tagged_implicit(Tag::context(0), |w| w.write_bytes(ca_key_id));
                                });
                            });
                        }
                        if !spec.alt_names.is_empty() {
                            write_extension(w.next(), OID_SUBJECT_ALT_NAME, false, |w| {
                                w.write_sequence(|w| {
                                    for alt_name in spec.alt_names {
                                        write_alt_name(w.next(), alt_name);
                                    }
                                });
                            });
                        }
                    });
                });
            });
        });

        let signature = self.key.sign(&tbs)?;
        let der = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_der(&tbs);
                self.signature_algorithm.write(w.next());
                w.next().write_bitvec_bytes(&signature, signature.len() * 8);
            });
        });
        Ok((CertificateDer::from(der), key))
    }
}

/// Username (subject CN) and groups (subject O values, in order) of a DER client certificate.
///
/// This only reads the certificate: call it on peer certificates the TLS layer has verified. As with Go's
/// `pkix.Name` (and so kube-apiserver), the last CN wins when there are several.
pub fn identity_from_cert(der: &[u8]) -> Result<(String, Vec<String>), PkiError> {
    let cert = parse_certificate(der)?;
    let text = |attr: &x509_parser::x509::AttributeTypeAndValue<'_>, what: &str| {
        attr.as_str()
            .map(str::to_owned)
            .map_err(|e| PkiError::Certificate(format!("subject {what} is not a string: {e}")))
    };
    let common_name = match cert.subject().iter_common_name().last() {
        Some(attr) => text(attr, "CN")?,
        None => return Err(PkiError::NoCommonName),
    };
    if common_name.is_empty() {
        return Err(PkiError::NoCommonName);
    }
    let groups = cert
        .subject()
        .iter_organization()
        .map(|attr| text(attr, "O"))
        .collect::<Result<_, _>>()?;
    Ok((common_name, groups))
}

fn parse_certificate(der: &[u8]) -> Result<x509_parser::certificate::X509Certificate<'_>, PkiError> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(PkiError::Certificate(
            "trailing bytes after the certificate".into(),
        )),
        Err(e) => Err(PkiError::Certificate(e.to_string())),
    }
}

/// Writes a subject `Name`: one RDN per organization (in order), then the common name.
fn write_subject(writer: DERWriter<'_>, common_name: &str, organizations: &[String]) {
    let attribute = |w: DERWriter<'_>, oid: &[u64], value: &str| {
        w.write_set(|w| {
            w.next().write_sequence(|w| {
                w.next().write_oid(&ObjectIdentifier::from_slice(oid));
                w.next().write_utf8_string(value);
            });
        });
    };
    writer.write_sequence(|w| {
        for organization in organizations {
            attribute(w.next(), OID_ORGANIZATION, organization);
        }
        attribute(w.next(), OID_COMMON_NAME, common_name);
    });
}

/// Writes an `Extension`: `extnValue` is the DER of what `value` writes.
fn write_extension(writer: DERWriter<'_>, oid: &[u64], critical: bool, value: impl FnOnce(DERWriter<'_>)) {
    writer.write_sequence(|w| {
        w.next().write_oid(&ObjectIdentifier::from_slice(oid));
        if critical {
            w.next().write_bool(true);
        }
        w.next().write_bytes(&yasna::construct_der(value));
    });
}

/// Writes a `GeneralName`: `[2] dNSName` or `[7] iPAddress`.
fn write_alt_name(writer: DERWriter<'_>, alt_name: &AltName) {
    match alt_name {
        AltName::Dns(name) => writer.write_tagged_implicit(Tag::context(2), |w| w.write_ia5_string(name)),
        AltName::Ip(IpAddr::V4(ip)) => {
            writer.write_tagged_implicit(Tag::context(7), |w| w.write_bytes(&ip.octets()))
        }
        AltName::Ip(IpAddr::V6(ip)) => {
            writer.write_tagged_implicit(Tag::context(7), |w| w.write_bytes(&ip.octets()))
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// 16 random bytes, positive and without a leading zero byte (so always 16 bytes of DER INTEGER content).
fn random_serial() -> Result<[u8; 16], PkiError> {
    let mut serial = [0u8; 16];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut serial)
        .map_err(|_| PkiError::Random)?;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    Ok(serial)
}

fn since_epoch() -> Result<Duration, PkiError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| PkiError::Clock(e.to_string()))?;
    if now < DAY {
        return Err(PkiError::Clock("the system clock is not set".into()));
    }
    Ok(now)
}

/// PEM text of one DER object (RFC 7468: base64 in lines of 64 characters).
fn pem_encode(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

fn read_to_string(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `contents` to `path` with the given Unix permission bits (also tightened on an existing file
/// before anything is written to it).
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use std::io;

    use rustls::pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::{TlsAcceptor, TlsConnector};
    use x509_parser::extensions::GeneralName;

    use super::*;

    fn hosts() -> Vec<String> {
        ["127.0.0.1", "::1", "localhost", "kubernetes.default.svc"]
            .map(String::from)
            .to_vec()
    }

    fn groups() -> Vec<String> {
        vec!["projectcapsule.dev".to_owned(), "team-a".to_owned()]
    }

    fn first_der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    /// Runs a handshake and a ping/pong over an in-memory pipe. Returns the server's view (the peer
    /// certificates and the negotiated ALPN) or its error, and the client's error if any.
    async fn handshake(
        server: Arc<ServerConfig>,
        client: Arc<ClientConfig>,
        sni: &str,
    ) -> (
        io::Result<(Option<Vec<CertificateDer<'static>>>, Option<Vec<u8>>)>,
        io::Result<()>,
    ) {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server_name = ServerName::try_from(sni.to_owned()).unwrap();
        let server = async move {
            let mut tls = TlsAcceptor::from(server).accept(server_io).await?;
            let mut ping = [0u8; 4];
            tls.read_exact(&mut ping).await?;
            assert_eq!(&ping, b"ping");
            tls.write_all(b"pong").await?;
            tls.flush().await?;
            let (_, conn) = tls.get_ref();
            Ok((
                conn.peer_certificates().map(<[_]>::to_vec),
                conn.alpn_protocol().map(<[u8]>::to_vec),
            ))
        };
        let client = async move {
            let mut tls = TlsConnector::from(client).connect(server_name, client_io).await?;
            tls.write_all(b"ping").await?;
            tls.flush().await?;
            let mut pong = [0u8; 4];
            tls.read_exact(&mut pong).await?;
            assert_eq!(&pong, b"pong");
            Ok(())
        };
        tokio::join!(server, client)
    }

    #[test]
    fn client_cert_carries_username_and_groups() {
        let pki = Pki::generate(&hosts()).unwrap();
        let (cert_pem, key_pem) = pki.issue_client_cert("alice", &groups()).unwrap();
        assert!(key_pem.contains("PRIVATE KEY"));
        let der = first_der(&cert_pem);
        assert_eq!(identity_from_cert(&der).unwrap(), ("alice".to_owned(), groups()));

        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let (_, ca) = x509_parser::parse_x509_certificate(&pki.ca.der).unwrap();
        assert_eq!(cert.issuer().as_raw(), ca.subject().as_raw());
        assert_eq!(ca.subject().to_string(), "CN=kube-sim-ca");
        assert!(ca.is_ca() && !cert.is_ca());
        assert!(cert.extended_key_usage().unwrap().unwrap().value.client_auth);
        assert!(cert.key_usage().unwrap().unwrap().value.digital_signature());
        let leaf_days = cert.validity().time_to_expiration().unwrap().whole_days();
        assert!((364..=365).contains(&leaf_days), "{leaf_days}");
        let ca_days = ca.validity().time_to_expiration().unwrap().whole_days();
        assert!((3649..=3650).contains(&ca_days), "{ca_days}");
        assert_eq!(cert.raw_serial().len(), 16);
        let (other_pem, _) = pki.issue_client_cert("alice", &groups()).unwrap();
        let other_der = first_der(&other_pem);
        let (_, other) = x509_parser::parse_x509_certificate(&other_der).unwrap();
        assert_ne!(cert.raw_serial(), other.raw_serial(), "serials are random");
    }

    #[test]
    fn identity_edge_cases() {
        let pki = Pki::generate(&hosts()).unwrap();
        let (cert_pem, _) = pki.issue_client_cert("system:serviceaccount:ns:sa", &[]).unwrap();
        assert_eq!(
            identity_from_cert(&first_der(&cert_pem)).unwrap(),
            ("system:serviceaccount:ns:sa".to_owned(), Vec::new())
        );
        let unicode = vec!["équipe".to_owned(), "team-a".to_owned(), "équipe".to_owned()];
        let (cert_pem, _) = pki.issue_client_cert("zoë", &unicode).unwrap();
        assert_eq!(
            identity_from_cert(&first_der(&cert_pem)).unwrap(),
            ("zoë".to_owned(), unicode)
        );

        assert!(matches!(
            pki.issue_client_cert("", &[]),
            Err(PkiError::EmptyCommonName)
        ));
        assert!(matches!(
            identity_from_cert(b"not a certificate"),
            Err(PkiError::Certificate(_))
        ));
        // The CA has a CN but is not a client; the server certificate's CN is "kube-sim".
        assert_eq!(
            identity_from_cert(&pki.server_chain()[0]).unwrap().0,
            SERVER_COMMON_NAME
        );
        let mut trailing = pki.server_chain()[0].to_vec();
        trailing.push(0);
        assert!(matches!(
            identity_from_cert(&trailing),
            Err(PkiError::Certificate(_))
        ));
    }

    #[test]
    fn server_certificate_names_every_host() {
        let pki = Pki::generate(&hosts()).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&pki.server_chain()[0]).unwrap();
        let names = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .clone();
        assert!(names.contains(&GeneralName::DNSName("localhost")));
        assert!(names.contains(&GeneralName::DNSName("kubernetes.default.svc")));
        assert!(names.contains(&GeneralName::IPAddress(&[127, 0, 0, 1])));
        assert!(names.contains(&GeneralName::IPAddress(
            &"::1".parse::<std::net::Ipv6Addr>().unwrap().octets()
        )));
        assert!(cert.extended_key_usage().unwrap().unwrap().value.server_auth);

        assert!(matches!(
            Pki::generate(&["bad host".to_owned()]),
            Err(PkiError::InvalidHost(_))
        ));
        assert!(matches!(
            Pki::generate(&[String::new()]),
            Err(PkiError::InvalidHost(_))
        ));
        assert!(Pki::generate(&["[::1]".to_owned()]).is_ok());
        assert!(!format!("{pki:?}").contains("PRIVATE KEY"));
    }

    #[tokio::test]
    async fn tls_handshake_with_and_without_client_certificate() {
        let pki = Pki::generate(&hosts()).unwrap();
        let server = pki.server_config().unwrap();
        let (cert_pem, key_pem) = pki.issue_client_cert("alice", &groups()).unwrap();
        let client = pki.client_config(Some((&cert_pem, &key_pem))).unwrap();

        let (seen, client_result) = handshake(Arc::clone(&server), client, "localhost").await;
        client_result.unwrap();
        let (peer, alpn) = seen.unwrap();
        let peer = peer.expect("the server sees the client certificate");
        assert_eq!(
            identity_from_cert(&peer[0]).unwrap(),
            ("alice".to_owned(), groups())
        );
        assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));

        let anonymous = pki.client_config(None).unwrap();
        for sni in ["localhost", "127.0.0.1", "::1", "kubernetes.default.svc"] {
            let (seen, client_result) = handshake(Arc::clone(&server), Arc::clone(&anonymous), sni).await;
            client_result.unwrap();
            assert_eq!(seen.unwrap().0, None, "{sni}: no client certificate");
        }
    }

    #[tokio::test]
    async fn tls12_handshake_with_client_certificate() {
        let pki = Pki::generate(&hosts()).unwrap();
        let (cert_pem, key_pem) = pki.issue_client_cert("alice", &groups()).unwrap();
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(pki.roots().unwrap())
            .with_client_auth_cert(
                vec![first_der(&cert_pem)],
                PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap(),
            )
            .unwrap();
        let (seen, client_result) =
            handshake(pki.server_config().unwrap(), Arc::new(client), "127.0.0.1").await;
        client_result.unwrap();
        let peer = seen.unwrap().0.unwrap();
        assert_eq!(identity_from_cert(&peer[0]).unwrap().0, "alice");
    }

    #[tokio::test]
    async fn tls_rejects_foreign_client_certificate_and_unknown_server_name() {
        let pki = Pki::generate(&hosts()).unwrap();
        let other = Pki::generate(&hosts()).unwrap();
        let (cert_pem, key_pem) = other.issue_client_cert("alice", &groups()).unwrap();
        let client = pki.client_config(Some((&cert_pem, &key_pem))).unwrap();
        let (seen, _) = handshake(pki.server_config().unwrap(), client, "localhost").await;
        // Both CAs are named "kube-sim-ca": webpki finds the name but the signature does not verify.
        let err = seen.unwrap_err().to_string();
        assert!(err.contains("invalid peer certificate: BadSignature"), "{err}");

        // The client trusts only its own CA, and only the names the server certificate carries.
        let anonymous = pki.client_config(None).unwrap();
        let (_, client_result) = handshake(
            other.server_config().unwrap(),
            Arc::clone(&anonymous),
            "localhost",
        )
        .await;
        let err = client_result.unwrap_err().to_string();
        assert!(err.contains("invalid peer certificate: BadSignature"), "{err}");
        let (_, client_result) = handshake(pki.server_config().unwrap(), anonymous, "example.com").await;
        let err = client_result.unwrap_err().to_string();
        assert!(
            err.contains("certificate not valid for name \"example.com\""),
            "{err}"
        );
    }

    #[test]
    fn load_or_generate_reuses_the_stored_ca() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let first = Pki::load_or_generate(&state, &hosts()).unwrap();
        let second = Pki::load_or_generate(&state, &hosts()).unwrap();
        assert_eq!(first.ca_pem(), second.ca_pem());
        assert_eq!(
            std::fs::read_to_string(state.join(CA_CERT_FILE)).unwrap(),
            first.ca_pem()
        );
        assert_ne!(
            first.server_chain()[0],
            second.server_chain()[0],
            "server cert is reissued"
        );

        // A certificate from the first run verifies against the second run's server config.
        let (cert_pem, key_pem) = first.issue_client_cert("alice", &groups()).unwrap();
        let client = second.client_config(Some((&cert_pem, &key_pem))).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (seen, client_result) =
            runtime.block_on(handshake(second.server_config().unwrap(), client, "localhost"));
        client_result.unwrap();
        assert!(seen.unwrap().0.is_some());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |f: &str| std::fs::metadata(state.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(CA_KEY_FILE), 0o600);
            assert_eq!(mode(CA_CERT_FILE), 0o644);
        }
    }

    #[test]
    fn load_or_generate_refuses_unusable_ca_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pki::load_or_generate(dir.path(), &hosts()).unwrap();
        let other = Pki::generate(&hosts()).unwrap();

        // A key that does not belong to the certificate is an error, and nothing is overwritten.
        let key_path = dir.path().join(CA_KEY_FILE);
        std::fs::write(&key_path, other.ca.key.serialize_pem()).unwrap();
        let err = Pki::load_or_generate(dir.path(), &hosts()).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(CA_CERT_FILE)).unwrap(),
            first.ca_pem()
        );

        // A leaf certificate is not a CA.
        std::fs::write(&key_path, first.ca.key.serialize_pem()).unwrap();
        let (leaf_pem, leaf_key) = first.issue_client_cert("alice", &[]).unwrap();
        std::fs::write(dir.path().join(CA_CERT_FILE), leaf_pem).unwrap();
        std::fs::write(&key_path, leaf_key).unwrap();
        let err = Pki::load_or_generate(dir.path(), &hosts()).unwrap_err();
        assert!(err.to_string().contains("not a CA"), "{err}");

        // Only one of the two files: a new CA is generated and both are written.
        std::fs::remove_file(&key_path).unwrap();
        let fresh = Pki::load_or_generate(dir.path(), &hosts()).unwrap();
        assert_ne!(fresh.ca_pem(), first.ca_pem());
        assert_eq!(
            Pki::load_or_generate(dir.path(), &hosts()).unwrap().ca_pem(),
            fresh.ca_pem()
        );
    }

    #[test]
    fn client_config_rejects_bad_pem() {
        let pki = Pki::generate(&hosts()).unwrap();
        let (cert_pem, key_pem) = pki.issue_client_cert("alice", &[]).unwrap();
        assert!(matches!(
            pki.client_config(Some(("", &key_pem))),
            Err(PkiError::Pem { .. })
        ));
        assert!(matches!(
            pki.client_config(Some((&cert_pem, "nope"))),
            Err(PkiError::Pem { .. })
        ));
    }
}
