use std::io::Write;
use std::sync::{Arc, Mutex};

use clap::Parser;
use tracing::Level;

use super::*;

fn args(flags: &[&str]) -> Args {
    Args::try_parse_from(std::iter::once("capsule-proxy").chain(flags.iter().copied())).unwrap()
}

#[test]
fn levels_follow_controller_runtime_names_and_verbosity_numbers() {
    let cases = [
        ("info", LogLevel::Info),
        ("INFO", LogLevel::Info),
        ("debug", LogLevel::Debug),
        ("error", LogLevel::Error),
        ("panic", LogLevel::Error),
        ("warn", LogLevel::Warn),
        ("0", LogLevel::Info),
        ("1", LogLevel::Debug),
        ("4", LogLevel::Debug),
        ("5", LogLevel::Trace),
        ("10", LogLevel::Trace),
    ];
    for (value, level) in cases {
        assert_eq!(LogLevel::parse(value), Ok(level), "{value}");
    }
    for bad in ["-1", "verbose", ""] {
        assert_eq!(LogLevel::parse(bad), Err(LogFlagError::Level(bad.to_owned())));
    }
}

#[test]
fn debug_is_ours_only_and_trace_opens_the_libraries() {
    assert_eq!(LogLevel::Debug.directives(), "info,capsule_proxy=debug");
    assert_eq!(LogLevel::Trace.directives(), "debug,capsule_proxy=trace");
    assert_eq!(LogLevel::Info.directives(), "info");
}

#[test]
fn settings_default_to_json_iso8601_info() {
    let settings = LogSettings::from_args(&args(&[])).unwrap();
    assert_eq!(
        settings,
        LogSettings {
            level: LogLevel::Info,
            encoder: LogEncoder::Json,
            time: TimeEncoding::Iso8601,
            warnings: Vec::new(),
        }
    );
}

#[test]
fn settings_read_every_zap_flag() {
    let settings = LogSettings::from_args(&args(&[
        "--zap-log-level=4",
        "--zap-encoder=json",
        "--zap-time-encoding=epoch",
        "--zap-stacktrace-level=error",
        "--zap-devel",
    ]))
    .unwrap();
    assert_eq!(settings.level, LogLevel::Debug);
    assert_eq!(settings.encoder, LogEncoder::Json);
    assert_eq!(settings.time, TimeEncoding::Epoch);
    assert_eq!(
        settings.warnings,
        ["--zap-stacktrace-level is accepted for compatibility and has no effect"]
    );
    assert_eq!(
        LogSettings::from_args(&args(&["--zap-devel"])).unwrap().encoder,
        LogEncoder::Console
    );
}

#[test]
fn invalid_zap_values_are_errors() {
    let error = |flags: &[&str]| LogSettings::from_args(&args(flags)).unwrap_err();
    assert_eq!(error(&["--zap-encoder=xml"]), LogFlagError::Encoder("xml".into()));
    assert_eq!(
        error(&["--zap-time-encoding=unix"]),
        LogFlagError::TimeEncoding("unix".into())
    );
    assert_eq!(
        error(&["--zap-stacktrace-level=debug"]),
        LogFlagError::StacktraceLevel("debug".into())
    );
    assert_eq!(
        error(&["--zap-log-level=loud"]),
        LogFlagError::Level("loud".into())
    );
}

/// A writer into a shared buffer, for a subscriber under test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// What a subscriber with `settings`' filter (and `rust_log`) writes for a few typical events.
fn logged(level: &str, rust_log: Option<&str>) -> String {
    let mut settings = LogSettings::from_args(&args(&[&format!("--zap-log-level={level}")])).unwrap();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(settings.filter(rust_log))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::event!(target: "capsule_proxy_dataplane::serve", Level::DEBUG, "our debug line");
        tracing::event!(target: "capsule_proxy_control::watches", Level::TRACE, "our trace line");
        tracing::event!(target: "hyper_util::client", Level::DEBUG, "library debug line");
        tracing::event!(target: "kube_client::client", Level::WARN, "unparsable body with a token");
        tracing::event!(target: "kube_client::client", Level::ERROR, "request failed");
    });
    captured.text()
}

#[test]
fn the_chart_default_logs_our_debug_lines_only() {
    let log = logged("4", None);
    assert!(log.contains("our debug line"), "{log}");
    assert!(!log.contains("our trace line"), "{log}");
    assert!(!log.contains("library debug line"), "{log}");
    assert!(log.contains("request failed"), "{log}");
}

#[test]
fn trace_opens_libraries_but_never_the_response_body_logger() {
    let log = logged("5", None);
    assert!(log.contains("our trace line"), "{log}");
    assert!(log.contains("library debug line"), "{log}");
    assert!(!log.contains("with a token"), "{log}");
}

#[test]
fn rust_log_overrides_the_level_but_not_the_response_body_cap() {
    let log = logged("info", Some("trace"));
    assert!(log.contains("our trace line"), "{log}");
    assert!(!log.contains("with a token"), "{log}");
    let log = logged("info", Some("kube_client=trace"));
    assert!(!log.contains("with a token"), "{log}");
}

#[test]
fn an_invalid_rust_log_falls_back_to_the_level_with_a_warning() {
    let mut settings = LogSettings::from_args(&args(&["--zap-log-level=debug"])).unwrap();
    let filter = settings.filter(Some("capsule_proxy=loud"));
    assert!(filter.to_string().contains("capsule_proxy=debug"), "{filter}");
    assert_eq!(settings.warnings.len(), 1);
    assert!(settings.warnings[0].starts_with("RUST_LOG \"capsule_proxy=loud\""));
}
