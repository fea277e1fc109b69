//! Post-hoc recalibration: widening or narrowing every posterior about its median.

use std::path::Path;

use gampen_data::DataError;
use serde::{Deserialize, Serialize};

use super::coverage::hits;
use super::levels::{level_factors, LevelStretch};
use super::{counted, fraction, galaxies, marginals_of};
use crate::error::GampenError;
use crate::posterior::{GalaxyPosterior, MarginalSummary, Orientations, LEVELS};

/// `v` moved `scale` times as far from the centre `c` (exactly `v` at scale 1, so that
/// unscaled coverage reads the file's own bounds).
pub(super) fn stretch(c: f64, v: f64, scale: f64) -> f64 {
    if scale == 1.0 {
        v
    } else {
        c + scale * (v - c)
    }
}

/// Counted galaxies a parameter needs for per-level factors: the 99.73 % factor is the
/// quantile beyond which 0.27 % of them lie, so with fewer than 100 it is the largest
/// distance of a handful, and one factor fitted to all three levels is steadier.
pub const MIN_PER_LEVEL: usize = 100;

/// Post-hoc recalibration: every posterior's spread about its median is multiplied by
/// factors fitted on the devel split, one per parameter or one per parameter and level.
///
/// One factor per parameter cannot fix the *shape* of the error distribution: when the
/// standardised errors are heavier-tailed than the posteriors (neighbours, unresolved bulges),
/// a factor that makes the 68 % intervals right leaves the 99.7 % ones too narrow, and one
/// that fits all three levels on average leaves the 68 % intervals too wide. Per-level factors
/// ([`CalibrationScale::fit_summaries`]) are quantile recalibration (Kuleshov et al. 2018,
/// "Accurate uncertainties for deep learning using calibrated regression") at the three
/// levels: each interval is stretched by its own factor, and samples by the monotone
/// piecewise-linear map that takes each interval bound to its stretched place, so the samples'
/// own quantiles agree with the stretched intervals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationScale {
    /// Parameter names.
    pub parameters: Vec<String>,
    /// Factor per parameter on the 68.27 % interval, the std and the covariance (>1 widens).
    pub scales: Vec<f64>,
    /// Factor per parameter at each of [`LEVELS`]; empty means `scales` at every level
    /// (files written before per-level factors read that way).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub level_scales: Vec<[f64; 3]>,
    /// The orientations the posteriors it was fitted on saw
    /// ([`PosteriorOptions::orientations`](crate::PosteriorOptions::orientations)): a
    /// predictor refuses to apply it to posteriors sampled otherwise, whose spread differs.
    #[serde(default, skip_serializing_if = "Orientations::is_one")]
    pub orientations: Orientations,
}

impl CalibrationScale {
    /// Per-parameter, per-level factors for marginal summaries `marginals[galaxy][param]`
    /// and `truths[galaxy][param]`, over the galaxies that count (module documentation): at
    /// each level the smallest factor that puts the whole number of true values nearest the
    /// nominal fraction inside the stretched interval (the level's quantile of each truth's
    /// distance from the median in units of the interval's half-width on its side), clamped
    /// to [1/20, 20]. Intervals are rescaled about the median, so no samples or covariance
    /// are needed. A parameter with no galaxy counted keeps the factor 1; one with fewer than
    /// [`MIN_PER_LEVEL`] gets the uniform factor of
    /// [`CalibrationScale::fit_uniform_summaries`] at every level.
    pub fn fit_summaries<G, T>(parameters: &[String], marginals: &[G], truths: &[T]) -> Self
    where
        G: AsRef<[MarginalSummary]>,
        T: AsRef<[f64]>,
    {
        let level_scales: Vec<[f64; 3]> = (0..parameters.len())
            .map(|p| {
                let pairs: Vec<_> = (0..galaxies(marginals, truths))
                    .filter_map(|g| counted(marginals, truths, g, p))
                    .collect();
                if pairs.len() >= MIN_PER_LEVEL {
                    level_factors(&pairs)
                } else {
                    [uniform_factor(marginals, truths, p); 3]
                }
            })
            .collect();
        Self {
            parameters: parameters.to_vec(),
            scales: level_scales.iter().map(|f| f[0]).collect(),
            level_scales,
            orientations: Orientations::One,
        }
    }

    /// One factor per parameter, whatever the level: the one minimising the mean absolute
    /// coverage deviation over the three levels, searched on a log grid over [1/20, 20].
    pub fn fit_uniform_summaries<G, T>(parameters: &[String], marginals: &[G], truths: &[T]) -> Self
    where
        G: AsRef<[MarginalSummary]>,
        T: AsRef<[f64]>,
    {
        let scales = (0..parameters.len())
            .map(|p| uniform_factor(marginals, truths, p))
            .collect();
        Self {
            parameters: parameters.to_vec(),
            scales,
            level_scales: Vec::new(),
            orientations: Orientations::One,
        }
    }

    /// The factors of parameter `p` at [`LEVELS`] (1 for a parameter without one).
    pub fn factors(&self, p: usize) -> [f64; 3] {
        match (self.level_scales.get(p), self.scales.get(p)) {
            (Some(f), _) => *f,
            (None, Some(&s)) => [s; 3],
            (None, None) => [1.0; 3],
        }
    }

    /// Parameter `p`'s factors as printed: `1.025`, or `0.93/1.05/1.21` when they differ by
    /// level.
    pub fn describe(&self, p: usize) -> String {
        describe_factors(self.factors(p))
    }

    /// Every parameter's factors as printed: `bt x1.025, r_e x0.93/1.05/1.21`.
    pub fn summary(&self) -> String {
        let each = self.parameters.iter().enumerate();
        let parts: Vec<String> = each
            .map(|(p, n)| format!("{n} x{}", self.describe(p)))
            .collect();
        parts.join(", ")
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
            level_scales: Vec::new(),
            orientations: Orientations::One,
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
        let n = c.parameters.len();
        let factors = c.scales.iter().chain(c.level_scales.iter().flatten());
        if c.scales.len() != n
            || !(c.level_scales.is_empty() || c.level_scales.len() == n)
            || factors.into_iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(DataError::input(
                path,
                "a calibration needs finite, positive factors: one per parameter in `scales`, \
                 and none or one triple per parameter in `level_scales`",
            )
            .into());
        }
        Ok(c)
    }

    /// The factors of `names`, in that order (predictions may list their parameters in
    /// another order than the checkpoint); the message names a parameter without a factor.
    pub fn for_parameters(&self, names: &[String]) -> Result<Self, String> {
        let indices = names
            .iter()
            .map(|n| {
                let i = self.parameters.iter().position(|p| p == n);
                i.filter(|&i| i < self.scales.len()).ok_or_else(|| {
                    format!(
                        "the calibration has no factor for {n} (it has {:?})",
                        self.parameters
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let level_scales = if self.level_scales.is_empty() {
            Vec::new()
        } else {
            indices.iter().map(|&i| self.factors(i)).collect()
        };
        Ok(Self {
            parameters: names.to_vec(),
            scales: indices.iter().map(|&i| self.scales[i]).collect(),
            level_scales,
            orientations: self.orientations,
        })
    }

    /// Applies the factors to one galaxy's marginals, `[param]`: intervals, std, mean and
    /// mode move about the median. Marginals beyond the factors are left alone.
    pub fn apply_marginals(&self, marginals: &mut [MarginalSummary]) {
        for (p, m) in marginals.iter_mut().enumerate().take(self.scales.len()) {
            let (c, f, s) = (m.median, self.factors(p), self.scales[p]);
            for (k, (lo, hi)) in m.intervals.iter_mut().enumerate() {
                (*lo, *hi) = (stretch(c, *lo, f[k]), stretch(c, *hi, f[k]));
            }
            m.std *= s;
            m.mean = stretch(c, m.mean, s);
            m.mode = stretch(c, m.mode, s);
        }
    }

    /// Applies the factors to a posterior: marginals ([`CalibrationScale::apply_marginals`]),
    /// covariance (when it is `n x n` for `n` factors) and samples.
    pub fn apply(&self, post: &mut GalaxyPosterior) {
        // The samples' map is built from the intervals before they are stretched.
        if let Some(samples) = post.samples.as_mut() {
            let params = samples.iter_mut().zip(&post.marginals).enumerate();
            for (p, (draws, m)) in params.take(self.scales.len()) {
                let map = LevelStretch::new(m, self.factors(p));
                draws.iter_mut().for_each(|v| *v = map.apply(*v));
            }
        }
        self.apply_marginals(&mut post.marginals);
        let n = self.scales.len();
        if post.covariance.len() == n * n {
            for i in 0..n {
                for j in 0..n {
                    post.covariance[i * n + j] *= self.scales[i] * self.scales[j];
                }
            }
        }
    }
}

/// Factors at [`LEVELS`] as printed: `1.025`, or `0.93/1.05/1.21` when they differ.
pub fn describe_factors(f: [f64; 3]) -> String {
    if f.iter().all(|&v| v == f[0]) {
        format!("{:.3}", f[0])
    } else {
        format!("{:.2}/{:.2}/{:.2}", f[0], f[1], f[2])
    }
}

/// Parameter `p`'s one factor for all levels: the least summed absolute coverage deviation
/// over the three levels, on a log grid over [1/20, 20].
fn uniform_factor<G, T>(marginals: &[G], truths: &[T], p: usize) -> f64
where
    G: AsRef<[MarginalSummary]>,
    T: AsRef<[f64]>,
{
    best_scale(|s| deviation_at(marginals, truths, &[p], s))
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

    /// Gaussian posteriors (with samples) of width 1 for Student-t errors with 3 degrees of
    /// freedom: too wide at 68 %, too narrow at 99.7 %.
    fn heavy_tailed(count: usize, seed: u64) -> (Vec<GalaxyPosterior>, Vec<Vec<f64>>) {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal, StudentT};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let (unit, t3) = (Normal::new(0.0, 1.0).unwrap(), StudentT::new(3.0).unwrap());
        (0..count)
            .map(|g| {
                let mu = g as f64 * 0.01;
                let mut draws: Vec<f64> = (0..400).map(|_| mu + unit.sample(&mut rng)).collect();
                let m = MarginalSummary::from_samples(&mut draws);
                let post = GalaxyPosterior {
                    marginals: vec![m],
                    covariance: vec![1.0],
                    samples: Some(vec![draws]),
                };
                (post, vec![mu + t3.sample(&mut rng)])
            })
            .unzip()
    }

    #[test]
    fn per_level_factors_fix_heavy_tails_that_one_factor_cannot() {
        let names = vec!["x".to_string()];
        let (fit_posts, fit_truths) = heavy_tailed(4000, 1);
        let (mut posts, truths) = heavy_tailed(4000, 2);
        let marginals: Vec<_> = fit_posts.iter().map(|p| p.marginals.clone()).collect();
        let uniform = CalibrationScale::fit_uniform_summaries(&names, &marginals, &fit_truths);
        let mut uniform_posts = posts.clone();
        uniform_posts.iter_mut().for_each(|p| uniform.apply(p));
        assert!(!coverage(&names, &uniform_posts, &truths).within(3.0));

        let levels = CalibrationScale::fit(&names, &fit_posts, &fit_truths);
        let f = levels.factors(0);
        assert!(
            f[0] < f[1] && f[1] < f[2] && f[2] > 2.0 * f[0],
            "{levels:?}"
        );
        posts.iter_mut().for_each(|p| levels.apply(p));
        let after = coverage(&names, &posts, &truths);
        assert!(after.within(2.0), "{after:?}");
        // The stretched samples' own intervals are the stretched intervals, up to the
        // interpolation between the two draws around each bound (at 68 and 95 %: 400 draws
        // leave one beyond the 99.7 % bound).
        for post in posts.iter().take(50) {
            let mut draws = post.samples.as_ref().unwrap()[0].clone();
            let own = MarginalSummary::from_samples(&mut draws);
            for (a, b) in own
                .intervals
                .iter()
                .zip(&post.marginals[0].intervals)
                .take(2)
            {
                let tol = 0.05 * (b.1 - b.0);
                assert!(
                    (a.0 - b.0).abs() < tol && (a.1 - b.1).abs() < tol,
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn a_small_devel_set_gets_one_factor_at_every_level() {
        let names = vec!["x".to_string()];
        let (posts, truths) = heavy_tailed(MIN_PER_LEVEL - 1, 3);
        let f = CalibrationScale::fit(&names, &posts, &truths).factors(0);
        assert!(f[0] == f[1] && f[1] == f[2], "{f:?}");
        let (posts, truths) = heavy_tailed(MIN_PER_LEVEL, 3);
        let f = CalibrationScale::fit(&names, &posts, &truths).factors(0);
        assert!(f[0] != f[2], "{f:?}");
    }

    #[test]
    fn files_without_level_factors_read_as_uniform_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calibration.json");
        std::fs::write(&path, r#"{"parameters":["a","b"],"scales":[2.0,0.5]}"#).unwrap();
        let c = CalibrationScale::read(&path).unwrap();
        assert_eq!((c.factors(0), c.factors(1)), ([2.0; 3], [0.5; 3]));
        assert_eq!(c.describe(0), "2.000");
        for bad in [
            r#"{"parameters":["a","b"],"scales":[2.0,0.5],"level_scales":[[1,1,1]]}"#,
            r#"{"parameters":["a"],"scales":[2.0],"level_scales":[[1,0,1]]}"#,
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = CalibrationScale::read(&path).unwrap_err().to_string();
            assert!(
                e.contains("calibration.json") && e.contains("level_scales"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_subset_keeps_its_orientations_and_old_files_read_as_one() {
        let c = CalibrationScale {
            parameters: vec!["a".into(), "b".into()],
            scales: vec![0.5, 2.0],
            level_scales: Vec::new(),
            orientations: Orientations::Dihedral,
        };
        let b = c.for_parameters(&["b".into()]).unwrap();
        assert_eq!(
            (b.scales.as_slice(), b.orientations),
            (&[2.0][..], Orientations::Dihedral)
        );
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"orientations\":\"dihedral\""), "{json}");
        let old: CalibrationScale =
            serde_json::from_str(r#"{"parameters":["a"],"scales":[1.5]}"#).unwrap();
        assert_eq!(old.orientations, Orientations::One);
        assert!(!serde_json::to_string(&old)
            .unwrap()
            .contains("orientations"));
    }
}
