//! A batch of multivariate Gaussians: covariance, sampling and log-density.

use burn::tensor::{Distribution, Tensor};

use crate::triangular::forward_substitution;

/// `0.5 ln(2 pi)`.
pub(crate) const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// A batch of `B` Gaussians in `n` dimensions, `N(mean, scale_tril scale_tril^T)`.
///
/// Built from network outputs by [`GaussianLoss::gaussian`](crate::GaussianLoss::gaussian).
/// For [`LossKind::Mse`](crate::LossKind::Mse) `scale_tril` is all zeros (a point estimate);
/// for [`LossKind::Diag`](crate::LossKind::Diag) it is `diag(sigma)`.
#[derive(Clone, Debug)]
pub struct Gaussian {
    /// Means, `[B, n]`.
    pub mean: Tensor<2>,
    /// Lower-triangular `L` with `Sigma = L L^T`, `[B, n, n]`.
    pub scale_tril: Tensor<3>,
}

impl Gaussian {
    /// Number of dimensions `n`.
    pub fn n(&self) -> usize {
        self.mean.dims()[1]
    }

    /// `Sigma = L L^T`.
    ///
    /// # Shapes
    ///
    /// - output: `[B, n, n]`
    pub fn covariance(&self) -> Tensor<3> {
        let l = self.scale_tril.clone();
        l.clone().matmul(l.swap_dims(1, 2))
    }

    /// Draws `samples` points per Gaussian as `mean + L z`, `z ~ N(0, I)`.
    ///
    /// `z` comes from Burn's random number generator on the mean's device, so
    /// `device.seed(s)` before the call makes the draw reproducible (on backends whose RNG is
    /// global, other random draws between the seed and this call change the result).
    ///
    /// # Shapes
    ///
    /// - output: `[B, samples, n]`
    pub fn sample(&self, samples: usize) -> Tensor<3> {
        let [b, n] = self.mean.dims();
        let device = self.mean.device();
        let z = Tensor::<3>::random([b, samples, n], Distribution::Normal(0.0, 1.0), &device);
        // Row-vector form of L z: [B, S, n] x [B, n, n] (L^T).
        let lz = z.matmul(self.scale_tril.clone().swap_dims(1, 2));
        lz + self.mean.clone().unsqueeze_dim::<3>(1)
    }

    /// Log-density of `x` (including the `-0.5 n ln(2 pi)` constant).
    ///
    /// Exact: unlike the loss, no clamps or saturation are applied. For a degenerate Gaussian
    /// (a zero diagonal entry of `L`, as for [`LossKind::Mse`](crate::LossKind::Mse)) the result
    /// is not finite.
    ///
    /// # Shapes
    ///
    /// - x: `[B, n]`
    /// - output: `[B]`
    pub fn log_prob(&self, x: Tensor<2>) -> Tensor<1> {
        let [b, n] = self.mean.dims();
        let entry = |i: usize, j: usize| {
            self.scale_tril
                .clone()
                .slice([0..b, i..i + 1, j..j + 1])
                .reshape([b, 1])
        };
        let diag = Tensor::cat((0..n).map(|i| entry(i, i)).collect(), 1);
        let z = forward_substitution(x - self.mean.clone(), entry, diag.clone().recip(), None);
        let nll = (z.square().sum_dim(1).mul_scalar(0.5) + diag.log().sum_dim(1))
            .add_scalar(HALF_LN_TWO_PI * n as f64);
        nll.neg().reshape([b])
    }
}

#[cfg(test)]
// `backend_tests!` calls `Device::ndarray()`, deprecated in Burn 0.22 but still a backend we test.
#[allow(deprecated)]
mod tests {
    use super::*;
    use crate::{CovarianceParam, GaussianLossConfig, LossKind};
    use gampen_testing::{assert_close, to_vec};

    gampen_testing::backend_tests! {
        fn sampling_reproduces_covariance_and_is_seedable(device) {
            // One test for both properties: on backends with a global RNG, two tests drawing
            // in parallel would make the reproducibility check flaky.
            let outputs = Tensor::<2>::from_floats(
                [
                    [1.0, -2.0, 0.5, 0.2, -0.3, 0.1, 0.8, -0.5, 0.4],
                    [0.0, 0.0, 0.0, -1.0, 0.5, 0.0, -1.5, 0.3, 2.0],
                ],
                device,
            );
            for param in [CovarianceParam::Cholesky, CovarianceParam::Ldl] {
                let loss = GaussianLossConfig::new(3).with_param(param).init();
                let gaussian = loss.gaussian(outputs.clone()).unwrap();
                let s = 20_000;
                device.seed(7);
                let x = gaussian.sample(s);
                assert_eq!(x.dims(), [2, s, 3]);
                device.seed(7);
                let again = gaussian.sample(s);
                assert_eq!(to_vec(x.clone()), to_vec(again), "same seed, same draw");

                let mean = x.clone().mean_dim(1); // [2, 1, 3]
                let centred = x - mean.clone();
                let sample_cov = centred.clone().swap_dims(1, 2).matmul(centred)
                    .div_scalar((s - 1) as f64);
                let cov = to_vec(gaussian.covariance());
                let sample_cov = to_vec(sample_cov);
                let mean = to_vec(mean);
                let expected_mean = to_vec(gaussian.mean.clone());
                // With S = 20000 draws the standard error of a covariance entry is about
                // sqrt((S_ii S_jj + S_ij^2) / S) <= 0.01 sqrt(S_ii S_jj); 5 standard errors:
                for g in 0..2 {
                    for i in 0..3 {
                        let sd_i = cov[g * 9 + i * 4].sqrt();
                        let tol = 5.0 * sd_i / (s as f32).sqrt();
                        let (m, e) = (mean[g * 3 + i], expected_mean[g * 3 + i]);
                        assert!((m - e).abs() <= tol, "{param:?} mean[{g},{i}]: {m} vs {e}");
                        for j in 0..3 {
                            let sd_j = cov[g * 9 + j * 4].sqrt();
                            let k = g * 9 + i * 3 + j;
                            let tol = 0.05 * sd_i * sd_j;
                            assert!(
                                (sample_cov[k] - cov[k]).abs() <= tol,
                                "{param:?} cov[{g},{i},{j}]: {} vs {}", sample_cov[k], cov[k]
                            );
                        }
                    }
                }
            }
        }

        fn log_prob_is_minus_full_nll(device) {
            let outputs = Tensor::<2>::from_floats(
                [[0.3, -0.1, 0.2, -0.4, 0.9], [1.0, 2.0, -0.5, 0.1, -0.3]],
                device,
            );
            let targets = Tensor::<2>::from_floats([[0.0, 1.0], [1.5, 1.0]], device);
            let loss = GaussianLossConfig::new(2).with_full(true).init();
            let nll = loss.forward_no_reduction(outputs.clone(), targets.clone()).unwrap();
            let log_prob = loss.gaussian(outputs).unwrap().log_prob(targets);
            let expected: Vec<f32> = to_vec(nll).iter().map(|v| -v).collect();
            assert_close(&to_vec(log_prob), &expected, 1e-5, 1e-5, "log_prob");
        }

        fn mse_gaussian_is_a_point(device) {
            let loss = GaussianLossConfig::new(2).with_kind(LossKind::Mse).init();
            let outputs = Tensor::<2>::from_floats([[1.0, 2.0]], device);
            let gaussian = loss.gaussian(outputs).unwrap();
            assert_eq!(to_vec(gaussian.scale_tril.clone()), vec![0.0; 4]);
            assert_eq!(to_vec(gaussian.sample(3)), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
        }

        fn diagonal_gaussian_has_diagonal_scale(device) {
            let loss = GaussianLossConfig::new(2).with_kind(LossKind::Diag).init();
            let outputs = Tensor::<2>::from_floats([[0.0, 0.0, 4f32.ln(), 9f32.ln()]], device);
            let l = to_vec(loss.gaussian(outputs).unwrap().scale_tril);
            assert_close(&l, &[2.0, 0.0, 0.0, 3.0], 1e-5, 1e-6, "scale_tril");
        }
    }
}
