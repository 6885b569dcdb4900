//! perf-load, the load generator for what wrk cannot drive: GETs with a new TLS connection each or a client
//! certificate, held watches, updates of the watched object, exec streams. Each run ends with one JSON object
//! on stdout, parsed here.

use super::model::Percentiles;
use super::process::output;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// What one load run achieved, whichever generator ran it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Outcome {
    /// Successful (2xx) requests.
    pub(crate) requests: u64,
    /// Socket errors, timeouts and non-2xx answers.
    pub(crate) errors: u64,
    /// Length of the measured window.
    pub(crate) seconds: f64,
    /// Latency, when measured.
    pub(crate) latency: Option<Percentiles>,
}

/// The last line of `text` that looks like a JSON object.
pub(crate) fn last_json_line(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .rfind(|l| l.starts_with('{') && l.ends_with('}'))
}

/// Parses the JSON object perf-load printed last.
pub(crate) fn parse_last<T: DeserializeOwned>(stdout: &str) -> Result<T> {
    let line = last_json_line(stdout).context("perf-load printed no JSON line")?;
    serde_json::from_str(line).with_context(|| format!("perf-load's JSON line: {line}"))
}

/// Who a request is sent as.
#[derive(Debug, Clone)]
pub(crate) enum Credential {
    /// `Authorization: Bearer`.
    Token(String),
    /// A client certificate and key.
    Cert(PathBuf, PathBuf),
}

/// Where perf-load sends its load.
pub(crate) struct Target<'a> {
    /// `target/release/perf-load`.
    pub(crate) binary: &'a Path,
    /// `https://127.0.0.1:PORT`.
    pub(crate) url: &'a str,
    /// The CA to trust.
    pub(crate) ca: &'a Path,
    /// Who the requests are sent as.
    pub(crate) credential: &'a Credential,
}

impl Target<'_> {
    fn command(&self, subcommand: &str, path: &str) -> Command {
        let mut command = Command::new(self.binary);
        command
            .arg(subcommand)
            .args(["--url", self.url, "--ca"])
            .arg(self.ca)
            .args(["--path", path]);
        match self.credential {
            Credential::Token(token) => {
                command.args(["--token", token]);
            }
            Credential::Cert(cert, key) => {
                command.arg("--cert").arg(cert).arg("--key").arg(key);
            }
        }
        command
    }
}

/// What `perf-load get` prints.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct GetJson {
    requests: u64,
    #[serde(default)]
    non_2xx: u64,
    #[serde(default)]
    errors: u64,
    seconds: f64,
    #[serde(default)]
    p50_us: f64,
    #[serde(default)]
    p99_us: f64,
    #[serde(default)]
    p999_us: f64,
}

impl GetJson {
    /// As an outcome: 2xx requests, every failure counted as an error.
    pub(crate) fn outcome(&self) -> Outcome {
        Outcome {
            requests: self.requests.saturating_sub(self.non_2xx),
            errors: self.errors + self.non_2xx,
            seconds: self.seconds,
            latency: Some(Percentiles {
                p50_us: self.p50_us,
                p99_us: self.p99_us,
                p999_us: self.p999_us,
            }),
        }
    }
}

/// `perf-load get` for `duration` on `connections` connections.
pub(crate) fn get(
    target: &Target<'_>,
    path: &str,
    connections: usize,
    duration: Duration,
    new_connection_per_request: bool,
) -> Result<Outcome> {
    let mut command = target.command("get", path);
    command
        .args(["--connections", &connections.to_string()])
        .args(["--duration", &format!("{}ms", duration.as_millis().max(1))]);
    if new_connection_per_request {
        command.arg("--new-connection-per-request");
    }
    Ok(parse_last::<GetJson>(&output(command)?)?.outcome())
}

/// What `perf-load exec` prints.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct ExecJson {
    /// Bytes that came back through `cat`.
    pub(crate) bytes: u64,
    /// How long it took.
    pub(crate) seconds: f64,
    /// Throughput.
    #[serde(default)]
    pub(crate) mib_per_s: f64,
    /// Failed sessions.
    #[serde(default)]
    pub(crate) errors: u64,
}

/// `perf-load exec` of `mib` MiB through `cat`.
pub(crate) fn exec(target: &Target<'_>, path: &str, mib: u64) -> Result<ExecJson> {
    let mut command = target.command("exec", path);
    command.args(["--bytes", &format!("{mib}MiB")]);
    parse_last(&output(command)?)
}

/// What `perf-load churn` prints.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct ChurnJson {
    /// Updates answered 2xx.
    pub(crate) updates: u64,
    /// Updates answered otherwise.
    #[serde(default)]
    pub(crate) non_2xx: u64,
    /// Updates that failed.
    #[serde(default)]
    pub(crate) errors: u64,
}

/// `perf-load churn` at `rate` updates per second for `duration`.
pub(crate) fn churn(target: &Target<'_>, path: &str, rate: u32, duration: Duration) -> Result<ChurnJson> {
    let mut command = target.command("churn", path);
    command
        .args(["--rate", &rate.to_string()])
        .args(["--duration", &format!("{}ms", duration.as_millis().max(1))]);
    parse_last(&output(command)?)
}

/// The `{"ready":N,…}` line of `perf-load watch`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct ReadyJson {
    /// Watches open.
    pub(crate) ready: u64,
    /// Watches that failed to open.
    #[serde(default)]
    pub(crate) failed: u64,
    /// Seconds it took to open them.
    #[serde(default)]
    pub(crate) open_seconds: f64,
}

/// The final line of `perf-load watch`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub(crate) struct WatchJson {
    /// Watches open.
    #[serde(default)]
    pub(crate) opened: u64,
    /// Watches that failed to open.
    #[serde(default)]
    pub(crate) failed: u64,
    /// Watches whose stream ended while held.
    #[serde(default)]
    pub(crate) ended: u64,
    /// Events received while held.
    #[serde(default)]
    pub(crate) events: u64,
    /// Event delivery latency, median, µs.
    #[serde(default)]
    pub(crate) event_p50_us: f64,
    /// 99th percentile, µs.
    #[serde(default)]
    pub(crate) event_p99_us: f64,
    /// 99.9th percentile, µs.
    #[serde(default)]
    pub(crate) event_p999_us: f64,
    /// The first failure.
    #[serde(default)]
    pub(crate) first_error: Option<String>,
}

/// A running `perf-load watch --until-stdin-closes`.
pub(crate) struct Watches {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Watches {
    /// Opens `count` watches of `path` and waits (up to `within`) for the ready line.
    pub(crate) fn open(
        target: &Target<'_>,
        path: &str,
        count: usize,
        within: Duration,
    ) -> Result<(Watches, ReadyJson)> {
        let mut command = target.command("watch", path);
        command
            .args(["--count", &count.to_string(), "--until-stdin-closes"])
            .args(["--open-timeout", &format!("{}s", within.as_secs().max(1))])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().context("starting perf-load watch")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("perf-load watch has no stdout")?;
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut watches = Watches { child, stdin, lines };
        let deadline = std::time::Instant::now() + within + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match watches.lines.recv_timeout(left) {
                Ok(line) if line.contains("\"ready\"") => {
                    let ready: ReadyJson = serde_json::from_str(line.trim())
                        .with_context(|| format!("perf-load's ready line: {line}"))?;
                    return Ok((watches, ready));
                }
                Ok(_) => {}
                Err(_) => {
                    watches.kill();
                    bail!("perf-load watch did not open its watches within {within:?}");
                }
            }
        }
    }

    /// Closes stdin and returns the final report (waiting up to 30 s).
    pub(crate) fn close(mut self) -> Result<WatchJson> {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains("\"events\"") => {
                    let _ = self.child.wait();
                    return serde_json::from_str(line.trim())
                        .with_context(|| format!("perf-load watch's report: {line}"));
                }
                Ok(_) => {}
                Err(_) => {
                    self.kill();
                    bail!("perf-load watch printed no report after its stdin closed");
                }
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.stdin.take().map(|mut s| s.flush());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_report_to_outcome() {
        let out = "{\"requests\":100,\"non_2xx\":4,\"errors\":1,\"seconds\":2.0,\"rps\":50.0,\"bytes\":10,\
                   \"p50_us\":100.0,\"p99_us\":900.0,\"p999_us\":1500.0,\"first_error\":null}\n";
        let o = parse_last::<GetJson>(out).unwrap().outcome();
        assert_eq!((o.requests, o.errors, o.seconds), (96, 5, 2.0));
        assert_eq!(o.latency.map(|l| l.p999_us), Some(1500.0));
    }

    #[test]
    fn watch_lines() {
        let ready: ReadyJson =
            serde_json::from_str("{\"ready\":500,\"failed\":0,\"open_seconds\":0.4,\"rss_kib\":9000}")
                .unwrap();
        assert_eq!(ready.ready, 500);
        let done: WatchJson =
            parse_last("{\"ready\":500}\n{\"watches\":500,\"opened\":500,\"events\":2500}\n").unwrap();
        assert_eq!((done.opened, done.events), (500, 2500));
        assert!(parse_last::<WatchJson>("nothing").is_err());
    }
}
