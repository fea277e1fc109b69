//! Calibration and accuracy of predicted posteriors against known values.
//!
//! Coverage is the fraction of galaxies whose true value lies inside the predicted interval;
//! a calibrated posterior covers 68.27/95.45/99.73 % at the three levels.
//!
//! Every metric is defined once, over per-galaxy marginal summaries ([`MarginalSummary`])
//! and true values, `[galaxy][parameter]`: [`summary_coverage`], [`summary_residuals`] and
//! [`CalibrationScale::fit_summaries`]. Posteriors from a model ([`coverage`], [`residuals`],
//! [`CalibrationScale::fit`]) and a prediction CSV matched with a catalog
//! ([`MatchedPredictions`], what `gampen evaluate` reads) both reduce to them.
//!
//! # Which galaxies count
//!
//! A galaxy counts for a parameter when its true value and the prediction's mean, median,
//! std and six interval bounds are all finite ([`counts`]); a galaxy without a truth or a
//! summary for the parameter (a shorter row, fewer galaxies on one side) counts as
//! non-finite. Every metric of that parameter (errors, mean std, coverage, the calibration
//! fit) is computed over the same galaxies; the others are counted in `skipped`. Joint
//! metrics (`all_inside`, the ellipsoid) count the galaxies that count for every parameter.
//! A metric over no galaxy is NaN.

mod change;
mod coverage;
mod curve;
mod levels;
mod matched;
mod residuals;
mod samples;
mod scale;

pub use change::{CoverageChange, ALL_INSIDE_NOTE};
pub use coverage::{summary_coverage, CoverageReport};
pub use curve::{curve_levels, CalibrationCurve};
pub use matched::{skip_derived_without_truth, truth_column, MatchedPredictions};
pub use residuals::{summary_residuals, ResidualStats};
pub use samples::SampleCoverage;
pub use scale::{describe_factors, CalibrationScale, MIN_PER_LEVEL};

use crate::posterior::{GalaxyPosterior, MarginalSummary};

/// Whether a galaxy with marginal `m` and true value `truth` counts for the parameter: the
/// truth and the mean, median, std and interval bounds are all finite.
pub fn counts(m: &MarginalSummary, truth: f64) -> bool {
    truth.is_finite()
        && m.mean.is_finite()
        && m.median.is_finite()
        && m.std.is_finite()
        && m.intervals
            .iter()
            .all(|(lo, hi)| lo.is_finite() && hi.is_finite())
}

/// The marginal and truth of galaxy `g`, parameter `p`, when they [`counts`].
fn counted<'a, G, T>(
    marginals: &'a [G],
    truths: &[T],
    g: usize,
    p: usize,
) -> Option<(&'a MarginalSummary, f64)>
where
    G: AsRef<[MarginalSummary]>,
    T: AsRef<[f64]>,
{
    let m = marginals.get(g)?.as_ref().get(p)?;
    let t = *truths.get(g)?.as_ref().get(p)?;
    counts(m, t).then_some((m, t))
}

/// Galaxies on either side: the longer of the two inputs, so that a galaxy missing on one
/// side is skipped and counted rather than silently dropped.
fn galaxies<G, T>(marginals: &[G], truths: &[T]) -> usize {
    marginals.len().max(truths.len())
}

/// `k / n`, NaN when nothing was counted.
fn fraction(k: usize, n: usize) -> f64 {
    if n == 0 {
        f64::NAN
    } else {
        k as f64 / n as f64
    }
}

/// The marginals of each posterior, as the summary functions take them.
fn marginals_of(posteriors: &[GalaxyPosterior]) -> Vec<&[MarginalSummary]> {
    posteriors.iter().map(|p| p.marginals.as_slice()).collect()
}

/// Coverage of `posteriors` for `truths[galaxy][param]` (original units): the marginal
/// coverages of [`summary_coverage`], plus the joint ellipsoid from each posterior's
/// covariance.
pub fn coverage(
    parameters: &[String],
    posteriors: &[GalaxyPosterior],
    truths: &[Vec<f64>],
) -> CoverageReport {
    let mut report = summary_coverage(parameters, &marginals_of(posteriors), truths);
    report.joint_ellipsoid = Some(coverage::ellipsoid(parameters.len(), posteriors, truths));
    report
}

/// Residual statistics per parameter of `posteriors` for `truths[galaxy][param]`, with the
/// posterior median as the point estimate ([`summary_residuals`]).
pub fn residuals(
    parameters: &[String],
    posteriors: &[GalaxyPosterior],
    truths: &[Vec<f64>],
) -> Vec<ResidualStats> {
    summary_residuals(parameters, &marginals_of(posteriors), truths)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::posterior::LEVELS;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// Galaxies with N(mu, sigma_pred) posteriors whose truths are drawn from N(mu, sigma_true).
    pub(crate) fn synthetic(
        sigma_pred: f64,
        sigma_true: f64,
        count: usize,
    ) -> (Vec<GalaxyPosterior>, Vec<Vec<f64>>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let unit = Normal::new(0.0, 1.0).unwrap();
        let mut posts = Vec::new();
        let mut truths = Vec::new();
        for g in 0..count {
            let mu = g as f64 * 0.01;
            let mut draws: Vec<f64> = (0..2000)
                .map(|_| mu + sigma_pred * unit.sample(&mut rng))
                .collect();
            let m = MarginalSummary::from_samples(&mut draws);
            posts.push(GalaxyPosterior {
                marginals: vec![m],
                covariance: vec![sigma_pred * sigma_pred],
                samples: None,
            });
            truths.push(vec![mu + sigma_true * unit.sample(&mut rng)]);
        }
        (posts, truths)
    }

    #[test]
    fn calibrated_posteriors_cover_nominally() {
        let (posts, truths) = synthetic(1.0, 1.0, 3000);
        let names = vec!["x".to_string()];
        let rep = coverage(&names, &posts, &truths);
        let joint = rep.joint_ellipsoid.unwrap();
        for (l, level) in LEVELS.iter().enumerate() {
            assert!((rep.per_parameter[0][l] - level).abs() < 0.025, "{rep:?}");
            assert!((joint[l] - level).abs() < 0.025, "{rep:?}");
        }
        assert!(rep.mean_abs_deviation() < 0.02);
    }

    #[test]
    fn non_finite_truths_and_predictions_are_skipped_everywhere_and_counted() {
        let (mut posts, mut truths) = synthetic(1.0, 1.0, 50);
        truths[3][0] = f64::NAN;
        posts[7].marginals[0].intervals[2].1 = f64::INFINITY;
        // A galaxy without a truth row at all.
        truths.pop();
        let names = vec!["x".to_string()];
        let cov = coverage(&names, &posts, &truths);
        let res = residuals(&names, &posts, &truths);
        assert_eq!((cov.counts[0], cov.skipped[0], cov.count), (47, 3, 47));
        assert_eq!((res[0].count, res[0].skipped), (47, 3));
        let kept: Vec<usize> = (0..49).filter(|&g| g != 3 && g != 7).collect();
        let posts2: Vec<_> = kept.iter().map(|&g| posts[g].clone()).collect();
        let truths2: Vec<_> = kept.iter().map(|&g| truths[g].clone()).collect();
        let cov2 = coverage(&names, &posts2, &truths2);
        assert_eq!(cov.per_parameter, cov2.per_parameter);
        assert_eq!(cov.joint_ellipsoid, cov2.joint_ellipsoid);
        let res2 = residuals(&names, &posts2, &truths2);
        assert_eq!(res[0].mae, res2[0].mae);
        assert_eq!(res[0].mean_std, res2[0].mean_std);
    }

    #[test]
    fn nothing_counted_is_nan_not_zero() {
        let names = vec!["x".to_string()];
        let (posts, _) = synthetic(1.0, 1.0, 3);
        let truths = vec![vec![f64::NAN]; 3];
        let cov = coverage(&names, &posts, &truths);
        assert!(cov.per_parameter[0].iter().all(|c| c.is_nan()));
        assert_eq!(cov.count, 0);
        assert!(residuals(&names, &posts, &truths)[0].mae.is_nan());
    }
}
