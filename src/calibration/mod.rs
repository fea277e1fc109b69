//! Calibration and accuracy of predicted posteriors against known values.
//!
//! Coverage is the fraction of galaxies whose true value lies inside the predicted interval;
//! a calibrated posterior covers 68.27/95.45/99.73 % at the three levels.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::linalg::mahalanobis2;
use crate::posterior::{quantile_sorted, GalaxyPosterior, LEVELS};

/// Coverage of predicted intervals at [`LEVELS`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoverageReport {
    /// Parameter names.
    pub parameters: Vec<String>,
    /// Nominal levels (0.6827, 0.9545, 0.9973).
    pub nominal: [f64; 3],
    /// Per parameter: fraction of true values inside the equal-tailed interval at each level.
    pub per_parameter: Vec<[f64; 3]>,
    /// Fraction of galaxies with every parameter inside its interval at each level.
    pub all_inside: [f64; 3],
    /// Fraction of true vectors inside the level's ellipsoid of the joint posterior
    /// (Mahalanobis distance under the sample covariance against the chi-square quantile).
    pub joint_ellipsoid: [f64; 3],
    /// Galaxies counted.
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

    /// Mean absolute deviation from nominal over parameters and levels.
    pub fn mean_abs_deviation(&self) -> f64 {
        let d = self.deviation();
        d.iter().flatten().map(|v| v.abs()).sum::<f64>() / (3 * d.len()).max(1) as f64
    }
}

/// Coverage of `posteriors` for `truths[galaxy][param]` (original units).
pub fn coverage(
    parameters: &[String],
    posteriors: &[GalaxyPosterior],
    truths: &[Vec<f64>],
) -> CoverageReport {
    let n = parameters.len();
    let count = posteriors.len().min(truths.len());
    let mut per = vec![[0.0; 3]; n];
    let mut all = [0.0; 3];
    let mut joint = [0.0; 3];
    let chi2 = ChiSquared::new(n as f64).ok();
    let thresholds = LEVELS.map(|l| chi2.as_ref().map_or(f64::NAN, |c| c.inverse_cdf(l)));
    for (post, truth) in posteriors.iter().zip(truths).take(count) {
        let mut every = [true; 3];
        for p in 0..n {
            let m = &post.marginals[p];
            for (l, (lo, hi)) in m.intervals.iter().enumerate() {
                let inside = truth[p] >= *lo && truth[p] <= *hi;
                per[p][l] += inside as u8 as f64;
                every[l] &= inside;
            }
        }
        for l in 0..3 {
            all[l] += every[l] as u8 as f64;
        }
        let d: Vec<f64> = (0..n).map(|p| truth[p] - post.marginals[p].mean).collect();
        if let Some(m2) = mahalanobis2(&post.covariance, &d) {
            for l in 0..3 {
                joint[l] += (m2 <= thresholds[l]) as u8 as f64;
            }
        }
    }
    let c = count.max(1) as f64;
    CoverageReport {
        parameters: parameters.to_vec(),
        nominal: LEVELS,
        per_parameter: per.into_iter().map(|v| v.map(|x| x / c)).collect(),
        all_inside: all.map(|x| x / c),
        joint_ellipsoid: joint.map(|x| x / c),
        count,
    }
}

/// Residual statistics of one parameter (prediction minus truth, original units).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResidualStats {
    /// Parameter name.
    pub parameter: String,
    /// Mean absolute error of the posterior median.
    pub mae: f64,
    /// Root mean squared error of the posterior median.
    pub rmse: f64,
    /// Mean residual (bias).
    pub bias: f64,
    /// Median residual.
    pub median_residual: f64,
    /// Median absolute deviation of the residuals from their median.
    pub mad: f64,
    /// Mean predicted standard deviation (for comparison with `rmse`).
    pub mean_std: f64,
    /// Galaxies counted.
    pub count: usize,
}

/// Residual statistics per parameter, with the posterior median as the point estimate.
pub fn residuals(
    parameters: &[String],
    posteriors: &[GalaxyPosterior],
    truths: &[Vec<f64>],
) -> Vec<ResidualStats> {
    parameters
        .iter()
        .enumerate()
        .map(|(p, name)| {
            let r: Vec<f64> = posteriors
                .iter()
                .zip(truths)
                .map(|(post, t)| post.marginals[p].median - t[p])
                .filter(|v| v.is_finite())
                .collect();
            let stds: Vec<f64> = posteriors
                .iter()
                .map(|post| post.marginals[p].std)
                .collect();
            residual_stats(name, &r, &stds)
        })
        .collect()
}

fn residual_stats(name: &str, r: &[f64], stds: &[f64]) -> ResidualStats {
    let n = r.len().max(1) as f64;
    let mut sorted = r.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = quantile_sorted(&sorted, 0.5);
    let mut dev: Vec<f64> = r.iter().map(|v| (v - median).abs()).collect();
    dev.sort_by(|a, b| a.total_cmp(b));
    ResidualStats {
        parameter: name.to_string(),
        mae: r.iter().map(|v| v.abs()).sum::<f64>() / n,
        rmse: (r.iter().map(|v| v * v).sum::<f64>() / n).sqrt(),
        bias: r.iter().sum::<f64>() / n,
        median_residual: median,
        mad: quantile_sorted(&dev, 0.5),
        mean_std: stds.iter().filter(|s| s.is_finite()).sum::<f64>() / stds.len().max(1) as f64,
        count: r.len(),
    }
}

/// Post-hoc recalibration: every posterior's spread about its median is multiplied by a
/// per-parameter factor fitted on the devel split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationScale {
    /// Parameter names.
    pub parameters: Vec<String>,
    /// Factor per parameter (>1 widens).
    pub scales: Vec<f64>,
}

impl CalibrationScale {
    /// Per-parameter factors minimising the mean absolute coverage deviation over the three
    /// levels on (`posteriors`, `truths`); the search is on a log grid over [1/20, 20].
    ///
    /// Intervals are rescaled about the median, so no samples are needed.
    pub fn fit(parameters: &[String], posteriors: &[GalaxyPosterior], truths: &[Vec<f64>]) -> Self {
        let scales = (0..parameters.len())
            .map(|p| best_scale(|s| deviation_at(posteriors, truths, &[p], s)))
            .collect();
        Self {
            parameters: parameters.to_vec(),
            scales,
        }
    }

    /// One factor shared by all parameters.
    pub fn fit_scalar(
        parameters: &[String],
        posteriors: &[GalaxyPosterior],
        truths: &[Vec<f64>],
    ) -> Self {
        let all: Vec<usize> = (0..parameters.len()).collect();
        let s = best_scale(|s| deviation_at(posteriors, truths, &all, s));
        Self {
            parameters: parameters.to_vec(),
            scales: vec![s; parameters.len()],
        }
    }

    /// Applies the factors to a posterior: intervals, std, covariance and samples.
    pub fn apply(&self, post: &mut GalaxyPosterior) {
        let n = self.scales.len();
        for (p, m) in post.marginals.iter_mut().enumerate() {
            let s = self.scales[p];
            let c = m.median;
            m.intervals = m
                .intervals
                .map(|(lo, hi)| (c + s * (lo - c), c + s * (hi - c)));
            m.std *= s;
            m.mean = c + s * (m.mean - c);
            m.mode = c + s * (m.mode - c);
        }
        for i in 0..n {
            for j in 0..n {
                post.covariance[i * n + j] *= self.scales[i] * self.scales[j];
            }
        }
        if let Some(samples) = post.samples.as_mut() {
            for (p, draws) in samples.iter_mut().enumerate() {
                let c = post.marginals[p].median;
                draws
                    .iter_mut()
                    .for_each(|v| *v = c + self.scales[p] * (*v - c));
            }
        }
    }
}

fn deviation_at(posts: &[GalaxyPosterior], truths: &[Vec<f64>], params: &[usize], s: f64) -> f64 {
    let mut dev = 0.0;
    for &p in params {
        let mut inside = [0usize; 3];
        for (post, t) in posts.iter().zip(truths) {
            let m = &post.marginals[p];
            for (l, (lo, hi)) in m.intervals.iter().enumerate() {
                let (lo, hi) = (
                    m.median + s * (lo - m.median),
                    m.median + s * (hi - m.median),
                );
                inside[l] += (t[p] >= lo && t[p] <= hi) as usize;
            }
        }
        let c = posts.len().min(truths.len()).max(1) as f64;
        dev += (0..3)
            .map(|l| (inside[l] as f64 / c - LEVELS[l]).abs())
            .sum::<f64>();
    }
    dev
}

fn best_scale(objective: impl Fn(f64) -> f64) -> f64 {
    // Coverage is a step function of the scale, so a dense grid beats a local optimiser.
    let mut best: (f64, f64) = (f64::INFINITY, 1.0);
    for i in 0..=240 {
        let s = (20f64).powf(-1.0 + 2.0 * i as f64 / 240.0);
        let d = objective(s);
        // Prefer the factor closest to 1 among ties: don't move what is already calibrated.
        if d < best.0 - 1e-12 || ((d - best.0).abs() <= 1e-12 && s.ln().abs() < best.1.ln().abs()) {
            best = (d, s);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::posterior::MarginalSummary;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// Galaxies with N(mu, sigma_pred) posteriors whose truths are drawn from N(mu, sigma_true).
    fn synthetic(
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
        for (l, level) in LEVELS.iter().enumerate() {
            assert!((rep.per_parameter[0][l] - level).abs() < 0.025, "{rep:?}");
            assert!((rep.joint_ellipsoid[l] - level).abs() < 0.025, "{rep:?}");
        }
        assert!(rep.mean_abs_deviation() < 0.02);
    }

    #[test]
    fn overconfident_posteriors_are_detected_and_fixed() {
        let (mut posts, truths) = synthetic(0.5, 1.0, 3000);
        let names = vec!["x".to_string()];
        let before = coverage(&names, &posts, &truths);
        assert!(before.deviation()[0][0] < -0.2, "{before:?}");
        let scale = CalibrationScale::fit(&names, &posts, &truths);
        assert!((scale.scales[0] - 2.0).abs() < 0.15, "{scale:?}");
        posts.iter_mut().for_each(|p| scale.apply(p));
        let after = coverage(&names, &posts, &truths);
        assert!(after.mean_abs_deviation() < 0.02, "{after:?}");
    }

    #[test]
    fn residual_statistics() {
        let r = [1.0, -1.0, 2.0, -2.0, 0.0];
        let s = residual_stats("x", &r, &[1.0; 5]);
        assert_eq!(
            (s.mae, s.bias, s.median_residual, s.mad),
            (1.2, 0.0, 0.0, 1.0)
        );
        assert!((s.rmse - 2.0f64.sqrt()).abs() < 1e-12);
    }
}
