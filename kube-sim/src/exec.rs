//! Pod `exec` over WebSocket: the remote-command channel protocol `kubectl exec` speaks.
//!
//! The HTTP server hands a `GET …/pods/<pod>/exec?command=…` upgrade request to [`negotiate`] (validation and
//! subprotocol choice) and [`parse_query`] (the `PodExecOptions`), answers `101 Switching Protocols` with
//! [`Handshake::response_headers`], then gives the upgraded byte stream to [`run`].
//!
//! Wire protocol, as kubelet, kube-apiserver's stream translator and client-go implement it: every binary
//! message starts with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 error (the final status), 4 resize.
//! The server first sends an empty message on the lowest channel it writes (stdout, else stderr, else error),
//! then the command's output, then the status on channel 3, then a normal-closure close frame.
//! - `v5.channel.k8s.io` (what kubectl ≥ 1.30 asks for; served by kube-apiserver's translator): adds
//!   `[255, channel]`, "this channel is closed" — how the client says stdin reached EOF.
//! - `v4.channel.k8s.io` / `v4.base64.channel.k8s.io` (kubelet): the status is a JSON `metav1.Status`; stdin
//!   only ends when the socket does.
//! - `channel.k8s.io` / `base64.channel.k8s.io` (kubelet, pre-v4): channel 3 carries only a failure's message
//!   text. The base64 flavours send text messages: an ASCII channel digit, then the base64 payload.
//!
//! Statuses are the ones kubectl decodes: `Success`; `NonZeroExitCode` with an `ExitCode` cause (kubectl then
//! prints `command terminated with exit code N` and exits with N); an `InternalError` for a command the
//! container runtime cannot start, worded like containerd + runc (kubectl prints `error: Internal error
//! occurred: …` and exits 1). On v5 the messages carry kube-apiserver's translator wording, on v1/v4 kubelet's.
//!
//! What is simulated (no process is ever spawned): `echo [-n]`, `cat` (stdin → stdout until EOF; `cat
//! /etc/hostname`), `true`, `false`, `hostname`, `pwd`, `env`, `sleep N[smhd]`, and a small shell (`sh`, `ash`,
//! `bash`; with `-c SCRIPT`, or reading commands from stdin) that knows those commands plus `exit`, `cd`, `:`,
//! `;`, `&&`, `||`, quotes, `#` comments and the fake environment's `$VARS`. Commands may be named by path
//! (`/bin/sh`). With `tty=true` the output goes through a pty-like line discipline: stderr is merged into
//! stdout, `\n` becomes `\r\n`, input is echoed and edited line by line, ^C interrupts (exit 130), ^D ends
//! input.
//!
//! What is not: SPDY (kubectl falls back to it only if the WebSocket upgrade fails), `attach` and
//! `portforward`, resize effects (channel 4 is read and ignored), pipes, redirections, `$?`, command
//! substitution, job control, signals other than ^C, a filesystem. The container name is carried, not checked.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL};
use http::header::{SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use crate::status::ApiError;

/// Remote-command protocol v5: v4 plus the `[255, channel]` stream-close signal. Preferred when offered.
pub const PROTOCOL_V5: &str = "v5.channel.k8s.io";
/// Remote-command protocol v4: binary channels, JSON `metav1.Status` with exit codes on channel 3.
pub const PROTOCOL_V4: &str = "v4.channel.k8s.io";
/// Remote-command protocol v4 with base64 text messages (browsers).
pub const PROTOCOL_V4_BASE64: &str = "v4.base64.channel.k8s.io";
/// The original channel protocol: binary channels, plain-text failure message on channel 3.
pub const PROTOCOL_V1: &str = "channel.k8s.io";
/// The original channel protocol with base64 text messages.
pub const PROTOCOL_V1_BASE64: &str = "base64.channel.k8s.io";
/// Every subprotocol [`negotiate`] accepts, newest first.
pub const SUPPORTED_PROTOCOLS: [&str; 5] = [
    PROTOCOL_V5,
    PROTOCOL_V4,
    PROTOCOL_V4_BASE64,
    PROTOCOL_V1,
    PROTOCOL_V1_BASE64,
];

/// Prefix of the `Sec-WebSocket-Protocol` entries browsers use to carry a bearer token; never chosen, never echoed.
const BEARER_PROTOCOL_PREFIX: &str = "base64url.bearer.authorization.k8s.io.";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
/// Channels 0–4 exist; a v5 close signal for any other channel is a protocol error.
const CHANNELS: u8 = 5;
/// v5: `[STREAM_CLOSE, channel]` half-closes `channel`.
const STREAM_CLOSE: u8 = 255;

/// How long [`run`] waits for the client's close frame after sending its own.
const CLOSE_WAIT: Duration = Duration::from_secs(10);
/// The prompt of the interactive shell (a busybox root shell in `/`).
const PROMPT: &[u8] = b"/ # ";
/// Exit status of a process killed by SIGINT.
const INTERRUPTED: i32 = 130;

/// The outcome of a successful [`negotiate`]: what the `101 Switching Protocols` response must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// `Sec-WebSocket-Accept`, derived from the request's `Sec-WebSocket-Key`.
    pub accept_key: String,
    /// The chosen `Sec-WebSocket-Protocol`, one of [`SUPPORTED_PROTOCOLS`]; pass it on to [`run`].
    pub protocol: &'static str,
}

impl Handshake {
    /// The `101` response headers: `Upgrade`, `Connection`, `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol`.
    pub fn response_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        // The accept key is base64, so always a valid header value.
        if let Ok(accept) = HeaderValue::from_str(&self.accept_key) {
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
        }
        headers.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(self.protocol));
        headers
    }
}

/// Validates the upgrade request and picks the subprotocol.
///
/// Requires `Upgrade: websocket`, a `Connection` header with `upgrade`, `Sec-WebSocket-Version: 13` and a
/// well-formed `Sec-WebSocket-Key`. Chooses `v5.channel.k8s.io` whenever it is offered (as kube-apiserver
/// routes any v5 request to its stream translator), otherwise the first offered protocol kubelet serves
/// (`Sec-WebSocket-Protocol` may be repeated or comma-separated). Bearer-token entries are ignored. Any
/// failure is a 400 whose message lists the supported protocols where relevant.
pub fn negotiate(headers: &HeaderMap) -> Result<Handshake, ApiError> {
    let upgrade = header_tokens(headers, &UPGRADE).any(|t| t.eq_ignore_ascii_case("websocket"));
    let connection = header_tokens(headers, &CONNECTION).any(|t| t.eq_ignore_ascii_case("upgrade"));
    if !upgrade || !connection {
        return Err(ApiError::bad_request(
            "Upgrade request required: exec is served over WebSocket (Upgrade: websocket, Connection: Upgrade)",
        ));
    }
    let version = headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(|v| v.to_str().unwrap_or("").trim());
    if version != Some("13") {
        return Err(ApiError::bad_request(format!(
            "unsupported Sec-WebSocket-Version {:?}: only version 13 is supported",
            version.unwrap_or("")
        )));
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let Some(key) = key.filter(|k| STANDARD.decode(k).is_ok_and(|raw| raw.len() == 16)) else {
        return Err(ApiError::bad_request(
            "missing or invalid Sec-WebSocket-Key header: must be the base64 encoding of 16 bytes",
        ));
    };
    let offered: Vec<&str> = header_tokens(headers, &SEC_WEBSOCKET_PROTOCOL).collect();
    let chosen = if offered.contains(&PROTOCOL_V5) {
        Some(PROTOCOL_V5)
    } else {
        offered
            .iter()
            .find_map(|o| SUPPORTED_PROTOCOLS.iter().copied().find(|s| s == o))
    };
    let Some(protocol) = chosen else {
        let shown: Vec<&str> = offered
            .iter()
            .map(|o| {
                if o.starts_with(BEARER_PROTOCOL_PREFIX) {
                    "base64url.bearer.authorization.k8s.io.<redacted>"
                } else {
                    o
                }
            })
            .collect();
        return Err(ApiError::bad_request(format!(
            "requested protocol(s) are not supported: [{}]; supports [{}]",
            shown.join(" "),
            SUPPORTED_PROTOCOLS.join(" ")
        )));
    };
    Ok(Handshake {
        accept_key: derive_accept_key(key.as_bytes()),
        protocol,
    })
}

/// The comma-separated, trimmed, non-empty tokens of every value of a header.
fn header_tokens<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// A parsed exec request (`PodExecOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// The argv to run (`command` repeated in the query).
    pub command: Vec<String>,
    /// Attach stdin (channel 0).
    pub stdin: bool,
    /// Attach stdout (channel 1).
    pub stdout: bool,
    /// Attach stderr (channel 2); ignored with `tty`, whose stderr goes to stdout.
    pub stderr: bool,
    /// Allocate a (simulated) terminal.
    pub tty: bool,
    /// The `container` parameter, if given and non-empty. Carried, not checked.
    pub container: Option<String>,
    /// The pod the command runs in (what `hostname` prints). [`parse_query`] leaves it empty: the caller, which
    /// knows the path, fills it in.
    pub pod: String,
}

/// Parses the exec query string (a leading `?` is allowed).
///
/// `command` may repeat; `stdin`, `stdout`, `stderr` and `tty` are booleans decoded like kube-apiserver does
/// (the first value counts; absent, `false` in any case, or `0` mean false, anything else — `true`, `1`, even
/// empty — means true); `container` is optional. Unknown parameters are ignored. Errors are 400s worded like
/// kube-apiserver's.
pub fn parse_query(query: &str) -> Result<ExecRequest, ApiError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut request = ExecRequest::default();
    let (mut stdin, mut stdout, mut stderr, mut tty, mut container) = (None, None, None, None, None);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let flag = || !(value == "0" || value.eq_ignore_ascii_case("false"));
        match key.as_ref() {
            "command" => request.command.push(value.to_string()),
            "stdin" => _ = stdin.get_or_insert_with(flag),
            "stdout" => _ = stdout.get_or_insert_with(flag),
            "stderr" => _ = stderr.get_or_insert_with(flag),
            "tty" => _ = tty.get_or_insert_with(flag),
            "container" => _ = container.get_or_insert_with(|| value.to_string()),
            _ => {}
        }
    }
    request.stdin = stdin.unwrap_or(false);
    request.stdout = stdout.unwrap_or(false);
    request.stderr = stderr.unwrap_or(false);
    request.tty = tty.unwrap_or(false);
    request.container = container.filter(|c| !c.is_empty());
    if request.command.is_empty() {
        return Err(ApiError::bad_request("you must specify at least 1 command"));
    }
    if !request.stdin && !request.stdout && !request.stderr {
        return Err(ApiError::bad_request(
            "you must specify at least one of stdin, stdout, stderr",
        ));
    }
    Ok(request)
}

/// Runs the exec session on the upgraded stream (already past the HTTP handshake), then closes it cleanly.
///
/// `protocol` is [`Handshake::protocol`]; anything unrecognised is served as the original `channel.k8s.io`,
/// as kubelet serves a request that named no protocol. The session ends when the simulated command exits
/// (status on channel 3, close frame, a bounded wait for the client's close frame) or when the client goes
/// away (nothing more is written).
pub async fn run<S>(io: S, protocol: &str, request: ExecRequest)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let flavor = Flavor::of(protocol);
    let routing = Routing {
        stdout: request.stdout,
        stderr: request.stderr && !request.tty,
        tty: request.tty,
    };
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    let mut session = Session {
        ws,
        flavor,
        routing,
        open: true,
    };
    // Like kubelet: an empty message on the lowest channel the server writes says the streams are ready.
    let ready = if routing.stdout {
        STDOUT
    } else if routing.stderr {
        STDERR
    } else {
        ERROR
    };
    session.send(ready, &[]).await;

    let ctx = Ctx {
        pod: &request.pod,
        tty: request.tty,
    };
    let mut out = Output::default();
    let exit = match start(&request.command, ctx, &mut out) {
        Start::Exit(code) => Some(Exit::Code(code)),
        Start::NotFound => Some(Exit::StartFailed(start_failure(&request))),
        Start::Run(mut process) => {
            // Without stdin the command reads EOF at once, as from /dev/null.
            let early = if request.stdin {
                None
            } else {
                process.eof(ctx, &mut out)
            };
            match early {
                Some(code) => Some(Exit::Code(code)),
                None => drive(&mut session, process, ctx, &mut out, request.stdin)
                    .await
                    .map(Exit::Code),
            }
        }
    };
    session.emit(&mut out).await;
    let status = exit.and_then(|exit| status_frame(flavor.version, &exit, &request.command));
    session.finish(status.as_deref()).await;
}

/// Feeds client frames and timer wake-ups to a running process until it exits (`Some(status)`) or the client
/// goes away (`None`).
async fn drive<S>(
    session: &mut Session<S>,
    mut process: Proc,
    ctx: Ctx<'_>,
    out: &mut Output,
    stdin: bool,
) -> Option<i32>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stdin_open = stdin;
    let mut discipline = LineDiscipline::default();
    loop {
        session.emit(out).await;
        if !session.open {
            return None;
        }
        let deadline = process.deadline();
        let wake_at = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
        let event = tokio::select! {
            message = session.ws.next() => Some(message),
            () = tokio::time::sleep_until(wake_at), if deadline.is_some() => None,
        };
        let bytes = match event {
            None => {
                if let Some(code) = process.wake(ctx, out) {
                    return Some(code);
                }
                continue;
            }
            Some(Some(Ok(Message::Binary(bytes)))) => bytes,
            Some(Some(Ok(Message::Text(text)))) => text.into(),
            // Ping, pong: tungstenite answers pings itself.
            Some(Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)))) => continue,
            // The client's close frame (for v1/v4 also how stdin ends): nobody is left to read output or a
            // status. Send the queued close reply and end.
            Some(Some(Ok(Message::Close(_)))) => {
                let _ = session.ws.flush().await;
                session.open = false;
                return None;
            }
            // EOF or a broken socket.
            Some(Some(Err(_)) | None) => {
                session.open = false;
                return None;
            }
        };
        let exited = match session.flavor.decode(&bytes) {
            Inbound::Data(STDIN, data) if stdin_open => {
                if ctx.tty {
                    let mut exited = None;
                    for input in discipline.feed(&data, out) {
                        exited = match input {
                            TtyInput::Data(line) => process.input(&line, ctx, out),
                            TtyInput::EndOfText => process.end_of_text(ctx, out),
                            TtyInput::Interrupt => process.interrupt(ctx, out),
                        };
                        if exited.is_some() {
                            break;
                        }
                    }
                    exited
                } else {
                    process.input(&data, ctx, out)
                }
            }
            Inbound::Closed(STDIN) if stdin_open => {
                stdin_open = false;
                process.eof(ctx, out)
            }
            // Stdin that was not requested, resize events, other channels: ignored, as kubelet does.
            Inbound::Data(..) | Inbound::Nothing => None,
            Inbound::Closed(channel) if channel < CHANNELS => None,
            // kubelet drops the connection on a malformed close signal.
            Inbound::Closed(_) | Inbound::ProtocolError => {
                session.open = false;
                return None;
            }
        };
        if exited.is_some() {
            return exited;
        }
    }
}

/// The protocol generation, which decides the status format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V4,
    V5,
}

/// A negotiated subprotocol: its generation and whether messages are base64 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flavor {
    version: Version,
    base64: bool,
}

/// One client message, decoded.
#[derive(Debug, PartialEq, Eq)]
enum Inbound {
    /// Data for a channel.
    Data(u8, Vec<u8>),
    /// v5 close signal for a channel.
    Closed(u8),
    /// A malformed v5 close signal.
    ProtocolError,
    /// An empty or undecodable message.
    Nothing,
}

impl Flavor {
    fn of(protocol: &str) -> Self {
        let (version, base64) = match protocol {
            PROTOCOL_V5 => (Version::V5, false),
            PROTOCOL_V4 => (Version::V4, false),
            PROTOCOL_V4_BASE64 => (Version::V4, true),
            PROTOCOL_V1_BASE64 => (Version::V1, true),
            _ => (Version::V1, false),
        };
        Self { version, base64 }
    }

    fn encode(self, channel: u8, data: &[u8]) -> Message {
        if self.base64 {
            let mut text = String::with_capacity(1 + data.len().div_ceil(3) * 4);
            text.push(char::from(b'0' + channel));
            STANDARD.encode_string(data, &mut text);
            Message::text(text)
        } else {
            let mut frame = Vec::with_capacity(1 + data.len());
            frame.push(channel);
            frame.extend_from_slice(data);
            Message::binary(frame)
        }
    }

    fn decode(self, message: &[u8]) -> Inbound {
        let Some((&first, rest)) = message.split_first() else {
            return Inbound::Nothing;
        };
        if self.version == Version::V5 && first == STREAM_CLOSE {
            return match rest {
                [channel] => Inbound::Closed(*channel),
                _ => Inbound::ProtocolError,
            };
        }
        if self.base64 {
            match STANDARD.decode(rest) {
                Ok(data) => Inbound::Data(first.wrapping_sub(b'0'), data),
                Err(_) => Inbound::Nothing,
            }
        } else {
            Inbound::Data(first, rest.to_vec())
        }
    }
}

/// Which channel each of the process's outputs goes to.
#[derive(Debug, Clone, Copy)]
struct Routing {
    stdout: bool,
    stderr: bool,
    tty: bool,
}

impl Routing {
    fn channel(self, fd: Fd) -> Option<u8> {
        match fd {
            Fd::Out => self.stdout.then_some(STDOUT),
            Fd::Err if self.tty => self.stdout.then_some(STDOUT),
            Fd::Err => self.stderr.then_some(STDERR),
        }
    }
}

/// The server end of the WebSocket.
struct Session<S> {
    ws: WebSocketStream<S>,
    flavor: Flavor,
    routing: Routing,
    /// False once a write failed: the client is gone.
    open: bool,
}

impl<S> Session<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Sends one channel message (and flushes).
    async fn send(&mut self, channel: u8, data: &[u8]) {
        if self.open && self.ws.send(self.flavor.encode(channel, data)).await.is_err() {
            self.open = false;
        }
    }

    /// Sends what the process wrote, on the channels the client asked for.
    async fn emit(&mut self, out: &mut Output) {
        let chunks = std::mem::take(&mut out.chunks);
        if chunks.is_empty() || !self.open {
            return;
        }
        for (fd, data) in chunks {
            let Some(channel) = self.routing.channel(fd) else {
                continue;
            };
            let data = if self.routing.tty { onlcr(&data) } else { data };
            if self.ws.feed(self.flavor.encode(channel, &data)).await.is_err() {
                self.open = false;
                return;
            }
        }
        if self.ws.flush().await.is_err() {
            self.open = false;
        }
    }

    /// Writes the status (if any) on channel 3, sends a normal-closure close frame, waits a bounded time for
    /// the client's close frame (so that output still in flight is not cut off), then shuts the stream down.
    async fn finish(mut self, status: Option<&[u8]>) {
        if let Some(status) = status {
            self.send(ERROR, status).await;
        }
        if self.open {
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            if self.ws.close(Some(frame)).await.is_ok() {
                let _ = tokio::time::timeout(CLOSE_WAIT, async {
                    while let Some(Ok(message)) = self.ws.next().await {
                        if message.is_close() {
                            break;
                        }
                    }
                })
                .await;
            }
        }
        let mut io = self.ws.into_inner();
        let _ = tokio::time::timeout(Duration::from_secs(1), io.shutdown()).await;
    }
}

/// `\n` → `\r\n`, as a terminal's output processing (ONLCR) does.
fn onlcr(data: &[u8]) -> Vec<u8> {
    let mut converted = Vec::with_capacity(data.len() + data.len() / 8);
    for &byte in data {
        if byte == b'\n' {
            converted.push(b'\r');
        }
        converted.push(byte);
    }
    converted
}

/// How a simulated exec ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exit {
    /// The command ran and exited with this status.
    Code(i32),
    /// The container runtime could not start the command; the runtime's error message.
    StartFailed(String),
}

/// What goes on channel 3 at the end, if anything.
fn status_frame(version: Version, exit: &Exit, command: &[String]) -> Option<Vec<u8>> {
    let status = exit_status(version, exit, command);
    match version {
        // Pre-v4 kubelet writes only a failure, as its message text.
        Version::V1 => match status.get("status").and_then(Value::as_str) {
            Some("Success") => None,
            _ => status
                .get("message")
                .and_then(Value::as_str)
                .map(|m| m.as_bytes().to_vec()),
        },
        Version::V4 | Version::V5 => serde_json::to_vec(&status).ok(),
    }
}

/// The `metav1.Status` reporting an exec's end, as serialized on channel 3 (no `kind`/`apiVersion`, as kubelet
/// and the translator marshal a bare `metav1.Status`).
///
/// v1/v4 carry kubelet's wording (around containerd's errors); v5 carries kube-apiserver's stream translator
/// wording, which rebuilds the status from the error client-go decoded out of kubelet's.
fn exit_status(version: Version, exit: &Exit, command: &[String]) -> Value {
    match exit {
        Exit::Code(0) => json!({ "metadata": {}, "status": "Success" }),
        Exit::Code(code) => {
            let code = code & 0xff;
            let error = if version == Version::V5 {
                format!("command terminated with exit code {code}")
            } else {
                format!(
                    "error executing command [{}], exit code {code}",
                    command.join(" ")
                )
            };
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("command terminated with non-zero exit code: {error}"),
                "reason": "NonZeroExitCode",
                "details": { "causes": [ { "reason": "ExitCode", "message": code.to_string() } ] },
            })
        }
        Exit::StartFailed(runtime_error) => {
            let kubelet_error = format!("error executing command in container: {runtime_error}");
            let error = if version == Version::V5 {
                format!("Internal error occurred: {kubelet_error}")
            } else {
                kubelet_error
            };
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("Internal error occurred: {error}"),
                "reason": "InternalError",
                "details": { "causes": [ { "message": error } ] },
                "code": 500,
            })
        }
    }
}

/// containerd's error for a command runc cannot find, with a stable fake exec id.
fn start_failure(request: &ExecRequest) -> String {
    let argv0 = request.command.first().map_or("", String::as_str);
    let mut hasher = Sha256::new();
    for part in [request.pod.as_str(), request.container.as_deref().unwrap_or("")]
        .into_iter()
        .chain(request.command.iter().map(String::as_str))
    {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let mut exec_id = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(exec_id, "{byte:02x}");
    }
    let cause = if argv0.contains('/') {
        format!("stat {argv0}: no such file or directory")
    } else {
        "executable file not found in $PATH".to_string()
    };
    format!(
        "failed to exec in container: failed to start exec {exec_id:?}: OCI runtime exec failed: exec failed: \
         unable to start container process: exec: {argv0:?}: {cause}: unknown"
    )
}

// ---------------------------------------------------------------------------------------------------------
// The simulated container.
// ---------------------------------------------------------------------------------------------------------

/// What a simulated command sees of its environment.
#[derive(Debug, Clone, Copy)]
struct Ctx<'a> {
    pod: &'a str,
    tty: bool,
}

/// A process's output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fd {
    Out,
    Err,
}

/// Output written by the simulated process, not yet sent.
#[derive(Debug, Default)]
struct Output {
    chunks: Vec<(Fd, Vec<u8>)>,
}

impl Output {
    fn write(&mut self, fd: Fd, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match self.chunks.last_mut() {
            Some((last, buffer)) if *last == fd => buffer.extend_from_slice(data),
            _ => self.chunks.push((fd, data.to_vec())),
        }
    }

    fn out(&mut self, text: &str) {
        self.write(Fd::Out, text.as_bytes());
    }

    fn err(&mut self, text: &str) {
        self.write(Fd::Err, text.as_bytes());
    }
}

/// The outcome of starting a command.
#[derive(Debug)]
enum Start {
    /// It ran to completion with this status.
    Exit(i32),
    /// It keeps running: it reads stdin or sleeps.
    Run(Proc),
    /// No such executable.
    NotFound,
}

/// A simulated command that is still running.
#[derive(Debug)]
enum Proc {
    /// Copies stdin to stdout until EOF.
    Cat,
    /// Sleeps until the instant.
    Sleep(Instant),
    /// A shell.
    Shell(Box<Shell>),
}

impl Proc {
    /// Stdin data arrived.
    fn input(&mut self, data: &[u8], ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        match self {
            Self::Cat => {
                out.write(Fd::Out, data);
                None
            }
            Self::Sleep(_) => None,
            Self::Shell(shell) => shell.input(data, ctx, out),
        }
    }

    /// Stdin is closed for good.
    fn eof(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        match self {
            Self::Cat => Some(0),
            Self::Sleep(_) => None,
            Self::Shell(shell) => shell.eof(ctx, out),
        }
    }

    /// ^D on an empty terminal line: a read returns EOF once.
    fn end_of_text(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        match self {
            Self::Cat => Some(0),
            Self::Sleep(_) => None,
            Self::Shell(shell) => shell.end_of_text(ctx, out),
        }
    }

    /// ^C on the terminal: SIGINT to the foreground.
    fn interrupt(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        match self {
            Self::Cat | Self::Sleep(_) => Some(INTERRUPTED),
            Self::Shell(shell) => shell.interrupt(ctx, out),
        }
    }

    /// When the process wants [`Proc::wake`] called.
    fn deadline(&self) -> Option<Instant> {
        match self {
            Self::Cat => None,
            Self::Sleep(until) => Some(*until),
            Self::Shell(shell) => shell.child.as_ref().and_then(Proc::deadline),
        }
    }

    /// The deadline passed.
    fn wake(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        match self {
            Self::Cat => None,
            Self::Sleep(until) => (Instant::now() >= *until).then_some(0),
            Self::Shell(shell) => shell.wake(ctx, out),
        }
    }
}

/// The executables of the simulated image.
const COMMANDS: [&str; 11] = [
    "ash", "bash", "cat", "echo", "env", "false", "hostname", "pwd", "sh", "sleep", "true",
];
/// Where an executable named by path may live.
const BIN_DIRS: [&str; 5] = ["/bin/", "/usr/bin/", "/usr/local/bin/", "/sbin/", "/usr/sbin/"];

/// The simulated executable `arg0` names, if any.
fn resolve(arg0: &str) -> Option<&'static str> {
    let name = if arg0.contains('/') {
        BIN_DIRS.iter().find_map(|dir| arg0.strip_prefix(dir))?
    } else {
        arg0
    };
    COMMANDS.iter().copied().find(|command| *command == name)
}

/// The fake environment of every process.
fn environment(ctx: Ctx<'_>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        ),
        ("HOSTNAME", ctx.pod.to_string()),
    ];
    if ctx.tty {
        env.push(("TERM", "xterm".to_string()));
    }
    env.extend([
        ("KUBERNETES_SERVICE_HOST", "10.96.0.1".to_string()),
        ("KUBERNETES_SERVICE_PORT", "443".to_string()),
        ("KUBERNETES_SERVICE_PORT_HTTPS", "443".to_string()),
        ("KUBERNETES_PORT", "tcp://10.96.0.1:443".to_string()),
        ("HOME", "/root".to_string()),
    ]);
    env
}

/// Starts a simulated command.
fn start(argv: &[String], ctx: Ctx<'_>, out: &mut Output) -> Start {
    let Some((arg0, args)) = argv.split_first() else {
        return Start::Exit(0);
    };
    let Some(name) = resolve(arg0) else {
        return Start::NotFound;
    };
    match name {
        "true" => Start::Exit(0),
        "false" => Start::Exit(1),
        "echo" => {
            let (newline, words) = match args.split_first() {
                Some((flag, rest)) if flag == "-n" => (false, rest),
                _ => (true, args),
            };
            out.out(&words.join(" "));
            if newline {
                out.out("\n");
            }
            Start::Exit(0)
        }
        "hostname" => {
            out.out(&format!("{}\n", ctx.pod));
            Start::Exit(0)
        }
        "pwd" => {
            out.out("/\n");
            Start::Exit(0)
        }
        "env" => {
            for (key, value) in environment(ctx) {
                out.out(&format!("{key}={value}\n"));
            }
            Start::Exit(0)
        }
        "cat" => cat(args, ctx, out),
        "sleep" => sleep(args, out),
        _ => Shell::start(name, args, ctx, out),
    }
}

/// `cat`: stdin when given no file (or `-`); `/etc/hostname` is the only file.
fn cat(files: &[String], ctx: Ctx<'_>, out: &mut Output) -> Start {
    if files.iter().all(|f| f == "-") {
        return Start::Run(Proc::Cat);
    }
    let mut status = 0;
    for file in files {
        match file.as_str() {
            "/etc/hostname" => out.out(&format!("{}\n", ctx.pod)),
            "-" => {}
            _ => {
                out.err(&format!("cat: can't open '{file}': No such file or directory\n"));
                status = 1;
            }
        }
    }
    Start::Exit(status)
}

/// `sleep N[smhd]…`: the durations add up.
fn sleep(args: &[String], out: &mut Output) -> Start {
    if args.is_empty() {
        out.err("sleep: missing operand\n");
        return Start::Exit(1);
    }
    let mut total = Duration::ZERO;
    for arg in args {
        let (number, unit) = match arg.char_indices().last() {
            Some((i, 's')) => (&arg[..i], 1.0),
            Some((i, 'm')) => (&arg[..i], 60.0),
            Some((i, 'h')) => (&arg[..i], 3600.0),
            Some((i, 'd')) => (&arg[..i], 86_400.0),
            _ => (arg.as_str(), 1.0),
        };
        let seconds = number.parse::<f64>().ok().map(|n| n * unit);
        match seconds.and_then(|s| Duration::try_from_secs_f64(s).ok()) {
            Some(duration) => total = total.saturating_add(duration),
            None => {
                out.err(&format!("sleep: invalid number '{arg}'\n"));
                return Start::Exit(1);
            }
        }
    }
    if total.is_zero() {
        return Start::Exit(0);
    }
    let now = Instant::now();
    let until = now
        .checked_add(total)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
    Start::Run(Proc::Sleep(until))
}

/// When a shell statement runs, given the previous status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Always,
    IfSucceeded,
    IfFailed,
}

/// One simple command of a shell script.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stmt {
    when: When,
    argv: Vec<String>,
}

/// A tiny shell: runs `-c SCRIPT`, or reads commands from stdin (interactive, with a prompt, on a tty).
#[derive(Debug)]
struct Shell {
    /// `sh`, `ash` or `bash`, for messages.
    name: &'static str,
    /// Statements parsed but not yet run.
    pending: VecDeque<Stmt>,
    /// `$?`.
    status: i32,
    /// The foreground command, while it runs.
    child: Option<Proc>,
    /// Commands come from stdin.
    reads_stdin: bool,
    /// The incomplete line read so far.
    line: Vec<u8>,
    /// Stdin is closed for good.
    eof: bool,
    /// Interactive on a tty: print a prompt before reading.
    prompt: bool,
    /// The prompt for the next line was printed.
    prompted: bool,
}

/// What a builtin did.
enum Builtin {
    /// Not a builtin.
    No,
    /// Ran, with this status.
    Status(i32),
    /// `exit`.
    Exit(i32),
}

impl Shell {
    fn start(name: &'static str, args: &[String], ctx: Ctx<'_>, out: &mut Output) -> Start {
        let mut shell = Self {
            name,
            pending: VecDeque::new(),
            status: 0,
            child: None,
            reads_stdin: false,
            line: Vec::new(),
            eof: false,
            prompt: false,
            prompted: false,
        };
        match args.split_first() {
            Some((flag, rest)) if flag == "-c" => {
                let Some(script) = rest.first() else {
                    out.err(&format!("{name}: -c requires an argument\n"));
                    return Start::Exit(2);
                };
                match parse_script(script, ctx) {
                    Ok(statements) => shell.pending = statements.into(),
                    Err(message) => {
                        out.err(&format!("{name}: {message}\n"));
                        return Start::Exit(2);
                    }
                }
            }
            Some((file, _)) if !file.starts_with('-') => {
                out.err(&format!(
                    "{name}: can't open '{file}': No such file or directory\n"
                ));
                return Start::Exit(2);
            }
            _ => {
                shell.reads_stdin = true;
                shell.prompt = ctx.tty;
            }
        }
        match shell.advance(ctx, out) {
            Some(status) => Start::Exit(status),
            None => Start::Run(Proc::Shell(Box::new(shell))),
        }
    }

    /// Runs pending statements until one blocks, input is needed, or the shell exits (`Some(status)`).
    fn advance(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        loop {
            if self.child.is_some() {
                return None;
            }
            let Some(statement) = self.pending.pop_front() else {
                if self.reads_stdin && !self.eof {
                    if self.prompt && !self.prompted {
                        out.write(Fd::Out, PROMPT);
                        self.prompted = true;
                    }
                    return None;
                }
                return Some(self.status);
            };
            let runs = match statement.when {
                When::Always => true,
                When::IfSucceeded => self.status == 0,
                When::IfFailed => self.status != 0,
            };
            if !runs {
                continue;
            }
            match self.builtin(&statement.argv, out) {
                Builtin::Exit(status) => return Some(status),
                Builtin::Status(status) => {
                    self.status = status;
                    continue;
                }
                Builtin::No => {}
            }
            match start(&statement.argv, ctx, out) {
                Start::Exit(status) => self.status = status,
                Start::NotFound => {
                    let arg0 = statement.argv.first().map_or("", String::as_str);
                    out.err(&format!("{}: {arg0}: not found\n", self.name));
                    self.status = 127;
                }
                Start::Run(mut child) => {
                    // A command started after stdin ended reads EOF at once.
                    let finished = if self.eof { child.eof(ctx, out) } else { None };
                    match finished {
                        Some(status) => self.status = status,
                        None => self.child = Some(child),
                    }
                }
            }
        }
    }

    fn builtin(&self, argv: &[String], out: &mut Output) -> Builtin {
        let Some((arg0, args)) = argv.split_first() else {
            return Builtin::Status(self.status);
        };
        match arg0.as_str() {
            "exit" => match args.first() {
                None => Builtin::Exit(self.status),
                Some(arg) => match arg.parse::<i64>() {
                    // The status is the low byte, as the kernel keeps it.
                    Ok(n) => Builtin::Exit(i32::from(n.rem_euclid(256) as u8)),
                    Err(_) => {
                        out.err(&format!("{}: exit: Illegal number: {arg}\n", self.name));
                        Builtin::Exit(2)
                    }
                },
            },
            "cd" | ":" => Builtin::Status(0),
            _ => Builtin::No,
        }
    }

    fn child_exited(&mut self, status: i32, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        self.child = None;
        self.status = status;
        self.advance(ctx, out)
    }

    fn input(&mut self, mut data: &[u8], ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        while !data.is_empty() {
            if let Some(child) = self.child.as_mut() {
                // The foreground command reads everything that follows.
                return match child.input(data, ctx, out) {
                    Some(status) => self.child_exited(status, ctx, out),
                    None => None,
                };
            }
            if !self.reads_stdin {
                return None;
            }
            let Some(newline) = data.iter().position(|&b| b == b'\n') else {
                self.line.extend_from_slice(data);
                return None;
            };
            self.line.extend_from_slice(&data[..newline]);
            data = &data[newline + 1..];
            if let Some(status) = self.run_line(ctx, out) {
                return Some(status);
            }
        }
        None
    }

    fn run_line(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        let line = std::mem::take(&mut self.line);
        self.prompted = false;
        match parse_script(&String::from_utf8_lossy(&line), ctx) {
            Ok(statements) => self.pending.extend(statements),
            Err(message) => {
                out.err(&format!("{}: {message}\n", self.name));
                self.status = 2;
            }
        }
        self.advance(ctx, out)
    }

    fn eof(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        self.eof = true;
        if let Some(child) = self.child.as_mut() {
            return match child.eof(ctx, out) {
                Some(status) => self.child_exited(status, ctx, out),
                None => None,
            };
        }
        if self.reads_stdin && !self.line.is_empty() {
            return self.run_line(ctx, out);
        }
        self.advance(ctx, out)
    }

    fn end_of_text(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        if let Some(child) = self.child.as_mut() {
            return match child.end_of_text(ctx, out) {
                Some(status) => self.child_exited(status, ctx, out),
                None => None,
            };
        }
        self.reads_stdin.then_some(self.status)
    }

    fn interrupt(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        if !self.reads_stdin {
            // `sh -c` is in the foreground process group too: SIGINT ends it.
            return Some(INTERRUPTED);
        }
        // An interactive shell survives SIGINT; its foreground command does not.
        if self.child.take().is_some() {
            self.status = INTERRUPTED;
        }
        self.line.clear();
        self.pending.clear();
        self.prompted = false;
        self.advance(ctx, out)
    }

    fn wake(&mut self, ctx: Ctx<'_>, out: &mut Output) -> Option<i32> {
        match self.child.as_mut().and_then(|child| child.wake(ctx, out)) {
            Some(status) => self.child_exited(status, ctx, out),
            None => None,
        }
    }
}

/// Builds the statements of a script.
struct Parser<'a> {
    ctx: Ctx<'a>,
    statements: Vec<Stmt>,
    argv: Vec<String>,
    word: Option<String>,
    when: When,
}

impl Parser<'_> {
    fn word(&mut self) -> &mut String {
        self.word.get_or_insert_with(String::new)
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            self.argv.push(word);
        }
    }

    fn end_statement(&mut self, next: When) {
        self.end_word();
        if !self.argv.is_empty() {
            self.statements.push(Stmt {
                when: self.when,
                argv: std::mem::take(&mut self.argv),
            });
        }
        self.when = next;
    }

    /// Expands `$NAME` (the `$` already consumed) from the fake environment.
    fn expand(
        &mut self,
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
        quoted: bool,
    ) -> Result<(), String> {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '_' || c.is_ascii_alphabetic() || (!name.is_empty() && c.is_ascii_digit()) {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if name.is_empty() {
            return match chars.peek() {
                Some(&c) if !c.is_whitespace() && !matches!(c, '"' | ';' | '&' | '|') => {
                    Err(format!("'${c}' is not supported by kube-sim's shell"))
                }
                _ => {
                    self.word().push('$');
                    Ok(())
                }
            };
        }
        let value = environment(self.ctx)
            .into_iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value);
        match value {
            Some(value) => self.word().push_str(&value),
            // An unset variable outside quotes vanishes; inside quotes it is an empty string.
            None if quoted => _ = self.word(),
            None => {}
        }
        Ok(())
    }
}

/// Parses a script into statements: words with `'…'`, `"…"`, `\` and `$VAR`; `;`, newlines, `&&`, `||`;
/// `#` comments. Anything else a shell would treat specially is refused with a message.
fn parse_script(script: &str, ctx: Ctx<'_>) -> Result<Vec<Stmt>, String> {
    const UNTERMINATED: &str = "syntax error: unterminated quoted string";
    let mut parser = Parser {
        ctx,
        statements: Vec::new(),
        argv: Vec::new(),
        word: None,
        when: When::Always,
    };
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' => parser.end_word(),
            '\n' | ';' => parser.end_statement(When::Always),
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                parser.end_statement(When::IfSucceeded);
            }
            '|' if chars.peek() == Some(&'|') => {
                chars.next();
                parser.end_statement(When::IfFailed);
            }
            '\'' => {
                let word = parser.word();
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(UNTERMINATED.to_string()),
                    }
                }
            }
            '"' => {
                parser.word();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => parser.word().push(c),
                            Some('\n') => {}
                            Some(c) => parser.word().extend(['\\', c]),
                            None => return Err(UNTERMINATED.to_string()),
                        },
                        Some('$') => parser.expand(&mut chars, true)?,
                        Some('`') => return Err("'`' is not supported by kube-sim's shell".to_string()),
                        Some(c) => parser.word().push(c),
                        None => return Err(UNTERMINATED.to_string()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(c) => parser.word().push(c),
            },
            '$' => parser.expand(&mut chars, false)?,
            '#' if parser.word.is_none() => while chars.next_if(|&c| c != '\n').is_some() {},
            '|' | '&' | '<' | '>' | '`' | '(' | ')' => {
                return Err(format!("'{c}' is not supported by kube-sim's shell"));
            }
            c => parser.word().push(c),
        }
    }
    parser.end_statement(When::Always);
    Ok(parser.statements)
}

/// Terminal input, cooked like a pty in canonical mode.
#[derive(Debug, PartialEq, Eq)]
enum TtyInput {
    /// A line (with its `\n`), or what preceded a ^D.
    Data(Vec<u8>),
    /// ^D on an empty line.
    EndOfText,
    /// ^C.
    Interrupt,
}

/// A pty's canonical-mode line discipline: echo, line editing, ^C, ^D, CR → NL.
#[derive(Debug, Default)]
struct LineDiscipline {
    line: Vec<u8>,
}

impl LineDiscipline {
    fn feed(&mut self, data: &[u8], echo: &mut Output) -> Vec<TtyInput> {
        let mut inputs = Vec::new();
        for &byte in data {
            match byte {
                0x03 => {
                    echo.write(Fd::Out, b"^C\n");
                    self.line.clear();
                    inputs.push(TtyInput::Interrupt);
                }
                0x04 if self.line.is_empty() => inputs.push(TtyInput::EndOfText),
                0x04 => inputs.push(TtyInput::Data(std::mem::take(&mut self.line))),
                0x7f | 0x08 => {
                    if self.line.pop().is_some() {
                        echo.write(Fd::Out, b"\x08 \x08");
                    }
                }
                b'\r' | b'\n' => {
                    self.line.push(b'\n');
                    echo.write(Fd::Out, b"\n");
                    inputs.push(TtyInput::Data(std::mem::take(&mut self.line)));
                }
                _ => {
                    self.line.push(byte);
                    echo.write(Fd::Out, &[byte]);
                }
            }
        }
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::Bytes;

    fn request(command: &[&str]) -> ExecRequest {
        ExecRequest {
            command: command.iter().map(ToString::to_string).collect(),
            stdout: true,
            stderr: true,
            pod: "web-0".to_string(),
            ..ExecRequest::default()
        }
    }

    /// What the client saw: data frames per channel (empty "ready" frames dropped), and the close frame.
    #[derive(Debug, Default)]
    struct Seen {
        frames: Vec<(u8, Vec<u8>)>,
        close: Option<CloseFrame>,
    }

    impl Seen {
        fn channel(&self, channel: u8) -> Vec<u8> {
            self.frames
                .iter()
                .filter(|(c, _)| *c == channel)
                .flat_map(|(_, d)| d.clone())
                .collect()
        }

        fn status(&self) -> Value {
            serde_json::from_slice(&self.channel(ERROR)).unwrap()
        }
    }

    /// Runs a session over an in-memory pipe: sends `input`, reads everything until the server closes.
    async fn exchange(protocol: &'static str, request: ExecRequest, input: Vec<Message>) -> Seen {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(run(server_io, protocol, request));
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let flavor = Flavor::of(protocol);
        let mut seen = Seen::default();
        let session = async {
            for message in input {
                client.send(message).await.unwrap();
            }
            while let Some(message) = client.next().await {
                match message {
                    Ok(Message::Binary(bytes)) => match flavor.decode(&bytes) {
                        Inbound::Data(channel, data) if !data.is_empty() => seen.frames.push((channel, data)),
                        _ => {}
                    },
                    Ok(Message::Text(text)) => match flavor.decode(text.as_bytes()) {
                        Inbound::Data(channel, data) if !data.is_empty() => seen.frames.push((channel, data)),
                        _ => {}
                    },
                    Ok(Message::Close(frame)) => seen.close = frame,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), session)
            .await
            .expect("session timed out");
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("server hung")
            .unwrap();
        seen
    }

    fn stdin(data: &[u8]) -> Message {
        let mut frame = vec![STDIN];
        frame.extend_from_slice(data);
        Message::Binary(Bytes::from(frame))
    }

    fn close_stdin() -> Message {
        Message::Binary(Bytes::from_static(&[STREAM_CLOSE, STDIN]))
    }

    #[tokio::test]
    async fn echo_writes_stdout_then_success_then_normal_close() {
        let seen = exchange(PROTOCOL_V5, request(&["echo", "hi"]), vec![]).await;
        assert_eq!(
            seen.frames,
            vec![
                (STDOUT, b"hi\n".to_vec()),
                (ERROR, br#"{"metadata":{},"status":"Success"}"#.to_vec())
            ]
        );
        assert_eq!(seen.close.map(|f| f.code), Some(CloseCode::Normal));
    }

    #[tokio::test]
    async fn ready_frame_comes_first_on_lowest_written_channel() {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let mut req = request(&["true"]);
        req.stdout = false;
        let server = tokio::spawn(run(server_io, PROTOCOL_V5, req));
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let first = client.next().await.unwrap().unwrap();
        assert_eq!(first, Message::Binary(Bytes::from_static(&[STDERR])));
        while client.next().await.is_some() {}
        server.await.unwrap();
    }

    #[tokio::test]
    async fn cat_echoes_stdin_until_v5_close_signal() {
        let mut req = request(&["cat"]);
        req.stdin = true;
        let input = vec![stdin(b"hello "), stdin(b"world\n"), close_stdin()];
        let seen = exchange(PROTOCOL_V5, req, input).await;
        assert_eq!(seen.channel(STDOUT), b"hello world\n");
        assert_eq!(seen.status()["status"], "Success");
    }

    #[tokio::test]
    async fn cat_without_stdin_reads_eof_at_once() {
        let seen = exchange(PROTOCOL_V5, request(&["/bin/cat"]), vec![]).await;
        assert!(seen.channel(STDOUT).is_empty());
        assert_eq!(seen.status()["status"], "Success");
    }

    #[tokio::test]
    async fn v4_cat_ends_when_the_socket_closes() {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let mut req = request(&["cat"]);
        req.stdin = true;
        let server = tokio::spawn(run(server_io, PROTOCOL_V4, req));
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        client.send(stdin(b"x")).await.unwrap();
        let mut echoed = Vec::new();
        while echoed != b"x" {
            if let Message::Binary(b) = client.next().await.unwrap().unwrap() {
                echoed.extend_from_slice(&b[1..]);
            }
        }
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("server hung")
            .unwrap();
    }

    #[tokio::test]
    async fn false_reports_non_zero_exit_code_like_the_translator_on_v5() {
        let seen = exchange(PROTOCOL_V5, request(&["false"]), vec![]).await;
        assert_eq!(
            seen.status(),
            json!({
                "metadata": {},
                "status": "Failure",
                "message": "command terminated with non-zero exit code: command terminated with exit code 1",
                "reason": "NonZeroExitCode",
                "details": { "causes": [ { "reason": "ExitCode", "message": "1" } ] },
            })
        );
        assert_eq!(seen.close.map(|f| f.code), Some(CloseCode::Normal));
    }

    #[tokio::test]
    async fn exit_code_on_v4_carries_kubelet_and_containerd_wording() {
        let seen = exchange(PROTOCOL_V4, request(&["sh", "-c", "exit 3"]), vec![]).await;
        let status = seen.status();
        assert_eq!(
            status["message"],
            "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3"
        );
        assert_eq!(
            status["details"]["causes"][0],
            json!({ "reason": "ExitCode", "message": "3" })
        );
    }

    #[tokio::test]
    async fn unknown_command_is_a_runtime_start_failure() {
        let seen = exchange(PROTOCOL_V5, request(&["nope", "x"]), vec![]).await;
        let status = seen.status();
        assert_eq!(status["status"], "Failure");
        assert_eq!(status["reason"], "InternalError");
        assert_eq!(status["code"], 500);
        let message = status["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "Internal error occurred: Internal error occurred: error executing command in container: \
                 failed to exec in container: failed to start exec \""
            ),
            "{message}"
        );
        assert!(
            message.ends_with(r#"exec: "nope": executable file not found in $PATH: unknown"#),
            "{message}"
        );

        let v4 = exchange(PROTOCOL_V4, request(&["/opt/nope"]), vec![])
            .await
            .status();
        let message = v4["message"].as_str().unwrap();
        assert!(
            message.starts_with("Internal error occurred: error executing command in container: "),
            "{message}"
        );
        assert!(
            message.ends_with("stat /opt/nope: no such file or directory: unknown"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn stderr_is_written_only_when_requested() {
        let seen = exchange(PROTOCOL_V5, request(&["sh", "-c", "echo out; nope"]), vec![]).await;
        assert_eq!(seen.channel(STDOUT), b"out\n");
        assert_eq!(seen.channel(STDERR), b"sh: nope: not found\n");
        assert_eq!(seen.status()["details"]["causes"][0]["message"], "127");

        let mut req = request(&["sh", "-c", "echo out; nope"]);
        req.stderr = false;
        let seen = exchange(PROTOCOL_V5, req, vec![]).await;
        assert!(seen.frames.iter().all(|(channel, _)| *channel != STDERR));
        assert_eq!(seen.channel(STDOUT), b"out\n");
    }

    #[tokio::test]
    async fn tty_merges_stderr_into_stdout_with_crlf() {
        let mut req = request(&["sh", "-c", "echo hi && nope || hostname"]);
        req.tty = true;
        let seen = exchange(PROTOCOL_V5, req, vec![]).await;
        assert_eq!(seen.channel(STDOUT), b"hi\r\nsh: nope: not found\r\nweb-0\r\n");
        assert!(seen.frames.iter().all(|(channel, _)| *channel != STDERR));
        assert_eq!(seen.status()["status"], "Success");
    }

    #[tokio::test]
    async fn hostname_and_env_show_the_pod() {
        let seen = exchange(PROTOCOL_V5, request(&["hostname"]), vec![]).await;
        assert_eq!(seen.channel(STDOUT), b"web-0\n");
        let seen = exchange(PROTOCOL_V5, request(&["env"]), vec![]).await;
        let env = String::from_utf8(seen.channel(STDOUT)).unwrap();
        assert!(
            env.contains("HOSTNAME=web-0\n") && env.contains("KUBERNETES_SERVICE_HOST="),
            "{env}"
        );
        let seen = exchange(
            PROTOCOL_V5,
            request(&["sh", "-c", "echo \"$HOSTNAME\" '$HOME' $UNSET; :"]),
            vec![],
        )
        .await;
        assert_eq!(seen.channel(STDOUT), b"web-0 $HOME\n");
    }

    #[tokio::test]
    async fn interactive_shell_on_a_tty() {
        let mut req = request(&["sh"]);
        req.stdin = true;
        req.tty = true;
        req.stderr = false;
        let input = vec![
            stdin(b"echo hu\x7fi\r"),
            stdin(b"sleep 60\r\x03"),
            stdin(b"exit 4\r"),
        ];
        let seen = exchange(PROTOCOL_V5, req, input).await;
        assert_eq!(
            String::from_utf8(seen.channel(STDOUT)).unwrap(),
            "/ # echo hu\x08 \x08i\r\nhi\r\n/ # sleep 60\r\n^C\r\n/ # exit 4\r\n"
        );
        assert_eq!(seen.status()["details"]["causes"][0]["message"], "4");
    }

    #[tokio::test]
    async fn shell_reads_a_script_from_stdin() {
        let mut req = request(&["sh"]);
        req.stdin = true;
        let input = vec![
            stdin(b"echo one\nfalse || echo tw"),
            stdin(b"o\necho three"),
            close_stdin(),
        ];
        let seen = exchange(PROTOCOL_V5, req, input).await;
        assert_eq!(seen.channel(STDOUT), b"one\ntwo\nthree\n");
        assert_eq!(seen.status()["status"], "Success");
    }

    #[tokio::test]
    async fn sleep_accepts_durations_and_rejects_garbage() {
        let seen = exchange(PROTOCOL_V5, request(&["sleep", "0"]), vec![]).await;
        assert_eq!(seen.status()["status"], "Success");
        let seen = exchange(PROTOCOL_V5, request(&["sleep", "soon"]), vec![]).await;
        assert_eq!(seen.status()["status"], "Failure");
    }

    #[tokio::test]
    async fn v1_writes_only_failure_text_on_the_error_channel() {
        let seen = exchange(PROTOCOL_V1, request(&["echo", "hi"]), vec![]).await;
        assert_eq!(seen.frames, vec![(STDOUT, b"hi\n".to_vec())]);
        let seen = exchange(PROTOCOL_V1, request(&["false"]), vec![]).await;
        assert_eq!(
            seen.channel(ERROR),
            b"command terminated with non-zero exit code: error executing command [false], exit code 1"
        );
    }

    #[tokio::test]
    async fn base64_flavour_uses_text_messages() {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(run(server_io, PROTOCOL_V4_BASE64, request(&["echo", "hi"])));
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let mut texts = Vec::new();
        while let Some(Ok(message)) = client.next().await {
            if let Message::Text(text) = message {
                texts.push(text.to_string());
            }
        }
        server.await.unwrap();
        assert_eq!(texts[..2], ["1".to_string(), "1aGkK".to_string()]);
        assert!(texts[2].starts_with('3'));
    }

    fn upgrade_headers(protocols: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        headers.insert(
            SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        for protocol in protocols {
            headers.append(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_str(protocol).unwrap());
        }
        headers
    }

    #[test]
    fn negotiate_prefers_v5_and_ignores_bearer_entries() {
        let headers = upgrade_headers(&[
            "base64url.bearer.authorization.k8s.io.dG9rZW4",
            "v4.channel.k8s.io, v5.channel.k8s.io",
        ]);
        let handshake = negotiate(&headers).unwrap();
        assert_eq!(handshake.protocol, PROTOCOL_V5);
        // RFC 6455's example key.
        assert_eq!(handshake.accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let response = handshake.response_headers();
        assert_eq!(response[SEC_WEBSOCKET_PROTOCOL], PROTOCOL_V5);
        assert_eq!(response[SEC_WEBSOCKET_ACCEPT], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

        let headers = upgrade_headers(&[
            "base64url.bearer.authorization.k8s.io.dG9rZW4, base64.channel.k8s.io, v4.channel.k8s.io",
        ]);
        assert_eq!(negotiate(&headers).unwrap().protocol, PROTOCOL_V1_BASE64);
    }

    #[test]
    fn negotiate_rejects_bad_requests() {
        let mut headers = upgrade_headers(&[PROTOCOL_V5]);
        headers.remove(SEC_WEBSOCKET_KEY);
        let error = negotiate(&headers).unwrap_err();
        assert_eq!((error.code, error.reason), (400, "BadRequest"));
        assert!(error.message.contains("Sec-WebSocket-Key"), "{}", error.message);

        let error = negotiate(&upgrade_headers(&[
            "base64url.bearer.authorization.k8s.io.c2VjcmV0",
            "v3.channel.k8s.io",
        ]))
        .unwrap_err();
        assert_eq!(error.code, 400);
        assert!(
            error
                .message
                .contains("supports [v5.channel.k8s.io v4.channel.k8s.io"),
            "{}",
            error.message
        );
        assert!(error.message.contains("v3.channel.k8s.io"), "{}", error.message);
        assert!(
            !error.message.contains("c2VjcmV0"),
            "token leaked: {}",
            error.message
        );

        assert_eq!(negotiate(&upgrade_headers(&[])).unwrap_err().code, 400);

        let mut headers = upgrade_headers(&[PROTOCOL_V5]);
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert!(negotiate(&headers).unwrap_err().message.contains("version 13"));

        let mut headers = upgrade_headers(&[PROTOCOL_V5]);
        headers.remove(UPGRADE);
        assert!(
            negotiate(&headers)
                .unwrap_err()
                .message
                .starts_with("Upgrade request required")
        );
    }

    #[test]
    fn parse_query_reads_exec_options() {
        let request = parse_query(
            "?command=sh&command=-c&command=exit+3&stdin=true&stdout=1&stderr=false&tty=0&container=app",
        )
        .unwrap();
        assert_eq!(request.command, ["sh", "-c", "exit 3"]);
        assert!(request.stdin && request.stdout && !request.stderr && !request.tty);
        assert_eq!(request.container.as_deref(), Some("app"));
        assert_eq!(request.pod, "");
        // kube-apiserver's boolean decoding: the first value counts; only absent, "false" and "0" are false.
        let request = parse_query("command=ls&stdout=&stderr=FALSE&stderr=true&container=").unwrap();
        assert!(request.stdout && !request.stderr && request.container.is_none());
    }

    #[test]
    fn parse_query_errors_match_kube_apiserver() {
        let error = parse_query("stdout=true").unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (400, "you must specify at least 1 command")
        );
        let error = parse_query("command=ls&stdin=false&stdout=0").unwrap_err();
        assert_eq!(
            error.message,
            "you must specify at least one of stdin, stdout, stderr"
        );
    }

    #[test]
    fn shell_parser_handles_quotes_and_operators() {
        let ctx = Ctx { pod: "p", tty: false };
        let statements = parse_script("echo 'a b' \"c\\\"d\" e\\ f # note\nfalse&&x||y", ctx).unwrap();
        let argvs: Vec<Vec<String>> = statements.iter().map(|s| s.argv.clone()).collect();
        assert_eq!(
            argvs,
            vec![
                vec!["echo", "a b", "c\"d", "e f"],
                vec!["false"],
                vec!["x"],
                vec!["y"]
            ]
        );
        let whens: Vec<When> = statements.iter().map(|s| s.when).collect();
        assert_eq!(
            whens,
            [When::Always, When::Always, When::IfSucceeded, When::IfFailed]
        );
        assert!(parse_script("echo 'open", ctx).is_err());
        assert!(parse_script("echo a | cat", ctx).unwrap_err().contains("'|'"));
    }
}
