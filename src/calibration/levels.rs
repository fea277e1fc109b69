//! Per-level calibration factors: fitting them (quantile recalibration at the three levels)
//! and the monotone map that carries them to posterior samples.

use crate::posterior::{MarginalSummary, LEVELS};

/// The range the factors are clamped to (the uniform fit's search range).
const RANGE: (f64, f64) = (1.0 / 20.0, 20.0);

/// Distance of `truth` from the median of `m` in units of interval `level`'s half-width on the
/// truth's side: inside the interval stretched by `s` exactly when this is at most `s`.
fn relative_distance(m: &MarginalSummary, truth: f64, level: usize) -> f64 {
    let (lo, hi) = m.intervals[level];
    let c = m.median;
    let (d, half) = if truth >= c {
        (truth - c, hi - c)
    } else {
        (c - truth, c - lo)
    };
    if d == 0.0 {
        0.0
    } else if half > 0.0 {
        d / half
    } else {
        f64::INFINITY
    }
}

/// One parameter's factor at each of [`LEVELS`] for its counted `(marginal, truth)` pairs:
/// the smallest that puts the whole number of truths nearest the nominal fraction inside the
/// stretched interval (so that, on the fitted data, no factor gives a coverage closer to
/// nominal), clamped to [`RANGE`]; 1 without pairs.
pub(super) fn level_factors(pairs: &[(&MarginalSummary, f64)]) -> [f64; 3] {
    std::array::from_fn(|level| {
        let mut r: Vec<f64> = (pairs.iter())
            .map(|&(m, t)| relative_distance(m, t, level))
            .collect();
        if r.is_empty() {
            return 1.0;
        }
        r.sort_by(f64::total_cmp);
        let k = ((LEVELS[level] * r.len() as f64).round() as usize).clamp(1, r.len());
        // One part in 10^12 above the quantile, so that the rounding of `c + s (hi - c)`
        // cannot leave the quantile's own galaxy outside.
        (r[k - 1] * (1.0 + 1e-12)).clamp(RANGE.0, RANGE.1)
    })
}

/// The monotone, piecewise-linear map of one marginal's samples that moves each interval
/// bound `b` at level `k` to `median + f[k] (b - median)`: linear in the distance from the
/// median between consecutive bounds, with slope `f[0]` inside the first and `f[2]` beyond
/// the last, on each side separately. With equal factors it is the plain stretch.
pub(super) struct LevelStretch {
    centre: f64,
    /// Per side (below, above): the bounds' distances from the median and their images.
    knots: [[(f64, f64); 3]; 2],
    factors: [f64; 3],
}

impl LevelStretch {
    /// The map for marginal `m` (its intervals before calibration) and factors `f`.
    pub(super) fn new(m: &MarginalSummary, f: [f64; 3]) -> Self {
        let c = m.median;
        let side = |dist: fn((f64, f64), f64) -> f64| {
            let mut knots = [(0.0, 0.0); 3];
            let (mut d_prev, mut e_prev) = (0.0f64, 0.0f64);
            for (k, knot) in knots.iter_mut().enumerate() {
                // Wider levels never map inside narrower ones, so the map stays monotone.
                let d = dist(m.intervals[k], c).max(d_prev);
                let e = (f[k] * d).max(e_prev);
                *knot = (d, e);
                (d_prev, e_prev) = (d, e);
            }
            knots
        };
        Self {
            centre: c,
            knots: [side(|(lo, _), c| c - lo), side(|(_, hi), c| hi - c)],
            factors: f,
        }
    }

    /// Where sample `v` goes.
    pub(super) fn apply(&self, v: f64) -> f64 {
        let c = self.centre;
        let (knots, sign) = if v >= c {
            (&self.knots[1], 1.0)
        } else {
            (&self.knots[0], -1.0)
        };
        let d = (v - c).abs();
        if !d.is_finite() || !c.is_finite() {
            return v;
        }
        c + sign * map_distance(knots, self.factors, d)
    }
}

/// Distance `d` through `knots` (distance, image) with slopes `f[0]` before the first knot
/// and `f[2]` after the last.
fn map_distance(knots: &[(f64, f64); 3], f: [f64; 3], d: f64) -> f64 {
    let mut prev = (0.0, 0.0);
    for &(dk, ek) in knots {
        if d <= dk {
            let span = dk - prev.0;
            return if span > 0.0 {
                prev.1 + (d - prev.0) * (ek - prev.1) / span
            } else {
                ek
            };
        }
        prev = (dk, ek);
    }
    prev.1 + (d - prev.0) * f[2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marginal(intervals: [(f64, f64); 3]) -> MarginalSummary {
        MarginalSummary {
            mean: 0.0,
            median: 0.0,
            mode: 0.0,
            std: 1.0,
            intervals,
            skew: 0.0,
            kurtosis: 0.0,
        }
    }

    #[test]
    fn the_map_moves_each_bound_to_its_stretched_place_and_is_monotone() {
        let m = marginal([(-1.0, 2.0), (-2.0, 4.0), (-3.0, 6.0)]);
        let f = [0.8, 1.0, 1.5];
        let map = LevelStretch::new(&m, f);
        for (k, (lo, hi)) in m.intervals.iter().enumerate() {
            assert!((map.apply(*lo) - f[k] * lo).abs() < 1e-12);
            assert!((map.apply(*hi) - f[k] * hi).abs() < 1e-12);
        }
        assert!((map.apply(10.0) - (9.0 + 4.0 * 1.5)).abs() < 1e-12);
        let xs: Vec<f64> = (-100..=100).map(|i| i as f64 * 0.1).collect();
        let ys: Vec<f64> = xs.iter().map(|&x| map.apply(x)).collect();
        assert!(ys.windows(2).all(|w| w[0] < w[1]), "{ys:?}");
    }

    #[test]
    fn equal_factors_are_the_plain_stretch() {
        let m = marginal([(-1.0, 2.0), (-2.0, 4.0), (-3.0, 6.0)]);
        let map = LevelStretch::new(&m, [1.7; 3]);
        for x in [-7.0, -2.5, -0.3, 0.0, 0.9, 3.0, 12.0] {
            assert!((map.apply(x) - 1.7 * x).abs() < 1e-12, "{x}");
        }
    }

    #[test]
    fn a_narrowing_factor_at_a_wide_level_keeps_the_map_monotone() {
        let m = marginal([(-1.0, 1.0), (-1.1, 1.1), (-3.0, 3.0)]);
        let map = LevelStretch::new(&m, [2.0, 1.0, 1.0]);
        let ys: Vec<f64> = (0..=40).map(|i| map.apply(i as f64 * 0.1)).collect();
        assert!(ys.windows(2).all(|w| w[0] <= w[1]), "{ys:?}");
    }

    #[test]
    fn the_fitted_factors_give_nominal_coverage_on_the_fitted_data() {
        // Laplace errors under Gaussian intervals: too wide at 68 %, too narrow at 99.7 %.
        let m = marginal([(-1.0, 1.0), (-2.0, 2.0), (-3.0, 3.0)]);
        let n = 10_000;
        let truths: Vec<[f64; 1]> = (0..n)
            .map(|i| {
                let u = (i as f64 + 0.5) / n as f64 - 0.5;
                [-u.signum() * (1.0 - 2.0 * u.abs()).ln() / 2f64.sqrt()]
            })
            .collect();
        let pairs: Vec<(&MarginalSummary, f64)> = truths.iter().map(|t| (&m, t[0])).collect();
        let f = level_factors(&pairs);
        for (k, level) in LEVELS.iter().enumerate() {
            let inside = (truths.iter())
                .filter(|t| relative_distance(&m, t[0], k) <= f[k])
                .count() as f64;
            assert!((inside / n as f64 - level).abs() < 2e-4, "{k}: {f:?}");
        }
        // Laplace(b = 1/sqrt 2) quantiles: 0.81, 2.19, 4.18 against 1, 2, 3.
        assert!(
            (f[0] - 0.81).abs() < 0.01 && (f[2] - 4.18 / 3.0).abs() < 0.02,
            "{f:?}"
        );
    }
}
