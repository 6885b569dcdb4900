//! The suite's report: `perf/results/<date>.md` and its chart `<date>.svg`, made from a [`model::Report`].
//!
//! [`render_markdown`] and [`render_svg`] are pure functions of the report; [`write()`] puts both in a directory.
//! The Markdown holds the machine and tools, the targets, and per scenario one row per contender: its rate,
//! latency added over `direct`, the proxy's CPU per unit and its ratio to each baseline, RSS, errors and the
//! scenario's own columns. The chart shows each proxy's CPU per unit relative to nginx's, scenario by scenario.

mod chart;
mod error;
mod figures;
mod format;
mod markdown;
pub mod model;
mod naming;
mod palette;
mod svg;
mod table;
mod write;

#[cfg(test)]
mod sample;
#[cfg(test)]
mod tests;

pub use chart::render_svg;
pub use error::ReportError;
pub use markdown::render_markdown;
pub use naming::file_stem;
pub use write::write;
