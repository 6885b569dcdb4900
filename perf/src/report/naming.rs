//! The report's file name: the date it started, with the time added when a report of that date exists.

use super::ReportError;

/// How many `-2`, `-3`, … suffixes are tried after the date and the date with the time.
const MAX_SUFFIX: u32 = 99;

/// The file stem (no extension) for a report started at `started` (RFC 3339, e.g. `2026-12-06T11:28:04Z`):
/// `2026-12-06`, or `2026-12-06-1128` when `taken("2026-12-06")` says that one exists, then `2026-12-06-1128-2`, ….
pub fn file_stem(started: &str, taken: impl Fn(&str) -> bool) -> Result<String, ReportError> {
    let (date, hhmm) = date_and_time(started).ok_or_else(|| ReportError::Started {
        started: started.to_owned(),
    })?;
    let with_time = format!("{date}-{hhmm}");
    let candidates = [date.to_owned(), with_time.clone()]
        .into_iter()
        .chain((2..=MAX_SUFFIX).map(|n| format!("{with_time}-{n}")));
    for stem in candidates {
        if !taken(&stem) {
            return Ok(stem);
        }
    }
    Err(ReportError::NamesTaken {
        date: date.to_owned(),
    })
}

/// `YYYY-MM-DD` and `HHMM` from the start of an RFC 3339 time, when its shape is right.
fn date_and_time(started: &str) -> Option<(&str, String)> {
    let bytes = started.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|b| b.iter().all(u8::is_ascii_digit));
    let shaped = digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16);
    if !shaped {
        return None;
    }
    Some((
        started.get(0..10)?,
        format!("{}{}", started.get(11..13)?, started.get(14..16)?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_when_free() {
        let stem = file_stem("2026-12-06T11:28:04Z", |_| false).expect("valid time");
        assert_eq!(stem, "2026-12-06");
    }

    #[test]
    fn the_time_is_added_when_the_date_is_taken() {
        let stem = file_stem("2026-12-06T11:28:04.123+00:00", |s| s == "2026-12-06").expect("valid time");
        assert_eq!(stem, "2026-12-06-1128");
        let stem = file_stem("2026-12-06T11:28:04Z", |s| s.len() <= 15).expect("valid time");
        assert_eq!(stem, "2026-12-06-1128-2");
    }

    #[test]
    fn bad_times_are_errors() {
        for bad in [
            "",
            "2026-12-06",
            "06/12/2026 11:28",
            "2026-12-06T1128",
            "２０２６-12-06T11:28Z",
        ] {
            assert!(
                matches!(file_stem(bad, |_| false), Err(ReportError::Started { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            file_stem("2026-12-06T11:28Z", |_| true),
            Err(ReportError::NamesTaken { .. })
        ));
    }
}
