//! The plots `gampen evaluate` writes, of the galaxies the metrics counted.

use std::path::Path;

use gampen::calibration::MatchedPredictions;
use gampen::evaluate::{EvalReport, SamplesReport};
use gampen::posterior::LEVELS;

use crate::error::Result;
use crate::plot::write_plot;

/// Writes calibration.png, predicted_vs_true.png and residuals.png into `out`. A galaxy
/// that does not count for a parameter is NaN there, which the plots skip: they show what
/// the metrics were computed from.
pub fn write(out: &Path, matched: &MatchedPredictions, report: &EvalReport) -> Result<()> {
    let params = &matched.parameters;
    let coverage: Vec<Vec<f64>> = report
        .parameters
        .iter()
        .map(|r| r.coverage.to_vec())
        .collect();
    write_plot(&out.join("calibration.png"), |tmp| {
        gampen_plot::calibration_plot(tmp, params, &LEVELS, &coverage)
    })?;
    // [param][galaxy] of one quantity of the counted (summary, truth) pairs.
    let column = |f: &dyn Fn(&gampen::posterior::MarginalSummary, f64) -> f64| -> Vec<Vec<f64>> {
        (0..params.len())
            .map(|p| {
                (0..matched.file_names.len())
                    .map(|g| matched.counted(g, p).map_or(f64::NAN, |(m, t)| f(m, t)))
                    .collect()
            })
            .collect()
    };
    let truth = column(&|_, t| t);
    let medians = column(&|m, _| m.median);
    let lows = column(&|m, _| m.intervals[0].0);
    let highs = column(&|m, _| m.intervals[0].1);
    write_plot(&out.join("predicted_vs_true.png"), |tmp| {
        gampen_plot::predicted_vs_true_grid(tmp, params, &truth, &medians, &lows, &highs)
    })?;
    let residuals = column(&|m, t| m.median - t);
    write_plot(&out.join("residuals.png"), |tmp| {
        gampen_plot::residual_histograms(tmp, params, &residuals)
    })?;
    match &report.samples {
        Some(samples) => write_curve(out, samples),
        None => Ok(()),
    }
}

/// calibration_curve.png: the samples' coverage at every curve level, one line per
/// parameter (and per parameter after the calibration, when one was applied), against the
/// nominal diagonal.
fn write_curve(out: &Path, samples: &SamplesReport) -> Result<()> {
    let curve = &samples.before.curve;
    let mut names = curve.parameters.clone();
    let mut coverage = curve.per_parameter.clone();
    if let Some(after) = &samples.after {
        names.extend(
            after
                .curve
                .parameters
                .iter()
                .map(|p| format!("{p} (calibrated)")),
        );
        coverage.extend(after.curve.per_parameter.iter().cloned());
    }
    write_plot(&out.join("calibration_curve.png"), |tmp| {
        gampen_plot::calibration_plot(tmp, &names, &curve.levels, &coverage)
    })
}
