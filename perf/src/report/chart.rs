//! The SVG chart: one group of horizontal bars per scenario with proxy CPU figures, one bar per contender,
//! the bar's length its CPU per unit relative to nginx's in the same scenario (first panel), or in absolute µs
//! for scenarios without an nginx run (second panel). The absolute µs label each bar.

use super::figures::{self, CHART_BASELINE, Panel};
use super::model::{Report, ScenarioResult};
use super::palette;
use super::svg::{Anchor, Font, Svg};

/// Width of the drawing, px.
const WIDTH: f64 = 1000.0;
/// Left margin, px.
const MARGIN: f64 = 20.0;
/// Where scenario names end (right-aligned).
const LABEL_RIGHT: f64 = 220.0;
/// Where bars start.
const BAR_LEFT: f64 = 232.0;
/// Where the axis maximum lands; bar labels go to its right.
const BAR_RIGHT: f64 = 830.0;
/// One bar's height.
const BAR_HEIGHT: f64 = 16.0;
/// Space between bars of a group.
const BAR_GAP: f64 = 3.0;
/// Space between groups.
const GROUP_GAP: f64 = 14.0;
/// Longest scenario name drawn in full.
const NAME_CHARS: usize = 30;
/// The target, as a fraction of nginx's CPU per unit.
const TARGET: f64 = 0.7;
/// Estimated width of one character of an 11 px label.
const LABEL_CHAR_WIDTH: f64 = 6.3;
/// Room left beyond the longest bar, as a fraction of it.
const HEADROOM: f64 = 1.12;

/// Dark text.
const INK: &str = "#222222";
/// Secondary text and grid labels.
const GREY: &str = "#666666";
/// Grid lines.
const GRID: &str = "#e3e3e3";
/// The target line.
const RED: &str = "#c0392b";

/// One bar: who, its length in axis units, its absolute µs.
struct Bar<'a> {
    contender: &'a str,
    value: f64,
    micros: f64,
}

/// One scenario's bars.
struct Group<'a> {
    name: &'a str,
    per: &'static str,
    bars: Vec<Bar<'a>>,
}

/// The chart of the report's proxy CPU per unit, as a standalone SVG 1.1 document 1000 px wide.
pub fn render_svg(report: &Report) -> String {
    let relative = groups(report, Panel::Relative);
    let absolute = groups(report, Panel::Absolute);
    let colours = colours(relative.iter().chain(&absolute));
    let mut svg = Svg::default();
    let title = "Proxy CPU per request, relative to nginx";
    svg.text(MARGIN, 22.0, font(16.0, true, INK, Anchor::Start), title);
    svg.text(
        MARGIN,
        42.0,
        font(12.0, false, GREY, Anchor::Start),
        &format!(
            "{} · lower is better · nginx = 1.0 in each scenario, dashed red line: the {TARGET} target · \
             labels: absolute proxy CPU µs per unit",
            report.started
        ),
    );
    let mut y = legend(&mut svg, &colours, 62.0);
    if relative.is_empty() && absolute.is_empty() {
        svg.text(
            MARGIN,
            y + 20.0,
            font(13.0, false, INK, Anchor::Start),
            "No proxy CPU figures in this run.",
        );
        y += 40.0;
    }
    if !relative.is_empty() {
        let heading = "CPU per unit relative to nginx in the same scenario";
        y = panel(&mut svg, &relative, &colours, y + 14.0, heading, Panel::Relative);
    }
    if !absolute.is_empty() {
        let heading = "Scenarios without an nginx run: proxy CPU µs per unit";
        y = panel(&mut svg, &absolute, &colours, y + 14.0, heading, Panel::Absolute);
    }
    svg.finish(WIDTH, (y + 16.0).ceil(), title)
}

/// The groups of the scenarios in `which` panel.
fn groups(report: &Report, which: Panel) -> Vec<Group<'_>> {
    report
        .scenarios
        .iter()
        .filter(|s| figures::panel(s) == Some(which))
        .map(|s| Group {
            name: &s.name,
            per: short_unit(s),
            bars: bars(s, which),
        })
        .filter(|g| !g.bars.is_empty())
        .collect()
}

/// One bar per run with a CPU figure.
fn bars(scenario: &ScenarioResult, which: Panel) -> Vec<Bar<'_>> {
    scenario
        .runs
        .iter()
        .filter_map(|run| {
            let micros = figures::cpu(run)?;
            let value = match which {
                Panel::Relative => figures::relative(scenario, run, CHART_BASELINE)?,
                Panel::Absolute => micros,
            };
            Some(Bar {
                contender: &run.contender,
                value,
                micros,
            })
        })
        .collect()
}

/// The unit in a bar label.
fn short_unit(scenario: &ScenarioResult) -> &'static str {
    match figures::per_unit(scenario.unit) {
        "connection" => "conn",
        other => other,
    }
}

/// Every charted contender with its colour, known ones first in their usual order.
fn colours<'a>(groups: impl Iterator<Item = &'a Group<'a>>) -> Vec<(&'a str, &'static str)> {
    let mut names: Vec<&str> = Vec::new();
    for bar in groups.flat_map(|g| &g.bars) {
        if !names.contains(&bar.contender) {
            names.push(bar.contender);
        }
    }
    names.sort_by_key(|name| palette::known_order(name));
    palette::assign(&names)
}

/// The colour of a contender in `colours`.
fn colour_of(colours: &[(&str, &'static str)], contender: &str) -> &'static str {
    colours
        .iter()
        .find(|(name, _)| *name == contender)
        .map_or(GREY, |(_, c)| c)
}

/// Draws the legend from `y`; returns the y below it.
fn legend(svg: &mut Svg, colours: &[(&str, &'static str)], y: f64) -> f64 {
    let mut x = MARGIN;
    let mut y = y;
    for (name, colour) in colours {
        let width = 12.0 + 6.0 + 7.0 * name.chars().count() as f64 + 18.0;
        if x + width > WIDTH - MARGIN {
            x = MARGIN;
            y += 20.0;
        }
        svg.rect("legend", (x, y - 6.0, 12.0, 12.0), colour, name);
        svg.text(x + 18.0, y, font(12.0, false, INK, Anchor::Start), name);
        x += width;
    }
    y + 14.0
}

/// Draws one panel of groups from `top`; returns the y below it.
fn panel(
    svg: &mut Svg,
    groups: &[Group<'_>],
    colours: &[(&str, &'static str)],
    top: f64,
    heading: &str,
    which: Panel,
) -> f64 {
    svg.text(MARGIN, top + 8.0, font(13.0, true, INK, Anchor::Start), heading);
    let longest = groups
        .iter()
        .flat_map(|g| &g.bars)
        .map(|b| b.value)
        .fold(0.0, f64::max);
    let floor = if which == Panel::Relative { 1.0 } else { 0.0 };
    let (axis_max, step) = axis(longest.max(floor) * HEADROOM);
    let x_of = |v: f64| BAR_LEFT + (BAR_RIGHT - BAR_LEFT) * (v / axis_max).clamp(0.0, 1.0);
    let ticks_y = top + 30.0;
    let first_bar = ticks_y + 14.0;
    let height: f64 = groups.iter().map(group_height).sum::<f64>() + GROUP_GAP * (groups.len() as f64 - 1.0);
    let bottom = first_bar + height + 6.0;

    let ticks = (axis_max / step).round() as usize;
    for i in 0..=ticks {
        let v = step * i as f64;
        svg.line((x_of(v), ticks_y + 8.0, x_of(v), bottom), GRID, 1.0, false);
        let label = match which {
            Panel::Relative => format!("{}×", trim(v)),
            Panel::Absolute => format!("{} µs", trim(v)),
        };
        svg.text(x_of(v), ticks_y, font(11.0, false, GREY, Anchor::Middle), &label);
    }

    svg.line((BAR_LEFT, ticks_y + 8.0, BAR_LEFT, bottom), GREY, 1.0, false);
    if which == Panel::Relative {
        svg.line((x_of(1.0), ticks_y + 8.0, x_of(1.0), bottom), INK, 1.5, true);
        svg.line(
            (x_of(TARGET), ticks_y + 8.0, x_of(TARGET), bottom),
            RED,
            1.5,
            true,
        );
    }

    let mut y = first_bar;
    for group in groups {
        let h = group_height(group);
        svg.text(
            LABEL_RIGHT,
            y + h / 2.0,
            font(12.0, false, INK, Anchor::End),
            &short_name(group.name),
        );
        for bar in &group.bars {
            let colour = colour_of(colours, bar.contender);
            let end = x_of(bar.value);
            let absolute = format!("{} µs/{}", micros(bar.micros), group.per);
            let label = match which {
                Panel::Relative => format!("{absolute} ({:.2}×)", bar.value),
                Panel::Absolute => absolute,
            };
            let tooltip = format!("{} · {}: {label}", group.name, bar.contender);
            svg.rect("bar", (BAR_LEFT, y, end - BAR_LEFT, BAR_HEIGHT), colour, &tooltip);
            let label_width = LABEL_CHAR_WIDTH * label.chars().count() as f64 + 4.0;
            svg.backdrop((end + 3.0, y + 1.0, label_width, BAR_HEIGHT - 2.0));
            svg.text(
                end + 5.0,
                y + BAR_HEIGHT / 2.0,
                font(11.0, false, INK, Anchor::Start),
                &label,
            );
            y += BAR_HEIGHT + BAR_GAP;
        }
        y += GROUP_GAP - BAR_GAP;
    }

    if which == Panel::Relative {
        svg.text(
            x_of(1.0) + 4.0,
            bottom + 10.0,
            font(11.0, false, INK, Anchor::Start),
            "nginx = 1.0",
        );
        svg.text(
            x_of(TARGET) - 4.0,
            bottom + 10.0,
            font(11.0, false, RED, Anchor::End),
            "target 0.7",
        );
        bottom + 22.0
    } else {
        bottom + 6.0
    }
}

/// Height of a group's bars.
fn group_height(group: &Group<'_>) -> f64 {
    let n = group.bars.len() as f64;
    n * BAR_HEIGHT + (n - 1.0).max(0.0) * BAR_GAP
}

/// A round axis maximum at or above `max`, and its tick step (about five ticks).
fn axis(max: f64) -> (f64, f64) {
    if !(max.is_finite() && max > 0.0) {
        return (1.0, 0.2);
    }
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

/// A tick value without trailing zeros (`0.5`, `1`, `2.5`).
fn trim(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// µs with as many decimals as their size warrants.
fn micros(v: f64) -> String {
    match v.abs() {
        a if a < 10.0 => format!("{v:.2}"),
        a if a < 1000.0 => format!("{v:.1}"),
        _ => format!("{v:.0}"),
    }
}

/// A scenario name cut to fit the label column.
fn short_name(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(NAME_CHARS - 1).collect::<String>())
    }
}

/// A font.
fn font(size: f64, bold: bool, colour: &'static str, anchor: Anchor) -> Font {
    Font {
        size,
        bold,
        colour,
        anchor,
    }
}
