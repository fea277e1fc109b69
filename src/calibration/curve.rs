//! The calibration curve: coverage at many levels, from posterior samples.
//!
//! A prediction CSV holds intervals at the three [`LEVELS`] only; the coverage of any other
//! level needs the samples (`gampen predict --samples-out`, or posteriors kept with
//! `PosteriorOptions::keep_samples`).

use serde::{Deserialize, Serialize};

use super::fraction;
use crate::posterior::{quantile_sorted, GalaxyPosterior, LEVELS};

/// The levels of a calibration curve: 0.05 to 0.95 in steps of 0.05, and the three
/// [`LEVELS`], ascending.
pub fn curve_levels() -> Vec<f64> {
    let mut levels: Vec<f64> = (1..20).map(|k| k as f64 * 0.05).collect();
    levels.extend(LEVELS);
    levels.sort_by(f64::total_cmp);
    levels
}

/// Coverage of equal-tailed sample intervals at each of `levels`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationCurve {
    /// Parameter names.
    pub parameters: Vec<String>,
    /// Nominal levels, ascending.
    pub levels: Vec<f64>,
    /// `[param][level]`: fraction of true values inside the equal-tailed interval.
    pub per_parameter: Vec<Vec<f64>>,
    /// `[level]`: fraction of galaxies with every parameter inside its interval, over the
    /// galaxies that count for every parameter.
    pub all_inside: Vec<f64>,
    /// Per parameter: galaxies counted (finite truth, at least one draw, every draw finite).
    pub counts: Vec<usize>,
    /// Per parameter: galaxies skipped.
    pub skipped: Vec<usize>,
    /// Galaxies counted for every parameter.
    pub count: usize,
}

impl CalibrationCurve {
    /// The curve of `samples[galaxy][param][draw]` for `truths[galaxy][param]` at `levels`.
    /// A galaxy counts for a parameter when its truth is finite and its draws are finite and
    /// not empty, the rule of the three-level metrics for a summary made from those draws.
    pub fn from_samples<S, T>(
        parameters: &[String],
        samples: &[S],
        truths: &[T],
        levels: &[f64],
    ) -> Self
    where
        S: AsRef<[Vec<f64>]>,
        T: AsRef<[f64]>,
    {
        let n = parameters.len();
        let total = samples.len().max(truths.len());
        // [galaxy][param]: for each level, whether the truth is inside; None if skipped.
        let inside: Vec<Vec<Option<Vec<bool>>>> = (0..total)
            .map(|g| {
                (0..n)
                    .map(|p| {
                        let draws = samples.get(g)?.as_ref().get(p)?;
                        let t = *truths.get(g)?.as_ref().get(p)?;
                        inside_at(draws, t, levels)
                    })
                    .collect()
            })
            .collect();
        let level_count = levels.len();
        let mut per = vec![vec![0usize; level_count]; n];
        let mut counts = vec![0usize; n];
        let mut all = vec![0usize; level_count];
        let mut count = 0;
        for galaxy in &inside {
            for (p, hits) in galaxy.iter().enumerate() {
                let Some(hits) = hits else { continue };
                counts[p] += 1;
                per[p]
                    .iter_mut()
                    .zip(hits)
                    .for_each(|(k, &h)| *k += h as usize);
            }
            if galaxy.iter().all(Option::is_some) {
                count += 1;
                for (l, k) in all.iter_mut().enumerate() {
                    *k += galaxy.iter().all(|h| h.as_ref().is_some_and(|h| h[l])) as usize;
                }
            }
        }
        Self {
            parameters: parameters.to_vec(),
            levels: levels.to_vec(),
            per_parameter: (per.iter().zip(&counts))
                .map(|(hits, &c)| hits.iter().map(|&k| fraction(k, c)).collect())
                .collect(),
            all_inside: all.iter().map(|&k| fraction(k, count)).collect(),
            skipped: counts.iter().map(|&c| total - c).collect(),
            counts,
            count,
        }
    }

    /// The curve of posteriors that kept their samples; `None` if one did not.
    pub fn from_posteriors(
        parameters: &[String],
        posteriors: &[GalaxyPosterior],
        truths: &[Vec<f64>],
        levels: &[f64],
    ) -> Option<Self> {
        let samples: Option<Vec<&[Vec<f64>]>> =
            posteriors.iter().map(|p| p.samples.as_deref()).collect();
        Some(Self::from_samples(parameters, &samples?, truths, levels))
    }
}

/// Whether `truth` lies in the equal-tailed interval of `draws` at each level; `None` when
/// the galaxy does not count.
fn inside_at(draws: &[f64], truth: f64, levels: &[f64]) -> Option<Vec<bool>> {
    if !truth.is_finite() || draws.is_empty() || !draws.iter().all(|v| v.is_finite()) {
        return None;
    }
    let mut sorted = draws.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(
        levels
            .iter()
            .map(|l| {
                // The tails as MarginalSummary computes them, to the last bit.
                let tail = (1.0 - l) / 2.0;
                let (lo, hi) = (
                    quantile_sorted(&sorted, tail),
                    quantile_sorted(&sorted, 1.0 - tail),
                );
                truth >= lo && truth <= hi
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::summary_coverage;
    use crate::posterior::MarginalSummary;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn calibrated_samples_follow_the_diagonal_and_agree_with_the_summaries() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let unit = Normal::new(0.0, 1.0).unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let mut samples = Vec::new();
        let mut truths = Vec::new();
        for g in 0..1500 {
            let mu = g as f64 * 0.001;
            let draws: Vec<Vec<f64>> = (0..2)
                .map(|_| (0..400).map(|_| mu + unit.sample(&mut rng)).collect())
                .collect();
            samples.push(draws);
            let t = mu + unit.sample(&mut rng);
            truths.push(vec![t, t]);
        }
        truths[0][1] = f64::NAN;
        let levels = curve_levels();
        assert_eq!(levels.len(), 22);
        let curve = CalibrationCurve::from_samples(&names, &samples, &truths, &levels);
        assert_eq!(
            (curve.counts.clone(), curve.skipped.clone()),
            (vec![1500, 1499], vec![0, 1])
        );
        for (l, level) in levels.iter().enumerate() {
            assert!(
                (curve.per_parameter[0][l] - level).abs() < 0.04,
                "{curve:?}"
            );
        }
        // At the three sigma levels the curve is the summaries' coverage (equal-tailed).
        let marginals: Vec<Vec<MarginalSummary>> = samples
            .iter()
            .map(|g| {
                g.iter()
                    .map(|d| MarginalSummary::from_samples(&mut d.clone()))
                    .collect()
            })
            .collect();
        let three = summary_coverage(&names, &marginals, &truths);
        for (k, level) in LEVELS.iter().enumerate() {
            let l = levels.iter().position(|x| x == level).unwrap();
            for p in 0..2 {
                assert_eq!(
                    curve.per_parameter[p][l], three.per_parameter[p][k],
                    "{p} {level}"
                );
            }
            assert_eq!(curve.all_inside[l], three.all_inside[k]);
        }
    }
}
