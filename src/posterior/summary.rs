//! Summary statistics of one-dimensional posterior samples.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::gampen_kde::kde_windows;
pub use gampen_data::stats::quantile_sorted;

/// The credible levels reported for every parameter: 1, 2 and 3 sigma of a normal.
pub const LEVELS: [f64; 3] = [0.6827, 0.9545, 0.9973];

/// How a [`MarginalSummary`] defines its mode, intervals and standard deviation.
///
/// Text form (`Display`/`FromStr`, serde, the command line): `equal-tailed` and `gampen`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IntervalMethod {
    /// Equal-tailed intervals (quantiles `(1 - l)/2` and `(1 + l)/2`), the mode of a binned
    /// KDE refined by a parabola, standard deviation with `N - 1`.
    #[default]
    #[serde(rename = "equal-tailed")]
    EqualTailed,
    /// GaMPEN's `result_aggregator.py`: KDE mode on a 1000-point grid, windows grown around it
    /// by equal grid steps until their KDE mass is nearest each level, standard deviation with
    /// `N` (`numpy.std`). See [`super::gampen_kde`].
    #[serde(rename = "gampen")]
    GampenKde,
}

impl IntervalMethod {
    /// Every method, in the order of their text forms in help texts.
    pub const ALL: [Self; 2] = [Self::EqualTailed, Self::GampenKde];

    /// The text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EqualTailed => "equal-tailed",
            Self::GampenKde => "gampen",
        }
    }
}

impl fmt::Display for IntervalMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An interval method name that is none of [`IntervalMethod::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown interval method {0:?} (expected `equal-tailed` or `gampen`)")]
pub struct UnknownIntervalMethod(pub String);

impl FromStr for IntervalMethod {
    type Err = UnknownIntervalMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "equal-tailed" | "equal_tailed" | "equaltailed" => Ok(Self::EqualTailed),
            "gampen" | "gampen-kde" | "gampen_kde" => Ok(Self::GampenKde),
            _ => Err(UnknownIntervalMethod(s.to_string())),
        }
    }
}

/// Summary of the marginal posterior of one parameter of one galaxy, in original units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarginalSummary {
    /// Sample mean.
    pub mean: f64,
    /// Sample median.
    pub median: f64,
    /// Mode of a Gaussian kernel density estimate (see [`IntervalMethod`] for which).
    pub mode: f64,
    /// Sample standard deviation (`N - 1`; `N` with [`IntervalMethod::GampenKde`]).
    pub std: f64,
    /// Credible intervals `(low, high)` at [`LEVELS`]: equal-tailed, or GaMPEN's mode-centred
    /// windows (see [`IntervalMethod`]).
    pub intervals: [(f64, f64); 3],
    /// Sample skewness (Fisher-Pearson, biased).
    pub skew: f64,
    /// Sample excess kurtosis (0 for a normal).
    pub kurtosis: f64,
}

impl MarginalSummary {
    /// Summarises `samples` with equal-tailed intervals
    /// ([`IntervalMethod::EqualTailed`]); `samples` is sorted in place. Non-finite samples are
    /// dropped first; an empty (or all non-finite) input gives NaNs everywhere.
    pub fn from_samples(samples: &mut Vec<f64>) -> Self {
        Self::from_samples_with(samples, IntervalMethod::EqualTailed)
    }

    /// Summarises `samples` with `method`; `samples` (in the order drawn) is sorted in place.
    /// Non-finite samples are dropped first; an empty (or all non-finite) input gives NaNs
    /// everywhere.
    ///
    /// With [`IntervalMethod::GampenKde`] the mode and intervals are GaMPEN's
    /// ([`super::gampen_kde::kde_windows`], computed before sorting, on the draws in the order
    /// given), `std` uses `N`, and skew and kurtosis are NaN when the variance is zero (as
    /// scipy returns them; GaMPEN's KDE itself fails on such draws, here the windows have zero
    /// width).
    pub fn from_samples_with(samples: &mut Vec<f64>, method: IntervalMethod) -> Self {
        samples.retain(|x| x.is_finite());
        let nan = f64::NAN;
        if samples.is_empty() {
            return Self {
                mean: nan,
                median: nan,
                mode: nan,
                std: nan,
                intervals: [(nan, nan); 3],
                skew: nan,
                kurtosis: nan,
            };
        }
        let windows = match method {
            IntervalMethod::EqualTailed => None,
            IntervalMethod::GampenKde => Some(kde_windows(samples)),
        };
        samples.sort_by(|a, b| a.total_cmp(b));
        let m = Moments::of(samples);
        let (skew, kurtosis) = m.shape();
        let Some(w) = windows else {
            return Self::equal_tailed(samples, &m);
        };
        let degenerate = m.m2 <= 0.0;
        Self {
            mean: m.mean,
            median: quantile_sorted(samples, 0.5),
            mode: w.mode,
            std: m.m2.sqrt(),
            intervals: w.intervals,
            skew: if degenerate { nan } else { skew },
            kurtosis: if degenerate { nan } else { kurtosis },
        }
    }
}

impl MarginalSummary {
    /// The equal-tailed summary of sorted, finite, non-empty samples.
    fn equal_tailed(samples: &[f64], m: &Moments) -> Self {
        let intervals = LEVELS.map(|level| {
            let tail = (1.0 - level) / 2.0;
            (
                quantile_sorted(samples, tail),
                quantile_sorted(samples, 1.0 - tail),
            )
        });
        let std = m.sample_std(samples.len());
        let (skew, kurtosis) = m.shape();
        Self {
            mean: m.mean,
            median: quantile_sorted(samples, 0.5),
            mode: kde_mode(samples, std),
            std,
            intervals,
            skew,
            kurtosis,
        }
    }
}

/// Mean and central moments (divided by `N`) of finite samples.
struct Moments {
    mean: f64,
    m2: f64,
    m3: f64,
    m4: f64,
}

impl Moments {
    fn of(samples: &[f64]) -> Self {
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for &x in samples.iter() {
            let d = x - mean;
            let d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        Self {
            mean,
            m2: m2 / n,
            m3: m3 / n,
            m4: m4 / n,
        }
    }

    /// Standard deviation with `N - 1` (0 for a single sample).
    fn sample_std(&self, len: usize) -> f64 {
        if len > 1 {
            let n = len as f64;
            (self.m2 * n / (n - 1.0)).sqrt()
        } else {
            0.0
        }
    }

    /// Biased skewness and excess kurtosis; 0 for zero variance.
    fn shape(&self) -> (f64, f64) {
        if self.m2 > 0.0 {
            (
                self.m3 / self.m2.powf(1.5),
                self.m4 / (self.m2 * self.m2) - 3.0,
            )
        } else {
            (0.0, 0.0)
        }
    }
}

/// Mode of a Gaussian KDE with the normal-reference (Silverman) bandwidth
/// `1.06 sigma N^(-1/5)`, located on a 256-point grid over the data
/// range and refined by a parabola through the best grid point and its neighbours.
///
/// Binning first keeps this `O(n + grid * bins)` so that summaries of 10^4-sample posteriors
/// for millions of galaxies stay cheap.
pub fn kde_mode(sorted: &[f64], std: f64) -> f64 {
    let n = sorted.len();
    if n < 3 || std <= 0.0 || !std.is_finite() {
        return quantile_sorted(sorted, 0.5);
    }
    let (lo, hi) = (sorted[0], sorted[n - 1]);
    let bandwidth = 1.06 * std * (n as f64).powf(-0.2);
    const BINS: usize = 512;
    let width = (hi - lo) / BINS as f64;
    let mut counts = [0.0f64; BINS];
    for &x in sorted {
        let i = (((x - lo) / width) as usize).min(BINS - 1);
        counts[i] += 1.0;
    }
    const GRID: usize = 256;
    let density = |x: f64| -> f64 {
        let mut s = 0.0;
        for (i, &c) in counts.iter().enumerate() {
            if c > 0.0 {
                let centre = lo + (i as f64 + 0.5) * width;
                let z = (x - centre) / bandwidth;
                if z.abs() < 6.0 {
                    s += c * (-0.5 * z * z).exp();
                }
            }
        }
        s
    };
    let step = (hi - lo) / (GRID - 1) as f64;
    let values: Vec<f64> = (0..GRID).map(|i| density(lo + i as f64 * step)).collect();
    let best = values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let x = lo + best as f64 * step;
    if best == 0 || best == GRID - 1 {
        return x;
    }
    let (a, b, c) = (values[best - 1], values[best], values[best + 1]);
    let denom = a - 2.0 * b + c;
    if denom.abs() < f64::EPSILON {
        return x;
    }
    x + 0.5 * step * (a - c) / denom
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn normal_samples_give_normal_summaries() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let normal = Normal::new(2.0, 0.5).unwrap();
        let mut s: Vec<f64> = (0..40_000).map(|_| normal.sample(&mut rng)).collect();
        let m = MarginalSummary::from_samples(&mut s);
        assert!((m.mean - 2.0).abs() < 0.01, "{m:?}");
        assert!((m.median - 2.0).abs() < 0.01, "{m:?}");
        assert!((m.mode - 2.0).abs() < 0.05, "{m:?}");
        assert!((m.std - 0.5).abs() < 0.01, "{m:?}");
        assert!(m.skew.abs() < 0.05 && m.kurtosis.abs() < 0.1, "{m:?}");
        // 1, 2, 3 sigma equal-tailed intervals of N(2, 0.5).
        for (k, (lo, hi)) in m.intervals.iter().enumerate() {
            let half = 0.5 * (k as f64 + 1.0);
            assert!(
                (lo - (2.0 - half)).abs() < 0.03 * (k as f64 + 1.0),
                "{k}: {lo}"
            );
            assert!(
                (hi - (2.0 + half)).abs() < 0.03 * (k as f64 + 1.0),
                "{k}: {hi}"
            );
        }
    }

    #[test]
    fn skewed_samples_have_mode_below_mean() {
        // Exponential(1): mode 0, mean 1, skew 2, excess kurtosis 6.
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let exp = rand_distr::Exp::new(1.0).unwrap();
        let mut s: Vec<f64> = (0..40_000).map(|_| exp.sample(&mut rng)).collect();
        let m = MarginalSummary::from_samples(&mut s);
        assert!(m.mode < 0.25 && (m.mean - 1.0).abs() < 0.02, "{m:?}");
        assert!(
            (m.skew - 2.0).abs() < 0.2 && (m.kurtosis - 6.0).abs() < 1.5,
            "{m:?}"
        );
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let m = MarginalSummary::from_samples(&mut vec![]);
        assert!(m.mean.is_nan());
        let m = MarginalSummary::from_samples(&mut vec![f64::NAN, 3.0, 3.0, 3.0]);
        assert_eq!((m.mean, m.median, m.mode, m.std), (3.0, 3.0, 3.0, 0.0));
    }

    #[test]
    fn gampen_method_matches_scipy_reference() {
        #[derive(serde::Deserialize)]
        struct Case {
            name: String,
            draws: Vec<String>,
            mode: f64,
            intervals: Vec<[f64; 2]>,
            mean: f64,
            median: f64,
            std: f64,
            skew: f64,
            kurtosis: f64,
        }
        #[derive(serde::Deserialize)]
        struct Fixture {
            cases: Vec<Case>,
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/gampen_summary.json");
        let text = std::fs::read_to_string(path).expect("fixtures/gampen_summary.json");
        let fx: Fixture = serde_json::from_str(&text).expect("valid fixture");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        for c in &fx.cases {
            let mut d: Vec<f64> = c.draws.iter().map(|s| s.parse().unwrap()).collect();
            let range = d.iter().cloned().fold(f64::MIN, f64::max)
                - d.iter().cloned().fold(f64::MAX, f64::min);
            let m = MarginalSummary::from_samples_with(&mut d, IntervalMethod::GampenKde);
            let n = &c.name;
            assert!(close(m.mean, c.mean), "{n}: mean {} vs {}", m.mean, c.mean);
            assert!(close(m.median, c.median), "{n}: median");
            assert!(close(m.std, c.std), "{n}: std {} vs {}", m.std, c.std);
            assert!(close(m.skew, c.skew), "{n}: skew {} vs {}", m.skew, c.skew);
            assert!(close(m.kurtosis, c.kurtosis), "{n}: kurtosis");
            assert!((m.mode - c.mode).abs() <= 1e-9 * range, "{n}: mode");
            for (l, [lo, hi]) in c.intervals.iter().enumerate() {
                assert!(
                    (m.intervals[l].0 - lo).abs() <= 1e-9 * range,
                    "{n}: {l} low"
                );
                assert!(
                    (m.intervals[l].1 - hi).abs() <= 1e-9 * range,
                    "{n}: {l} high"
                );
            }
        }
    }

    #[test]
    fn gampen_method_differs_from_equal_tailed_on_skewed_draws() {
        // Exponential draws: GaMPEN's window starts at the mode near 0, so its 68 % interval
        // starts at the minimum, where the equal-tailed one starts at the 15.9 % quantile.
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let exp = rand_distr::Exp::new(1.0).unwrap();
        let draws: Vec<f64> = (0..2000).map(|_| exp.sample(&mut rng)).collect();
        let et = MarginalSummary::from_samples(&mut draws.clone());
        let gk = MarginalSummary::from_samples_with(&mut draws.clone(), IntervalMethod::GampenKde);
        let min = draws.iter().cloned().fold(f64::MAX, f64::min);
        assert_eq!(gk.intervals[0].0, min);
        assert!(et.intervals[0].0 > min + 0.1, "{et:?}");
        assert_eq!((gk.mean, gk.median), (et.mean, et.median));
        let n = draws.len() as f64;
        assert!((gk.std - et.std * ((n - 1.0) / n).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn interval_method_text_forms() {
        for m in IntervalMethod::ALL {
            assert_eq!(m.to_string().parse::<IntervalMethod>(), Ok(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{m}\""));
            assert_eq!(serde_json::from_str::<IntervalMethod>(&json).unwrap(), m);
        }
        assert_eq!(IntervalMethod::default(), IntervalMethod::EqualTailed);
        let err = "hpd".parse::<IntervalMethod>().unwrap_err();
        assert!(err.to_string().contains("equal-tailed"), "{err}");
    }

    #[test]
    fn gampen_method_on_equal_draws_gives_zero_width_and_nan_shape() {
        let m = MarginalSummary::from_samples_with(&mut vec![0.0; 50], IntervalMethod::GampenKde);
        assert_eq!((m.mode, m.std, m.intervals[1]), (0.0, 0.0, (0.0, 0.0)));
        assert!(m.skew.is_nan() && m.kurtosis.is_nan());
    }
}
