//! The Cholesky layout (this project's native one) and the NLL of a Gaussian given by its
//! Cholesky factor.
//!
//! # Layout
//!
//! For `n` parameters the head has `n + n (n + 1) / 2` outputs per galaxy:
//!
//! | columns | meaning |
//! |---|---|
//! | `0 .. n` | mean `mu_i` |
//! | `n .. 2n` | `log L_ii`, the log of the Cholesky diagonal (`L_ii = exp(out)`) |
//! | `2n .. 2n + n(n-1)/2` | `L_ij`, `j < i`, row-major: `(1,0), (2,0), (2,1), (3,0), ...` |
//!
//! For `n = 3`: `[mu0, mu1, mu2, logL00, logL11, logL22, L10, L20, L21]`.
//! `Sigma = L L^T`; the entry `(i, j)` sits at column `2n + i (i - 1) / 2 + j`
//! ([`lower_index`]).
//!
//! # NLL
//!
//! Per galaxy, with `L z = y - mu` solved by [forward substitution](forward_substitution):
//!
//! ```text
//! NLL = 0.5 ||z||^2 + sum_i log L_ii        (+ 0.5 n ln(2 pi) if `full`)
//! ```
//!
//! since `(y - mu)^T Sigma^-1 (y - mu) = ||z||^2` and `0.5 log det Sigma = sum_i log L_ii`.
//! `log L_ii` is clamped to `+-15` and `L_ij` to `+-1e6` (straight-through, see
//! [`crate::triangular`]); residuals beyond `1e6` standard deviations saturate.

use burn::tensor::Tensor;

use crate::config::LossKind;
use crate::error::{check_outputs, check_targets, LossError};
use crate::gaussian::Gaussian;
use crate::triangular::{
    assemble_lower, forward_substitution, num_lower, straight_through_clamp, LOG_SCALE_BOUND,
    OFF_DIAGONAL_BOUND, RESIDUAL_SATURATION,
};

pub use crate::triangular::lower_index;

/// A batch of Gaussians as mean, log-diagonal and strictly-lower entries of the Cholesky factor.
///
/// [`cholesky_factor`] and [`crate::diagonal::diagonal_factor`] (no off-diagonals) read heads
/// into this form; GaMPEN's layout has its own [`LdlFactor`](crate::ldl::LdlFactor).
#[derive(Clone, Debug)]
pub struct CholeskyFactor {
    /// Means, `[B, n]`.
    pub mean: Tensor<2>,
    /// `log L_ii`, `[B, n]`, already within `+-`[`LOG_SCALE_BOUND`].
    pub log_diag: Tensor<2>,
    /// `L_ij` for `j < i` as `[B, 1]` columns in row-major order ([`lower_index`]); empty for
    /// a diagonal covariance.
    pub lower: Vec<Tensor<2>>,
}

impl CholeskyFactor {
    /// Number of parameters `n`.
    pub fn n(&self) -> usize {
        self.mean.dims()[1]
    }

    /// `L_ij` for `j < i`; zeros when the factor has no off-diagonal entries.
    fn lower_entry(&self, i: usize, j: usize) -> Tensor<2> {
        if self.lower.is_empty() {
            // A diagonal factor: the substitution never needs an off-diagonal but has to be
            // handed something of the right shape.
            self.mean.clone().narrow(1, 0, 1).zeros_like()
        } else {
            self.lower[lower_index(i, j)].clone()
        }
    }

    /// Per-galaxy negative log-likelihood of `targets`, without the `0.5 n ln(2 pi)` constant.
    ///
    /// # Shapes
    ///
    /// - targets: `[B, n]`
    /// - output: `[B]`
    pub fn nll(&self, targets: Tensor<2>) -> Result<Tensor<1>, LossError> {
        let [b, n] = self.mean.dims();
        check_targets(targets.dims(), b, n)?;
        let residual = targets - self.mean.clone();
        let inv_diag = self.log_diag.clone().neg().exp();
        let z = if self.lower.is_empty() {
            // Diagonal: no substitution chain, just the scaled residual.
            crate::triangular::saturate(residual * inv_diag, RESIDUAL_SATURATION)
        } else {
            forward_substitution(
                residual,
                |i, j| self.lower_entry(i, j),
                inv_diag,
                Some(RESIDUAL_SATURATION),
            )
        };
        let nll = z.square().sum_dim(1).mul_scalar(0.5) + self.log_diag.clone().sum_dim(1);
        Ok(nll.reshape([b]))
    }

    /// The lower-triangular factor `L` with `Sigma = L L^T`.
    ///
    /// # Shapes
    ///
    /// - output: `[B, n, n]`
    pub fn scale_tril(&self) -> Tensor<3> {
        assemble_lower(self.log_diag.clone().exp(), |i, j| self.lower_entry(i, j))
    }

    /// The batch as a [`Gaussian`] (mean and `L`) for covariances, sampling and densities.
    pub fn into_gaussian(self) -> Gaussian {
        let scale_tril = self.scale_tril();
        Gaussian {
            mean: self.mean,
            scale_tril,
        }
    }
}

/// Reads a head in the [Cholesky layout](self) for `n` parameters.
///
/// # Shapes
///
/// - outputs: `[B, n + n (n + 1) / 2]`
///
/// # Errors
///
/// [`LossError::WrongWidth`] for any other width, [`LossError::NoParameters`] for `n = 0`.
pub fn cholesky_factor(outputs: Tensor<2>, n: usize) -> Result<CholeskyFactor, LossError> {
    check_outputs(outputs.dims()[1], n, LossKind::Cov)?;
    let mean = outputs.clone().narrow(1, 0, n);
    let log_diag = straight_through_clamp(
        outputs.clone().narrow(1, n, n),
        -LOG_SCALE_BOUND,
        LOG_SCALE_BOUND,
    );
    let lower = lower_columns(outputs, n);
    Ok(CholeskyFactor {
        mean,
        log_diag,
        lower,
    })
}

/// Columns `2n ..` of a covariance head, clamped to `+-`[`OFF_DIAGONAL_BOUND`], one `[B, 1]`
/// tensor each.
pub(crate) fn lower_columns(outputs: Tensor<2>, n: usize) -> Vec<Tensor<2>> {
    let m = num_lower(n);
    if m == 0 {
        return Vec::new();
    }
    let lower = straight_through_clamp(
        outputs.narrow(1, 2 * n, m),
        -OFF_DIAGONAL_BOUND,
        OFF_DIAGONAL_BOUND,
    );
    (0..m).map(|k| lower.clone().narrow(1, k, 1)).collect()
}

#[cfg(test)]
// `backend_tests!` calls `Device::ndarray()`, deprecated in Burn 0.22 but still a backend we test.
#[allow(deprecated)]
pub(crate) mod tests {
    use super::*;
    use burn::tensor::Device;
    use gampen_testing::{assert_close, to_vec};

    /// Deterministic values in `[-scale, scale]` (a small LCG: no RNG dependency, identical on
    /// every backend).
    pub(crate) fn pseudo_random(len: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
                (2.0 * unit - 1.0) * scale
            })
            .collect()
    }

    pub(crate) fn matrix(values: Vec<f32>, rows: usize, device: &Device) -> Tensor<2> {
        let cols = values.len() / rows;
        Tensor::<1>::from_floats(values.as_slice(), device).reshape([rows, cols])
    }

    /// Mean NLL and its gradient w.r.t. the outputs, on the autodiff version of `device`.
    pub(crate) fn loss_and_grad(
        factor: fn(Tensor<2>, usize) -> Result<CholeskyFactor, LossError>,
        outputs: &[f32],
        targets: &[f32],
        b: usize,
        n: usize,
        device: &Device,
    ) -> (f32, Vec<f32>) {
        let ad = device.clone().autodiff();
        let x = matrix(outputs.to_vec(), b, &ad).require_grad();
        let y = matrix(targets.to_vec(), b, &ad);
        let loss = factor(x.clone(), n)
            .expect("valid width")
            .nll(y)
            .expect("valid targets")
            .mean();
        let grads = loss.backward();
        let grad = to_vec(x.grad(&grads).expect("outputs require grad"));
        (to_vec(loss)[0], grad)
    }

    gampen_testing::backend_tests! {
        fn two_by_two_by_hand(device) {
            // L = [[e^0.5, 0], [0.3, e^-0.2]], y - mu = [1, -1]:
            // z0 = e^-0.5, z1 = (-1 - 0.3 z0) e^0.2, NLL = 0.5 (z0^2 + z1^2) + 0.5 - 0.2.
            let outputs = Tensor::<2>::from_floats([[0.0, 0.0, 0.5, -0.2, 0.3]], device);
            let targets = Tensor::<2>::from_floats([[1.0, -1.0]], device);
            let nll = cholesky_factor(outputs, 2).unwrap().nll(targets).unwrap();
            let z0 = (-0.5f32).exp();
            let z1 = (-1.0 - 0.3 * z0) * 0.2f32.exp();
            let expected = 0.5 * (z0 * z0 + z1 * z1) + 0.3;
            assert_close(&to_vec(nll), &[expected], 1e-6, 1e-6, "nll");
        }

        fn gradient_matches_finite_differences(device) {
            for n in [1, 2, 3, 5] {
                let (b, k) = (3, 2 * n + n * (n - 1) / 2);
                let outputs = pseudo_random(b * k, n as u64, 0.8);
                let targets = pseudo_random(b * n, 100 + n as u64, 1.5);
                let (_, grad) = loss_and_grad(cholesky_factor, &outputs, &targets, b, n, device);
                let eval = |x: &[f32]| {
                    let nll = cholesky_factor(matrix(x.to_vec(), b, device), n)
                        .unwrap()
                        .nll(matrix(targets.clone(), b, device))
                        .unwrap();
                    to_vec(nll.mean())[0]
                };
                // Central differences in f32: step 1e-2 keeps rounding (~1e-5) and truncation
                // (~1e-4 for these curvatures) well below the tolerance.
                let h = 1e-2;
                let numeric: Vec<f32> = (0..outputs.len())
                    .map(|p| {
                        let (mut up, mut down) = (outputs.clone(), outputs.clone());
                        up[p] += h;
                        down[p] -= h;
                        (eval(&up) - eval(&down)) / (2.0 * h)
                    })
                    .collect();
                assert_close(&grad, &numeric, 2e-3, 2e-2, &format!("grad n={n}"));
            }
        }

        fn extreme_outputs_give_finite_loss_and_gradients(device) {
            for n in [1, 2, 3, 5] {
                let (b, k) = (16, 2 * n + n * (n - 1) / 2);
                for (seed, off_scale) in [(1u64, 1.0e3f32), (2, 1.0e8), (3, 1.0)] {
                    let mut outputs = pseudo_random(b * k, seed * 31 + n as u64, 10.0);
                    for row in outputs.chunks_mut(k) {
                        for (c, v) in row.iter_mut().enumerate() {
                            if (n..2 * n).contains(&c) {
                                *v *= 3.0; // log-diagonals in [-30, 30]
                            } else if c >= 2 * n {
                                *v *= off_scale / 10.0;
                            }
                        }
                    }
                    let targets = pseudo_random(b * n, seed * 77 + n as u64, 10.0);
                    for ldl in [false, true] {
                        let (loss, grad) = if ldl {
                            crate::ldl::tests::ldl_loss_and_grad(&outputs, &targets, b, n, device)
                        } else {
                            loss_and_grad(cholesky_factor, &outputs, &targets, b, n, device)
                        };
                        assert!(loss.is_finite(), "loss {loss} for n={n}, seed={seed}");
                        assert!(
                            grad.iter().all(|g| g.is_finite()),
                            "non-finite gradient for n={n}, seed={seed}: {grad:?}"
                        );
                    }
                }
            }
        }

        fn clamped_log_diagonal_still_learns(device) {
            // log L_00 = -30 is clamped to -15; with a residual of 1 the straight-through
            // gradient must push it up (negative gradient), not be zero.
            let (_, grad) = loss_and_grad(cholesky_factor, &[0.0, -30.0], &[1.0], 1, 1, device);
            assert!(grad[1] < -1.0, "gradient of the clamped log-diagonal: {}", grad[1]);
        }

        fn scale_tril_follows_the_layout(device) {
            let outputs = Tensor::<2>::from_floats(
                [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0]],
                device,
            );
            let l = to_vec(cholesky_factor(outputs, 3).unwrap().scale_tril());
            assert_eq!(l, vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 2.0, 3.0, 1.0]);
        }
    }
}
