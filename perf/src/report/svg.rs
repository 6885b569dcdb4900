//! A small SVG 1.1 writer: the document frame, text escaping and the few elements the chart draws.

use std::fmt::Write as _;

/// Text or attribute value with `& < > " '` escaped.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Where text is anchored on its x coordinate.
#[derive(Debug, Clone, Copy)]
pub(super) enum Anchor {
    /// Text starts at x.
    Start,
    /// Text is centred on x.
    Middle,
    /// Text ends at x.
    End,
}

/// A text element's style.
#[derive(Debug, Clone, Copy)]
pub(super) struct Font {
    /// Size in px.
    pub(super) size: f64,
    /// Bold or not.
    pub(super) bold: bool,
    /// Fill colour.
    pub(super) colour: &'static str,
    /// Horizontal anchor.
    pub(super) anchor: Anchor,
}

/// An SVG document being drawn; its size is given when it is finished.
#[derive(Debug, Default)]
pub(super) struct Svg {
    body: String,
}

impl Svg {
    /// A line of text whose vertical middle is at `y`.
    pub(super) fn text(&mut self, x: f64, y: f64, font: Font, text: &str) {
        let anchor = match font.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let weight = if font.bold { " font-weight=\"bold\"" } else { "" };
        let _ = writeln!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" dy=\"0.35em\" font-size=\"{}\" fill=\"{}\" text-anchor=\"{anchor}\"{weight}>{}</text>",
            font.size,
            font.colour,
            escape(text)
        );
    }

    /// A filled rectangle with a tooltip, marked with `class`.
    pub(super) fn rect(
        &mut self,
        class: &str,
        (x, y, w, h): (f64, f64, f64, f64),
        fill: &str,
        tooltip: &str,
    ) {
        let _ = writeln!(
            self.body,
            "<rect class=\"{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}</title></rect>",
            escape(class),
            escape(fill),
            escape(tooltip)
        );
    }

    /// A translucent white rectangle that keeps text readable over lines.
    pub(super) fn backdrop(&mut self, (x, y, w, h): (f64, f64, f64, f64)) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"#ffffff\" fill-opacity=\"0.85\"/>"
        );
    }

    /// A straight line, dashed or solid.
    pub(super) fn line(
        &mut self,
        (x1, y1, x2, y2): (f64, f64, f64, f64),
        stroke: &str,
        width: f64,
        dashed: bool,
    ) {
        let dash = if dashed { " stroke-dasharray=\"6 4\"" } else { "" };
        let _ = writeln!(
            self.body,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{}\" stroke-width=\"{width}\"{dash}/>",
            escape(stroke)
        );
    }

    /// The whole document: `width` × `height` px with a white background and `title` for accessibility.
    pub(super) fn finish(self, width: f64, height: f64, title: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width:.0}\" height=\"{height:.0}\" \
             viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n\
             <title>{}</title>\n\
             <rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>\n\
             {}</svg>\n",
            escape(title),
            self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("bell\u{7}"), "bell ");
    }

    #[test]
    fn elements_are_closed() {
        let mut svg = Svg::default();
        let font = Font {
            size: 12.0,
            bold: false,
            colour: "#000",
            anchor: Anchor::End,
        };
        svg.text(1.0, 2.0, font, "x < y");
        svg.rect("bar", (0.0, 0.0, 10.0, 5.0), "#123456", "a & b");
        svg.line((0.0, 0.0, 1.0, 1.0), "#000", 1.0, true);
        let doc = svg.finish(1000.0, 100.0, "t");
        assert!(doc.contains(">x &lt; y</text>"));
        assert!(doc.contains("<title>a &amp; b</title></rect>"));
        assert!(doc.contains("stroke-dasharray=\"6 4\"/>"));
        assert!(doc.ends_with("</svg>\n"));
    }
}
