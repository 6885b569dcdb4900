//! Where kube-apiserver is and how the proxy authenticates to it: an explicit kubeconfig, else the files listed in
//! `$KUBECONFIG`, else the pod's in-cluster service account, else `$HOME/.kube/config`. Kubeconfig files are
//! read and merged by kube-rs (`kube::config::Kubeconfig`: kubectl's first-wins merge, paths made absolute);
//! this module picks the current context and extracts what the data plane needs, naming the file at fault in
//! every error.
//!
//! Everything except a token file is read once, here: a bad certificate path fails at start-up, not on the first
//! request. Token files (the service-account token is rotated by the kubelet) are re-read by the data plane.
//! Static credentials and exec credential plugins (run by `capsule_proxy_control::exec_credential`) are supported; auth
//! providers, basic auth, impersonation and `proxy-url` are refused with an error that says so.

use capsule_proxy_policy::ApiCredential;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use kube::config::{AuthInfo, Cluster, ExecAuthCluster, ExecConfig, ExecInteractiveMode, Kubeconfig};
use secrecy::ExposeSecret as _;

/// Directory of the service-account files mounted into every pod.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Where kube-apiserver is and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct ClusterAccess {
    /// The API server's URL.
    pub server: ServerUrl,
    /// Name to send as SNI and to verify the server certificate against, instead of `server.host`.
    pub tls_server_name: Option<String>,
    /// PEM bundle of the CAs that sign the server certificate; `None` means the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Skip verifying the server certificate (never combined with `ca_pem`).
    pub insecure_skip_tls_verify: bool,
    /// The proxy's own credential.
    pub credential: ApiCredential,
    /// The exec credential plugin that gives the proxy its token (then `credential` is `None` until it ran).
    pub exec: Option<ExecConfig>,
    /// Where this came from, for logs: `kubeconfig /path (context x)` or `in-cluster`.
    pub source: String,
}

/// A parsed API server URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// `https` (true) or `http` (false); a URL without a scheme is HTTPS, as in kubectl.
    pub https: bool,
    /// Host name or IP address, without brackets for IPv6.
    pub host: String,
    /// Port; 443 or 80 when the URL has none.
    pub port: u16,
    /// Path the API is served under: `""` or e.g. `/k8s` (no trailing slash).
    pub path_prefix: String,
}

/// Why no usable [`ClusterAccess`] could be loaded. Each message is one line naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// A kubeconfig file could not be read.
    #[error("cannot read kubeconfig {}: {error}", path.display())]
    Read {
        /// The kubeconfig.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A kubeconfig file is not valid kubeconfig YAML.
    #[error("kubeconfig {} is not valid: {message}", path.display())]
    Parse {
        /// The kubeconfig.
        path: PathBuf,
        /// The YAML error.
        message: String,
    },
    /// The kubeconfig is well-formed but unusable (missing context, bad base64, unreadable file, ...).
    #[error("kubeconfig {file}: {message}")]
    Invalid {
        /// The kubeconfig(s) at fault, `:`-separated when the error concerns a merged list.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The user entry uses an authentication method the proxy cannot use for itself.
    #[error(
        "kubeconfig {file}: user {user:?} uses {what}, which is not supported for the proxy's own credentials \
         (use token, tokenFile or client-certificate/client-key)"
    )]
    Unsupported {
        /// The kubeconfig defining the user.
        file: String,
        /// The user entry's name.
        user: String,
        /// The unsupported method, e.g. `exec`.
        what: &'static str,
    },
    /// `KUBERNETES_SERVICE_HOST`/`PORT` are set but the in-cluster configuration is unusable.
    #[error("in-cluster configuration: {message}")]
    InCluster {
        /// What is wrong.
        message: String,
    },
    /// No kubeconfig and not running in a pod.
    #[error(
        "no kube-apiserver configuration found: pass --kubeconfig, set KUBECONFIG, run in a pod \
         (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset) or write $HOME/.kube/config"
    )]
    NotFound,
    /// `$KUBECONFIG` names only missing files and the process is not running in a pod.
    #[error(
        "KUBECONFIG={list:?} names no existing file, and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are \
         unset"
    )]
    NoKubeconfigFiles {
        /// The value of `$KUBECONFIG`.
        list: String,
    },
}

/// Loads the cluster access: `explicit` kubeconfig if given, else the `$KUBECONFIG` list (missing files
/// skipped), else the in-cluster service account, else `$HOME/.kube/config`, else [`KubeconfigError::NotFound`]
/// (controller-runtime's order, as the Go proxy loads it).
pub fn load(explicit: Option<&Path>) -> Result<ClusterAccess, KubeconfigError> {
    load_with(
        explicit,
        &|name| std::env::var_os(name),
        Path::new(SERVICE_ACCOUNT_DIR),
    )
}

/// [`load`] with the environment and the service-account directory injected.
fn load_with(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<OsString>,
    sa_dir: &Path,
) -> Result<ClusterAccess, KubeconfigError> {
    if let Some(path) = explicit {
        let config = read_file(path)?;
        return Merged::from_files(vec![(path.to_owned(), config)])?.resolve();
    }
    if let Some(list) = env("KUBECONFIG").filter(|v| !v.is_empty()) {
        let mut files = Vec::new();
        for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            match read_file(&path) {
                Ok(config) => files.push((path, config)),
                Err(KubeconfigError::Read { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if !files.is_empty() {
            return Merged::from_files(files)?.resolve();
        }
        // Like client-go: an empty merged config falls back to in-cluster.
        return in_cluster(env, sa_dir)?.ok_or_else(|| KubeconfigError::NoKubeconfigFiles {
            list: list.to_string_lossy().into_owned(),
        });
    }
    if let Some(access) = in_cluster(env, sa_dir)? {
        return Ok(access);
    }
    // Last, as controller-runtime's `GetConfig` (the Go proxy's): `$HOME/.kube/config`.
    let home = env("HOME").filter(|h| !h.is_empty());
    match home.map(|h| PathBuf::from(h).join(".kube/config")) {
        Some(path) if path.is_file() => {
            let config = read_file(&path)?;
            Merged::from_files(vec![(path, config)])?.resolve()
        }
        _ => Err(KubeconfigError::NotFound),
    }
}

/// The in-cluster configuration, or `None` when not running in a pod.
fn in_cluster(
    env: &dyn Fn(&str) -> Option<OsString>,
    sa_dir: &Path,
) -> Result<Option<ClusterAccess>, KubeconfigError> {
    let var = |name| {
        env(name)
            .map(|v| v.to_string_lossy().into_owned())
            .filter(|v| !v.is_empty())
    };
    let (Some(host), Some(port)) = (var("KUBERNETES_SERVICE_HOST"), var("KUBERNETES_SERVICE_PORT")) else {
        return Ok(None);
    };
    let err = |message: String| KubeconfigError::InCluster { message };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| err(format!("KUBERNETES_SERVICE_PORT={port:?} is not a port")))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host)
        .to_owned();
    let token = sa_dir.join("token");
    if let Err(e) = std::fs::File::open(&token) {
        return Err(err(format!(
            "cannot read service-account token {}: {e}",
            token.display()
        )));
    }
    let ca_path = sa_dir.join("ca.crt");
    let ca_pem = match std::fs::read(&ca_path) {
        Ok(pem) => Some(pem),
        // client-go logs and carries on with the system roots.
        Err(e) => {
            tracing::warn!(path = %ca_path.display(), error = %e, "no service-account CA; using system roots");
            None
        }
    };
    Ok(Some(ClusterAccess {
        server: ServerUrl {
            https: true,
            host,
            port,
            path_prefix: String::new(),
        },
        tls_server_name: None,
        ca_pem,
        insecure_skip_tls_verify: false,
        credential: ApiCredential::TokenFile(token),
        exec: None,
        source: "in-cluster".to_owned(),
    }))
}

// === kubeconfig files, read with kube-rs ===

/// Reads one kubeconfig with kube-rs (`Kubeconfig::read_from`: multi-document YAML, UTF-16/BOM, the file paths
/// in it made absolute against its directory); an empty file is an empty kubeconfig.
fn read_file(path: &Path) -> Result<Kubeconfig, KubeconfigError> {
    Kubeconfig::read_from(path).map_err(|e| match e {
        kube::config::KubeconfigError::ReadConfig(error, _) => KubeconfigError::Read {
            path: path.to_owned(),
            error,
        },
        other => KubeconfigError::Parse {
            path: path.to_owned(),
            // One line: the YAML error's excerpt of the file spans several.
            message: other.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
        },
    })
}

/// An entry and the kubeconfig that defined it, for error messages.
struct Sourced<'a, T> {
    file: &'a Path,
    item: T,
}

/// Kubeconfig files merged by kube-rs (`Kubeconfig::merge`, kubectl's rules: the first file to define a name
/// wins, and so does the first `current-context`), with the file each entry came from.
struct Merged {
    files: Vec<PathBuf>,
    origins: Vec<Kubeconfig>,
    config: Kubeconfig,
}

impl Merged {
    fn from_files(files: Vec<(PathBuf, Kubeconfig)>) -> Result<Self, KubeconfigError> {
        let names = std::env::join_paths(files.iter().map(|(path, _)| path))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut config = Kubeconfig::default();
        for (_, file) in &files {
            config = config.merge(file.clone()).map_err(|e| KubeconfigError::Invalid {
                file: names.clone(),
                message: e.to_string(),
            })?;
        }
        // A `current-context: ""` does not count as set (client-go): the first non-empty one wins.
        config.current_context = files
            .iter()
            .find_map(|(_, file)| file.current_context.clone().filter(|c| !c.is_empty()));
        let (files, origins) = files.into_iter().unzip();
        Ok(Self {
            files,
            origins,
            config,
        })
    }

    /// The first file whose kubeconfig `defines` the entry (the one the merge kept).
    fn origin(&self, defines: impl Fn(&Kubeconfig) -> bool) -> &Path {
        self.files
            .iter()
            .zip(&self.origins)
            .find_map(|(file, config)| defines(config).then_some(file.as_path()))
            .unwrap_or_else(|| self.files.first().map_or_else(|| Path::new(""), PathBuf::as_path))
    }

    fn resolve(self) -> Result<ClusterAccess, KubeconfigError> {
        let all_files = std::env::join_paths(&self.files)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| format!("{:?}", self.files));
        let invalid = |file: &Path, message: String| KubeconfigError::Invalid {
            file: file.display().to_string(),
            message,
        };
        let invalid_all = |message: String| KubeconfigError::Invalid {
            file: all_files.clone(),
            message,
        };
        let config = &self.config;
        let Some(context_name) = config.current_context.as_deref() else {
            return Err(invalid_all("current-context is not set".to_owned()));
        };
        let Some(named) = config.contexts.iter().find(|c| c.name == context_name) else {
            return Err(invalid_all(format!(
                "current-context {context_name:?} names no context"
            )));
        };
        let context_file = self.origin(|c| c.contexts.iter().any(|n| n.name == context_name));
        let context = named.context.clone().unwrap_or_default();
        let cluster_name = Some(context.cluster.as_str())
            .filter(|c| !c.is_empty())
            .ok_or_else(|| invalid(context_file, format!("context {context_name:?} has no cluster")))?;
        let cluster = config
            .clusters
            .iter()
            .find(|c| c.name == cluster_name)
            .ok_or_else(|| {
                invalid(
                    context_file,
                    format!("cluster {cluster_name:?} of context {context_name:?} not found"),
                )
            })?;
        let cluster = Sourced {
            file: self.origin(|c| c.clusters.iter().any(|n| n.name == cluster_name)),
            item: cluster.cluster.clone().unwrap_or_default(),
        };
        let mut access = cluster_access(cluster_name, &cluster)?;
        (access.credential, access.exec) = match context.user.as_deref().filter(|u| !u.is_empty()) {
            None => (ApiCredential::None, None),
            Some(user_name) => {
                let user = config
                    .auth_infos
                    .iter()
                    .find(|u| u.name == user_name)
                    .ok_or_else(|| {
                        invalid(
                            context_file,
                            format!("user {user_name:?} of context {context_name:?} not found"),
                        )
                    })?;
                let user = Sourced {
                    file: self.origin(|c| c.auth_infos.iter().any(|n| n.name == user_name)),
                    item: user.auth_info.clone().unwrap_or_default(),
                };
                credential(user_name, &user)?
            }
        };
        if let Some(exec) = access.exec.as_mut().filter(|exec| exec.provide_cluster_info) {
            // `provideClusterInfo`: the plugin is told which cluster it signs in to, as client-go tells it.
            let info = ExecAuthCluster::try_from(&cluster.item).map_err(|e| {
                invalid(
                    cluster.file,
                    format!("cluster {cluster_name:?} for the exec plugin's provideClusterInfo: {e}"),
                )
            })?;
            exec.cluster = Some(info);
        }
        access.source = format!("kubeconfig {all_files} (context {context_name})");
        Ok(access)
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Decodes a `*-data` field (base64 of PEM; whitespace ignored, as Go's decoder does).
fn decode(data: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact)
}

/// Reads a `*-data` field or else a file field (already absolute: kube-rs resolved it against the kubeconfig's
/// directory); `Ok(None)` when neither is set. Data wins, as in client-go.
fn data_or_file(
    file: &Path,
    data: Option<&str>,
    path: &Option<String>,
    field: &str,
    owner: &str,
) -> Result<Option<Vec<u8>>, KubeconfigError> {
    let invalid = |message: String| KubeconfigError::Invalid {
        file: file.display().to_string(),
        message,
    };
    if let Some(data) = data.filter(|d| !d.is_empty()) {
        return decode(data)
            .map(Some)
            .map_err(|e| invalid(format!("{owner}: {field}-data is not valid base64: {e}")));
    }
    let Some(path) = non_empty(path) else {
        return Ok(None);
    };
    std::fs::read(path)
        .map(Some)
        .map_err(|e| invalid(format!("{owner}: cannot read {field} {path}: {e}")))
}

fn cluster_access(name: &str, cluster: &Sourced<'_, Cluster>) -> Result<ClusterAccess, KubeconfigError> {
    let Sourced { file, item: c } = cluster;
    let owner = format!("cluster {name:?}");
    let invalid = |message: String| KubeconfigError::Invalid {
        file: file.display().to_string(),
        message,
    };
    let server = non_empty(&c.server).ok_or_else(|| invalid(format!("{owner} has no server")))?;
    let server =
        ServerUrl::parse(server).map_err(|why| invalid(format!("{owner}: server {server:?}: {why}")))?;
    if non_empty(&c.proxy_url).is_some() {
        return Err(invalid(format!("{owner}: proxy-url is not supported")));
    }
    let ca_pem = data_or_file(
        file,
        c.certificate_authority_data.as_deref(),
        &c.certificate_authority,
        "certificate-authority",
        &owner,
    )?;
    let insecure = c.insecure_skip_tls_verify.unwrap_or(false);
    if insecure && ca_pem.is_some() {
        return Err(invalid(format!(
            "{owner} sets both insecure-skip-tls-verify and a certificate-authority"
        )));
    }
    Ok(ClusterAccess {
        server,
        tls_server_name: non_empty(&c.tls_server_name).map(str::to_owned),
        ca_pem,
        insecure_skip_tls_verify: insecure,
        credential: ApiCredential::None,
        exec: None,
        source: String::new(),
    })
}

/// The user's credential: a static one, or an exec plugin (run later, by `capsule_proxy_control::exec_credential`).
fn credential(
    name: &str,
    user: &Sourced<'_, AuthInfo>,
) -> Result<(ApiCredential, Option<ExecConfig>), KubeconfigError> {
    let Sourced { file, item: u } = user;
    let unsupported = |what| KubeconfigError::Unsupported {
        file: file.display().to_string(),
        user: name.to_owned(),
        what,
    };
    let invalid = |message: String| KubeconfigError::Invalid {
        file: file.display().to_string(),
        message,
    };
    let secret = |s: &Option<secrecy::SecretString>| {
        s.as_ref()
            .map(|s| s.expose_secret().to_owned())
            .filter(|s| !s.is_empty())
    };
    if let Some(exec) = &u.exec {
        if exec.interactive_mode == Some(ExecInteractiveMode::Always) {
            return Err(unsupported(
                "an exec plugin that needs a terminal (interactiveMode: Always)",
            ));
        }
        if exec.command.as_deref().is_none_or(str::is_empty) {
            return Err(invalid(format!("user {name:?}: exec has no command")));
        }
        let others = [
            secret(&u.token).is_some(),
            non_empty(&u.token_file).is_some(),
            u.client_certificate_data.is_some() || non_empty(&u.client_certificate).is_some(),
        ];
        if others.contains(&true) {
            return Err(invalid(format!(
                "user {name:?} has both an exec plugin and a token or client certificate; the proxy uses exactly \
                 one credential"
            )));
        }
    }
    if u.auth_provider.is_some() {
        return Err(unsupported("an auth-provider"));
    }
    if non_empty(&u.username).is_some() || secret(&u.password).is_some() {
        return Err(unsupported("basic authentication (username/password)"));
    }
    if non_empty(&u.impersonate).is_some()
        || non_empty(&u.impersonate_uid).is_some()
        || u.impersonate_groups.as_ref().is_some_and(|g| !g.is_empty())
        || u.impersonate_user_extra.as_ref().is_some_and(|e| !e.is_empty())
    {
        return Err(unsupported(
            "impersonation (as, as-uid, as-groups, as-user-extra)",
        ));
    }
    let owner = format!("user {name:?}");
    let cert = data_or_file(
        file,
        u.client_certificate_data.as_deref(),
        &u.client_certificate,
        "client-certificate",
        &owner,
    )?;
    let key_data = secret(&u.client_key_data);
    let key = data_or_file(file, key_data.as_deref(), &u.client_key, "client-key", &owner)?;
    let token = match (non_empty(&u.token_file), secret(&u.token)) {
        // client-go: the file, when readable, takes precedence over the inline token.
        (Some(path), _) => {
            let path = PathBuf::from(path);
            if let Err(e) = std::fs::File::open(&path) {
                return Err(invalid(format!(
                    "{owner}: cannot read tokenFile {}: {e}",
                    path.display()
                )));
            }
            Some(ApiCredential::TokenFile(path))
        }
        (None, Some(token)) => Some(ApiCredential::Token(token)),
        (None, None) => None,
    };
    if let Some(exec) = &u.exec {
        return Ok((ApiCredential::None, Some(exec.clone())));
    }
    let credential = match (cert, key, token) {
        (None, None, None) => Ok(ApiCredential::None),
        (None, None, Some(token)) => Ok(token),
        (Some(cert_pem), Some(key_pem), None) => Ok(ApiCredential::ClientCert { cert_pem, key_pem }),
        (Some(_), Some(_), Some(_)) => Err(invalid(format!(
            "{owner} has both a token and a client certificate; the proxy uses exactly one credential"
        ))),
        (Some(_), None, _) => Err(invalid(format!(
            "{owner} has a client-certificate but no client-key"
        ))),
        (None, Some(_), _) => Err(invalid(format!(
            "{owner} has a client-key but no client-certificate"
        ))),
    };
    credential.map(|c| (c, None))
}

// === impl ServerUrl ===

impl ServerUrl {
    /// Parses a kubeconfig `server` value: `https://host[:port][/prefix]`, `http://...`, or `host[:port]`
    /// (HTTPS). IPv6 literals go in brackets. Query strings, fragments and user info are refused.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (https, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, _)) => {
                return Err(format!("unsupported scheme {scheme:?} (expected https or http)"));
            }
            None => (true, url),
        };
        if rest.contains(['?', '#']) {
            return Err("query strings and fragments are not allowed".to_owned());
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err("user info is not allowed".to_owned());
        }
        let (host, port) = if let Some(after) = authority.strip_prefix('[') {
            let (host, tail) = after.split_once(']').ok_or("unclosed '[' in host")?;
            let port = match tail {
                "" => None,
                tail => Some(tail.strip_prefix(':').ok_or("unexpected text after ']'")?),
            };
            (host, port)
        } else {
            match authority.split_once(':') {
                Some((_, port)) if port.contains(':') => {
                    return Err("IPv6 addresses must be in brackets, e.g. https://[::1]:6443".to_owned());
                }
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err("no host".to_owned());
        }
        let default_port = if https { 443 } else { 80 };
        let port = match port {
            None | Some("") => default_port,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("invalid port {p:?}"))?,
        };
        Ok(Self {
            https,
            host: host.to_owned(),
            port,
            path_prefix: path.trim_end_matches('/').to_owned(),
        })
    }

    /// `host:port`, with brackets around an IPv6 host (for `Host` headers and connecting).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.path_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A one-context kubeconfig: cluster `c` at `server` with extra cluster lines, user `u` with `user` lines.
    fn kubeconfig(server: &str, cluster: &str, user: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: ctx\nclusters:\n- name: c\n  cluster:\n    server: \
             {server}\n{cluster}users:\n- name: u\n  user:\n{user}contexts:\n- name: ctx\n  context:\n    cluster: \
             c\n    user: u\n    namespace: ignored\npreferences: {{}}\n"
        )
    }

    fn load_file(text: &str) -> Result<ClusterAccess, KubeconfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "config", text);
        load_with(Some(&path), &no_env, dir.path())
    }

    fn error(text: &str) -> String {
        load_file(text).unwrap_err().to_string()
    }

    #[test]
    fn provide_cluster_info_gives_the_plugin_its_cluster() {
        let exec = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n";
        let quiet = load_file(&kubeconfig("https://k", "", exec)).unwrap();
        assert!(
            quiet.exec.unwrap().cluster.is_none(),
            "cluster info only when asked for"
        );
        let ca = STANDARD.encode(CA);
        let asking = format!("{exec}      provideClusterInfo: true\n");
        let access = load_file(&kubeconfig(
            "https://k",
            &format!("    certificate-authority-data: {ca}\n"),
            &asking,
        ))
        .unwrap();
        let told = access.exec.and_then(|e| e.cluster).unwrap();
        assert_eq!(told.server.as_deref(), Some("https://k"));
        assert_eq!(told.certificate_authority_data.as_deref(), Some(CA.as_bytes()));
    }

    #[test]
    fn token_with_embedded_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = STANDARD.encode(CA);
        let path = write(
            dir.path(),
            "kc",
            &kubeconfig(
                "https://127.0.0.1:6443",
                &format!(
                    "    certificate-authority-data: {ca}\n    tls-server-name: kubernetes\n    extra: x\n"
                ),
                "    token: t0k\n",
            ),
        );
        let access = load_with(Some(&path), &no_env, dir.path()).unwrap();
        assert_eq!(
            access.server,
            ServerUrl {
                https: true,
                host: "127.0.0.1".into(),
                port: 6443,
                path_prefix: String::new()
            }
        );
        assert_eq!(access.tls_server_name.as_deref(), Some("kubernetes"));
        assert_eq!(access.ca_pem.as_deref(), Some(CA.as_bytes()));
        assert!(!access.insecure_skip_tls_verify);
        assert_eq!(access.credential, ApiCredential::Token("t0k".into()));
        assert_eq!(
            access.source,
            format!("kubeconfig {} (context ctx)", path.display())
        );
        assert_eq!(format!("{:?}", access.credential), "Token(<redacted>)");
    }

    #[test]
    fn client_cert_files_relative_to_kubeconfig_dir() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "kube/pki/ca.crt", CA);
        write(dir.path(), "kube/pki/client.crt", "CERT");
        write(dir.path(), "kube/pki/client.key", "KEY");
        let path = write(
            dir.path(),
            "kube/config",
            &kubeconfig(
                "https://kube.example:6443",
                "    certificate-authority: pki/ca.crt\n",
                "    client-certificate: pki/client.crt\n    client-key: pki/client.key\n",
            ),
        );
        let access = load_with(Some(&path), &no_env, dir.path()).unwrap();
        assert_eq!(access.ca_pem.as_deref(), Some(CA.as_bytes()));
        assert_eq!(
            access.credential,
            ApiCredential::ClientCert {
                cert_pem: b"CERT".to_vec(),
                key_pem: b"KEY".to_vec()
            }
        );
        assert_eq!(format!("{:?}", access.credential), "ClientCert { <redacted> }");
        // Read at load time: a missing file is reported then, naming it.
        std::fs::remove_file(dir.path().join("kube/pki/client.key")).unwrap();
        let err = load_with(Some(&path), &no_env, dir.path())
            .unwrap_err()
            .to_string();
        let key = dir.path().join("kube/pki/client.key");
        assert!(
            err.starts_with(&format!(
                "kubeconfig {}: user \"u\": cannot read client-key {}: ",
                path.display(),
                key.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn embedded_client_cert_and_token_file() {
        let access = load_file(&kubeconfig(
            "https://k:6443",
            "",
            &format!(
                "    client-certificate-data: {}\n    client-key-data: |\n      {}\n",
                STANDARD.encode("CERT"),
                STANDARD.encode("KEY")
            ),
        ))
        .unwrap();
        assert_eq!(
            access.credential,
            ApiCredential::ClientCert {
                cert_pem: b"CERT".to_vec(),
                key_pem: b"KEY".to_vec()
            }
        );
        assert_eq!(access.ca_pem, None);

        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "token", "secret");
        let path = write(
            dir.path(),
            "config",
            &kubeconfig("https://k", "", "    tokenFile: token\n    token: inline\n"),
        );
        let access = load_with(Some(&path), &no_env, dir.path()).unwrap();
        assert_eq!(
            access.credential,
            ApiCredential::TokenFile(dir.path().join("token"))
        );
        assert_eq!(access.server.port, 443);
    }

    #[test]
    fn kubeconfig_env_list_merges_first_wins() {
        let dir = tempfile::tempdir().unwrap();
        // First file: current-context and a user `u`, but no clusters.
        let a = write(
            dir.path(),
            "a",
            "current-context: ctx\nusers:\n- name: u\n  user:\n    token: from-a\n",
        );
        // Second file: defines ctx, cluster c and a user u that must lose to the first file's.
        let b = write(
            dir.path(),
            "b",
            &kubeconfig("https://b.example:6443", "", "    token: from-b\n").replace("ctx", "other"),
        );
        let b_ctx = write(
            dir.path(),
            "c",
            "current-context: ignored\ncontexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n\
             clusters:\n- name: c\n  cluster:\n    server: https://c.example\n",
        );
        let missing = dir.path().join("missing");
        let list = std::env::join_paths([&missing, &a, &b, &b_ctx]).unwrap();
        let env = |name: &str| (name == "KUBECONFIG").then(|| list.clone());
        let access = load_with(None, &env, dir.path()).unwrap();
        // Cluster `c` comes from b (first to define it), context from c, user from a.
        assert_eq!(access.server.host, "b.example");
        assert_eq!(access.credential, ApiCredential::Token("from-a".into()));
        let files = std::env::join_paths([&a, &b, &b_ctx]).unwrap();
        assert_eq!(
            access.source,
            format!("kubeconfig {} (context ctx)", files.to_string_lossy())
        );
    }

    #[test]
    fn kubeconfig_env_with_only_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let list = OsString::from(dir.path().join("nope"));
        let env = |name: &str| (name == "KUBECONFIG").then(|| list.clone());
        let err = load_with(None, &env, dir.path()).unwrap_err();
        assert!(matches!(err, KubeconfigError::NoKubeconfigFiles { .. }), "{err}");
        // ... but in a pod it falls back to in-cluster, like client-go.
        write(dir.path(), "token", "sa-token");
        let env = |name: &str| match name {
            "KUBECONFIG" => Some(list.clone()),
            "KUBERNETES_SERVICE_HOST" => Some("10.0.0.1".into()),
            "KUBERNETES_SERVICE_PORT" => Some("443".into()),
            _ => None,
        };
        assert_eq!(load_with(None, &env, dir.path()).unwrap().source, "in-cluster");
    }

    #[test]
    fn explicit_path_beats_env_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let env_file = write(
            dir.path(),
            "env",
            &kubeconfig("https://env", "", "    token: e\n"),
        );
        let explicit = write(
            dir.path(),
            "explicit",
            &kubeconfig("https://explicit", "", "    token: x\n"),
        );
        let env = |name: &str| (name == "KUBECONFIG").then(|| env_file.clone().into_os_string());
        assert_eq!(
            load_with(Some(&explicit), &env, dir.path()).unwrap().server.host,
            "explicit"
        );
        assert_eq!(load_with(None, &env, dir.path()).unwrap().server.host, "env");
        let missing = dir.path().join("missing");
        let err = load_with(Some(&missing), &env, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("cannot read kubeconfig {}: ", missing.display())),
            "{err}"
        );
    }

    #[test]
    fn in_cluster_with_fake_root() {
        let dir = tempfile::tempdir().unwrap();
        let sa = dir.path().join("var/run/secrets/kubernetes.io/serviceaccount");
        write(&sa, "token", "sa-token");
        write(&sa, "ca.crt", CA);
        let env = |name: &str| match name {
            "KUBERNETES_SERVICE_HOST" => Some("fd00::1".into()),
            "KUBERNETES_SERVICE_PORT" => Some("6443".into()),
            _ => None,
        };
        let access = load_with(None, &env, &sa).unwrap();
        assert_eq!(
            access.server,
            ServerUrl {
                https: true,
                host: "fd00::1".into(),
                port: 6443,
                path_prefix: String::new()
            }
        );
        assert_eq!(access.server.to_string(), "https://[fd00::1]:6443");
        assert_eq!(access.ca_pem.as_deref(), Some(CA.as_bytes()));
        assert_eq!(access.credential, ApiCredential::TokenFile(sa.join("token")));
        assert_eq!(access.source, "in-cluster");

        // No CA: system roots (client-go logs and carries on).
        std::fs::remove_file(sa.join("ca.crt")).unwrap();
        assert_eq!(load_with(None, &env, &sa).unwrap().ca_pem, None);
        // No token: an error naming it.
        std::fs::remove_file(sa.join("token")).unwrap();
        let err = load_with(None, &env, &sa).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "in-cluster configuration: cannot read service-account token {}",
                sa.join("token").display()
            )),
            "{err}"
        );
        // A bad port.
        let env = |name: &str| match name {
            "KUBERNETES_SERVICE_HOST" => Some("10.0.0.1".into()),
            "KUBERNETES_SERVICE_PORT" => Some("https".into()),
            _ => None,
        };
        assert_eq!(
            load_with(None, &env, &sa).unwrap_err().to_string(),
            "in-cluster configuration: KUBERNETES_SERVICE_PORT=\"https\" is not a port"
        );
    }

    #[test]
    fn nothing_found() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_with(None, &no_env, dir.path()).unwrap_err();
        assert!(matches!(err, KubeconfigError::NotFound));
        assert!(
            err.to_string()
                .starts_with("no kube-apiserver configuration found")
        );
        // Only one of the two in-cluster variables: not in a pod.
        let env = |name: &str| (name == "KUBERNETES_SERVICE_HOST").then(|| OsString::from("10.0.0.1"));
        assert!(matches!(
            load_with(None, &env, dir.path()),
            Err(KubeconfigError::NotFound)
        ));
    }

    #[test]
    fn home_kube_config_comes_after_in_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        write(
            &home,
            ".kube/config",
            &kubeconfig("https://home.example", "", "    token: t\n"),
        );
        let home_env = home.clone();
        let env = move |name: &str| (name == "HOME").then(|| home_env.clone().into_os_string());
        let access = load_with(None, &env, dir.path()).unwrap();
        assert_eq!(access.server.host, "home.example");
        assert_eq!(
            access.source,
            format!("kubeconfig {} (context ctx)", home.join(".kube/config").display())
        );
        // In a pod, the service account wins over a home kubeconfig.
        write(dir.path(), "token", "sa-token");
        let home_env = home;
        let env = move |name: &str| match name {
            "HOME" => Some(home_env.clone().into_os_string()),
            "KUBERNETES_SERVICE_HOST" => Some("10.0.0.1".into()),
            "KUBERNETES_SERVICE_PORT" => Some("443".into()),
            _ => None,
        };
        assert_eq!(load_with(None, &env, dir.path()).unwrap().source, "in-cluster");
    }

    #[test]
    fn missing_context() {
        let text = kubeconfig("https://k", "", "    token: t\n")
            .replace("current-context: ctx", "current-context: x");
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "config", &text);
        let err = load_with(Some(&path), &no_env, dir.path())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "kubeconfig {}: current-context \"x\" names no context",
                path.display()
            )
        );
        assert!(error("clusters: []\n").ends_with(": current-context is not set"));
        assert!(error("").ends_with(": current-context is not set"));
        let text = kubeconfig("https://k", "", "    token: t\n").replace("cluster: c", "cluster: gone");
        assert!(error(&text).ends_with(": cluster \"gone\" of context \"ctx\" not found"));
        let text = kubeconfig("https://k", "", "    token: t\n").replace("user: u", "user: gone");
        assert!(error(&text).ends_with(": user \"gone\" of context \"ctx\" not found"));
        // A context without a user: no credential.
        let text = kubeconfig("https://k", "", "    token: t\n").replace("    user: u\n", "");
        assert_eq!(load_file(&text).unwrap().credential, ApiCredential::None);
    }

    #[test]
    fn unsupported_user_methods() {
        // An exec plugin is the proxy's credential, run later (exec_credential); a static one beside it is refused.
        let exec = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n";
        let access = load_file(&kubeconfig("https://k", "", exec)).unwrap();
        assert_eq!(access.exec.and_then(|e| e.command).as_deref(), Some("aws"));
        assert_eq!(access.credential, ApiCredential::None);
        let err = error(&kubeconfig("https://k", "", &format!("{exec}    token: t\n")));
        assert!(err.contains("has both an exec plugin and a token"), "{err}");
        let interactive = format!("{exec}      interactiveMode: Always\n");
        let err = load_file(&kubeconfig("https://k", "", &interactive)).unwrap_err();
        assert!(
            matches!(
                err,
                KubeconfigError::Unsupported {
                    what: "an exec plugin that needs a terminal (interactiveMode: Always)",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("which is not supported for the proxy's own credentials"),
            "{err}"
        );
        for (user, what) in [
            ("    auth-provider:\n      name: oidc\n", "auth-provider"),
            ("    username: admin\n    password: secret\n", "username/password"),
            ("    token: t\n    as: alice\n", "impersonation"),
        ] {
            let err = error(&kubeconfig("https://k", "", user));
            assert!(err.contains(what), "{err}");
        }
        // `exec: null` is not an exec plugin.
        assert_eq!(
            load_file(&kubeconfig("https://k", "", "    exec: null\n    token: t\n"))
                .unwrap()
                .credential,
            ApiCredential::Token("t".into())
        );
    }

    #[test]
    fn bad_base64_and_other_invalid_entries() {
        let err = error(&kubeconfig(
            "https://k",
            "    certificate-authority-data: '%%%'\n",
            "    token: t\n",
        ));
        assert!(
            err.contains(": cluster \"c\": certificate-authority-data is not valid base64: "),
            "{err}"
        );
        let err = error(&kubeconfig(
            "https://k",
            "",
            "    client-certificate-data: '!!'\n",
        ));
        assert!(
            err.contains("user \"u\": client-certificate-data is not valid base64"),
            "{err}"
        );
        let cert_only = format!("    client-certificate-data: {}\n", STANDARD.encode("C"));
        assert!(
            error(&kubeconfig("https://k", "", &cert_only))
                .ends_with("has a client-certificate but no client-key")
        );
        let both = format!(
            "    token: t\n    client-certificate-data: {}\n    client-key-data: {}\n",
            STANDARD.encode("C"),
            STANDARD.encode("K")
        );
        assert!(error(&kubeconfig("https://k", "", &both)).contains("both a token and a client certificate"));
        let insecure = format!(
            "    insecure-skip-tls-verify: true\n    certificate-authority-data: {}\n",
            STANDARD.encode(CA)
        );
        assert!(error(&kubeconfig("https://k", &insecure, "")).contains("both insecure-skip-tls-verify"));
        let access = load_file(&kubeconfig(
            "https://k",
            "    insecure-skip-tls-verify: true\n",
            "",
        ))
        .unwrap();
        assert!(access.insecure_skip_tls_verify);
        assert!(error(&kubeconfig("https://k", "    proxy-url: http://p:3128\n", "")).contains("proxy-url"));
        assert!(error(&kubeconfig("''", "", "")).ends_with("cluster \"c\" has no server"));
        assert!(error(&kubeconfig("ftp://k", "", "")).contains("unsupported scheme \"ftp\""));
        assert!(error("clusters: {}\n").contains("is not valid"));
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "config", "current-context: [\n");
        let err = load_with(Some(&path), &no_env, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("kubeconfig {} is not valid: ", path.display())),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        let err = error(&kubeconfig(
            "https://k",
            "",
            "    tokenFile: /nonexistent/token\n",
        ));
        assert!(err.contains("cannot read tokenFile /nonexistent/token"), "{err}");
    }

    #[test]
    fn ipv6_server() {
        let access = load_file(&kubeconfig("https://[::1]:6443", "", "")).unwrap();
        assert_eq!(access.server.host, "::1");
        assert_eq!(access.server.port, 6443);
        assert_eq!(access.server.authority(), "[::1]:6443");
        assert_eq!(access.server.to_string(), "https://[::1]:6443");
        assert_eq!(ServerUrl::parse("https://[::1]").unwrap().port, 443);
        assert!(ServerUrl::parse("https://::1:6443").is_err());
        assert!(ServerUrl::parse("https://[::1:6443").is_err());
        assert!(ServerUrl::parse("https://[::1]x").is_err());
    }

    #[test]
    fn server_with_path_prefix() {
        let access = load_file(&kubeconfig("https://rancher.example/k8s/clusters/c-1/", "", "")).unwrap();
        assert_eq!(access.server.host, "rancher.example");
        assert_eq!(access.server.port, 443);
        assert_eq!(access.server.path_prefix, "/k8s/clusters/c-1");
        assert_eq!(
            access.server.to_string(),
            "https://rancher.example:443/k8s/clusters/c-1"
        );
        assert_eq!(ServerUrl::parse("https://k/").unwrap().path_prefix, "");
        assert!(ServerUrl::parse("https://k/api?x=1").is_err());
        assert!(ServerUrl::parse("https://user@k").is_err());
        assert!(ServerUrl::parse("https://:6443").is_err());
        assert!(ServerUrl::parse("https://k:99999").is_err());
    }

    #[test]
    fn http_server() {
        let access = load_file(&kubeconfig("http://localhost:8080", "", "    token: t\n")).unwrap();
        assert!(!access.server.https);
        assert_eq!(access.server.port, 8080);
        assert_eq!(
            ServerUrl::parse("HTTP://localhost").unwrap(),
            ServerUrl {
                https: false,
                host: "localhost".into(),
                port: 80,
                path_prefix: String::new()
            }
        );
        // No scheme: HTTPS, as in kubectl.
        let url = ServerUrl::parse("kube.local:6443").unwrap();
        assert!(url.https);
        assert_eq!(url.authority(), "kube.local:6443");
    }
}
