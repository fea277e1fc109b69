//! Accuracy of the posterior median: residual statistics per parameter.

use serde::{Deserialize, Serialize};

use super::{counted, galaxies};
use crate::posterior::{quantile_sorted, MarginalSummary};

/// Residual statistics of one parameter (posterior median minus truth, original units),
/// over the galaxies that count for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResidualStats {
    /// Parameter name.
    pub parameter: String,
    /// Galaxies counted.
    pub count: usize,
    /// Galaxies skipped for a non-finite (or missing) truth or prediction.
    pub skipped: usize,
    /// Mean absolute error of the posterior median.
    pub mae: f64,
    /// Median absolute error of the posterior median.
    pub median_abs_error: f64,
    /// Median of |median - truth| / |truth|, over the counted galaxies whose truth is not 0
    /// (useful for fluxes and radii).
    pub median_rel_error: f64,
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
}

/// Residual statistics per parameter of marginal summaries `marginals[galaxy][param]` for
/// `truths[galaxy][param]`, with the posterior median as the point estimate; see the module
/// documentation for which galaxies count.
pub fn summary_residuals<G, T>(
    parameters: &[String],
    marginals: &[G],
    truths: &[T],
) -> Vec<ResidualStats>
where
    G: AsRef<[MarginalSummary]>,
    T: AsRef<[f64]>,
{
    let total = galaxies(marginals, truths);
    parameters
        .iter()
        .enumerate()
        .map(|(p, name)| {
            let pairs: Vec<(&MarginalSummary, f64)> = (0..total)
                .filter_map(|g| counted(marginals, truths, g, p))
                .collect();
            let mut stats = residual_stats(name, &pairs);
            stats.skipped = total - pairs.len();
            stats
        })
        .collect()
}

/// Statistics of `(marginal, truth)` pairs that all count.
fn residual_stats(name: &str, pairs: &[(&MarginalSummary, f64)]) -> ResidualStats {
    let r: Vec<f64> = pairs.iter().map(|(m, t)| m.median - t).collect();
    let mean = |v: &mut dyn Iterator<Item = f64>| v.sum::<f64>() / r.len() as f64;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        quantile_sorted(&v, 0.5)
    };
    let median_residual = median(r.clone());
    let relative = pairs
        .iter()
        .filter(|(_, t)| *t != 0.0)
        .map(|(m, t)| ((m.median - t) / t).abs());
    ResidualStats {
        parameter: name.to_string(),
        count: r.len(),
        skipped: 0,
        mae: mean(&mut r.iter().map(|v| v.abs())),
        median_abs_error: median(r.iter().map(|v| v.abs()).collect()),
        median_rel_error: median(relative.collect()),
        rmse: mean(&mut r.iter().map(|v| v * v)).sqrt(),
        bias: mean(&mut r.iter().copied()),
        median_residual,
        mad: median(r.iter().map(|v| (v - median_residual).abs()).collect()),
        mean_std: mean(&mut pairs.iter().map(|(m, _)| m.std)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(median: f64, std: f64) -> MarginalSummary {
        MarginalSummary {
            mean: median,
            median,
            mode: median,
            std,
            intervals: [(median - std, median + std); 3],
            skew: 0.0,
            kurtosis: 0.0,
        }
    }

    #[test]
    fn residual_statistics() {
        let ms: Vec<MarginalSummary> = [1.0, -1.0, 2.0, -2.0, 0.0]
            .iter()
            .map(|&r| at(10.0 + r, 1.0))
            .collect();
        let pairs: Vec<_> = ms.iter().map(|m| (m, 10.0)).collect();
        let s = residual_stats("x", &pairs);
        assert_eq!(
            (s.mae, s.bias, s.median_residual, s.mad, s.median_abs_error),
            (1.2, 0.0, 0.0, 1.0, 1.0)
        );
        assert!((s.rmse - 2.0f64.sqrt()).abs() < 1e-12);
        assert!((s.median_rel_error - 0.1).abs() < 1e-12);
        assert_eq!(s.mean_std, 1.0);
    }

    #[test]
    fn mean_std_is_over_the_counted_galaxies_only() {
        // The second galaxy's truth is unknown: its std must not dilute the mean std.
        let marginals = vec![vec![at(1.0, 2.0)], vec![at(1.0, 4.0)]];
        let truths = vec![vec![1.5], vec![f64::NAN]];
        let s = &summary_residuals(&["x".to_string()], &marginals, &truths)[0];
        assert_eq!((s.count, s.skipped, s.mean_std, s.mae), (1, 1, 2.0, 0.5));
    }
}
