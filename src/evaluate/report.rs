//! What `eval.json` holds: the calibration module's numbers, gathered for printing and
//! writing.

use std::path::{Path, PathBuf};

use crate::calibration::{CalibrationScale, CoverageReport, MatchedPredictions, ResidualStats};
use crate::posterior::{Columns, PredictionTable};
use serde::Serialize;

use super::{Applied, SamplesReport};

/// One parameter in `eval.json`: the library's residual statistics and coverage, over the
/// same galaxies (`count`; `skipped` had a non-finite prediction or truth).
#[derive(Clone, Debug, Serialize)]
pub struct ParameterReport {
    /// [`crate::calibration::summary_residuals`].
    #[serde(flatten)]
    pub residuals: ResidualStats,
    /// Fraction of true values inside the 68.27, 95.45, 99.73 % intervals.
    pub coverage: [f64; 3],
}

/// What `eval.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// The predictions file.
    pub predictions: PathBuf,
    /// Rows in it.
    pub rows: usize,
    /// Rows joined with a truth row.
    pub matched: usize,
    /// Layout the intervals were read from (`lo68`/`hi68`/... or the `*_ci` pairs).
    pub columns: Columns,
    /// Nominal levels of the coverage columns.
    pub nominal: [f64; 3],
    /// Fraction of galaxies with every parameter inside its interval, per level, over the
    /// `all_inside_count` galaxies that count for every parameter.
    pub all_inside: [f64; 3],
    /// Galaxies behind `all_inside`.
    pub all_inside_count: usize,
    /// Per parameter.
    pub parameters: Vec<ParameterReport>,
    /// With `--fit-calibration`: the fitted factors and the coverage they give on these same
    /// predictions (in-sample, so it flatters them; fit on devel, report on test).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibrated: Option<Calibrated>,
    /// With `--calibration`/`--model`: that calibration's factors and the coverage they give
    /// on these (raw) predictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_calibration: Option<Applied>,
    /// With `--samples`: the calibration curve and the ellipsoid coverage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<SamplesReport>,
}

/// Coverage after a calibration, beside the uncalibrated coverage of [`EvalReport`].
#[derive(Clone, Debug, Serialize)]
pub struct Calibrated {
    /// The factor per parameter (> 1 widens).
    pub scales: Vec<f64>,
    /// Per parameter, the factors at the three levels (all equal to `scales` for a uniform
    /// calibration).
    pub level_scales: Vec<[f64; 3]>,
    /// Per parameter, the fraction of true values inside the rescaled intervals.
    pub coverage: Vec<[f64; 3]>,
    /// Fraction of galaxies with every parameter inside its rescaled interval.
    pub all_inside: [f64; 3],
}

impl Calibrated {
    /// The coverage of `matched` with `scale` applied.
    pub fn new(scale: &CalibrationScale, matched: &MatchedPredictions) -> Self {
        let after = matched.calibrated(scale).coverage();
        Self {
            scales: scale.scales.clone(),
            level_scales: (0..scale.scales.len()).map(|p| scale.factors(p)).collect(),
            coverage: after.per_parameter,
            all_inside: after.all_inside,
        }
    }
}

impl EvalReport {
    /// The report of `matched` (read from `path`, `preds`), whose coverage is `coverage`.
    pub fn new(
        path: &Path,
        preds: &PredictionTable,
        matched: &MatchedPredictions,
        coverage: &CoverageReport,
    ) -> Self {
        let parameters = (matched.residuals().into_iter().zip(&coverage.per_parameter))
            .map(|(residuals, c)| ParameterReport {
                residuals,
                coverage: *c,
            })
            .collect();
        Self {
            predictions: path.to_path_buf(),
            rows: preds.row_count(),
            matched: matched.file_names.len(),
            columns: preds.columns,
            nominal: coverage.nominal,
            all_inside: coverage.all_inside,
            all_inside_count: coverage.count,
            parameters,
            calibrated: None,
            after_calibration: None,
            samples: None,
        }
    }
}
