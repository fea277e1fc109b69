//! Calibration (coverage) plot: how often the true value fell inside each nominal credible
//! interval, per parameter. A calibrated model sits on the diagonal.

use std::path::Path;

use plotters::prelude::*;

use crate::style::{self, check_len, color, render, text};
use crate::PlotError;

const PLOT: &str = "calibration";
const SIZE: (u32, u32) = (1000, 900);

/// Writes the empirical coverage of each parameter against the nominal coverage, with the
/// diagonal and a legend, on axes fixed to `0..1`.
///
/// # Shapes
/// - `parameters`: `[n_params]` legend labels
/// - `nominal`: `[n_levels]` nominal coverage levels in `[0, 1]`
/// - `coverage`: `[n_params][n_levels]` empirical coverage at each level
///
/// Points where either value is not finite are skipped.
pub fn calibration_plot(
    path: &Path,
    parameters: &[String],
    nominal: &[f64],
    coverage: &[Vec<f64>],
) -> Result<(), PlotError> {
    check_len(PLOT, path, "coverage", parameters.len(), coverage.len())?;
    for (p, row) in coverage.iter().enumerate() {
        check_len(
            PLOT,
            path,
            format!("coverage[{p}]"),
            nominal.len(),
            row.len(),
        )?;
    }
    let series: Vec<Vec<(f64, f64)>> = coverage
        .iter()
        .map(|row| {
            nominal
                .iter()
                .zip(row)
                .map(|(&x, &y)| (x, y))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    if series.iter().all(Vec::is_empty) {
        return Err(style::empty(PLOT, path));
    }

    render(path, SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Calibration", text(32))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
        chart
            .configure_mesh()
            .x_desc("nominal coverage")
            .y_desc("empirical coverage")
            .axis_desc_style(text(24))
            .label_style(text(18))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            10,
            6,
            BLACK.mix(0.6).stroke_width(2),
        ))?;
        for (p, (name, points)) in parameters.iter().zip(&series).enumerate() {
            let c = color(p);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(3)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 30, y)], c.stroke_width(3)));
            chart.draw_series(points.iter().map(|&pt| Circle::new(pt, 5, c.filled())))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(text(22))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.5))
            .margin(15)
            .legend_area_size(45)
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::tests::png_size;

    fn names() -> Vec<String> {
        ["bt", "R_e", "flux"].map(String::from).to_vec()
    }

    #[test]
    fn writes_a_png_of_the_stated_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calibration.png");
        let nominal: Vec<f64> = (1..10).map(|i| i as f64 / 10.0).collect();
        let coverage = vec![
            nominal.iter().map(|x| x * x).collect(),
            nominal.iter().map(|x| x.sqrt()).collect(),
            nominal
                .iter()
                .map(|&x| if x == 0.5 { f64::NAN } else { x })
                .collect(),
        ];
        calibration_plot(&path, &names(), &nominal, &coverage).unwrap();
        assert_eq!(png_size(&path), SIZE);
    }

    #[test]
    fn rejects_mismatched_lengths() {
        let path = Path::new("unused.png");
        let err = calibration_plot(path, &names(), &[0.5, 0.9], &[vec![0.5, 0.9]]).unwrap_err();
        assert!(matches!(err, PlotError::LengthMismatch { .. }), "{err}");
        let coverage = vec![vec![0.5, 0.9], vec![0.5], vec![0.5, 0.9]];
        let err = calibration_plot(path, &names(), &[0.5, 0.9], &coverage).unwrap_err();
        assert!(err.to_string().contains("coverage[1]"), "{err}");
        assert!(err.to_string().contains("unused.png"), "{err}");
    }

    #[test]
    fn rejects_all_nan() {
        let err = calibration_plot(Path::new("c.png"), &names()[..1], &[0.5], &[vec![f64::NAN]])
            .unwrap_err();
        assert!(
            matches!(
                err,
                PlotError::Empty {
                    plot: "calibration",
                    ..
                }
            ),
            "{err}"
        );
    }
}
