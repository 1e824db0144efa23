//! A small SVG writer for the SKAB plots: stacked panels sharing one time axis, polylines, shaded spans and
//! strips. No plotting crate: the shapes needed are few, and the output is plain text a browser shows.

use std::fmt::Write;

/// Panel width and margins, in pixels.
const WIDTH: f64 = 1200.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 20.0;
const GAP: f64 = 14.0;

/// A line of a panel: its label, colour and one value per row (NaN leaves a gap).
#[derive(Debug, Clone)]
pub struct Line {
    /// The legend text.
    pub label: String,
    /// An SVG colour.
    pub colour: String,
    /// The values.
    pub values: Vec<f64>,
}

/// A panel: lines over a value range, with optional horizontal rules (thresholds) and shaded row spans.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// Shown on the left.
    pub title: String,
    /// Pixel height.
    pub height: f64,
    /// The lines.
    pub lines: Vec<Line>,
    /// Horizontal rules at these values (dashed).
    pub rules: Vec<f64>,
    /// The value range shown (values outside are clipped).
    pub range: (f64, f64),
    /// Rows where this is true are shaded (true anomaly segments).
    pub shade: Vec<bool>,
    /// Rows where this is true are drawn as a filled strip (alarms).
    pub strip: Vec<bool>,
}

/// A figure: panels stacked over rows `0..rows`, with a vertical marker at `marker` (end of training).
///
/// ```
/// use aeroguard_examples::svg::{Figure, Line, Panel};
/// let panel = Panel {
///     title: "score".into(),
///     height: 50.0,
///     range: (0.0, 2.0),
///     rules: vec![1.0],
///     shade: vec![false, true, true, false],
///     lines: vec![Line { label: "a".into(), colour: "black".into(), values: vec![0.5, 1.5, f64::NAN, 0.2] }],
///     ..Panel::default()
/// };
/// let svg = Figure { title: "t & u".into(), rows: 4, marker: Some(1), panels: vec![panel] }.render();
/// assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
/// assert_eq!(svg.matches("fill-opacity").count(), 1, "one shaded span");
/// assert!(svg.contains("M") && svg.contains("stroke-dasharray"), "a line and a threshold rule");
/// assert!(svg.contains("t &amp; u"), "text is escaped");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Figure {
    /// The heading.
    pub title: String,
    /// The rows on the time axis.
    pub rows: usize,
    /// A vertical marker (row index).
    pub marker: Option<usize>,
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
}

fn spans(flags: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &f) in flags.iter().chain([&false]).enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

impl Figure {
    /// The figure as an SVG document.
    pub fn render(&self) -> String {
        let height: f64 = 40.0 + self.panels.iter().map(|p| p.height + GAP).sum::<f64>() + 20.0;
        let plot_w = WIDTH - LEFT - RIGHT;
        let x = |row: f64| LEFT + plot_w * row / (self.rows.max(1) as f64);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="22" font-size="15">{}</text>"#,
            esc(&self.title)
        );
        let mut top = 40.0;
        for p in &self.panels {
            let (lo, hi) = p.range;
            let y = |v: f64| top + p.height * (1.0 - ((v.clamp(lo, hi) - lo) / (hi - lo).max(1e-12)));
            let _ = writeln!(
                s,
                r##"<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{}" fill="none" stroke="#bbb"/>"##,
                p.height
            );
            for (a, b) in spans(&p.shade) {
                let _ = writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{top}" width="{:.1}" height="{}" fill="#e33" fill-opacity="0.15"/>"##,
                    x(a as f64),
                    x(b as f64) - x(a as f64),
                    p.height
                );
            }
            for (a, b) in spans(&p.strip) {
                let _ = writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{top}" width="{:.1}" height="{}" fill="#d40"/>"##,
                    x(a as f64),
                    (x(b as f64) - x(a as f64)).max(0.5),
                    p.height
                );
            }
            for r in &p.rules {
                let _ = writeln!(
                    s,
                    r##"<line x1="{LEFT}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#444" stroke-dasharray="4 3"/>"##,
                    LEFT + plot_w,
                    y(*r),
                    y(*r)
                );
            }
            for (k, line) in p.lines.iter().enumerate() {
                let mut d = String::new();
                let mut pen_up = true;
                for (i, v) in line.values.iter().enumerate() {
                    if !v.is_finite() {
                        pen_up = true;
                        continue;
                    }
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if pen_up { "M" } else { "L" },
                        x(i as f64 + 0.5),
                        y(*v)
                    );
                    pen_up = false;
                }
                let _ = writeln!(
                    s,
                    r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1"/>"#,
                    line.colour
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{:.1}" fill="{}">{}</text>"#,
                    LEFT + 6.0 + 110.0 * k as f64,
                    top + 12.0,
                    line.colour,
                    esc(&line.label)
                );
            }
            let _ = writeln!(
                s,
                r#"<text x="8" y="{:.1}">{}</text>"#,
                top + p.height / 2.0 + 4.0,
                esc(&p.title)
            );
            top += p.height + GAP;
        }
        if let Some(m) = self.marker {
            let _ = writeln!(
                s,
                r##"<line x1="{0:.1}" x2="{0:.1}" y1="36" y2="{1:.1}" stroke="#06c" stroke-width="1.5"/><text x="{2:.1}" y="{3:.1}" fill="#06c">end of training</text>"##,
                x(m as f64),
                top - GAP,
                x(m as f64) + 4.0,
                top + 4.0
            );
        }
        s.push_str("</svg>\n");
        s
    }
}
