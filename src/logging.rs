//! Structured logs on stderr, configured by the Go proxy's zap flags (controller-runtime's semantics) or by
//! `RUST_LOG`.
//!
//! - `--zap-log-level`: `error`, `info`, `debug` (also `warn`; `panic`, `dpanic` and `fatal` log errors), or
//!   an integer N meaning "logr V(N) and below are enabled": 0 is info, 1 to 4 debug, 5 and more trace. Debug
//!   enables only this project's debug lines (start-up details, refused handshakes, relays ended early): the
//!   upstream chart's default of 4 does not log a line per request (lines per request belong at trace). Trace
//!   adds this project's trace lines and every library's debug lines. `RUST_LOG`, when set, overrides the
//!   level.
//! - `--zap-encoder`: `json` (the default, as zap's production encoder writes it: `level`, `ts`, `logger`, `msg`,
//!   then the fields; see [`zap_json`]) or `console` (text, for a person reading a terminal). `--zap-devel`
//!   implies `console` unless `--zap-encoder` says otherwise; it does not change the level. `demo` logs text
//!   unless `--zap-encoder` says otherwise.
//! - `--zap-time-encoding`: see [`TimeEncoding`]; the default is ISO 8601 with milliseconds, as the Go proxy's.
//! - `--zap-stacktrace-level`: accepted (`info`, `error`, `panic`) and ignored with a warning.
//!
//! Nothing secret reaches a log: the proxy's own lines never carry tokens, and kube-client's
//! `kube_client::client` module, which logs whole API responses it cannot parse (a TokenReview response
//! carries the reviewed token), is held at `error` whatever the level or `RUST_LOG` says.

mod timestamp;
pub mod zap_json;

use tracing_subscriber::EnvFilter;

pub use timestamp::{LogClock, TimeEncoding};
pub use zap_json::ZapJson;

use crate::cli::{Args, Command};

/// The target prefix of this project's crates (`capsule_proxy`, `capsule_proxy_control`, …): `EnvFilter`
/// matches targets by prefix.
const OUR_CRATES: &str = "capsule_proxy";

/// Kept at `error` in every filter: kube-client's module that logs unparsable response bodies in full.
const RESPONSE_BODY_LOGGER: &str = "kube_client::client=error";

/// How verbose the logs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default: start-up, configuration, changes, warnings and errors.
    Info,
    /// This project's debug lines too (not per request).
    Debug,
    /// This project's trace lines (per request) and every library's debug lines too.
    Trace,
}

impl LogLevel {
    /// Parses a `--zap-log-level` value.
    pub fn parse(value: &str) -> Result<Self, LogFlagError> {
        let bad = || LogFlagError::Level(value.to_owned());
        Ok(match value.to_ascii_lowercase().as_str() {
            "error" | "dpanic" | "panic" | "fatal" => Self::Error,
            "warn" | "warning" => Self::Warn,
            "info" => Self::Info,
            "debug" => Self::Debug,
            number => match number.parse::<u32>().map_err(|_| bad())? {
                0 => Self::Info,
                1..=4 => Self::Debug,
                _ => Self::Trace,
            },
        })
    }

    /// The `EnvFilter` directives of this level.
    pub fn directives(self) -> String {
        match self {
            Self::Error => "error".to_owned(),
            Self::Warn => "warn".to_owned(),
            Self::Info => "info".to_owned(),
            Self::Debug => format!("info,{OUR_CRATES}=debug"),
            Self::Trace => format!("debug,{OUR_CRATES}=trace"),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEncoder {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Console,
}

impl LogEncoder {
    /// Parses a `--zap-encoder` value.
    pub fn parse(value: &str) -> Result<Self, LogFlagError> {
        match value.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "console" => Ok(Self::Console),
            _ => Err(LogFlagError::Encoder(value.to_owned())),
        }
    }
}

/// A zap flag the logs cannot be configured from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogFlagError {
    /// `--zap-log-level` is neither a level name nor a non-negative integer.
    #[error("--zap-log-level {0:?}: expected debug, info, warn, error, panic or a non-negative integer")]
    Level(String),
    /// `--zap-encoder` is neither `json` nor `console`.
    #[error("--zap-encoder {0:?}: expected json or console")]
    Encoder(String),
    /// `--zap-time-encoding` is not one of zap's encodings.
    #[error("--zap-time-encoding {0:?}: expected epoch, millis, nano, iso8601, rfc3339 or rfc3339nano")]
    TimeEncoding(String),
    /// `--zap-stacktrace-level` is not one of zap's levels for it.
    #[error("--zap-stacktrace-level {0:?}: expected info, error or panic")]
    StacktraceLevel(String),
    /// A global subscriber was already installed.
    #[error("installing the logger: {0}")]
    Install(String),
}

/// The logging configuration of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The level from `--zap-log-level` (`RUST_LOG` may override it).
    pub level: LogLevel,
    /// JSON or text.
    pub encoder: LogEncoder,
    /// The timestamp encoding.
    pub time: TimeEncoding,
    /// Lines to log as warnings once logging runs.
    pub warnings: Vec<String>,
}

impl LogSettings {
    /// Reads the zap flags of `args`; an invalid value is an error, as it is for the Go proxy.
    pub fn from_args(args: &Args) -> Result<Self, LogFlagError> {
        let level = LogLevel::parse(&args.zap_log_level)?;
        let encoder = match args.zap_encoder.as_deref() {
            Some(value) => LogEncoder::parse(value)?,
            // A person runs the demo in a terminal.
            None if args.zap_devel || matches!(args.command, Some(Command::Demo(_))) => LogEncoder::Console,
            None => LogEncoder::Json,
        };
        let time = match args.zap_time_encoding.as_deref() {
            Some(value) => {
                TimeEncoding::parse(value).ok_or_else(|| LogFlagError::TimeEncoding(value.to_owned()))?
            }
            None => TimeEncoding::Iso8601,
        };
        let mut warnings = Vec::new();
        if let Some(value) = args.zap_stacktrace_level.as_deref() {
            if !matches!(value.to_ascii_lowercase().as_str(), "info" | "error" | "panic") {
                return Err(LogFlagError::StacktraceLevel(value.to_owned()));
            }
            warnings
                .push("--zap-stacktrace-level is accepted for compatibility and has no effect".to_owned());
        }
        Ok(Self {
            level,
            encoder,
            time,
            warnings,
        })
    }

    /// The filter: `RUST_LOG` (`rust_log`) when set and valid, else the level's directives; kube-client's
    /// response-body logger held at `error` either way. An invalid `RUST_LOG` adds a warning.
    pub fn filter(&mut self, rust_log: Option<&str>) -> EnvFilter {
        let base = match rust_log.filter(|value| !value.trim().is_empty()) {
            Some(value) => EnvFilter::try_new(value).unwrap_or_else(|e| {
                self.warnings.push(format!(
                    "RUST_LOG {value:?} is not a valid filter ({e}); using --zap-log-level"
                ));
                EnvFilter::new(self.level.directives())
            }),
            None => EnvFilter::new(self.level.directives()),
        };
        match RESPONSE_BODY_LOGGER.parse() {
            Ok(directive) => base.add_directive(directive),
            Err(_) => base,
        }
    }
}

/// Installs the global logger for `args` (and `RUST_LOG`), then logs the settings' warnings.
pub fn init(args: &Args) -> Result<(), LogFlagError> {
    let mut settings = LogSettings::from_args(args)?;
    let filter = settings.filter(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match settings.encoder {
        LogEncoder::Json => builder
            .with_ansi(false)
            .event_format(ZapJson { time: settings.time })
            .try_init(),
        LogEncoder::Console => builder
            .with_timer(LogClock(settings.time))
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
    installed.map_err(|e| LogFlagError::Install(e.to_string()))?;
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
