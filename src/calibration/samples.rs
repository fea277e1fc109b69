//! Coverage from posterior samples read back from a file (`gampen predict --samples-out`):
//! the calibration curve at many levels and the joint ellipsoid, which the three intervals
//! of a prediction CSV cannot give.

use std::collections::HashMap;

use gampen_data::stream::FILE_NAME;
use gampen_data::{canonical_key, CsvTable, DataError};
use serde::Serialize;

use super::{coverage, truth_column, CalibrationCurve, CalibrationScale};
use crate::linalg::mean_cov;
use crate::posterior::MarginalSummary;
use crate::predictor::SampleTable;
use crate::GalaxyPosterior;

/// Coverage of sampled posteriors against a catalog's true values.
#[derive(Clone, Debug, Serialize)]
pub struct SampleCoverage {
    /// Coverage of the equal-tailed sample intervals at each level, per parameter and
    /// all-inside ([`CalibrationCurve::from_samples`]).
    pub curve: CalibrationCurve,
    /// Nominal levels of `ellipsoid` (68.27, 95.45, 99.73 %).
    pub ellipsoid_nominal: [f64; 3],
    /// Fraction of true vectors inside each level's ellipsoid of the samples' mean and
    /// covariance (chi-square quantile), over the galaxies that count for every parameter.
    pub ellipsoid: [f64; 3],
    /// `file_name` of each sampled galaxy the catalog has no row for (left out).
    pub unmatched: Vec<String>,
}

impl SampleCoverage {
    /// Joins `table` with `catalog` on `file_name` and measures coverage at `levels`, with
    /// `scale` (for the table's parameters, [`CalibrationScale::for_parameters`]) applied to
    /// every draw about its galaxy's median first when given.
    ///
    /// # Errors
    /// A parameter without a truth column ([`truth_column`]), or no galaxy matched.
    pub fn new(
        table: &SampleTable,
        catalog: &CsvTable,
        levels: &[f64],
        scale: Option<&CalibrationScale>,
    ) -> Result<Self, DataError> {
        let columns: Vec<Vec<f64>> = (table.parameters.iter())
            .map(|p| truth_column(catalog, p))
            .collect::<Result<_, _>>()?;
        let by_name: HashMap<String, usize> = (catalog.key_column(FILE_NAME)?.iter())
            .enumerate()
            .map(|(i, k)| (canonical_key(k), i))
            .collect();
        let (mut posteriors, mut truths, mut unmatched) = (Vec::new(), Vec::new(), Vec::new());
        for (name, draws) in table.file_names.iter().zip(&table.samples) {
            let Some(&row) = by_name.get(&canonical_key(name)) else {
                unmatched.push(name.clone());
                continue;
            };
            let mut post = sampled_posterior(draws);
            if let Some(s) = scale {
                s.apply(&mut post);
            }
            posteriors.push(post);
            truths.push(columns.iter().map(|c| c[row]).collect::<Vec<f64>>());
        }
        if posteriors.is_empty() {
            return Err(DataError::input(
                &catalog.path,
                format!("no file_name of {} is in it", table.path.display()),
            ));
        }
        let p = &table.parameters;
        let curve = CalibrationCurve::from_posteriors(p, &posteriors, &truths, levels)
            .ok_or_else(|| DataError::input(&table.path, "a galaxy has no samples"))?;
        let three = coverage(p, &posteriors, &truths);
        Ok(Self {
            curve,
            ellipsoid_nominal: three.nominal,
            ellipsoid: three.joint_ellipsoid.unwrap_or([f64::NAN; 3]),
            unmatched,
        })
    }
}

/// A posterior of draws `[param][draw]`: equal-tailed summaries, the sample covariance,
/// and the draws themselves.
fn sampled_posterior(draws: &[Vec<f64>]) -> GalaxyPosterior {
    let marginals = draws
        .iter()
        .map(|d| MarginalSummary::from_samples(&mut d.clone()))
        .collect();
    let (_, covariance) = mean_cov(draws);
    GalaxyPosterior {
        marginals,
        covariance,
        samples: Some(draws.to_vec()),
    }
}
