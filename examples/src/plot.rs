//! Figures of stacked panels over one time axis, drawn with plotters into SVG text: each panel has its own
//! value axis with ticks and a unit, a legend, shaded spans (true anomalies), filled strips (alarms), dashed
//! rules (thresholds) and a vertical marker (end of training).

use plotters::prelude::*;

/// Figure width in pixels.
const WIDTH: u32 = 1400;
/// Height of the title band in pixels.
const TITLE: u32 = 36;

/// A named line of values, one per time (NaN leaves a gap).
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend text (empty: no legend entry).
    pub label: String,
    /// The values.
    pub values: Vec<f64>,
}

/// One panel: series over a value range (the data's own range when `None`), with its axis label.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// The caption.
    pub title: String,
    /// The value axis' label, with its unit.
    pub y_label: String,
    /// Pixel height.
    pub height: u32,
    /// The series.
    pub series: Vec<Series>,
    /// Dashed horizontal rules at these values (thresholds).
    pub rules: Vec<f64>,
    /// The value range shown; values outside are clipped.
    pub range: Option<(f64, f64)>,
    /// Times where this is true are shaded (true anomaly segments).
    pub shade: Vec<bool>,
    /// Times where this is true are drawn as a filled strip (alarms).
    pub strip: Vec<bool>,
}

/// A figure: panels stacked over the time axis `times`, with an optional vertical marker.
///
/// ```
/// use aeroguard_examples::plot::{Figure, Panel, Series};
/// let panel = Panel {
///     title: "pressure".into(),
///     y_label: "bar".into(),
///     height: 160,
///     rules: vec![1.0],
///     shade: vec![false, true, true, false],
///     series: vec![Series { label: "pt-1".into(), values: vec![0.5, 1.5, f64::NAN, 0.2] }],
///     ..Panel::default()
/// };
/// let figure = Figure { title: "t & u".into(), x_label: "time (s)".into(), times: vec![0.0, 1.0, 2.0, 3.0], marker: Some(1.0), panels: vec![panel] };
/// let svg = figure.render()?;
/// assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
/// assert!(svg.contains("bar") && svg.contains("time (s)"), "axis labels with units");
/// assert!(svg.contains("pt-1"), "a legend");
/// assert!(svg.contains("t &amp; u"), "text is escaped");
/// # Ok::<(), aeroguard_examples::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Figure {
    /// The title.
    pub title: String,
    /// The time axis' label, with its unit.
    pub x_label: String,
    /// The time of each row.
    pub times: Vec<f64>,
    /// A vertical marker at this time.
    pub marker: Option<f64>,
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
}

fn failed<E: std::fmt::Debug>(e: E) -> crate::Error {
    crate::Error::Run(format!("plot: {e:?}"))
}

/// Runs of consecutive `true`, as index ranges `[start, end)`.
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

impl Figure {
    /// The SVG text.
    pub fn render(&self) -> crate::Result<String> {
        if self.times.is_empty() {
            return Err(crate::Error::Run("plot: no rows".into()));
        }
        let height = TITLE + self.panels.iter().map(|p| p.height).sum::<u32>();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
            root.fill(&WHITE).map_err(failed)?;
            let (top, mut rest) = root.split_vertically(TITLE);
            top.titled(&self.title, ("sans-serif", 18)).map_err(failed)?;
            for panel in &self.panels {
                let (area, below) = rest.split_vertically(panel.height);
                rest = below;
                self.draw(&area, panel)?;
            }
            root.present().map_err(failed)?;
        }
        Ok(svg)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        p: &Panel,
    ) -> crate::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let t = &self.times;
        let (x0, x1) = (t[0], t[t.len() - 1].max(t[0] + 1e-9));
        let (lo, hi) = p.range.unwrap_or_else(|| {
            let (lo, hi) = p
                .series
                .iter()
                .flat_map(|s| s.values.iter().copied().filter(|v| v.is_finite()))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
            if lo.is_finite() && hi > lo {
                let pad = (hi - lo) * 0.05;
                (lo - pad, hi + pad)
            } else if lo.is_finite() {
                (lo - 1.0, lo + 1.0)
            } else {
                (0.0, 1.0)
            }
        });
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, ("sans-serif", 14))
            .margin_right(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, lo..hi)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&p.y_label)
            .x_labels(14)
            .y_labels(4)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(failed)?;
        let at = |i: usize| t[i.min(t.len() - 1)];
        let shades = spans(&p.shade).into_iter().map(|(a, b)| {
            Rectangle::new(
                [(at(a), lo), (at(b), hi)],
                RGBColor(214, 39, 40).mix(0.12).filled(),
            )
        });
        chart.draw_series(shades).map_err(failed)?;
        let strips = spans(&p.strip)
            .into_iter()
            .map(|(a, b)| Rectangle::new([(at(a), lo), (at(b), hi)], RGBColor(255, 127, 14).filled()));
        chart.draw_series(strips).map_err(failed)?;
        for &r in &p.rules {
            chart
                .draw_series(DashedLineSeries::new(
                    [(x0, r), (x1, r)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(failed)?;
        }
        if let Some(m) = self.marker {
            chart
                .draw_series(DashedLineSeries::new(
                    [(m, lo), (m, hi)],
                    3,
                    3,
                    RGBColor(120, 120, 120).stroke_width(1),
                ))
                .map_err(failed)?;
        }
        let mut legend = false;
        for (k, s) in p.series.iter().enumerate() {
            let colour = Palette99::pick(k).to_rgba();
            let mut first = true;
            for run in spans(&s.values.iter().map(|v| v.is_finite()).collect::<Vec<_>>()) {
                let points = (run.0..run.1).map(|i| (t[i], s.values[i].clamp(lo, hi)));
                let drawn = chart
                    .draw_series(LineSeries::new(points, colour.stroke_width(1)))
                    .map_err(failed)?;
                if first && !s.label.is_empty() {
                    drawn.label(s.label.as_str()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                    });
                    legend = true;
                }
                first = false;
            }
        }
        if legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .label_font(("sans-serif", 11))
                .draw()
                .map_err(failed)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::spans;

    #[test]
    fn spans_of_true() {
        assert_eq!(spans(&[false, true, true, false, true]), vec![(1, 3), (4, 5)]);
        assert!(spans(&[]).is_empty());
    }
}
