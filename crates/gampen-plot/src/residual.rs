//! Histograms of residuals (prediction - truth), one panel per parameter.

use std::path::Path;

use plotters::prelude::*;

use crate::style::{self, check_len, color, fmt_num, grid_shape, histogram, padded, quantile};
use crate::style::{integer_label, render, sorted_finite, text};
use crate::PlotError;

const PLOT: &str = "residual histograms";
const PANEL: (u32, u32) = (460, 400);
const MAX_COLS: usize = 3;
/// The axis spans this central fraction of the residuals (plus zero), so a handful of wild
/// predictions do not squash the histogram into one bin; how many fell outside is printed.
const CENTRAL: f64 = 0.99;

/// Writes one histogram per parameter of `residuals` (prediction - truth), with a dashed line
/// at zero and the mean, standard deviation and count printed in the panel.
///
/// # Shapes
/// - `parameters`: `[n_params]`
/// - `residuals`: `[n_params][n_galaxies]` (galaxy counts may differ between parameters)
///
/// Non-finite residuals are skipped; a parameter with none left is an error.
pub fn residual_histograms(
    path: &Path,
    parameters: &[String],
    residuals: &[Vec<f64>],
) -> Result<(), PlotError> {
    check_len(PLOT, path, "residuals", parameters.len(), residuals.len())?;
    if parameters.is_empty() {
        return Err(style::empty(PLOT, path));
    }
    let sorted = residuals
        .iter()
        .map(|r| Some(sorted_finite(r)).filter(|s| !s.is_empty()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| style::empty(PLOT, path))?;

    let (rows, cols) = grid_shape(parameters.len(), MAX_COLS);
    let size = (cols as u32 * PANEL.0, rows as u32 * PANEL.1);
    render(path, size, |root| {
        let areas = root.split_evenly((rows, cols));
        for (p, ((name, values), area)) in parameters.iter().zip(&sorted).zip(areas).enumerate() {
            draw_panel(&area, name, values, color(p))?;
        }
        Ok(())
    })
}

fn draw_panel(
    area: &style::Area<'_>,
    name: &str,
    sorted: &[f64],
    c: RGBColor,
) -> style::DrawResult {
    let tail = (1.0 - CENTRAL) / 2.0;
    let lo = quantile(sorted, tail).min(0.0);
    let hi = quantile(sorted, 1.0 - tail).max(0.0);
    let range = padded((lo, hi), 0.05);
    let bins = ((sorted.len() as f64).sqrt() as usize).clamp(10, 50);
    let counts = histogram(sorted, &range, bins);
    let outside = sorted.len() - counts.iter().sum::<usize>();
    let top = *counts.iter().max().unwrap_or(&1) as f64;

    let n = sorted.len() as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    let var = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);

    let mut chart = ChartBuilder::on(area)
        .caption(name, text(26))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(range.clone(), 0.0..top * 1.35)?;
    chart
        .configure_mesh()
        .x_desc("prediction - truth")
        .y_desc("count")
        .axis_desc_style(text(20))
        .label_style(text(16))
        .y_label_formatter(&integer_label)
        .x_labels(6)
        .y_labels(6)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let width = (range.end - range.start) / bins as f64;
    chart.draw_series(
        counts
            .iter()
            .enumerate()
            .filter(|&(_, &k)| k > 0)
            .map(|(i, &k)| {
                let x0 = range.start + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, k as f64)], c.mix(0.7).filled())
            }),
    )?;
    chart.draw_series(DashedLineSeries::new(
        [(0.0, 0.0), (0.0, top * 1.35)],
        8,
        5,
        BLACK.stroke_width(2),
    ))?;

    let mut lines = vec![
        format!("mean = {}", fmt_num(mean)),
        format!("std = {}", fmt_num(var.sqrt())),
        format!("N = {}", sorted.len()),
    ];
    if outside > 0 {
        lines.push(format!("{outside} outside axis"));
    }
    // Pixel offsets from the plotting area's corner: the text must not move with the data.
    let corner = chart.plotting_area().strip_coord_spec();
    // A light backing keeps the text legible where it crosses the zero line or a bar.
    let width = lines.iter().map(|l| l.len()).max().unwrap_or(0) as i32 * 9 + 8;
    corner.draw(&Rectangle::new(
        [(4, 4), (10 + width, 12 + 20 * lines.len() as i32)],
        WHITE.mix(0.8).filled(),
    ))?;
    for (k, line) in lines.iter().enumerate() {
        corner.draw_text(line, &text(17), (10, 8 + 20 * k as i32))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::tests::png_size;

    fn names() -> Vec<String> {
        ["bt", "R_e", "flux"].map(String::from).to_vec()
    }

    /// Deterministic, roughly bell-shaped residuals.
    fn bell(n: usize, shift: f64, scale: f64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let u: f64 = (0..4)
                    .map(|k| ((i * 7919 + k * 104729) % 1000) as f64 / 1000.0)
                    .sum();
                shift + scale * (u - 2.0)
            })
            .collect()
    }

    #[test]
    fn writes_a_png_of_the_stated_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("residuals.png");
        let mut flux = bell(500, 3.0, 10.0);
        flux[0] = 1e6;
        flux[1] = f64::NAN;
        let residuals = vec![bell(500, 0.01, 0.1), bell(500, -0.2, 1.0), flux];
        residual_histograms(&path, &names(), &residuals).unwrap();
        assert_eq!(png_size(&path), (3 * PANEL.0, PANEL.1));
    }

    #[test]
    fn single_value_and_four_panels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r4.png");
        let mut n = names();
        n.push("extra".into());
        let residuals = vec![vec![0.0], vec![1.0], vec![-2.0, 2.0], vec![0.5; 10]];
        residual_histograms(&path, &n, &residuals).unwrap();
        assert_eq!(png_size(&path), (3 * PANEL.0, 2 * PANEL.1));
    }

    #[test]
    fn errors() {
        let path = Path::new("r.png");
        let err = residual_histograms(path, &names(), &[vec![1.0]]).unwrap_err();
        assert!(matches!(err, PlotError::LengthMismatch { .. }), "{err}");
        let err = residual_histograms(path, &[], &[]).unwrap_err();
        assert!(matches!(err, PlotError::Empty { plot: PLOT, .. }), "{err}");
        let residuals = vec![vec![1.0], vec![f64::NAN], vec![2.0]];
        let err = residual_histograms(path, &names(), &residuals).unwrap_err();
        assert!(matches!(err, PlotError::Empty { .. }), "{err}");
    }
}
