//! Kubeconfig files for kube-sim's identities, written to its state directory.
//!
//! ```text
//!  <state dir>/ca.crt                  the CA (HTTPS mode only), 0644
//!  <state dir>/<name>.kubeconfig       static bearer token, 0600
//!  <state dir>/<name>-cert.kubeconfig  client certificate CN=user O=groups (HTTPS + `certificate: true`), 0600
//! ```
//!
//! Every file has one cluster (`kube-sim`), one user, one context (`<user>@kube-sim`) and sets
//! `current-context`, so `KUBECONFIG=<file> kubectl ...` works as is. The YAML is produced by serde, never by
//! pasting values into text.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::fixture::Identity;
use crate::pki::{self, Pki, PkiError};

/// Name of the cluster entry in every kubeconfig.
pub const CLUSTER_NAME: &str = "kube-sim";

/// How a kubeconfig user authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A static bearer token.
    Token(String),
    /// A client certificate and its private key, both PEM.
    ClientCert {
        /// The certificate (chain), PEM.
        cert_pem: String,
        /// The private key, PEM.
        key_pem: String,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Token(<redacted>)"),
            Self::ClientCert { .. } => f.write_str("ClientCert { <redacted> }"),
        }
    }
}

/// Why the state directory could not be written.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// A file or the directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An identity name cannot be used as a file stem.
    #[error("identity name {0:?} is not a file stem")]
    InvalidName(String),
    /// A client certificate could not be issued.
    #[error(transparent)]
    Pki(#[from] PkiError),
}

/// A kubeconfig YAML: one cluster "kube-sim" (server URL, embedded certificate-authority-data; for http://
/// URLs no CA), one user, one context, current-context set.
pub fn render(server_url: &str, ca_pem: Option<&str>, user_name: &str, credential: &Credential) -> String {
    let mut cluster = Map::new();
    cluster.insert("server".into(), Value::from(server_url));
    if let Some(ca_pem) = ca_pem.filter(|_| !is_plain_http(server_url)) {
        cluster.insert(
            "certificate-authority-data".into(),
            Value::from(STANDARD.encode(ca_pem)),
        );
    }
    let user = match credential {
        Credential::Token(token) => json!({ "token": token }),
        Credential::ClientCert { cert_pem, key_pem } => json!({
            "client-certificate-data": STANDARD.encode(cert_pem),
            "client-key-data": STANDARD.encode(key_pem),
        }),
    };
    let context = format!("{user_name}@{CLUSTER_NAME}");
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": CLUSTER_NAME, "cluster": cluster }],
        "users": [{ "name": user_name, "user": user }],
        "contexts": [{ "name": context, "context": { "cluster": CLUSTER_NAME, "user": user_name } }],
        "current-context": context,
        "preferences": {},
    });
    // A JSON value of strings always serializes; JSON is valid YAML should that ever change.
    serde_yaml::to_string(&config).unwrap_or_else(|_| config.to_string())
}

/// Writes the state dir: `ca.crt`, and for every identity `<name>.kubeconfig` (token) plus, when
/// `certificate: true`, `<name>-cert.kubeconfig` (client cert from `pki.issue_client_cert(username,
/// groups)`). Files mode 0600 (0644 for ca.crt). Creates `dir` if missing. Returns the paths written.
///
/// With `pki = None` (plain-HTTP mode) only token kubeconfigs are written and there is no CA.
pub fn write_state_dir(
    dir: &Path,
    server_url: &str,
    pki: Option<&Pki>,
    identities: &[Identity],
) -> Result<Vec<PathBuf>, KubeconfigError> {
    std::fs::create_dir_all(dir).map_err(|source| KubeconfigError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    let mut write = |path: PathBuf, contents: &str, mode: u32| {
        pki::write_file(&path, contents.as_bytes(), mode).map_err(|source| KubeconfigError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
        Ok::<_, KubeconfigError>(())
    };
    let ca_pem = pki.map(Pki::ca_pem);
    if let Some(ca_pem) = ca_pem {
        write(dir.join(pki::CA_CERT_FILE), ca_pem, 0o644)?;
    }
    for identity in identities {
        let name = &identity.name;
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(KubeconfigError::InvalidName(name.clone()));
        }
        let token = Credential::Token(identity.token.clone());
        write(
            dir.join(format!("{name}.kubeconfig")),
            &render(server_url, ca_pem, name, &token),
            0o600,
        )?;
        if let (true, Some(pki)) = (identity.certificate, pki) {
            let (cert_pem, key_pem) = pki.issue_client_cert(identity.username(), &identity.groups)?;
            let user = format!("{name}-cert");
            let credential = Credential::ClientCert { cert_pem, key_pem };
            write(
                dir.join(format!("{user}.kubeconfig")),
                &render(server_url, ca_pem, &user, &credential),
                0o600,
            )?;
        }
    }
    Ok(written)
}

fn is_plain_http(server_url: &str) -> bool {
    server_url
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    use serde_yaml::Value as Yaml;

    use super::*;
    use crate::pki::identity_from_cert;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn field<'a>(value: &'a Yaml, path: &[&str]) -> &'a Yaml {
        path.iter().fold(value, |v, key| match key.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[*key],
        })
    }

    fn text<'a>(value: &'a Yaml, path: &[&str]) -> &'a str {
        field(value, path)
            .as_str()
            .unwrap_or_else(|| panic!("{path:?} is not a string in {value:?}"))
    }

    fn decoded(value: &Yaml, path: &[&str]) -> String {
        String::from_utf8(STANDARD.decode(text(value, path)).unwrap()).unwrap()
    }

    fn identity(name: &str, user: Option<&str>, groups: &[&str], certificate: bool) -> Identity {
        Identity {
            name: name.to_owned(),
            user: user.map(str::to_owned),
            uid: None,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            token: format!("{name}-token"),
            certificate,
        }
    }

    #[test]
    fn render_token_kubeconfig() {
        let yaml = render(
            "https://127.0.0.1:6443",
            Some(CA),
            "alice",
            &Credential::Token("t0k".into()),
        );
        let config: Yaml = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(text(&config, &["apiVersion"]), "v1");
        assert_eq!(text(&config, &["kind"]), "Config");
        assert_eq!(text(&config, &["clusters", "0", "name"]), "kube-sim");
        assert_eq!(
            text(&config, &["clusters", "0", "cluster", "server"]),
            "https://127.0.0.1:6443"
        );
        assert_eq!(
            decoded(
                &config,
                &["clusters", "0", "cluster", "certificate-authority-data"]
            ),
            CA
        );
        assert_eq!(text(&config, &["users", "0", "name"]), "alice");
        assert_eq!(text(&config, &["users", "0", "user", "token"]), "t0k");
        assert_eq!(
            text(&config, &["contexts", "0", "context", "cluster"]),
            "kube-sim"
        );
        assert_eq!(text(&config, &["contexts", "0", "context", "user"]), "alice");
        assert_eq!(
            text(&config, &["current-context"]),
            text(&config, &["contexts", "0", "name"])
        );
        for list in ["clusters", "users", "contexts"] {
            assert_eq!(field(&config, &[list]).as_sequence().unwrap().len(), 1, "{list}");
        }
    }

    #[test]
    fn render_plain_http_has_no_ca_and_yaml_hostile_values_survive() {
        let token = "a: b # c\n- 'd\" {e}";
        let user = "system:serviceaccount:ns:sa";
        let yaml = render(
            "HTTP://localhost:8080",
            Some(CA),
            user,
            &Credential::Token(token.into()),
        );
        let config: Yaml = serde_yaml::from_str(&yaml).unwrap();
        let cluster = field(&config, &["clusters", "0", "cluster"])
            .as_mapping()
            .unwrap();
        assert_eq!(cluster.len(), 1, "only the server: {cluster:?}");
        assert_eq!(text(&config, &["users", "0", "user", "token"]), token);
        assert_eq!(text(&config, &["users", "0", "name"]), user);
        assert_eq!(text(&config, &["contexts", "0", "context", "user"]), user);
    }

    #[test]
    fn render_client_cert_kubeconfig() {
        let credential = Credential::ClientCert {
            cert_pem: "CERT PEM".into(),
            key_pem: "KEY PEM".into(),
        };
        let config: Yaml =
            serde_yaml::from_str(&render("https://[::1]:6443", None, "alice-cert", &credential)).unwrap();
        assert_eq!(
            decoded(&config, &["users", "0", "user", "client-certificate-data"]),
            "CERT PEM"
        );
        assert_eq!(
            decoded(&config, &["users", "0", "user", "client-key-data"]),
            "KEY PEM"
        );
        assert!(field(&config, &["users", "0", "user", "token"]).is_null());
        assert!(
            field(
                &config,
                &["clusters", "0", "cluster", "certificate-authority-data"]
            )
            .is_null()
        );
        assert!(!format!("{credential:?}").contains("KEY PEM"));
    }

    #[test]
    fn write_state_dir_with_pki() {
        let pki = Pki::generate(&["127.0.0.1".to_owned()]).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/state");
        let identities = [
            identity(
                "alice",
                Some("alice@example.com"),
                &["projectcapsule.dev", "team-a"],
                true,
            ),
            identity("bob", None, &[], false),
        ];
        let url = "https://127.0.0.1:6443";
        let written = write_state_dir(&dir, url, Some(&pki), &identities).unwrap();
        let expected = [
            "ca.crt",
            "alice.kubeconfig",
            "alice-cert.kubeconfig",
            "bob.kubeconfig",
        ];
        assert_eq!(written, expected.map(|f| dir.join(f)).to_vec());
        assert_eq!(std::fs::read_to_string(dir.join("ca.crt")).unwrap(), pki.ca_pem());

        let load = |file: &str| -> Yaml {
            serde_yaml::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
        };
        let alice = load("alice.kubeconfig");
        assert_eq!(text(&alice, &["users", "0", "user", "token"]), "alice-token");
        assert_eq!(
            decoded(
                &alice,
                &["clusters", "0", "cluster", "certificate-authority-data"]
            ),
            pki.ca_pem()
        );

        let alice_cert = load("alice-cert.kubeconfig");
        assert_eq!(text(&alice_cert, &["users", "0", "name"]), "alice-cert");
        assert_eq!(text(&alice_cert, &["clusters", "0", "cluster", "server"]), url);
        let cert_pem = decoded(&alice_cert, &["users", "0", "user", "client-certificate-data"]);
        let key_pem = decoded(&alice_cert, &["users", "0", "user", "client-key-data"]);
        assert!(key_pem.contains("PRIVATE KEY"));
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
        let groups = vec!["projectcapsule.dev".to_owned(), "team-a".to_owned()];
        assert_eq!(
            identity_from_cert(&der).unwrap(),
            ("alice@example.com".to_owned(), groups)
        );
        pki.client_config(Some((&cert_pem, &key_pem))).unwrap();

        assert_eq!(
            text(&load("bob.kubeconfig"), &["users", "0", "user", "token"]),
            "bob-token"
        );

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |f: &str| std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode("ca.crt"), 0o644);
            for file in &expected[1..] {
                assert_eq!(mode(file), 0o600, "{file}");
            }
            // Rewriting tightens a file that was left world-readable.
            std::fs::set_permissions(dir.join("bob.kubeconfig"), std::fs::Permissions::from_mode(0o644))
                .unwrap();
            write_state_dir(&dir, url, Some(&pki), &identities).unwrap();
            assert_eq!(mode("bob.kubeconfig"), 0o600);
        }
    }

    #[test]
    fn write_state_dir_plain_http() {
        let tmp = tempfile::tempdir().unwrap();
        let identities = [identity("alice", None, &["g"], true)];
        let written = write_state_dir(tmp.path(), "http://127.0.0.1:8080", None, &identities).unwrap();
        assert_eq!(written, vec![tmp.path().join("alice.kubeconfig")]);
        let mut files: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        files.sort();
        assert_eq!(files, ["alice.kubeconfig"]);
        let config: Yaml = serde_yaml::from_str(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
        assert_eq!(
            text(&config, &["clusters", "0", "cluster", "server"]),
            "http://127.0.0.1:8080"
        );
        assert!(
            field(
                &config,
                &["clusters", "0", "cluster", "certificate-authority-data"]
            )
            .is_null()
        );
    }

    #[test]
    fn write_state_dir_rejects_path_names() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["../escape", "a/b", ".hidden", ""] {
            let err = write_state_dir(tmp.path(), "http://x", None, &[identity(name, None, &[], false)]);
            assert!(matches!(err, Err(KubeconfigError::InvalidName(_))), "{name}");
        }
        assert!(!tmp.path().parent().unwrap().join("escape.kubeconfig").exists());
    }
}
