//! JSON log lines shaped as Go's zap production encoder writes them under controller-runtime:
//! `{"level":"info","ts":"2026-12-06T06:40:16.123Z","logger":"capsule_proxy","msg":"…","key":value,…}`.
//!
//! `level` is zap's name (`debug`, `info`, `warn`, `error`; trace lines say `debug`), `ts` follows
//! `--zap-time-encoding` (a string, or a number for `epoch`, `millis` and `nano`), `logger` is the line's target
//! (the module that wrote it), `msg` its message; the line's fields follow in the order they were written. A field
//! named like one of the four keys is written as `field.<name>` so the four stay unambiguous.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::TimeEncoding;

/// The keys zap writes first.
const RESERVED: [&str; 4] = ["level", "ts", "logger", "msg"];

/// Formats events as zap JSON lines.
#[derive(Debug, Clone, Copy)]
pub struct ZapJson {
    /// The encoding of `ts`.
    pub time: TimeEncoding,
}

impl<S, N> FormatEvent<S, N> for ZapJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = zap_line(
            event.metadata().level(),
            &self.time.format(now),
            self.time.is_number(),
            event.metadata().target(),
            &fields,
        );
        writer.write_str(&line)
    }
}

/// One line, newline included.
fn zap_line(level: &Level, ts: &str, ts_is_number: bool, logger: &str, fields: &Fields) -> String {
    let mut line = String::with_capacity(128 + fields.rest.len());
    line.push_str("{\"level\":");
    push_string(&mut line, zap_level(level));
    line.push_str(",\"ts\":");
    if ts_is_number {
        line.push_str(ts);
    } else {
        push_string(&mut line, ts);
    }
    line.push_str(",\"logger\":");
    push_string(&mut line, logger);
    line.push_str(",\"msg\":");
    push_string(&mut line, fields.message.as_deref().unwrap_or(""));
    line.push_str(&fields.rest);
    line.push_str("}\n");
    line
}

/// zap's name of a level.
fn zap_level(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG | Level::TRACE => "debug",
    }
}

/// Appends `text` as a JSON string.
fn push_string(line: &mut String, text: &str) {
    match serde_json::to_string(text) {
        Ok(quoted) => line.push_str(&quoted),
        Err(_) => line.push_str("\"\""),
    }
}

/// An event's message and its other fields, already written as `,"key":value` pairs.
#[derive(Debug, Default)]
struct Fields {
    message: Option<String>,
    rest: String,
}

impl Fields {
    fn key(&mut self, field: &Field) {
        self.rest.push(',');
        let name = field.name();
        if RESERVED.contains(&name) {
            push_string(&mut self.rest, &format!("field.{name}"));
        } else {
            push_string(&mut self.rest, name);
        }
        self.rest.push(':');
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
            return;
        }
        self.key(field);
        push_string(&mut self.rest, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.rest, "{value}");
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.rest, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.rest, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        match serde_json::Number::from_f64(value) {
            Some(number) => {
                let _ = write!(self.rest, "{number}");
            }
            None => push_string(&mut self.rest, &value.to_string()),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
            return;
        }
        self.key(field);
        push_string(&mut self.rest, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(message: &str, rest: &str) -> Fields {
        Fields {
            message: Some(message.to_owned()),
            rest: rest.to_owned(),
        }
    }

    #[test]
    fn a_line_starts_with_zaps_four_keys() {
        let line = zap_line(
            &Level::INFO,
            "2026-12-06T06:40:16.123Z",
            false,
            "capsule_proxy::audit",
            &fields("filtered \"request\"", ",\"user\":\"alice\",\"core\":0"),
        );
        assert_eq!(
            line,
            "{\"level\":\"info\",\"ts\":\"2026-12-06T06:40:16.123Z\",\"logger\":\"capsule_proxy::audit\",\
             \"msg\":\"filtered \\\"request\\\"\",\"user\":\"alice\",\"core\":0}\n"
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["msg"], "filtered \"request\"");
    }

    /// A writer the test subscriber appends to.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn events_become_zap_lines_with_their_fields() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .event_format(ZapJson {
                time: TimeEncoding::Iso8601,
            })
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(core = 3_u64, ok = true, msg = "shadow", who = ?["a"], "serving certificate reloaded");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let value: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(value["level"], "warn");
        assert_eq!(value["msg"], "serving certificate reloaded");
        assert_eq!(value["core"], 3);
        assert_eq!(value["ok"], true);
        assert_eq!(value["field.msg"], "shadow");
        assert_eq!(value["who"], "[\"a\"]");
        assert!(value["ts"].as_str().unwrap().ends_with('Z'), "{text}");
        assert!(text.starts_with("{\"level\":\"warn\",\"ts\":"), "{text}");
    }

    #[test]
    fn numeric_time_encodings_are_numbers_and_levels_are_zaps() {
        let line = zap_line(&Level::TRACE, "1136214245.123456", true, "t", &fields("m", ""));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert!(value["ts"].is_f64(), "{line}");
        assert_eq!(value["level"], "debug");
        assert_eq!(zap_level(&Level::WARN), "warn");
        assert_eq!(zap_level(&Level::ERROR), "error");
    }
}
