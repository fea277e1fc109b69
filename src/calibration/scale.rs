//! Post-hoc recalibration: widening or narrowing every posterior about its median.

use std::path::Path;

use gampen_data::DataError;
use serde::{Deserialize, Serialize};

use super::coverage::hits;
use super::{fraction, marginals_of};
use crate::error::GampenError;
use crate::posterior::{GalaxyPosterior, MarginalSummary, LEVELS};

/// `v` moved `scale` times as far from the centre `c` (exactly `v` at scale 1, so that
/// unscaled coverage reads the file's own bounds).
pub(super) fn stretch(c: f64, v: f64, scale: f64) -> f64 {
    if scale == 1.0 {
        v
    } else {
        c + scale * (v - c)
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
    /// levels of marginal summaries `marginals[galaxy][param]` for `truths[galaxy][param]`,
    /// over the galaxies that count (module documentation); the search is on a log grid over
    /// [1/20, 20]. Intervals are rescaled about the median, so no samples or covariance are
    /// needed. A parameter with no galaxy counted keeps the factor 1.
    pub fn fit_summaries<G, T>(parameters: &[String], marginals: &[G], truths: &[T]) -> Self
    where
        G: AsRef<[MarginalSummary]>,
        T: AsRef<[f64]>,
    {
        let scales = (0..parameters.len())
            .map(|p| best_scale(|s| deviation_at(marginals, truths, &[p], s)))
            .collect();
        Self {
            parameters: parameters.to_vec(),
            scales,
        }
    }

    /// One factor shared by all parameters, fitted as [`CalibrationScale::fit_summaries`].
    pub fn fit_scalar_summaries<G, T>(parameters: &[String], marginals: &[G], truths: &[T]) -> Self
    where
        G: AsRef<[MarginalSummary]>,
        T: AsRef<[f64]>,
    {
        let all: Vec<usize> = (0..parameters.len()).collect();
        let s = best_scale(|s| deviation_at(marginals, truths, &all, s));
        Self {
            parameters: parameters.to_vec(),
            scales: vec![s; parameters.len()],
        }
    }

    /// [`CalibrationScale::fit_summaries`] on the marginals of `posteriors`.
    pub fn fit(parameters: &[String], posteriors: &[GalaxyPosterior], truths: &[Vec<f64>]) -> Self {
        Self::fit_summaries(parameters, &marginals_of(posteriors), truths)
    }

    /// [`CalibrationScale::fit_scalar_summaries`] on the marginals of `posteriors`.
    pub fn fit_scalar(
        parameters: &[String],
        posteriors: &[GalaxyPosterior],
        truths: &[Vec<f64>],
    ) -> Self {
        Self::fit_scalar_summaries(parameters, &marginals_of(posteriors), truths)
    }

    /// Reads a calibration file (a checkpoint's `calibration.json`, or one `gampen evaluate
    /// --fit-calibration` wrote), unchecked: [`CalibrationScale::for_parameters`] matches it
    /// to predictions by name.
    pub fn read(path: &Path) -> Result<Self, GampenError> {
        let text = std::fs::read_to_string(path).map_err(|e| GampenError::io(path, e))?;
        let c: Self = serde_json::from_str(&text).map_err(|source| DataError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        if c.parameters.len() != c.scales.len()
            || c.scales.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(DataError::input(
                path,
                "a calibration needs one finite, positive factor per parameter",
            )
            .into());
        }
        Ok(c)
    }

    /// The factors of `names`, in that order (predictions may list their parameters in
    /// another order than the checkpoint); the message names a parameter without a factor.
    pub fn for_parameters(&self, names: &[String]) -> Result<Self, String> {
        let scales = names
            .iter()
            .map(|n| {
                let i = self.parameters.iter().position(|p| p == n);
                i.and_then(|i| self.scales.get(i).copied()).ok_or_else(|| {
                    format!(
                        "the calibration has no factor for {n} (it has {:?})",
                        self.parameters
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            parameters: names.to_vec(),
            scales,
        })
    }

    /// Applies the factors to one galaxy's marginals, `[param]`: intervals, std, mean and
    /// mode move about the median. Marginals beyond the factors are left alone.
    pub fn apply_marginals(&self, marginals: &mut [MarginalSummary]) {
        for (m, &s) in marginals.iter_mut().zip(&self.scales) {
            let c = m.median;
            m.intervals = m
                .intervals
                .map(|(lo, hi)| (stretch(c, lo, s), stretch(c, hi, s)));
            m.std *= s;
            m.mean = stretch(c, m.mean, s);
            m.mode = stretch(c, m.mode, s);
        }
    }

    /// Applies the factors to a posterior: marginals ([`CalibrationScale::apply_marginals`]),
    /// covariance (when it is `n x n` for `n` factors) and samples.
    pub fn apply(&self, post: &mut GalaxyPosterior) {
        self.apply_marginals(&mut post.marginals);
        let n = self.scales.len();
        if post.covariance.len() == n * n {
            for i in 0..n {
                for j in 0..n {
                    post.covariance[i * n + j] *= self.scales[i] * self.scales[j];
                }
            }
        }
        if let Some(samples) = post.samples.as_mut() {
            for ((draws, m), &s) in samples.iter_mut().zip(&post.marginals).zip(&self.scales) {
                draws.iter_mut().for_each(|v| *v = stretch(m.median, *v, s));
            }
        }
    }
}

/// Summed absolute coverage deviation from nominal of parameters `params` with every
/// interval widened by `s`; a parameter with no galaxy counted adds nothing.
fn deviation_at<G, T>(marginals: &[G], truths: &[T], params: &[usize], s: f64) -> f64
where
    G: AsRef<[MarginalSummary]>,
    T: AsRef<[f64]>,
{
    params
        .iter()
        .map(|&p| hits(marginals, truths, p, s))
        .filter(|(_, n)| *n > 0)
        .map(|(h, n)| {
            (0..3)
                .map(|l| (fraction(h[l], n) - LEVELS[l]).abs())
                .sum::<f64>()
        })
        .sum()
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
    use crate::calibration::coverage;
    use crate::calibration::tests::synthetic;

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
    fn a_fit_on_summaries_equals_the_fit_on_posteriors_and_ignores_skipped_galaxies() {
        let (posts, mut truths) = synthetic(0.5, 1.0, 500);
        let names = vec!["x".to_string()];
        let reference = CalibrationScale::fit(&names, &posts[1..], &truths[1..]);
        truths[0][0] = f64::NAN;
        let summaries: Vec<Vec<MarginalSummary>> =
            posts.iter().map(|p| p.marginals.clone()).collect();
        assert_eq!(
            CalibrationScale::fit_summaries(&names, &summaries, &truths),
            reference
        );
        assert_eq!(CalibrationScale::fit(&names, &posts, &truths), reference);
    }
}
