//! Where the load goes and how to reach it: the common options (`--url`, `--ca`, `--token`, `--cert`/`--key`,
//! `--server-name`) resolved once into a [`Target`], which opens [`Conn`]s (plain TCP or TLS).

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::tls;

/// The options every subcommand takes.
#[derive(Args, Debug, Clone)]
pub(crate) struct Common {
    /// Base URL of the server: https://HOST:PORT or http://HOST:PORT.
    #[arg(long)]
    pub(crate) url: String,
    /// PEM file with the CA certificate(s) to trust (required for https).
    #[arg(long)]
    pub(crate) ca: Option<PathBuf>,
    /// Bearer token sent as `Authorization: Bearer <T>`.
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// PEM client certificate (chain), with --key.
    #[arg(long, requires = "key")]
    pub(crate) cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, requires = "cert")]
    pub(crate) key: Option<PathBuf>,
    /// Name to verify the server certificate against (default: the URL's host; an IP address is checked
    /// against the certificate's IP SANs and not sent as SNI).
    #[arg(long)]
    pub(crate) server_name: Option<String>,
}

/// A resolved server: address, TLS settings, the headers every request carries.
#[derive(Clone)]
pub(crate) struct Target {
    /// `host:port` to connect to.
    addr: String,
    /// `Host` header value (the URL's authority).
    pub(crate) authority: String,
    /// TLS connector and the name to verify; `None` for http.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// `Authorization` header value, if any.
    pub(crate) authorization: Option<String>,
}

impl Target {
    /// Resolves the common options: parses the URL, loads the CA and client certificate.
    pub(crate) fn new(common: &Common) -> Result<Self> {
        let uri: http::Uri = common
            .url
            .parse()
            .with_context(|| format!("invalid --url {}", common.url))?;
        let secure = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => bail!("--url must start with https:// or http://, got {}", common.url),
        };
        let Some(authority) = uri.authority() else {
            bail!("--url has no host: {}", common.url);
        };
        if uri.path() != "/" && !uri.path().is_empty() {
            bail!("--url takes no path (use --path): {}", common.url);
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let tls = if secure {
            let Some(ca) = &common.ca else {
                bail!("--ca FILE is required for https:// URLs (the CA that signed the server certificate)");
            };
            let config = tls::client_config(ca, common.cert.as_deref(), common.key.as_deref())?;
            let name = common.server_name.clone().unwrap_or(host);
            let name =
                ServerName::try_from(name.clone()).with_context(|| format!("invalid server name {name}"))?;
            Some((TlsConnector::from(config), name))
        } else {
            if common.cert.is_some() {
                bail!("--cert needs an https:// URL");
            }
            None
        };
        Ok(Self {
            addr,
            authority: authority.as_str().to_string(),
            tls,
            authorization: common.token.as_ref().map(|t| format!("Bearer {t}")),
        })
    }

    /// Whether connections use TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Opens one connection: TCP (no Nagle), then the TLS handshake for https.
    pub(crate) async fn connect(&self) -> Result<Conn> {
        let tcp = TcpStream::connect(&self.addr)
            .await
            .with_context(|| format!("connecting to {}", self.addr))?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        match &self.tls {
            None => Ok(Conn::Plain(tcp)),
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .context("TLS handshake")?;
                Ok(Conn::Tls(Box::new(tls)))
            }
        }
    }
}

/// One connection to the target.
pub(crate) enum Conn {
    /// http://
    Plain(TcpStream),
    /// https://
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Shared handle to a target, for tasks.
pub(crate) type SharedTarget = Arc<Target>;
