//! Log timestamps in the encodings of zap's `--zap-time-encoding`, always in UTC.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// A `--zap-time-encoding` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeEncoding {
    /// `2006-01-02T15:04:05.000Z`: milliseconds (the Go proxy's default).
    Iso8601,
    /// `2006-01-02T15:04:05Z`: whole seconds.
    Rfc3339,
    /// `2006-01-02T15:04:05.999999999Z`: nanoseconds, trailing zeros dropped.
    Rfc3339Nano,
    /// Seconds since the Unix epoch, with a fraction (`1136214245.123456`).
    Epoch,
    /// Milliseconds since the Unix epoch, with a fraction (`1136214245123.456`).
    Millis,
    /// Nanoseconds since the Unix epoch (`1136214245123456789`).
    Nano,
}

impl TimeEncoding {
    /// Parses a `--zap-time-encoding` value (`epoch`, `millis`, `nano`, `iso8601`, `rfc3339`, `rfc3339nano`).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.to_ascii_lowercase().as_str() {
            "iso8601" => Self::Iso8601,
            "rfc3339" => Self::Rfc3339,
            "rfc3339nano" => Self::Rfc3339Nano,
            "epoch" => Self::Epoch,
            "millis" => Self::Millis,
            "nano" => Self::Nano,
            _ => return None,
        })
    }

    /// Whether zap writes this encoding as a JSON number (else as a string).
    pub fn is_number(self) -> bool {
        matches!(self, Self::Epoch | Self::Millis | Self::Nano)
    }

    /// `since_epoch` (time since 1970-01-01T00:00:00Z) in this encoding.
    pub fn format(self, since_epoch: Duration) -> String {
        let nanos = since_epoch.subsec_nanos();
        match self {
            Self::Epoch => format!("{}.{:06}", since_epoch.as_secs(), nanos / 1_000),
            Self::Millis => format!("{}.{:03}", since_epoch.as_millis(), nanos / 1_000 % 1_000),
            Self::Nano => since_epoch.as_nanos().to_string(),
            Self::Iso8601 => format!("{}.{:03}Z", date_time(since_epoch.as_secs()), nanos / 1_000_000),
            Self::Rfc3339 => format!("{}Z", date_time(since_epoch.as_secs())),
            Self::Rfc3339Nano => {
                let fraction = format!("{nanos:09}");
                let fraction = fraction.trim_end_matches('0');
                let dot = if fraction.is_empty() { "" } else { "." };
                format!("{}{dot}{fraction}Z", date_time(since_epoch.as_secs()))
            }
        }
    }
}

/// The clock of the log lines: now, in the configured encoding.
#[derive(Debug, Clone, Copy)]
pub struct LogClock(pub TimeEncoding);

impl FormatTime for LogClock {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        w.write_str(&self.0.format(now))
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` seconds since the Unix epoch, UTC (proleptic Gregorian calendar).
fn date_time(secs: u64) -> String {
    let days = secs / 86_400;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60
    )
}

/// (year, month, day) of the day `days` after 1970-01-01, counted in 400-year eras of 146 097 days that
/// start on March 1st (so the leap day ends a year).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 = March … 11 = February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2006-01-02T15:04:05.123456789Z, Go's reference time.
    const REFERENCE: Duration = Duration::new(1_136_214_245, 123_456_789);

    #[test]
    fn every_encoding_formats_the_reference_time() {
        let cases = [
            (TimeEncoding::Iso8601, "2006-01-02T15:04:05.123Z"),
            (TimeEncoding::Rfc3339, "2006-01-02T15:04:05Z"),
            (TimeEncoding::Rfc3339Nano, "2006-01-02T15:04:05.123456789Z"),
            (TimeEncoding::Epoch, "1136214245.123456"),
            (TimeEncoding::Millis, "1136214245123.456"),
            (TimeEncoding::Nano, "1136214245123456789"),
        ];
        for (encoding, expected) in cases {
            assert_eq!(encoding.format(REFERENCE), expected, "{encoding:?}");
        }
    }

    #[test]
    fn rfc3339nano_drops_trailing_zeros() {
        assert_eq!(
            TimeEncoding::Rfc3339Nano.format(Duration::new(0, 500_000_000)),
            "1970-01-01T00:00:00.5Z"
        );
        assert_eq!(
            TimeEncoding::Rfc3339Nano.format(Duration::from_secs(0)),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn dates_cross_leap_days_and_centuries() {
        let day = |days: u64| civil_date(days);
        assert_eq!(day(0), (1970, 1, 1));
        // 2000-02-29 (a leap day of a century divisible by 400) and the day after.
        assert_eq!(day(11_016), (2000, 2, 29));
        assert_eq!(day(11_017), (2000, 3, 1));
        // 2100-02-28 is followed by March 1st: 2100 is not a leap year.
        assert_eq!(day(47_540), (2100, 2, 28));
        assert_eq!(day(47_541), (2100, 3, 1));
        assert_eq!(day(20_454), (2026, 1, 1));
        assert_eq!(date_time(86_399), "1970-01-01T23:59:59");
    }

    #[test]
    fn encodings_parse_case_insensitively() {
        assert_eq!(TimeEncoding::parse("ISO8601"), Some(TimeEncoding::Iso8601));
        assert_eq!(
            TimeEncoding::parse("rfc3339nano"),
            Some(TimeEncoding::Rfc3339Nano)
        );
        assert_eq!(TimeEncoding::parse("nano"), Some(TimeEncoding::Nano));
        assert_eq!(TimeEncoding::parse("unix"), None);
    }
}
