//! Predicted (posterior median with 68% interval) against true value, with the 1:1 line.

use std::ops::Range;
use std::path::Path;

use plotters::prelude::*;

use crate::style::{self, check_len, color, finite_min_max, grid_shape, padded, render, text};
use crate::PlotError;

const PLOT: &str = "predicted vs true";
const SIZE: (u32, u32) = (900, 900);
/// Square panels, three to a row, so three parameters fill about 1400 px.
const PANEL: u32 = 460;
const MAX_COLS: usize = 3;

/// Writes one parameter's posterior median against its true value, with vertical error bars
/// from `low` to `high` (the 68% interval) and the 1:1 line. Both axes share one range so the
/// 1:1 line is the diagonal.
///
/// # Shapes
/// - `truth`, `median`, `low`, `high`: `[n_galaxies]`
///
/// Galaxies whose truth or median is not finite are skipped; a non-finite interval end drops
/// only that galaxy's error bar.
pub fn predicted_vs_true(
    path: &Path,
    parameter: &str,
    truth: &[f64],
    median: &[f64],
    low: &[f64],
    high: &[f64],
) -> Result<(), PlotError> {
    let panel = Panel::new(path, parameter, None, [truth, median, low, high])?;
    render(path, SIZE, |root| panel.draw(root, color(0), 28))
}

/// Writes [`predicted_vs_true`] for every parameter into one image, panels side by side
/// (three to a row).
///
/// # Shapes
/// - `parameters`: `[n_params]`
/// - `truth`, `median`, `low`, `high`: `[n_params][n_galaxies]`
pub fn predicted_vs_true_grid(
    path: &Path,
    parameters: &[String],
    truth: &[Vec<f64>],
    median: &[Vec<f64>],
    low: &[Vec<f64>],
    high: &[Vec<f64>],
) -> Result<(), PlotError> {
    if parameters.is_empty() {
        return Err(style::empty(PLOT, path));
    }
    for (what, v) in [
        ("truth", truth),
        ("median", median),
        ("low", low),
        ("high", high),
    ] {
        check_len(PLOT, path, what, parameters.len(), v.len())?;
    }
    let panels = parameters
        .iter()
        .enumerate()
        .map(|(p, name)| {
            Panel::new(
                path,
                name,
                Some(p),
                [&truth[p], &median[p], &low[p], &high[p]],
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (rows, cols) = grid_shape(panels.len(), MAX_COLS);
    let size = (cols as u32 * PANEL, rows as u32 * PANEL);
    render(path, size, |root| {
        for (p, (panel, area)) in panels
            .iter()
            .zip(root.split_evenly((rows, cols)))
            .enumerate()
        {
            panel.draw(&area, color(p), 22)?;
        }
        Ok(())
    })
}

/// `(truth, median, 68% interval)` of one galaxy; the interval is absent when not finite.
type Point = (f64, f64, Option<(f64, f64)>);

/// One parameter's validated, finite data.
struct Panel<'a> {
    name: &'a str,
    points: Vec<Point>,
    range: Range<f64>,
}

impl<'a> Panel<'a> {
    /// `index` is the parameter's position in a grid, named in length errors.
    fn new(
        path: &Path,
        name: &'a str,
        index: Option<usize>,
        [truth, median, low, high]: [&[f64]; 4],
    ) -> Result<Self, PlotError> {
        let label = |what: &str| match index {
            Some(p) => format!("{what}[{p}]"),
            None => what.to_string(),
        };
        for (what, v) in [("median", median), ("low", low), ("high", high)] {
            check_len(PLOT, path, label(what), truth.len(), v.len())?;
        }
        let points: Vec<_> = (0..truth.len())
            .filter(|&i| truth[i].is_finite() && median[i].is_finite())
            .map(|i| {
                let (l, h) = (low[i], high[i]);
                let bar = (l.is_finite() && h.is_finite()).then(|| (l.min(h), l.max(h)));
                (truth[i], median[i], bar)
            })
            .collect();
        let extent = points.iter().flat_map(|&(t, m, bar)| {
            let (l, h) = bar.unwrap_or((m, m));
            [t, m, l, h]
        });
        let range = padded(
            finite_min_max(extent).ok_or_else(|| style::empty(PLOT, path))?,
            0.05,
        );
        Ok(Self {
            name,
            points,
            range,
        })
    }

    fn draw(&self, area: &style::Area<'_>, c: RGBColor, font: u32) -> style::DrawResult {
        let mut chart = ChartBuilder::on(area)
            .caption(self.name, text(font + 4))
            .margin(15)
            .x_label_area_size(font * 2 + 10)
            .y_label_area_size(font * 3)
            .build_cartesian_2d(self.range.clone(), self.range.clone())?;
        chart
            .configure_mesh()
            .x_desc("true")
            .y_desc("predicted (median, 68%)")
            .axis_desc_style(text(font - 2))
            .label_style(text(font - 6))
            .x_labels(6)
            .y_labels(6)
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        // Markers and bars fade as points pile up so dense regions stay readable.
        let alpha = (30.0 / (self.points.len() as f64).sqrt()).clamp(0.15, 0.9);
        chart.draw_series(self.points.iter().filter_map(|&(t, _, bar)| {
            bar.map(|(l, h)| PathElement::new([(t, l), (t, h)], c.mix(alpha * 0.6).stroke_width(1)))
        }))?;
        chart.draw_series(
            self.points
                .iter()
                .map(|&(t, m, _)| Circle::new((t, m), 3, c.mix(alpha).filled())),
        )?;
        chart.draw_series(LineSeries::new(
            [
                (self.range.start, self.range.start),
                (self.range.end, self.range.end),
            ],
            BLACK.mix(0.7).stroke_width(2),
        ))?;
        let corner = chart.plotting_area().strip_coord_spec();
        corner.draw_text(
            &format!("N = {}", self.points.len()),
            &text(font - 4),
            (10, 8),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::tests::png_size;

    /// A deterministic fake posterior: median scattered about the truth, bars about the median.
    fn fake(n: usize, scale: f64) -> [Vec<f64>; 4] {
        let truth: Vec<f64> = (0..n).map(|i| scale * i as f64 / n as f64).collect();
        let median: Vec<f64> = truth
            .iter()
            .enumerate()
            .map(|(i, t)| t + 0.05 * scale * ((i * 7919 % 13) as f64 / 6.0 - 1.0))
            .collect();
        let low = median.iter().map(|m| m - 0.04 * scale).collect();
        let high = median.iter().map(|m| m + 0.04 * scale).collect();
        [truth, median, low, high]
    }

    #[test]
    fn single_parameter_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bt.png");
        let [t, mut m, l, mut h] = fake(200, 1.0);
        m[3] = f64::NAN;
        h[5] = f64::INFINITY;
        predicted_vs_true(&path, "bulge-to-total", &t, &m, &l, &h).unwrap();
        assert_eq!(png_size(&path), SIZE);
    }

    #[test]
    fn grid_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let names = ["bt", "R_e", "flux"].map(String::from);
        let data = [fake(300, 1.0), fake(300, 10.0), fake(300, 100.0)];
        let pick = |k: usize| data.iter().map(|d| d[k].clone()).collect::<Vec<_>>();
        predicted_vs_true_grid(&path, &names, &pick(0), &pick(1), &pick(2), &pick(3)).unwrap();
        assert_eq!(png_size(&path), (3 * PANEL, PANEL));
    }

    #[test]
    fn errors() {
        let path = Path::new("p.png");
        let err = predicted_vs_true(path, "bt", &[1.0, 2.0], &[1.0], &[1.0], &[1.0]).unwrap_err();
        assert!(matches!(err, PlotError::LengthMismatch { .. }), "{err}");
        let err = predicted_vs_true(path, "bt", &[], &[], &[], &[]).unwrap_err();
        assert!(matches!(err, PlotError::Empty { plot: PLOT, .. }), "{err}");
        let nan = [f64::NAN];
        let err = predicted_vs_true(path, "bt", &nan, &[1.0], &[0.0], &[2.0]).unwrap_err();
        assert!(matches!(err, PlotError::Empty { .. }), "{err}");
        let one = vec![vec![1.0]];
        let two = vec![vec![1.0], vec![1.0, 2.0]];
        let names = ["a", "b"].map(String::from);
        let err = predicted_vs_true_grid(path, &names, &one, &two, &two, &two).unwrap_err();
        assert!(err.to_string().contains("truth"), "{err}");
        let err = predicted_vs_true_grid(path, &names, &two, &two, &one, &two).unwrap_err();
        assert!(err.to_string().contains("low"), "{err}");
    }
}
