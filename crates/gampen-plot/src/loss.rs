//! Training and devel loss per epoch.

use std::path::Path;

use plotters::prelude::*;

use crate::style::{self, check_len, color, finite_min_max, integer_label, padded, render, text};
use crate::PlotError;

const PLOT: &str = "loss curve";
const SIZE: (u32, u32) = (1000, 700);

/// Writes the training and devel loss against epoch (1-based).
///
/// # Shapes
/// - `train`: `[n_epochs]`
/// - `devel`: `[n_epochs]`, or empty when there is no devel set (either may be empty, not both)
///
/// The y axis is linear because a Gaussian negative log-likelihood is often negative. Epochs
/// whose loss is not finite (a diverged step) leave a gap in the line.
pub fn loss_curve(path: &Path, train: &[f64], devel: &[f64]) -> Result<(), PlotError> {
    if !train.is_empty() && !devel.is_empty() {
        check_len(PLOT, path, "devel", train.len(), devel.len())?;
    }
    let (lo, hi) = finite_min_max(train.iter().chain(devel).copied())
        .ok_or_else(|| style::empty(PLOT, path))?;
    let epochs = train.len().max(devel.len());
    let x_range = if epochs == 1 {
        0.5..1.5
    } else {
        1.0..epochs as f64
    };

    render(path, SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Loss", text(32))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(x_range, padded((lo, hi), 0.05))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("loss")
            .axis_desc_style(text(24))
            .label_style(text(18))
            .x_label_formatter(&integer_label)
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (i, (name, values)) in [("train", train), ("devel", devel)].into_iter().enumerate() {
            if values.is_empty() {
                continue;
            }
            let c = color(i);
            // One series per finite run, so a NaN epoch breaks the line instead of bridging it.
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .map(|(e, &v)| ((e + 1) as f64, v))
                .collect();
            let runs = points
                .split(|(_, v)| !v.is_finite())
                .filter(|r| !r.is_empty());
            for run in runs {
                chart.draw_series(LineSeries::new(run.iter().copied(), c.stroke_width(3)))?;
            }
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|(_, v)| v.is_finite())
                        .map(|&p| Circle::new(p, 4, c.filled())),
                )?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 30, y)], c.stroke_width(3)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
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

    #[test]
    fn writes_a_png_of_the_stated_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let train: Vec<f64> = (0..30)
            .map(|e| 2.0 * (-0.1 * e as f64).exp() - 1.0)
            .collect();
        let mut devel: Vec<f64> = train.iter().map(|v| v + 0.15).collect();
        devel[12] = f64::NAN;
        loss_curve(&path, &train, &devel).unwrap();
        assert_eq!(png_size(&path), SIZE);
    }

    #[test]
    fn single_epoch_and_no_devel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss1.png");
        loss_curve(&path, &[0.3], &[]).unwrap();
        assert_eq!(png_size(&path), SIZE);
    }

    #[test]
    fn rejects_empty_and_mismatched() {
        let path = Path::new("loss.png");
        let err = loss_curve(path, &[], &[]).unwrap_err();
        assert!(matches!(err, PlotError::Empty { plot: PLOT, .. }), "{err}");
        let err = loss_curve(path, &[f64::NAN], &[f64::INFINITY]).unwrap_err();
        assert!(matches!(err, PlotError::Empty { .. }), "{err}");
        let err = loss_curve(path, &[1.0, 2.0], &[1.0]).unwrap_err();
        assert!(matches!(err, PlotError::LengthMismatch { .. }), "{err}");
    }
}
