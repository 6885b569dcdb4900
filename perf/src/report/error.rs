//! What can go wrong when writing a report.

use std::path::PathBuf;

/// An error of [`write`](super::write) or [`file_stem`](super::file_stem).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// `Report::started` does not begin with an RFC 3339 date and time (`YYYY-MM-DDTHH:MM`).
    #[error("the report's start time {started:?} is not an RFC 3339 date and time")]
    Started {
        /// The start time as given.
        started: String,
    },
    /// Every candidate file name for a report of that date is taken.
    #[error("every file name for a report of {date} is taken")]
    NamesTaken {
        /// The report's date, `YYYY-MM-DD`.
        date: String,
    },
    /// Creating the directory or writing a file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
