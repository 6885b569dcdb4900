//! `perf-load exec`: streams bytes through `cat` in WebSocket exec sessions (the remote-command channel
//! protocol, `v5.channel.k8s.io`, else `v4.channel.k8s.io`) and measures the throughput.
//!
//! Each session writes `--bytes` on stdin (binary messages, channel byte 0) while reading them back from
//! stdout (channel 1) and checking every byte, then closes stdin (`[255, 0]`, v5) and waits for the
//! `Success` status on channel 3. On v4, which cannot close stdin alone, the session ends once every byte
//! came back.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use bytes::Bytes;
use clap::Args;
use futures_util::{SinkExt as _, StreamExt as _};
use http::HeaderValue;
use http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use serde::Serialize;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::conn::{Common, SharedTarget, Target};
use crate::units;

/// The subprotocols offered by default, preferred first.
const PROTOCOLS: &str = "v5.channel.k8s.io, v4.channel.k8s.io";
const V5: &str = "v5.channel.k8s.io";
const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const CLOSE: u8 = 255;
/// Period of the byte pattern sent, a prime so that it never lines up with message boundaries.
const PERIOD: usize = 251;

/// Options of `exec`.
#[derive(Args, Debug)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    common: Common,
    /// Exec path, e.g. '/api/v1/namespaces/oil-dev/pods/web/exec?command=cat&stdin=true&stdout=true'.
    #[arg(long)]
    path: String,
    /// Bytes to send through each session.
    #[arg(long, default_value = "64MiB", value_parser = units::bytes)]
    bytes: u64,
    /// Size of each stdin message's payload.
    #[arg(long, default_value = "32KiB", value_parser = units::bytes)]
    message_bytes: u64,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Subprotocols to offer, preferred first.
    #[arg(long, default_value = PROTOCOLS)]
    protocols: String,
    /// Give up after this long.
    #[arg(long, default_value = "60s", value_parser = units::duration)]
    timeout: Duration,
}

impl ExecArgs {
    /// The hard deadline of the whole run.
    pub(crate) fn deadline(&self) -> Duration {
        self.timeout
    }
}

/// What `exec` prints.
#[derive(Serialize, Debug)]
pub(crate) struct ExecReport {
    /// Bytes that came back on stdout, all sessions.
    bytes: u64,
    /// From the first session's first write to the last session's end.
    seconds: f64,
    /// `bytes / seconds`, MiB/s.
    mib_per_s: f64,
    /// Sessions run.
    sessions: u64,
    /// Sessions that failed.
    errors: u64,
    /// The subprotocol the server chose (the first session's).
    protocol: Option<String>,
    /// The first failure, if any.
    first_error: Option<String>,
}

/// One session's outcome.
struct Session {
    protocol: String,
    bytes: u64,
    started: Instant,
    ended: Instant,
}

/// Runs `exec`; fails when every session failed.
pub(crate) async fn run(args: ExecArgs) -> Result<ExecReport> {
    if args.sessions == 0 || args.message_bytes == 0 {
        bail!("--sessions and --message-bytes must be at least 1");
    }
    let target = SharedTarget::new(Target::new(&args.common)?);
    eprintln!(
        "exec {}{}: {} session(s) of {} bytes in {}-byte messages",
        args.common.url, args.path, args.sessions, args.bytes, args.message_bytes
    );
    let tasks: Vec<_> = (0..args.sessions)
        .map(|_| {
            let target = SharedTarget::clone(&target);
            let (path, protocols) = (args.path.clone(), args.protocols.clone());
            tokio::spawn(
                async move { session(&target, &path, &protocols, args.bytes, args.message_bytes).await },
            )
        })
        .collect();
    let (mut done, mut errors, mut first_error) = (Vec::new(), 0u64, None);
    for task in tasks {
        match task.await.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok(s) => done.push(s),
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let (Some(start), Some(end)) = (
        done.iter().map(|s| s.started).min(),
        done.iter().map(|s| s.ended).max(),
    ) else {
        bail!("every exec session failed: {}", first_error.unwrap_or_default());
    };
    let bytes: u64 = done.iter().map(|s| s.bytes).sum();
    let seconds = (end - start).as_secs_f64().max(1e-6);
    Ok(ExecReport {
        bytes,
        seconds: (seconds * 1e4).round() / 1e4,
        mib_per_s: (bytes as f64 / seconds / f64::from(1 << 20) * 10.0).round() / 10.0,
        sessions: args.sessions as u64,
        errors,
        protocol: done.first().map(|s| s.protocol.clone()),
        first_error,
    })
}

/// The pattern byte at stream offset `offset`.
fn pattern_at(offset: u64) -> u8 {
    (offset % PERIOD as u64) as u8
}

/// The stdin message carrying `len` bytes from stream offset `offset`.
fn stdin_message(pattern: &[u8], offset: u64, len: usize) -> Bytes {
    let from = (offset % PERIOD as u64) as usize;
    let mut message = Vec::with_capacity(len + 1);
    message.push(STDIN);
    let mut left = len;
    let mut at = from;
    while left > 0 {
        let take = left.min(pattern.len() - at);
        message.extend_from_slice(&pattern[at..at + take]);
        left -= take;
        at = 0;
    }
    Bytes::from(message)
}

/// Checks stdout bytes against the pattern from stream offset `offset`.
fn check_echo(data: &[u8], offset: u64) -> Result<()> {
    match data
        .iter()
        .enumerate()
        .find(|&(i, &b)| b != pattern_at(offset + i as u64))
    {
        Some((i, b)) => bail!(
            "stdout byte {} is {b:#04x}, sent {:#04x}",
            offset + i as u64,
            pattern_at(offset + i as u64)
        ),
        None => Ok(()),
    }
}

/// One session: handshake, stream, status.
async fn session(
    target: &Target,
    path: &str,
    protocols: &str,
    total: u64,
    message_bytes: u64,
) -> Result<Session> {
    let scheme = if target.is_tls() { "wss" } else { "ws" };
    let mut request = format!("{scheme}://{}{path}", target.authority)
        .into_client_request()
        .context("building the WebSocket request")?;
    let offered = HeaderValue::from_str(protocols).context("--protocols")?;
    request.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, offered);
    if let Some(auth) = &target.authorization {
        request
            .headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_str(auth).context("token")?);
    }
    let conn = target.connect().await?;
    let (ws, response) = tokio_tungstenite::client_async(request, conn)
        .await
        .context("WebSocket handshake")?;
    let protocol = response
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let v5 = protocol == V5;
    let (mut sink, mut stream) = ws.split();
    let pattern: Vec<u8> = (0..PERIOD * 2).map(|i| (i % PERIOD) as u8).collect();
    let started = Instant::now();
    let write = async {
        let mut sent = 0u64;
        while sent < total {
            let len = (total - sent).min(message_bytes) as usize;
            sink.send(Message::Binary(stdin_message(&pattern, sent, len)))
                .await
                .context("writing stdin")?;
            sent += len as u64;
        }
        if v5 {
            sink.send(Message::Binary(Bytes::from_static(&[CLOSE, STDIN])))
                .await
                .context("closing stdin")?;
        }
        anyhow::Ok(())
    };
    let read = async {
        let mut received = 0u64;
        let mut stderr = Vec::new();
        while let Some(message) = stream.next().await {
            let data = match message.context("reading")? {
                Message::Binary(data) => data,
                Message::Close(frame) => bail!("closed by the server before the status: {frame:?}"),
                _ => continue,
            };
            let Some((&channel, payload)) = data.split_first() else {
                continue;
            };
            match channel {
                STDOUT => {
                    check_echo(payload, received)?;
                    received += payload.len() as u64;
                    if received > total {
                        bail!("stdout returned {received} bytes, {total} were sent");
                    }
                    if !v5 && received == total {
                        return Ok(received);
                    }
                }
                STDERR if stderr.len() < 4096 => stderr.extend_from_slice(payload),
                STATUS => {
                    let status: serde_json::Value = serde_json::from_slice(payload)
                        .map_err(|_| anyhow!("status: {}", String::from_utf8_lossy(payload)))?;
                    if status.get("status").and_then(|s| s.as_str()) != Some("Success") {
                        bail!("command failed: {status}");
                    }
                    if received != total {
                        bail!("status Success after {received} of {total} bytes");
                    }
                    return Ok(received);
                }
                _ => {}
            }
        }
        bail!(
            "stream ended after {received} of {total} bytes; stderr: {}",
            String::from_utf8_lossy(&stderr)
        )
    };
    let (written, received) = tokio::join!(write, read);
    let ended = Instant::now();
    let received = received?;
    written?;
    if let Ok(mut ws) = sink.reunite(stream) {
        // Best effort: the measurement is over.
        let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    }
    Ok(Session {
        protocol,
        bytes: received,
        started,
        ended,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_the_pattern_across_boundaries() {
        let pattern: Vec<u8> = (0..PERIOD * 2).map(|i| (i % PERIOD) as u8).collect();
        let mut offset = 0u64;
        for len in [1usize, 250, 251, 252, 1000, 7] {
            let message = stdin_message(&pattern, offset, len);
            assert_eq!(message[0], STDIN);
            assert_eq!(message.len(), len + 1);
            check_echo(&message[1..], offset).unwrap();
            offset += len as u64;
        }
        assert!(check_echo(&[0, 1, 3], 0).is_err());
        assert!(check_echo(&[250, 0], 250).is_ok());
    }
}
