//! GaMPEN's mode-centred KDE summaries, reproduced step by step.
//!
//! GaMPEN's catalogues (Ghosh et al. 2023) do not quote equal-tailed intervals. Their
//! `result_aggregator.py` summarises each parameter's Monte-Carlo draws with a Gaussian kernel
//! density estimate and grows a window around its mode. This module redoes that procedure so
//! that a catalogue written by gampen-rs can be compared with GaMPEN's number for number:
//!
//! 1. A Gaussian KDE as `scipy.stats.gaussian_kde(draws)` builds it: kernel standard deviation
//!    `s = sd * n^(-1/5)` (Scott's factor), where `sd` is the sample standard deviation with
//!    `n - 1`.
//! 2. A grid of [`GRID_POINTS`] points as `numpy.linspace(min, max, 1000)` places them. The mode
//!    is the grid point of highest density; the first one wins a tie (`numpy.argmax`).
//! 3. The KDE's CDF at every grid point, `kde.integrate_box_1d(-inf, x)`, i.e. the mean over the
//!    draws of `Phi((x - x_i) / s)`. Its first value is then set to exactly 0 and its last to
//!    exactly 1, as GaMPEN does.
//! 4. Starting at the mode's index, each step moves the lower index down by one and the upper
//!    index up by one (each stops at its end of the grid) and records `cdf[upper] - cdf[lower]`,
//!    until both sit at the ends.
//! 5. For each of [`LEVELS`] the first step whose mass is nearest the level (`numpy.argmin` of
//!    `|mass - level|`) gives the interval `(x[lower], x[upper])`.
//!
//! The mode and the interval ends are grid points, so agreement with the reference is a matter
//! of picking the same grid indices. The arithmetic follows scipy's order where that decides
//! near-ties: the density sums the kernels in draw order as scipy's kernel loop does, the
//! bandwidth is assembled like `numpy.cov` with weights `1/n`, and the normal CDF is scipy's
//! `ndtr` itself: the Cephes rational approximations (S. L. Moshier, Cephes Math Library 2.2,
//! as scipy's `xsf` library carries them), so the CDF terms agree bit for bit. (`statrs`'
//! `erfc`, for comparison, is off by 9e-11 relative at 0.7.) The remaining differences are a
//! few ulps of summation order (scipy sums with BLAS); they change an index only when two
//! candidates are within about 1e-15 of each other. `tools/fixtures_gampen_summary.py`
//! writes the scipy reference, with those margins, and the tests below match it index for index.
//!
//! It is written by hand because no Rust crate computes scipy's KDE (with its bandwidth rule)
//! and GaMPEN's window rule; a generic KDE or a different CDF would move interval ends by a
//! grid step and break the comparison with published catalogues.
//!
//! Cost: the density needs `n` exponentials at each of the 1000 grid points, `O(1000 n)` per
//! parameter and galaxy, exact (no binning). The CDF is needed only where the walk's masses
//! cross the levels: two binary searches per level find the same steps as the full walk with
//! about 40 CDF evaluations (`O(40 n)`). Kernels whose contribution is exactly 0 in double
//! precision are skipped without changing any result.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use super::summary::LEVELS;

/// Number of grid points GaMPEN evaluates the KDE on (`n=1000` in `calculate_cdf`).
pub const GRID_POINTS: usize = 1000;

/// GaMPEN's KDE summary of one parameter: mode and mode-centred windows, with the grid indices
/// behind them.
#[derive(Clone, Debug, PartialEq)]
pub struct KdeWindows {
    /// Grid point of the highest KDE density.
    pub mode: f64,
    /// Its index on the grid (0..[`GRID_POINTS`]).
    pub mode_index: usize,
    /// `(low, high)` windows at [`LEVELS`].
    pub intervals: [(f64, f64); 3],
    /// Grid indices of the window ends.
    pub interval_indices: [(usize, usize); 3],
    /// Kernel standard deviation (data units); 0 for degenerate input.
    pub bandwidth: f64,
}

impl KdeWindows {
    /// The summary of draws that are all equal (or a single draw), where the KDE is undefined
    /// (scipy raises on a singular covariance): the value itself, with zero-width windows.
    fn degenerate(value: f64) -> Self {
        Self {
            mode: value,
            mode_index: 0,
            intervals: [(value, value); 3],
            interval_indices: [(0, 0); 3],
            bandwidth: 0.0,
        }
    }
}

/// GaMPEN's KDE mode and mode-centred windows of `draws` (finite, in the order drawn: the
/// order matters only at the last ulp, as in scipy).
///
/// Empty input gives NaNs; a single draw or all-equal draws give zero-width windows at that
/// value.
pub fn kde_windows(draws: &[f64]) -> KdeWindows {
    let Some(&first) = draws.first() else {
        let mut out = KdeWindows::degenerate(f64::NAN);
        out.bandwidth = f64::NAN;
        return out;
    };
    let (min, max) = draws
        .iter()
        .fold((first, first), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let Some((s_pdf, s_cdf)) = bandwidths(draws).filter(|_| min < max) else {
        return KdeWindows::degenerate(first);
    };
    let grid = linspace(min, max);
    let mode_index = argmax_first(&density(draws, &grid, s_pdf));
    let mut cdf = LazyCdf::new(draws, &grid, s_cdf);
    let interval_indices = LEVELS.map(|level| nearest_window(&mut cdf, mode_index, level));
    KdeWindows {
        mode: grid[mode_index],
        mode_index,
        intervals: interval_indices.map(|(lo, hi)| (grid[lo], grid[hi])),
        interval_indices,
        bandwidth: s_cdf,
    }
}

/// Kernel standard deviations as scipy derives them: `(sqrt(var) * f, sqrt(var * f^2))` for
/// the density and the CDF respectively (scipy scales the Cholesky factor for the one and takes
/// the root of the covariance for the other), with `var` as `numpy.cov(draws, aweights=1/n)`
/// and Scott's factor `f = neff^(-1/5)`. `None` when the variance is not positive.
fn bandwidths(draws: &[f64]) -> Option<(f64, f64)> {
    let n = draws.len();
    if n < 2 {
        return None;
    }
    let w = 1.0 / n as f64;
    let w_sum = pairwise_sum_by(n, |_| w);
    let w2_sum = pairwise_sum_by(n, |_| w * w);
    let mean = pairwise_sum_by(n, |i| draws[i] * w) / w_sum;
    let fact = w_sum - w2_sum / w_sum;
    let var = pairwise_sum_by(n, |i| {
        let d = draws[i] - mean;
        d * (d * w)
    }) * (1.0 / fact);
    let factor = (1.0 / w2_sum).powf(-1.0 / 5.0);
    (var > 0.0 && var.is_finite()).then(|| (var.sqrt() * factor, (var * (factor * factor)).sqrt()))
}

/// `numpy.linspace(min, max, 1000)`: `j * step + min`, last point exactly `max`.
fn linspace(min: f64, max: f64) -> Vec<f64> {
    let step = (max - min) / (GRID_POINTS - 1) as f64;
    let mut grid: Vec<f64> = (0..GRID_POINTS).map(|j| j as f64 * step + min).collect();
    grid[GRID_POINTS - 1] = max;
    grid
}

/// KDE density on the grid, accumulated draw by draw like scipy's `gaussian_kernel_estimate`:
/// both sides scaled by `1/s`, `exp(-r^2/2) * norm` weighted by `1/n`.
fn density(draws: &[f64], grid: &[f64], s: f64) -> Vec<f64> {
    let w = 1.0 / draws.len() as f64;
    let norm = (2.0 * PI).powf(-0.5) / s;
    let scaled_grid: Vec<f64> = grid.iter().map(|x| x / s).collect();
    let mut estimate = vec![0.0; grid.len()];
    for &d in draws {
        let p = d / s;
        for (e, &xi) in estimate.iter_mut().zip(&scaled_grid) {
            let r = p - xi;
            let arg = r * r;
            // exp(-746) is exactly 0 in double precision: adding it would change nothing.
            if arg < 1492.0 {
                *e += w * ((-arg / 2.0).exp() * norm);
            }
        }
    }
    estimate
}

/// The KDE's CDF, `kde.integrate_box_1d(-inf, x)`, at grid points on demand, with GaMPEN's
/// forced ends (exactly 0 at the first point and 1 at the last); computed values are kept.
struct LazyCdf<'a> {
    draws: &'a [f64],
    grid: &'a [f64],
    s: f64,
    /// `w * Phi((x - x_i) / s)` of the point being computed, in draw order (one buffer for
    /// all points).
    terms: Vec<f64>,
    /// NaN where not computed yet.
    values: Vec<f64>,
}

impl<'a> LazyCdf<'a> {
    fn new(draws: &'a [f64], grid: &'a [f64], s: f64) -> Self {
        Self {
            draws,
            grid,
            s,
            terms: vec![0.0; draws.len()],
            values: vec![f64::NAN; grid.len()],
        }
    }

    fn at(&mut self, j: usize) -> f64 {
        let last = self.grid.len() - 1;
        if j == 0 {
            return 0.0;
        }
        if j == last {
            return 1.0;
        }
        if self.values[j].is_nan() {
            let (x, w) = (self.grid[j], 1.0 / self.draws.len() as f64);
            for (t, &d) in self.terms.iter_mut().zip(self.draws) {
                *t = w * ndtr((x - d) / self.s);
            }
            self.values[j] = pairwise_sum_by(self.terms.len(), |i| self.terms[i]);
        }
        self.values[j]
    }

    /// Number of steps of GaMPEN's walk from `mode` (until both ends are reached).
    fn steps(&self, mode: usize) -> usize {
        mode.max(self.grid.len() - 1 - mode)
    }

    /// The window of step `k` (1-based) of the walk from `mode`, and its mass.
    fn step(&mut self, mode: usize, k: usize) -> ((usize, usize), f64) {
        let last = self.grid.len() - 1;
        let (lo, hi) = (mode.saturating_sub(k), (mode + k).min(last));
        ((lo, hi), self.at(hi) - self.at(lo))
    }
}

/// The window GaMPEN's walk from `mode` picks for `level`: the first step whose mass is
/// nearest the level.
///
/// The walk's masses never decrease (the CDF is a sum of increasing terms, and rounding
/// preserves order), so the nearest step is the first one at or above the level or the
/// first step of the run of equal masses just below it. Two binary searches find them with
/// about 40 CDF evaluations instead of 1000; the literal walk ([`windows`]) is kept for the
/// tests, which check that both agree.
fn nearest_window(cdf: &mut LazyCdf, mode: usize, level: f64) -> (usize, usize) {
    let steps = cdf.steps(mode);
    // First step (1-based) in `from..=steps` whose mass is at least `target`, or steps + 1.
    let first_reaching = |cdf: &mut LazyCdf, from: usize, target: f64| {
        let (mut lo, mut hi) = (from, steps + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cdf.step(mode, mid).1 >= target {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    let above = first_reaching(cdf, 1, level);
    let below = (above > 1).then(|| {
        let run_value = cdf.step(mode, above - 1).1;
        first_reaching(cdf, 1, run_value)
    });
    match (below, above <= steps) {
        (Some(b), true) => {
            let (wb, mb) = cdf.step(mode, b);
            let (wa, ma) = cdf.step(mode, above);
            // An equal distance keeps the earlier step, as numpy.argmin does.
            if (mb - level).abs() <= (ma - level).abs() {
                wb
            } else {
                wa
            }
        }
        (Some(b), false) => cdf.step(mode, b).0,
        (None, _) => cdf.step(mode, above.min(steps)).0,
    }
}

/// `kde.integrate_box_1d(-inf, x)` at every grid point with the forced ends: what GaMPEN
/// computes before its walk.
#[cfg(test)]
fn cdf(draws: &[f64], grid: &[f64], s: f64) -> Vec<f64> {
    let mut lazy = LazyCdf::new(draws, grid, s);
    (0..grid.len()).map(|j| lazy.at(j)).collect()
}

/// Standard normal CDF, `scipy.special.ndtr` (Cephes).
fn ndtr(a: f64) -> f64 {
    // Beyond 8.5 Cephes gives exactly 1 in double precision (tested below): skip erfc.
    if a > 8.5 {
        return 1.0;
    }
    let x = a * FRAC_1_SQRT_2;
    let z = x.abs();
    if z < 1.0 {
        0.5 + 0.5 * cephes_erf(x)
    } else {
        let y = 0.5 * cephes_erfc(z);
        if x > 0.0 {
            1.0 - y
        } else {
            y
        }
    }
}

/// Cephes' rational approximations of erf and erfc (Cephes Math Library 2.2, S. L. Moshier;
/// coefficients as in scipy's `xsf/cephes/ndtr.h`).
mod cephes {
    /// `ln` of the largest double: below `exp(-MAXLOG)` erfc underflows to 0.
    pub const MAXLOG: f64 = 709.782712893384;
    pub const P: [f64; 9] = [
        2.461969814735305e-10,
        0.5641895648310689,
        7.463210564422699,
        48.63719709856814,
        196.5208329560771,
        526.4451949954773,
        934.5285271719576,
        1027.5518868951572,
        557.5353353693994,
    ];
    pub const Q: [f64; 8] = [
        13.228195115474499,
        86.70721408859897,
        354.9377788878199,
        975.7085017432055,
        1823.9091668790973,
        2246.3376081871097,
        1656.6630919416134,
        557.5353408177277,
    ];
    pub const R: [f64; 6] = [
        0.5641895835477551,
        1.275366707599781,
        5.019050422511805,
        6.160210979930536,
        7.4097426995044895,
        2.9788666537210022,
    ];
    pub const S: [f64; 6] = [
        2.2605286322011726,
        9.396035249380015,
        12.048953980809666,
        17.08144507475659,
        9.608968090632859,
        3.369076451000815,
    ];
    pub const T: [f64; 5] = [
        9.604973739870516,
        90.02601972038427,
        2232.005345946843,
        7003.325141128051,
        55592.30130103949,
    ];
    pub const U: [f64; 5] = [
        33.56171416475031,
        521.3579497801527,
        4594.323829709801,
        22629.000061389095,
        49267.39426086359,
    ];

    /// `c[0] x^N + ... + c[N]`.
    pub fn polevl(x: f64, c: &[f64]) -> f64 {
        c[1..].iter().fold(c[0], |acc, &ci| acc * x + ci)
    }

    /// `x^N + c[0] x^(N-1) + ... + c[N-1]` (leading coefficient 1).
    pub fn p1evl(x: f64, c: &[f64]) -> f64 {
        c[1..].iter().fold(x + c[0], |acc, &ci| acc * x + ci)
    }
}

fn cephes_erfc(a: f64) -> f64 {
    use cephes::*;
    let x = a.abs();
    if x < 1.0 {
        return 1.0 - cephes_erf(a);
    }
    let z = -a * a;
    let under = if a < 0.0 { 2.0 } else { 0.0 };
    if z < -MAXLOG {
        return under;
    }
    let z = z.exp();
    let (p, q) = if x < 8.0 {
        (polevl(x, &P), p1evl(x, &Q))
    } else {
        (polevl(x, &R), p1evl(x, &S))
    };
    let y = (z * p) / q;
    let y = if a < 0.0 { 2.0 - y } else { y };
    if y != 0.0 {
        y
    } else {
        under
    }
}

fn cephes_erf(x: f64) -> f64 {
    use cephes::*;
    if x < 0.0 {
        return -cephes_erf(-x);
    }
    if x > 1.0 {
        return 1.0 - cephes_erfc(x);
    }
    let z = x * x;
    x * polevl(z, &T) / p1evl(z, &U)
}

/// GaMPEN's window walk, literally: from the mode, grow both sides by one grid step at a
/// time, and for each level keep the first step whose mass is nearest it.
#[cfg(test)]
fn windows(cdf: &[f64], mode_index: usize) -> [(usize, usize); 3] {
    let last = cdf.len() - 1;
    let (mut lo, mut hi) = (mode_index, mode_index);
    let mut best = [(f64::INFINITY, (mode_index, mode_index)); 3];
    while hi < last || lo > 0 {
        hi = (hi + 1).min(last);
        lo = lo.saturating_sub(1);
        let mass = cdf[hi] - cdf[lo];
        for (b, level) in best.iter_mut().zip(LEVELS) {
            let distance = (mass - level).abs();
            // Strictly smaller: an equal distance later on keeps the earlier step (argmin).
            if distance < b.0 {
                *b = (distance, (lo, hi));
            }
        }
    }
    best.map(|(_, window)| window)
}

/// Index of the largest value, the first one on ties (`numpy.argmax`).
fn argmax_first(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Sum of `f(0), ..., f(n-1)` in numpy's pairwise order (`np.sum` of a contiguous float64
/// array): blocks of at most 128 summed with eight interleaved accumulators, split in halves
/// (at a multiple of 8) above that.
fn pairwise_sum_by(n: usize, f: impl Fn(usize) -> f64 + Copy) -> f64 {
    pairwise(0, n, f)
}

fn pairwise(start: usize, n: usize, f: impl Fn(usize) -> f64 + Copy) -> f64 {
    if n < 8 {
        let mut res = 0.0;
        for i in start..start + n {
            res += f(i);
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        for (j, rj) in r.iter_mut().enumerate() {
            *rj = f(start + j);
        }
        let full = n - n % 8;
        for block in (8..full).step_by(8) {
            for (j, rj) in r.iter_mut().enumerate() {
                *rj += f(start + block + j);
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for i in start + full..start + n {
            res += f(i);
        }
        res
    } else {
        let half = n / 2;
        let half = half - half % 8;
        pairwise(start, half, f) + pairwise(start + half, n - half, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Fixture {
        grid: usize,
        levels: Vec<f64>,
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        name: String,
        draws: Vec<String>,
        mode: f64,
        mode_index: usize,
        intervals: Vec<[f64; 2]>,
        interval_indices: Vec<[usize; 2]>,
        bandwidth: f64,
    }

    fn fixture() -> Fixture {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/gampen_summary.json");
        let text = std::fs::read_to_string(path).expect("fixtures/gampen_summary.json");
        serde_json::from_str(&text).expect("valid fixture")
    }

    /// Draws stored as Python reprs parse back to the exact doubles.
    fn draws(case: &Case) -> Vec<f64> {
        case.draws
            .iter()
            .map(|s| s.parse().expect("a float"))
            .collect()
    }

    #[test]
    fn matches_scipy_reference_index_for_index() {
        let fx = fixture();
        assert_eq!(fx.grid, GRID_POINTS);
        assert_eq!(fx.levels, LEVELS.to_vec());
        assert!(fx.cases.len() >= 8);
        for case in &fx.cases {
            let d = draws(case);
            let k = kde_windows(&d);
            let (min, max) = d
                .iter()
                .fold((d[0], d[0]), |(a, b), &x| (a.min(x), b.max(x)));
            let tol = 1e-9 * (max - min);
            let name = &case.name;
            assert_eq!(k.mode_index, case.mode_index, "{name}: mode index");
            assert!((k.mode - case.mode).abs() <= tol, "{name}: mode");
            for l in 0..3 {
                let [lo, hi] = case.interval_indices[l];
                assert_eq!(k.interval_indices[l], (lo, hi), "{name}: level {l} indices");
                let [rlo, rhi] = case.intervals[l];
                assert!(
                    (k.intervals[l].0 - rlo).abs() <= tol,
                    "{name}: level {l} low"
                );
                assert!(
                    (k.intervals[l].1 - rhi).abs() <= tol,
                    "{name}: level {l} high"
                );
            }
            let rel = (k.bandwidth - case.bandwidth).abs() / case.bandwidth;
            assert!(
                rel < 1e-12,
                "{name}: bandwidth {} vs {}",
                k.bandwidth,
                case.bandwidth
            );
        }
    }

    #[test]
    fn binary_search_agrees_with_the_literal_walk() {
        use rand::{Rng, SeedableRng};
        let mut arrays: Vec<Vec<f64>> = fixture().cases.iter().map(draws).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for t in 0..40 {
            let n = 3 + (t * 7) % 120;
            let v = (0..n)
                .map(|_| match t % 4 {
                    // Heavy ties: a few distinct values.
                    0 => (rng.random_range(0..4) as f64) * 0.25,
                    1 => rng.random::<f64>().powi(6),
                    2 => rng.random::<f64>() + if rng.random_bool(0.1) { 30.0 } else { 0.0 },
                    _ => rng.random::<f64>() * 2.0 - 1.0,
                })
                .collect();
            arrays.push(v);
        }
        for d in &arrays {
            let (min, max) = d
                .iter()
                .fold((d[0], d[0]), |(a, b), &x| (a.min(x), b.max(x)));
            let Some((s_pdf, s_cdf)) = bandwidths(d).filter(|_| min < max) else {
                continue;
            };
            let grid = linspace(min, max);
            let mode = argmax_first(&density(d, &grid, s_pdf));
            let literal = windows(&cdf(d, &grid, s_cdf), mode);
            assert_eq!(kde_windows(d).interval_indices, literal, "{d:?}");
        }
    }

    #[test]
    fn symmetric_pair_keeps_the_first_of_two_equal_density_peaks() {
        // Two draws: the density is symmetric, grid points 499 and 500 tie exactly, and the
        // first must win as with numpy.argmax (the fixture's small_2 checks it against scipy).
        let k = kde_windows(&[0.25, 1.75]);
        assert_eq!(k.mode_index, 499);
    }

    #[test]
    fn equal_distances_keep_the_earlier_window() {
        // Two steps whose masses lie 1/64 below and 1/64 above the level: the distances are the
        // same double, and the walk must keep the first step, as numpy.argmin does.
        let level = LEVELS[0];
        let below = level - 0.015625;
        let above = level + 0.015625;
        assert_eq!((level - below).abs(), (above - level).abs());
        let mut cdf = vec![0.0; 7];
        // Mode at 3: step 1 spans 2..4, step 2 spans 1..5, step 3 spans 0..6 (mass 1).
        cdf[4] = below;
        cdf[5] = above;
        cdf[6] = 1.0;
        assert_eq!(windows(&cdf, 3)[0], (2, 4));
        // With the two masses the other way round, the later (now nearer) step wins.
        cdf[4] = level - 0.03125;
        assert_eq!(windows(&cdf, 3)[0], (1, 5));
    }

    #[test]
    fn degenerate_inputs() {
        let k = kde_windows(&[]);
        assert!(k.mode.is_nan() && k.intervals[0].0.is_nan());
        let k = kde_windows(&[3.5]);
        assert_eq!((k.mode, k.intervals), (3.5, [(3.5, 3.5); 3]));
        let k = kde_windows(&[0.0; 40]);
        assert_eq!((k.mode, k.intervals[2]), (0.0, (0.0, 0.0)));
    }

    #[test]
    fn ndtr_shortcut_changes_nothing() {
        // The skipped branch gives exactly 1 from 8.5 on.
        for k in 0..400 {
            let a = 8.5 + k as f64 * 0.1;
            assert_eq!(1.0 - 0.5 * cephes_erfc(a * FRAC_1_SQRT_2), 1.0, "{a}");
        }
    }

    #[test]
    fn ndtr_matches_scipy_bit_for_bit() {
        // scipy.special.ndtr at these points (repr), scipy 1.17.
        let reference = [
            (-40.0, 0.0),
            (-30.0, 4.906713927147908e-198),
            (-8.0, 6.22096057427174e-16),
            (-3.0, 0.0013498980316300933),
            (-1.0, 0.15865525393145707),
            (-0.3, 0.3820885778110474),
            (0.0, 0.5),
            (0.7, 0.758036347776927),
            (1.0, 0.8413447460685429),
            (std::f64::consts::SQRT_2, 0.9213503964748575),
            (2.5, 0.9937903346742238),
            (6.0, 0.9999999990134123),
        ];
        for (a, want) in reference {
            assert_eq!(ndtr(a), want, "ndtr({a})");
        }
    }

    #[test]
    fn pairwise_sum_follows_numpy_blocks() {
        // 0.1 summed 1000 times: sequential summation gives 99.9999999999986, numpy's pairwise
        // order 100.00000000000001 (np.sum(np.full(1000, 0.1))).
        assert_eq!(pairwise_sum_by(1000, |_| 0.1), 100.00000000000001);
        assert_eq!(pairwise_sum_by(5, |i| i as f64), 10.0);
    }
}
