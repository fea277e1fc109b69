//! GaMPEN's own covariance layout, `Sigma = L D L^T` with unit-diagonal `L`.
//!
//! Needed to train compatibly with, and to read predictions of, the original GaMPEN
//! (`ggt/losses/aleatoric_cov_loss.py` and `ggt/modules/inference.py` in
//! aritraghsh09/GaMPEN).
//!
//! # Layout
//!
//! For `n` parameters the head has `n + n (n + 1) / 2` outputs per galaxy:
//!
//! | columns | meaning |
//! |---|---|
//! | `0 .. n` | mean `mu_i` |
//! | `n .. 2n` | `log D_i`, the log of the diagonal of `D` (`D_i = exp(out)`) |
//! | `2n .. 2n + n(n-1)/2` | unit-lower `L_ij`, `j < i`, in `torch.tril_indices(n, n, -1)` order |
//!
//! `torch.tril_indices(n, n, offset=-1)` is row-major, `(1,0), (2,0), (2,1), (3,0), ...`, the
//! same order as [`crate::cholesky`]; for `n = 3` the head is
//! `[mu0, mu1, mu2, logD0, logD1, logD2, L10, L20, L21]`.
//!
//! GaMPEN's inference code draws from `N(mu, L diag(exp(out)) L^T)`, which is the layout above.
//! (An early version of its loss used the raw outputs as `D` without the `exp`; the released
//! inference pipeline exponentiates, and an `exp` is what keeps `D` positive.)
//!
//! # NLL
//!
//! With `w = L^-1 (y - mu)` from [forward substitution](crate::triangular::forward_substitution)
//! with a unit diagonal, and `z = D^(-1/2) w`:
//!
//! ```text
//! NLL = 0.5 ||z||^2 + 0.5 sum_i log D_i        (+ 0.5 n ln(2 pi) if `full`)
//! ```
//!
//! `D` enters only after the substitution. Going through the equivalent Cholesky factor
//! `L D^(1/2)` instead would give the same value but a gradient w.r.t. `log D` that is the
//! difference of two large, nearly equal terms whenever `L_ij` is large (an error of 4 on a
//! true value of 0.25 for `L_ij = 1e3` in `f32`).
//!
//! Guards (see [`crate::triangular`]): `log D` is clamped to `+-30` (so `D^(1/2)` stays within
//! the Cholesky bounds), `L_ij` to `+-1e6`, `w` saturates beyond [`LDL_RESIDUAL_SATURATION`]
//! label units (only reached when `z` is saturated as well) and `z` beyond `1e6`.

use burn::tensor::Tensor;

use crate::cholesky::lower_columns;
use crate::config::LossKind;
use crate::error::{check_outputs, check_targets, LossError};
use crate::gaussian::Gaussian;
use crate::triangular::{
    assemble_lower, forward_substitution, lower_index, saturate, straight_through_clamp,
    LOG_SCALE_BOUND, RESIDUAL_SATURATION,
};

/// Saturation of the unscaled residuals `w = L^-1 (y - mu)`, in label units.
///
/// `RESIDUAL_SATURATION` times the largest standard deviation `D^(1/2)` allows
/// (`exp(15)`): below it `z = D^(-1/2) w` can still be inside its own bound, above it `z` is
/// saturated anyway.
pub const LDL_RESIDUAL_SATURATION: f32 = 3.3e12;

/// A batch of Gaussians in GaMPEN's form: mean, `log D` and the unit-lower `L`.
#[derive(Clone, Debug)]
pub struct LdlFactor {
    /// Means, `[B, n]`.
    pub mean: Tensor<2>,
    /// `log D_i`, `[B, n]`, already within `+-30`.
    pub log_d: Tensor<2>,
    /// `L_ij` for `j < i` as `[B, 1]` columns in row-major order
    /// ([`lower_index`]); empty for `n = 1`.
    pub lower: Vec<Tensor<2>>,
}

impl LdlFactor {
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
        let w = forward_substitution(
            residual.clone(),
            |i, j| self.lower[lower_index(i, j)].clone(),
            residual.ones_like(),
            Some(LDL_RESIDUAL_SATURATION),
        );
        let z = saturate(
            w * self.log_d.clone().mul_scalar(-0.5).exp(),
            RESIDUAL_SATURATION,
        );
        let nll = (z.square().sum_dim(1) + self.log_d.clone().sum_dim(1)).mul_scalar(0.5);
        Ok(nll.reshape([b]))
    }

    /// The Cholesky factor `L D^(1/2)` (column `j` of `L` scaled by `D_j^(1/2)`).
    ///
    /// # Shapes
    ///
    /// - output: `[B, n, n]`
    pub fn scale_tril(&self) -> Tensor<3> {
        let sqrt_d = self.log_d.clone().mul_scalar(0.5).exp();
        assemble_lower(sqrt_d.clone(), |i, j| {
            self.lower[lower_index(i, j)].clone() * sqrt_d.clone().narrow(1, j, 1)
        })
    }

    /// The batch as a [`Gaussian`] (mean and `L D^(1/2)`).
    pub fn into_gaussian(self) -> Gaussian {
        let scale_tril = self.scale_tril();
        Gaussian {
            mean: self.mean,
            scale_tril,
        }
    }
}

/// Reads a head in GaMPEN's [LDL layout](self).
///
/// # Shapes
///
/// - outputs: `[B, n + n (n + 1) / 2]`
///
/// # Errors
///
/// [`LossError::WrongWidth`] for any other width, [`LossError::NoParameters`] for `n = 0`.
pub fn ldl_factor(outputs: Tensor<2>, n: usize) -> Result<LdlFactor, LossError> {
    check_outputs(outputs.dims()[1], n, LossKind::Cov)?;
    let mean = outputs.clone().narrow(1, 0, n);
    let log_d = straight_through_clamp(
        outputs.clone().narrow(1, n, n),
        -2.0 * LOG_SCALE_BOUND,
        2.0 * LOG_SCALE_BOUND,
    );
    let lower = lower_columns(outputs, n);
    Ok(LdlFactor { mean, log_d, lower })
}

#[cfg(test)]
// `backend_tests!` calls `Device::ndarray()`, deprecated in Burn 0.22 but still a backend we test.
#[allow(deprecated)]
pub(crate) mod tests {
    use super::*;
    use gampen_testing::{assert_close, to_vec};

    /// Mean NLL and its gradient w.r.t. the outputs, on the autodiff version of `device`.
    pub(crate) fn ldl_loss_and_grad(
        outputs: &[f32],
        targets: &[f32],
        b: usize,
        n: usize,
        device: &burn::tensor::Device,
    ) -> (f32, Vec<f32>) {
        let ad = device.clone().autodiff();
        let x = crate::cholesky::tests::matrix(outputs.to_vec(), b, &ad).require_grad();
        let y = crate::cholesky::tests::matrix(targets.to_vec(), b, &ad);
        let loss = ldl_factor(x.clone(), n).unwrap().nll(y).unwrap().mean();
        let grads = loss.backward();
        let grad = to_vec(x.grad(&grads).expect("outputs require grad"));
        (to_vec(loss)[0], grad)
    }

    gampen_testing::backend_tests! {
        fn covariance_is_l_d_lt(device) {
            // L = [[1,0,0],[2,1,0],[3,4,1]], D = diag(e^0, e^ln2, e^ln3).
            let (l2, l3) = (2f32.ln(), 3f32.ln());
            let outputs = Tensor::<2>::from_floats(
                [[0.0, 0.0, 0.0, 0.0, l2, l3, 2.0, 3.0, 4.0]],
                device,
            );
            let cov = ldl_factor(outputs, 3).unwrap().into_gaussian().covariance();
            // L D L^T by hand.
            let expected = [1.0, 2.0, 3.0, 2.0, 6.0, 14.0, 3.0, 14.0, 44.0];
            assert_close(&to_vec(cov), &expected, 1e-4, 1e-5, "covariance");
        }

        fn matches_gampen_formula(device) {
            // GaMPEN: 0.5 d^T (L^-T D^-1 L^-1) d + 0.5 sum log D, n = 2 by hand:
            // L^-1 d = [d0, d1 - L10 d0].
            let outputs = Tensor::<2>::from_floats([[0.1, -0.2, 0.4, -0.6, 0.7]], device);
            let targets = Tensor::<2>::from_floats([[1.0, 0.5]], device);
            let nll = ldl_factor(outputs, 2).unwrap().nll(targets).unwrap();
            let (d0, d1) = (1.0 - 0.1f32, 0.5 + 0.2f32);
            let w1 = d1 - 0.7 * d0;
            let expected =
                0.5 * (d0 * d0 / 0.4f32.exp() + w1 * w1 / (-0.6f32).exp()) + 0.5 * (0.4 - 0.6);
            assert_close(&to_vec(nll), &[expected], 1e-6, 1e-6, "nll");
        }

        fn gradient_matches_finite_differences(device) {
            use crate::cholesky::tests::{matrix, pseudo_random};
            for n in [2, 3, 5] {
                let (b, k) = (2, 2 * n + n * (n - 1) / 2);
                let outputs = pseudo_random(b * k, 7 + n as u64, 0.8);
                let targets = pseudo_random(b * n, 200 + n as u64, 1.5);
                let (_, grad) = ldl_loss_and_grad(&outputs, &targets, b, n, device);
                let eval = |x: &[f32]| {
                    let nll = ldl_factor(matrix(x.to_vec(), b, device), n)
                        .unwrap()
                        .nll(matrix(targets.clone(), b, device))
                        .unwrap();
                    to_vec(nll.mean())[0]
                };
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
    }
}
