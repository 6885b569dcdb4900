//! Number and text formatting shared by the Markdown tables: fixed decimals, the `–` of a missing value,
//! table-cell and code-span escaping.

/// What a missing value renders as.
pub(super) const MISSING: &str = "–";

/// `v` with `decimals` decimals, or `–` when it is missing or not finite.
pub(super) fn fixed(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => MISSING.to_owned(),
    }
}

/// A count of µs with as many decimals as its size warrants (`3.27`, `20.4`, `1532`).
pub(super) fn micros(v: Option<f64>) -> String {
    let decimals = match v {
        Some(v) if v.abs() < 10.0 => 2,
        Some(v) if v.abs() < 1000.0 => 1,
        _ => 0,
    };
    fixed(v, decimals)
}

/// A rate: no decimals from 100 up, two below.
pub(super) fn rate(v: Option<f64>) -> String {
    fixed(v, if v.is_some_and(|v| v.abs() >= 100.0) { 0 } else { 2 })
}

/// Microseconds shown as milliseconds with three decimals.
pub(super) fn millis(us: Option<f64>) -> String {
    fixed(us.map(|us| us / 1000.0), 3)
}

/// Microseconds shown as signed milliseconds with three decimals (`+0.412`, `-0.050`).
pub(super) fn signed_millis(us: Option<f64>) -> String {
    match us.map(|us| us / 1000.0) {
        Some(ms) if ms.is_finite() => format!("{ms:+.3}"),
        _ => MISSING.to_owned(),
    }
}

/// A text as one Markdown table cell: `|` escaped, line breaks as spaces, `–` when empty.
pub(super) fn cell(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return MISSING.to_owned();
    }
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// A text as one Markdown code span, fenced with more backticks than it holds in a row.
pub(super) fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_non_finite_values_are_dashes() {
        assert_eq!(fixed(None, 2), "–");
        assert_eq!(fixed(Some(f64::NAN), 2), "–");
        assert_eq!(micros(Some(f64::INFINITY)), "–");
        assert_eq!(signed_millis(None), "–");
        assert_eq!(cell("  "), "–");
    }

    #[test]
    fn numbers() {
        assert_eq!(micros(Some(3.271)), "3.27");
        assert_eq!(micros(Some(20.41)), "20.4");
        assert_eq!(micros(Some(1532.4)), "1532");
        assert_eq!(rate(Some(28263.6)), "28264");
        assert_eq!(rate(Some(12.345)), "12.35");
        assert_eq!(millis(Some(1830.0)), "1.830");
        assert_eq!(signed_millis(Some(412.0)), "+0.412");
        assert_eq!(signed_millis(Some(-50.0)), "-0.050");
    }

    #[test]
    fn cells_and_code_spans_are_escaped() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(code("perf all"), "`perf all`");
        assert_eq!(code("echo `x`"), "`` echo `x` ``");
    }
}
