//! Flag values clap cannot parse by itself, spelled the way Go's flag packages spell them: booleans
//! (`strconv.ParseBool`), durations (`time.ParseDuration`), listen addresses and optional paths.

use std::path::PathBuf;
use std::time::Duration;

/// `--health-probe-addr`: an address, or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeAddr(pub Option<std::net::SocketAddr>);

/// Parses `--health-probe-addr`: `0` (off) or a Go-style listen address (`:8081`, `127.0.0.1:8081`).
pub fn parse_probe_addr(s: &str) -> Result<ProbeAddr, String> {
    if s == "0" {
        return Ok(ProbeAddr(None));
    }
    capsule_proxy_control::probes::parse_listen_addr(s).map(|a| ProbeAddr(Some(a)))
}

/// Parses a boolean the way Go's `strconv.ParseBool` does: `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("invalid boolean {s:?} (expected true or false)")),
    }
}

/// Go's string flags accept an empty value; keep it (as an empty path, treated as unset) instead of refusing it.
pub(super) fn parse_go_path(s: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(s))
}

/// Parses a duration the way Go's `time.ParseDuration` does: a sequence of decimal numbers, each with an optional
/// fraction and a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `500ms`, `1.5h`, `1m30s`; or a plain `0`.
/// Negative durations are refused.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    const MAX_NANOS: u128 = i64::MAX as u128;
    let invalid = |why: &str| format!("invalid duration {s:?}: {why} (expected e.g. 500ms, 5s, 10m, 1h30m)");
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid("empty"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid("expected a number"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3600 * 1_000_000_000,
            "" => return Err(invalid("missing unit")),
            _ => return Err(invalid(&format!("unknown unit {unit:?}"))),
        };
        let mut value: u128 = 0;
        for b in int_part.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u128::from(b - b'0')))
                .filter(|v| *v <= MAX_NANOS)
                .ok_or_else(|| invalid("too large"))?;
        }
        let mut nanos = value
            .checked_mul(unit_nanos)
            .ok_or_else(|| invalid("too large"))?;
        // Fraction digits beyond nanosecond precision of the largest unit do not matter; Go truncates too.
        let mut scale: u128 = 1;
        let mut frac: u128 = 0;
        for b in frac_part.bytes().take(20) {
            frac = frac * 10 + u128::from(b - b'0');
            scale *= 10;
        }
        nanos += frac * unit_nanos / scale;
        total = total.saturating_add(nanos);
        if total > MAX_NANOS {
            return Err(invalid("too large"));
        }
        rest = after;
    }
    if negative && total != 0 {
        return Err(invalid("negative"));
    }
    Ok(Duration::from_nanos(
        u64::try_from(total).map_err(|_| invalid("too large"))?,
    ))
}
