//! Posterior corner plot: marginal histograms on the diagonal, pairwise joint distributions
//! below it.

use std::ops::Range;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::style::{self, check_len, color, finite_min_max, fmt_num, histogram, padded, quantile};
use crate::style::{render, sorted_finite, text};
use crate::PlotError;

const PLOT: &str = "corner";
/// Below this many draws the joint panels show the draws themselves; above it, a 2-D
/// histogram, which stays readable for tens of thousands of draws.
const SCATTER_MAX: usize = 500;
const TRUTH_COLOR: RGBColor = RGBColor(255, 127, 14);
/// Every panel reserves the same label space so plotting areas line up across the grid.
const X_LABEL_AREA: u32 = 55;
const Y_LABEL_AREA: u32 = 75;
const TOP: u32 = 30;

/// Writes a corner plot of posterior draws: the diagonal holds each parameter's marginal
/// histogram titled with its median and 16th/84th-percentile offsets, the lower triangle the
/// joint distribution of each pair (points for fewer than 500 draws, otherwise a 2-D
/// histogram shaded by the square root of the count), and `truth`, if given, is marked by
/// orange lines.
///
/// # Shapes
/// - `parameters`: `[n_params]`
/// - `samples`: `[n_params][n_draws]`, the same draws for every parameter (draw `k` of each
///   parameter is one joint sample)
/// - `truth`: `[n_params]`
///
/// A non-finite draw is left out of the panels of that parameter only; a non-finite truth
/// value is not drawn.
pub fn corner_plot(
    path: &Path,
    parameters: &[String],
    samples: &[Vec<f64>],
    truth: Option<&[f64]>,
) -> Result<(), PlotError> {
    check_len(PLOT, path, "samples", parameters.len(), samples.len())?;
    if parameters.is_empty() {
        return Err(style::empty(PLOT, path));
    }
    for (p, s) in samples.iter().enumerate() {
        check_len(
            PLOT,
            path,
            format!("samples[{p}]"),
            samples[0].len(),
            s.len(),
        )?;
    }
    let n = parameters.len();
    let truth: Vec<f64> = match truth {
        Some(t) => {
            check_len(PLOT, path, "truth", n, t.len())?;
            t.to_vec()
        }
        None => vec![f64::NAN; n],
    };
    let ranges = samples
        .iter()
        .zip(&truth)
        .map(|(s, &t)| {
            // Only the draws decide whether there is anything to plot; truth just widens the axis.
            finite_min_max(s.iter().copied())?;
            finite_min_max(s.iter().copied().chain([t])).map(|r| padded(r, 0.05))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| style::empty(PLOT, path))?;

    let panel = (1200 / n as u32).clamp(200, 450);
    let font = (panel / 22).clamp(12, 20);
    let size = (n as u32 * panel, n as u32 * panel);
    render(path, size, |root| {
        let areas = root.split_evenly((n, n));
        for row in 0..n {
            for col in 0..=row {
                let area = &areas[row * n + col];
                let axes = Axes {
                    font,
                    x_name: (row == n - 1).then_some(parameters[col].as_str()),
                    y_name: (col == 0 && row > 0).then_some(parameters[row].as_str()),
                };
                if row == col {
                    let title = summary(&parameters[row], &samples[row]);
                    draw_marginal(
                        area,
                        &axes,
                        &title,
                        &samples[row],
                        &ranges[row],
                        truth[row],
                        color(0),
                    )?;
                } else {
                    let (x, y) = (&samples[col], &samples[row]);
                    let pairs: Vec<(f64, f64)> = x
                        .iter()
                        .zip(y)
                        .map(|(&a, &b)| (a, b))
                        .filter(|(a, b)| a.is_finite() && b.is_finite())
                        .collect();
                    let truths = (truth[col], truth[row]);
                    draw_joint(
                        area,
                        &axes,
                        &pairs,
                        (&ranges[col], &ranges[row]),
                        truths,
                        color(0),
                    )?;
                }
            }
        }
        Ok(())
    })
}

/// Which axis labels a panel shows: only the outer edge of the grid is labelled.
struct Axes<'a> {
    font: u32,
    x_name: Option<&'a str>,
    y_name: Option<&'a str>,
}

/// `name = median +upper -lower` from the 16th, 50th and 84th percentiles.
fn summary(name: &str, draws: &[f64]) -> String {
    let sorted = sorted_finite(draws);
    let (lo, med, hi) = (
        quantile(&sorted, 0.16),
        quantile(&sorted, 0.5),
        quantile(&sorted, 0.84),
    );
    format!(
        "{name} = {} +{} -{}",
        fmt_num(med),
        fmt_num(hi - med),
        fmt_num(med - lo)
    )
}

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A panel's chart with its axes; every panel gets the same margins so the grid lines up.
fn build<'a, 'b>(
    area: &'a style::Area<'b>,
    axes: &Axes<'_>,
    x: Range<f64>,
    y: Range<f64>,
) -> Result<Chart<'a, 'b>, Box<dyn std::error::Error>> {
    let mut chart = ChartBuilder::on(area)
        .margin(4)
        .margin_top(TOP)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x, y)?;
    let blank = |_: &f64| String::new();
    let number = |v: &f64| fmt_num(*v);
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh()
        .x_labels(4)
        .y_labels(4)
        .label_style(text(axes.font - 2))
        .axis_desc_style(text(axes.font + 2));
    match axes.x_name {
        Some(name) => mesh.x_desc(name).x_label_formatter(&number),
        None => mesh.x_label_formatter(&blank),
    };
    match axes.y_name {
        Some(name) => mesh.y_desc(name).y_label_formatter(&number),
        None => mesh.y_label_formatter(&blank),
    };
    mesh.draw()?;
    Ok(chart)
}

fn draw_marginal(
    area: &style::Area<'_>,
    axes: &Axes<'_>,
    title: &str,
    draws: &[f64],
    range: &Range<f64>,
    truth: f64,
    c: RGBColor,
) -> style::DrawResult {
    let finite = draws.iter().filter(|v| v.is_finite()).count();
    let bins = ((finite as f64).sqrt() as usize).clamp(10, 40);
    let counts = histogram(draws, range, bins);
    let top = *counts.iter().max().unwrap_or(&1) as f64 * 1.1;
    let chart = build(area, axes, range.clone(), 0.0..top.max(1.0))?;
    let width = (range.end - range.start) / bins as f64;
    chart.plotting_area().draw(&PathElement::new(
        counts
            .iter()
            .enumerate()
            .flat_map(|(i, &k)| {
                let x0 = range.start + i as f64 * width;
                [(x0, k as f64), (x0 + width, k as f64)]
            })
            .collect::<Vec<_>>(),
        c.stroke_width(2),
    ))?;
    if truth.is_finite() {
        chart.plotting_area().draw(&PathElement::new(
            [(truth, 0.0), (truth, top)],
            TRUTH_COLOR.stroke_width(2),
        ))?;
    }
    area.draw_text(title, &text(axes.font), (Y_LABEL_AREA as i32, 6))?;
    Ok(())
}

fn draw_joint(
    area: &style::Area<'_>,
    axes: &Axes<'_>,
    pairs: &[(f64, f64)],
    (xr, yr): (&Range<f64>, &Range<f64>),
    (tx, ty): (f64, f64),
    c: RGBColor,
) -> style::DrawResult {
    let mut chart = build(area, axes, xr.clone(), yr.clone())?;
    if pairs.len() < SCATTER_MAX {
        chart.draw_series(
            pairs
                .iter()
                .map(|&p| Circle::new(p, 2, c.mix(0.5).filled())),
        )?;
    } else {
        let bins = ((pairs.len() as f64).sqrt() as usize / 2).clamp(10, 40);
        let (wx, wy) = (
            (xr.end - xr.start) / bins as f64,
            (yr.end - yr.start) / bins as f64,
        );
        let mut counts = vec![0usize; bins * bins];
        for &(x, y) in pairs {
            let i = (((x - xr.start) / wx) as usize).min(bins - 1);
            let j = (((y - yr.start) / wy) as usize).min(bins - 1);
            counts[j * bins + i] += 1;
        }
        let top = *counts.iter().max().unwrap_or(&1) as f64;
        chart.draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|&(_, &k)| k > 0)
                .map(|(k, &n)| {
                    let (i, j) = ((k % bins) as f64, (k / bins) as f64);
                    let x0 = xr.start + i * wx;
                    let y0 = yr.start + j * wy;
                    let shade = (n as f64 / top).sqrt();
                    Rectangle::new(
                        [(x0, y0), (x0 + wx, y0 + wy)],
                        c.mix(0.1 + 0.9 * shade).filled(),
                    )
                }),
        )?;
    }
    if tx.is_finite() {
        chart.draw_series(LineSeries::new(
            [(tx, yr.start), (tx, yr.end)],
            TRUTH_COLOR.stroke_width(2),
        ))?;
    }
    if ty.is_finite() {
        chart.draw_series(LineSeries::new(
            [(xr.start, ty), (xr.end, ty)],
            TRUTH_COLOR.stroke_width(2),
        ))?;
    }
    if tx.is_finite() && ty.is_finite() {
        chart.draw_series(std::iter::once(Circle::new(
            (tx, ty),
            5,
            TRUTH_COLOR.filled(),
        )))?;
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

    /// Correlated, roughly Gaussian draws from a fixed-seed LCG (no rand dependency).
    fn draws(n: usize) -> Vec<Vec<f64>> {
        let mut state = 12345u64;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut normal = move || (0..12).map(|_| uniform()).sum::<f64>() - 6.0;
        let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
        for _ in 0..n {
            let (z0, z1, z2) = (normal(), normal(), normal());
            a.push(0.4 + 0.05 * z0);
            b.push(3.0 + 0.5 * (0.8 * z0 + 0.6 * z1));
            c.push(1000.0 + 80.0 * z2);
        }
        vec![a, b, c]
    }

    #[test]
    fn histogram_corner_with_truth() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corner.png");
        let mut samples = draws(5000);
        samples[1][7] = f64::NAN;
        corner_plot(&path, &names(), &samples, Some(&[0.42, 3.1, f64::NAN])).unwrap();
        assert_eq!(png_size(&path), (1200, 1200));
    }

    #[test]
    fn scatter_corner_without_truth() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corner_small.png");
        let samples = draws(200);
        corner_plot(&path, &names()[..2], &samples[..2], None).unwrap();
        assert_eq!(png_size(&path), (900, 900));
        let one = dir.path().join("corner_one.png");
        corner_plot(&one, &names()[..1], &[vec![1.0; 3]], Some(&[1.0])).unwrap();
        assert_eq!(png_size(&one), (450, 450));
    }

    #[test]
    fn errors() {
        let path = Path::new("corner.png");
        let err = corner_plot(path, &[], &[], None).unwrap_err();
        assert!(matches!(err, PlotError::Empty { plot: PLOT, .. }), "{err}");
        let ragged = vec![vec![1.0, 2.0], vec![1.0], vec![1.0, 2.0]];
        let err = corner_plot(path, &names(), &ragged, None).unwrap_err();
        assert!(err.to_string().contains("samples[1]"), "{err}");
        let err = corner_plot(path, &names(), &draws(10), Some(&[1.0])).unwrap_err();
        assert!(err.to_string().contains("truth"), "{err}");
        let nan = vec![vec![f64::NAN; 4], vec![1.0; 4], vec![1.0; 4]];
        let err = corner_plot(path, &names(), &nan, Some(&[1.0, 1.0, 1.0])).unwrap_err();
        assert!(matches!(err, PlotError::Empty { .. }), "{err}");
    }
}
