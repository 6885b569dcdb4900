//! Writing a report's two files, `<dir>/<date>.md` and `<dir>/<date>.svg`: the only I/O of the module.

use std::path::{Path, PathBuf};

use super::model::Report;
use super::{ReportError, file_stem, render_markdown, render_svg};

/// Writes `<dir>/<stem>.md` and `<dir>/<stem>.svg`, the stem from [`file_stem`] (the date the report started,
/// with its time when a report of that date is already there), creating `dir` if needed. Returns both paths.
pub fn write(report: &Report, dir: &Path) -> Result<(PathBuf, PathBuf), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let stem = file_stem(&report.started, |stem| {
        ["md", "svg"]
            .iter()
            .any(|ext| dir.join(format!("{stem}.{ext}")).exists())
    })?;
    let chart_name = format!("{stem}.svg");
    let markdown = dir.join(format!("{stem}.md"));
    let chart = dir.join(&chart_name);
    let save = |path: &Path, text: String| {
        std::fs::write(path, text).map_err(|source| ReportError::Io {
            path: path.to_owned(),
            source,
        })
    };
    save(&chart, render_svg(report))?;
    save(&markdown, render_markdown(report, &chart_name))?;
    Ok((markdown, chart))
}
