//! Coverage of predicted intervals: per parameter, all parameters at once, and the joint
//! ellipsoid of a posterior's covariance.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::scale::stretch;
use super::{counted, fraction, galaxies};
use crate::linalg::mahalanobis2;
use crate::posterior::{GalaxyPosterior, MarginalSummary, LEVELS};

/// Coverage of predicted intervals at [`LEVELS`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoverageReport {
    /// Parameter names.
    pub parameters: Vec<String>,
    /// Nominal levels (0.6827, 0.9545, 0.9973).
    pub nominal: [f64; 3],
    /// Per parameter: fraction of true values inside the interval at each level, over the
    /// galaxies that count for the parameter.
    pub per_parameter: Vec<[f64; 3]>,
    /// Fraction of galaxies with every parameter inside its interval at each level, over the
    /// galaxies that count for every parameter.
    pub all_inside: [f64; 3],
    /// Fraction of true vectors inside the level's ellipsoid of the joint posterior
    /// (Mahalanobis distance under the sample covariance against the chi-square quantile),
    /// over the galaxies that count for every parameter; `None` when the covariance is not
    /// known (marginal summaries, such as a prediction CSV, do not hold it).
    pub joint_ellipsoid: Option<[f64; 3]>,
    /// Per parameter: galaxies counted.
    pub counts: Vec<usize>,
    /// Per parameter: galaxies skipped for a non-finite (or missing) truth or prediction.
    pub skipped: Vec<usize>,
    /// Galaxies counted for every parameter (the joint metrics' denominator).
    pub count: usize,
}

impl CoverageReport {
    /// Coverage minus nominal, per parameter and level (positive: too wide, underconfident).
    pub fn deviation(&self) -> Vec<[f64; 3]> {
        self.per_parameter
            .iter()
            .map(|c| [0, 1, 2].map(|i| c[i] - self.nominal[i]))
            .collect()
    }

    /// Whether every parameter's coverage at every level lies within `points` percentage
    /// points of nominal.
    pub fn within(&self, points: f64) -> bool {
        self.deviation()
            .iter()
            .flatten()
            .all(|d| d.abs() * 100.0 <= points)
    }

    /// Mean absolute deviation from nominal over parameters and levels.
    pub fn mean_abs_deviation(&self) -> f64 {
        let d = self.deviation();
        d.iter().flatten().map(|v| v.abs()).sum::<f64>() / (3 * d.len()).max(1) as f64
    }
}

/// Whether `truth` lies in interval `level` of `m` widened about the median by `scale`.
pub(super) fn inside(m: &MarginalSummary, truth: f64, level: usize, scale: f64) -> bool {
    let (lo, hi) = m.intervals[level];
    let c = m.median;
    truth >= stretch(c, lo, scale) && truth <= stretch(c, hi, scale)
}

/// Parameter `p`'s hits at each level, with its intervals widened by `scale`, and the number
/// of galaxies counted.
pub(super) fn hits<G, T>(marginals: &[G], truths: &[T], p: usize, scale: f64) -> ([usize; 3], usize)
where
    G: AsRef<[MarginalSummary]>,
    T: AsRef<[f64]>,
{
    let mut hits = [0usize; 3];
    let mut n = 0;
    for g in 0..galaxies(marginals, truths) {
        if let Some((m, t)) = counted(marginals, truths, g, p) {
            n += 1;
            for (l, h) in hits.iter_mut().enumerate() {
                *h += inside(m, t, l, scale) as usize;
            }
        }
    }
    (hits, n)
}

/// Coverage of marginal summaries `marginals[galaxy][param]` for `truths[galaxy][param]`
/// (original units), without the joint ellipsoid; see the module documentation for which
/// galaxies count.
pub fn summary_coverage<G, T>(
    parameters: &[String],
    marginals: &[G],
    truths: &[T],
) -> CoverageReport
where
    G: AsRef<[MarginalSummary]>,
    T: AsRef<[f64]>,
{
    let n = parameters.len();
    let total = galaxies(marginals, truths);
    let per: Vec<([usize; 3], usize)> = (0..n).map(|p| hits(marginals, truths, p, 1.0)).collect();
    let mut all = [0usize; 3];
    let mut count = 0;
    for g in 0..total {
        let pairs: Option<Vec<_>> = (0..n).map(|p| counted(marginals, truths, g, p)).collect();
        let Some(pairs) = pairs else { continue };
        count += 1;
        for (l, a) in all.iter_mut().enumerate() {
            *a += pairs.iter().all(|(m, t)| inside(m, *t, l, 1.0)) as usize;
        }
    }
    CoverageReport {
        parameters: parameters.to_vec(),
        nominal: LEVELS,
        per_parameter: per
            .iter()
            .map(|(h, c)| h.map(|k| fraction(k, *c)))
            .collect(),
        all_inside: all.map(|k| fraction(k, count)),
        joint_ellipsoid: None,
        counts: per.iter().map(|(_, c)| *c).collect(),
        skipped: per.iter().map(|(_, c)| total - c).collect(),
        count,
    }
}

/// Fraction of the galaxies that count for every parameter whose true vector lies inside
/// the ellipsoid of each level; a covariance that is not `n x n` and positive definite counts
/// as outside.
pub(super) fn ellipsoid(n: usize, posteriors: &[GalaxyPosterior], truths: &[Vec<f64>]) -> [f64; 3] {
    let chi2 = ChiSquared::new(n as f64).ok();
    let thresholds = LEVELS.map(|l| chi2.as_ref().map_or(f64::NAN, |c| c.inverse_cdf(l)));
    let marginals = super::marginals_of(posteriors);
    let mut inside = [0usize; 3];
    let mut count = 0;
    for (g, post) in posteriors.iter().enumerate() {
        let pairs: Option<Vec<_>> = (0..n).map(|p| counted(&marginals, truths, g, p)).collect();
        let Some(pairs) = pairs else { continue };
        count += 1;
        let d: Vec<f64> = pairs.iter().map(|(m, t)| t - m.mean).collect();
        let m2 = (post.covariance.len() == n * n)
            .then(|| mahalanobis2(&post.covariance, &d))
            .flatten();
        if let Some(m2) = m2 {
            for (l, k) in inside.iter_mut().enumerate() {
                *k += (m2 <= thresholds[l]) as usize;
            }
        }
    }
    inside.map(|k| fraction(k, count))
}
